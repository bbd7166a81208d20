"""Parse raw columns into the contract's types, as queries on the engine.

Every rule is written once, as a DuckDB macro (:data:`MACROS`, installed on the engine's
connection by :func:`install`), and each column's SQL is built from them by
:func:`parse_column`. A parser gives the parsed value and whether the value was *invalid*:
given (not blank) but unreadable. Blank values (empty or only spaces) are missing and never
invalid.

A raw column has a *kind* (:class:`Raw`): ``text`` (CSV cells, which are read as text, and
text cells of the other formats), or the type a Parquet file, an Excel column or a database
column holds (``number``, ``integer``, ``bool``, ``date``, ``timestamp``, ``timestamptz``).

Accepted forms:

* dates and timestamps: ISO 8601 (``2026-10-31``, ``2026-10-31 14:22``,
  ``2026-10-31T14:22:05Z``, ``2026-10-31T14:22:05.123+02:00``; also ``2026/10/31``,
  ``2026.10.31``, ``2026-1-5``, ``20261031``, ``20261031T142205``, ``2026-10`` for the first
  of the month), Excel serial day numbers (``46000``, ``46000.5`` for noon), Unix seconds or
  milliseconds (HubSpot), typed date and time cells; dates written with the year last
  (``31/10/2026``, ``10/31/2026 9:12 PM``, ``31.10.2026``) day or month first as the file settles
  it or ``data.date_order`` says (:mod:`salesreport.data.settle`; two-digit years are
  unreadable). Values with a zone (``Z``, ``+02:00``)
  and Unix times (UTC) are converted to the team's zone and made naive; values without a
  zone are taken as already local. Date columns are then cut to the local date. A value
  outside 1677-09-22 .. 2262-04-11 (what a pandas timestamp holds) is unreadable;
* numbers: ``1234.5``, ``-3``, ``1e3``, thousands separators ``1,234.50``, ``1 234.50`` or
  ``1'234.50``, a leading or trailing currency symbol (``$ € £ ¥``), a trailing ``%``
  (divided by 100); ``inf`` is unreadable; with a decimal comma (a semicolon-separated file
  that settles it, or ``data.decimal: comma``) ``1.234,50`` and ``12,5``;
* whole numbers: numbers without a fraction (``12``, ``12.0``);
* booleans (preset rules): ``TRUE/FALSE``, ``true/false``, ``t/f``, ``yes/no``, ``y/n``,
  ``1/0``;
* periods: ``2026-10``, ``2026-Q4`` (any case), ``2026`` (a date is cut to its month);
* categories: lower case, runs of spaces as one space; for a closed set of values (``status``,
  ``forecast_category``, ``type``) spaces and hyphens as ``_`` (``Best Case`` ->
  ``best_case``).

Text is stripped of the characters Python's ``str.strip()`` removes; a missing-value marker
(``N/A``, ``#N/A``, ``NULL``, ``None``, ``-``, ``--``, ``NaN``, ``<NA>``, any case; not ``NA``,
a region or country code) is missing like an empty cell: in an optional column the value is
missing (not a bad row), in a required one the row is dropped as empty (a bad row). A number cell as text is
written without a fraction when it is whole (``123.0`` from Excel -> ``"123"``), a date cell
as ISO text.

The pandas functions at the end (:func:`parse_datetimes`, :func:`parse_numbers`, ...) run the
same SQL on a pandas Series (for notebooks and tests).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

import numpy as np
import pandas as pd
import pyarrow as pa

#: the characters Python's ``str.strip()`` removes (``str.isspace``)
SPACES = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
#: the same as an RE2 character class
SPACE_CLASS = (
    r"[\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}"
    r"\x{202f}\x{205f}\x{3000}]"
)
NUMBER_RE = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
THOUSANDS_RE = r"[+-]?\d{1,3}(?:[,' ]\d{3})+(?:\.\d*)?"
CURRENCY_RE = rf"^[$€£¥]{SPACE_CLASS}*|{SPACE_CLASS}*[$€£¥]$"
TRUE_WORDS = ("true", "t", "yes", "y", "1", "1.0")
FALSE_WORDS = ("false", "f", "no", "n", "0", "0.0")
PERIOD_RE = r"\d{4}(?:-(?:0[1-9]|1[0-2])|-Q[1-4])?"
MONTH_RE = r"\d{4}-(?:0[1-9]|1[0-2])"
# ISO 8601 and its common variants: the date (separator -, /, . or space, the same twice;
# or none), the time after T or a space, the zone
ISO_RE = (
    r"^(\d{4})(?:([-/. ])(\d{1,2})(?:([-/. ])(\d{1,2})"
    r"(?:[T ](\d{1,2})(?::(\d{1,2})(?::(\d{1,2})(?:\.(\d*))?)?)?)?)?"
    r"|(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})?(?:\.(\d*))?)?)?"
    rf"{SPACE_CLASS}*(Z|[+-]\d{{2}}(?::?\d{{2}})?)?$"
)
ISO_GROUPS = (
    "y",
    "s1",
    "m",
    "s2",
    "d",
    "h",
    "mi",
    "s",
    "f",
    "mb",
    "db",
    "hb",
    "mib",
    "sb",
    "fb",
    "z",
)
#: what a pandas ``datetime64[ns]`` holds, to the microsecond
#: text values that mean "no value" (lower case; compared case-insensitively after stripping):
#: spreadsheet and database markers. ``NA`` is not one: it is a region (North America) or a
#: country code (Namibia) in sales data
MISSING_MARKERS = frozenset(
    {"n/a", "#n/a", "#n/a n/a", "#na", "null", "none", "-", "--", "nan", "-nan", "<na>",
     "1.#ind", "1.#qnan", "-1.#ind", "-1.#qnan"}
)  # fmt: skip
#: a date written day and month first, year last (``31/10/2026``, ``10/31/2026 9:12 AM``,
#: ``31.10.2026``): the order of day and month is the file's locale
#: (:func:`salesreport.data.load.settle_date_order`)
SLASH_DATE_RE = (
    rf"^(\d{{1,2}})[/.-](\d{{1,2}})[/.-](\d{{4}})"
    rf"(?:(?:{SPACE_CLASS}+|T|,{SPACE_CLASS}*)(\d{{1,2}}):(\d{{2}})(?::(\d{{2}}))?{SPACE_CLASS}*([AaPp][Mm])?)?$"
)
FIRST_TIME = "1677-09-21 00:12:43.145225"
LAST_TIME = "2262-04-11 23:47:16.854775"
EXCEL_EPOCH = "1899-12-30"
#: Unix seconds and milliseconds are read up to the last instant a pandas timestamp holds
UNIX_S_MAX = 9223372036.854775807
UNIX_MS_MAX = 9223372036854.775807


def sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


_SP = SPACE_CLASS
#: Every rule once, as macros. A macro is inlined where it is called, so an argument used
#: twice is computed twice: the builders below pass columns (computed once, in an earlier
#: projection, see :class:`Parsed`), and a fallback is a ``CASE`` branch, evaluated only for
#: the rows that reach it (``coalesce`` evaluates every argument on every row).
MACROS = f"""
CREATE OR REPLACE TEMP MACRO sr_strip(s) AS CASE
    WHEN regexp_matches(s, '^{_SP}|{_SP}$') THEN NULLIF(trim(s, {sql_text(SPACES)}), '')
    ELSE NULLIF(s, '') END;
CREATE OR REPLACE TEMP MACRO sr_unmark(s) AS
    if(list_contains({sorted(MISSING_MARKERS)!r}, lower(s)), NULL, s);
CREATE OR REPLACE TEMP MACRO sr_slash_parts(t) AS
    regexp_extract(t, {sql_text(SLASH_DATE_RE)}, ['a', 'b', 'y', 'h', 'mi', 's', 'ap']);
CREATE OR REPLACE TEMP MACRO sr_hour24(h, ap) AS CASE
    WHEN ap = '' THEN CAST(h AS INTEGER)
    WHEN CAST(h AS INTEGER) NOT BETWEEN 1 AND 12 THEN 99
    WHEN upper(ap) = 'PM' THEN CAST(h AS INTEGER) % 12 + 12
    ELSE CAST(h AS INTEGER) % 12 END;
CREATE OR REPLACE TEMP MACRO sr_slash_build(g, day_first) AS
    g.y || '-' || lpad(CASE WHEN day_first THEN g.b ELSE g.a END, 2, '0') || '-'
    || lpad(CASE WHEN day_first THEN g.a ELSE g.b END, 2, '0')
    || CASE WHEN g.h = '' THEN '' ELSE ' ' || lpad(CAST(sr_hour24(g.h, g.ap) AS VARCHAR), 2, '0')
       || ':' || g.mi || ':' || CASE WHEN g.s = '' THEN '00' ELSE g.s END END;
CREATE OR REPLACE TEMP MACRO sr_slash_iso(t, day_first) AS CASE
    WHEN regexp_full_match(t, {sql_text(SLASH_DATE_RE)}) THEN sr_slash_build(sr_slash_parts(t), day_first)
    ELSE t END;
CREATE OR REPLACE TEMP MACRO sr_comma_decimal(t) AS CASE
    WHEN regexp_full_match(t, '[^,]*,?[^,]*') THEN replace(replace(t, '.', ''), ',', '.') ELSE t END;
CREATE OR REPLACE TEMP MACRO sr_plain_number(t) AS
    CASE WHEN regexp_full_match(t, {sql_text(NUMBER_RE)}) THEN TRY_CAST(t AS DOUBLE) END;
CREATE OR REPLACE TEMP MACRO sr_unsymbol(t) AS regexp_replace(t, {sql_text(CURRENCY_RE)}, '', 'g');
CREATE OR REPLACE TEMP MACRO sr_unseparate(u) AS
    CASE WHEN regexp_full_match(u, {sql_text(THOUSANDS_RE)})
         THEN regexp_replace(u, '[,'' ]', '', 'g') ELSE u END;
CREATE OR REPLACE TEMP MACRO sr_clean_number(t) AS
    sr_plain_number(sr_unseparate(trim(rtrim(sr_unsymbol(t), '%'), {sql_text(SPACES)})))
    / CASE WHEN suffix(sr_unsymbol(t), '%') THEN 100.0 ELSE 1.0 END;
CREATE OR REPLACE TEMP MACRO sr_finite(v) AS CASE WHEN isfinite(v) THEN v + 0.0 END;
CREATE OR REPLACE TEMP MACRO sr_in_range(ts) AS
    CASE WHEN ts BETWEEN TIMESTAMP '{FIRST_TIME}' AND TIMESTAMP '{LAST_TIME}' THEN ts END;
CREATE OR REPLACE TEMP MACRO sr_serial(x) AS
    CASE WHEN x > 0 AND x < 100000
        THEN TIMESTAMP '{EXCEL_EPOCH}' + to_seconds(CAST(round_even(x * 86400, 0) AS BIGINT)) END;
CREATE OR REPLACE TEMP MACRO sr_unix(x) AS CASE
    WHEN x >= 1e9 AND x < {UNIX_S_MAX} THEN make_timestamp(CAST(round(x * 1e6) AS BIGINT))
    WHEN x >= 1e11 AND x < {UNIX_MS_MAX} THEN make_timestamp(CAST(round(x * 1e3) AS BIGINT))
    END;
CREATE OR REPLACE TEMP MACRO sr_fast_local(t) AS CASE
    WHEN t LIKE '____-__-__' THEN CAST(TRY_CAST(t AS DATE) AS TIMESTAMP)
    WHEN length(t) = 19 AND (t LIKE '____-__-__T__:__:__' OR t LIKE '____-__-__ __:__:__')
         AND substr(t, 12, 2) < '24' AND substr(t, 18, 2) < '60'
        THEN TRY_CAST(t AS TIMESTAMP)
    END;
CREATE OR REPLACE TEMP MACRO sr_fast_utc(t) AS CASE
    WHEN NOT (t LIKE '____-__-__T__:__:___%' OR t LIKE '____-__-__ __:__:___%')
      OR substr(t, 12, 2) >= '24' OR substr(t, 18, 2) >= '60' THEN NULL
    WHEN (length(t) = 20 AND substr(t, 20, 1) = 'Z')
      OR (length(t) = 25 AND substr(t, 20, 1) IN ('+', '-') AND substr(t, 23, 1) = ':'
          AND substr(t, 24, 2) < '60')
        THEN make_timestamp(epoch_us(TRY_CAST(t AS TIMESTAMPTZ)))
    END;
CREATE OR REPLACE TEMP MACRO sr_is_serial(t) AS
    regexp_full_match(t, {sql_text(NUMBER_RE)}) AND NOT regexp_full_match(t, '\\d{{8}}');
CREATE OR REPLACE TEMP MACRO sr_iso_parts(t) AS
    regexp_extract(t, {sql_text(ISO_RE)}, {list(ISO_GROUPS)!r});
CREATE OR REPLACE TEMP MACRO sr_iso_local(g) AS CASE
    WHEN g.y = '' OR (g.s2 <> '' AND g.s1 <> g.s2) THEN NULL
    WHEN TRY_CAST(concat(g.h, g.hb) AS INTEGER) > 23 OR TRY_CAST(concat(g.mi, g.mib) AS INTEGER) > 59
      OR TRY_CAST(concat(g.s, g.sb) AS INTEGER) > 59 THEN NULL
    ELSE TRY(make_timestamp(
        CAST(g.y AS BIGINT),
        CAST(COALESCE(NULLIF(concat(g.m, g.mb), ''), '1') AS BIGINT),
        CAST(COALESCE(NULLIF(concat(g.d, g.db), ''), '1') AS BIGINT),
        CAST(COALESCE(NULLIF(concat(g.h, g.hb), ''), '0') AS BIGINT),
        CAST(COALESCE(NULLIF(concat(g.mi, g.mib), ''), '0') AS BIGINT),
        CAST(COALESCE(NULLIF(concat(g.s, g.sb), ''), '0') AS DOUBLE)
          + COALESCE(TRY_CAST('0.' || left(concat(g.f, g.fb), 6) AS DOUBLE), 0)))
    END;
CREATE OR REPLACE TEMP MACRO sr_zone_seconds(z) AS
    (CASE WHEN z[1] = '-' THEN -1 ELSE 1 END)
    * (CAST(z[2:3] AS INTEGER) * 3600
       + COALESCE(TRY_CAST(right(replace(z[4:], ':', ''), 2) AS INTEGER), 0) * 60);
CREATE OR REPLACE TEMP MACRO sr_iso_utc(g, loc) AS CASE
    WHEN g.z = '' OR (g.h = '' AND g.hb = '') THEN NULL
    WHEN g.z = 'Z' THEN loc
    WHEN TRY_CAST(right(replace(g.z[4:], ':', ''), 2) AS INTEGER) > 59 THEN NULL
    ELSE loc - to_seconds(sr_zone_seconds(g.z))
    END;
CREATE OR REPLACE TEMP MACRO sr_category(t) AS CASE
    WHEN regexp_full_match(t, '[a-z0-9_-]+( [a-z0-9_-]+)*') THEN t
    ELSE regexp_replace(lower(t), '{_SP}+', ' ', 'g') END;
CREATE OR REPLACE TEMP MACRO sr_closed_category(t) AS CASE
    WHEN regexp_full_match(t, '[a-z0-9_]+') THEN t
    ELSE regexp_replace(sr_category(t), '{_SP[:-1]}\\-]+', '_', 'g') END;
CREATE OR REPLACE TEMP MACRO sr_period_text(t) AS CASE
    WHEN regexp_matches(t, '^\\d{{4}}-\\d{{2}}-\\d{{2}}')
        THEN COALESCE(strftime(try_strptime(t[1:10], '%Y-%m-%d'), '%Y-%m'), t)
    ELSE t END;
CREATE OR REPLACE TEMP MACRO sr_bool(t) AS CASE
    WHEN lower(t) IN {TRUE_WORDS!r} THEN true WHEN lower(t) IN {FALSE_WORDS!r} THEN false END;
CREATE OR REPLACE TEMP MACRO sr_double_text(x) AS CASE
    WHEN isnan(x) THEN NULL
    WHEN x = floor(x) AND abs(x) < 1e38 THEN CAST(CAST(x AS HUGEINT) AS VARCHAR)
    ELSE CAST(x AS VARCHAR) END;
CREATE OR REPLACE TEMP MACRO sr_time_text(ts) AS CASE
    WHEN ts = date_trunc('day', ts) THEN strftime(ts, '%Y-%m-%d')
    WHEN microsecond(ts) % 1000000 = 0 THEN strftime(ts, '%Y-%m-%dT%H:%M:%S')
    ELSE strftime(ts, '%Y-%m-%dT%H:%M:%S.%f') END;
"""


def install(con) -> None:
    """Define the parsing macros on a DuckDB connection (idempotent; temporary macros live as
    long as the connection) and quiet its progress bar. The connection's session zone is set
    to UTC, so a ``TIMESTAMP`` cast to ``TIMESTAMPTZ`` is read as UTC."""
    quiet(con)
    con.execute("SET TimeZone = 'UTC'")
    con.execute(MACROS)


def quiet(con) -> None:
    """No progress bar on a DuckDB connection: DuckDB draws one for any query longer than 2 s,
    over the run's own progress lines, even with ``--quiet``."""
    import contextlib

    import duckdb

    # (in a Jupyter kernel without ipywidgets DuckDB refuses the change; it shows none there)
    with contextlib.suppress(duckdb.Error):
        con.execute("SET enable_progress_bar = false")


# --------------------------------------------------------------------------- raw columns

KINDS = ("text", "number", "integer", "bool", "date", "timestamp", "timestamptz", "other")


@dataclass(frozen=True)
class Raw:
    """A raw column in the engine: a SQL expression and its kind (module docstring)."""

    sql: str
    kind: str = "text"
    #: text already stripped, blank as NULL (a preset rule's result): used as it is, which keeps
    #: the SQL of rules built on rules small
    clean: bool = False


def kind_of(duckdb_type: str) -> str:
    """The kind of a column of DuckDB type ``duckdb_type`` (``VARCHAR``, ``BIGINT``, ...)."""
    t = duckdb_type.upper()
    if t in ("VARCHAR", "STRING", "TEXT") or t.startswith("VARCHAR"):
        return "text"
    if t in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER",
             "UBIGINT", "HUGEINT", "UHUGEINT"):  # fmt: skip
        return "integer"
    if t in ("FLOAT", "DOUBLE", "REAL") or t.startswith("DECIMAL"):
        return "number"
    if t == "BOOLEAN":
        return "bool"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP WITH TIME ZONE") or t == "TIMESTAMPTZ":
        return "timestamptz"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    return "other"


def text(raw: Raw) -> str:
    """SQL: the value as stripped text, NULL where blank or missing (see the module docstring
    for typed cells). One expression, for the preset rules; a parser computes it once, in a
    projection of its own (:class:`Parsed`)."""
    x, kind = raw.sql, raw.kind
    if raw.clean:
        return x
    if kind == "text":
        return f"sr_strip({x})"
    if kind == "number":
        return f"sr_double_text(CAST({x} AS DOUBLE))"
    if kind == "integer":
        return f"CAST({x} AS VARCHAR)"
    if kind == "bool":
        return f"CASE WHEN {x} THEN 'true' WHEN NOT {x} THEN 'false' END"
    if kind == "date":
        return f"strftime({x}, '%Y-%m-%d')"
    if kind == "timestamp":
        return f"sr_time_text(CAST({x} AS TIMESTAMP))"
    if kind == "timestamptz":
        utc = f"make_timestamp(epoch_us({x}))"
        return f"sr_time_text({utc}) || CASE WHEN {utc} = date_trunc('day', {utc}) THEN '' ELSE '+00:00' END"
    return f"sr_strip(CAST({x} AS VARCHAR))"


def raw_text(raw: Raw) -> str:
    """SQL: the value as read, as text (for the examples in messages)."""
    return raw.sql if raw.kind == "text" else f"CAST({raw.sql} AS VARCHAR)"


@dataclass(frozen=True)
class Parsed:
    """The SQL of one parsed column.

    ``stages``: projections computed one after the other, each a tuple of ``(alias, SQL)``
    that may read the aliases of the stages before it (so that a value used several times is
    computed once); ``value``, ``bad`` (given but unreadable, or outside its set) and
    ``changed`` (a category's text changed beyond surrounding spaces) read the last stage.
    """

    value: str
    bad: str = "false"
    changed: str | None = None
    stages: tuple[tuple[tuple[str, str], ...], ...] = ()


def _t(raw: Raw, key: str, wrap: str = "{}") -> tuple[str, tuple[str, str]]:
    """The value as text, computed once, a missing-value marker (:data:`MISSING_MARKERS`) as
    missing (``wrap``: a SQL template applied to it)."""
    name = f"_{key}_t"
    return ident(name), (name, wrap.format(f"sr_unmark({text(raw)})"))


def number(raw: Raw, key: str = "n", *, decimal_comma: bool = False) -> Parsed:
    """A number; ``decimal_comma``: text written with a decimal comma (``1.234,50``, ``12,5``;
    a ``.`` is then a thousands separator)."""
    x = raw.sql
    if raw.kind in ("number", "integer"):
        v = ident(f"_{key}_v")
        stage = ((f"_{key}_v", f"CAST({x} AS DOUBLE)"),)
        return Parsed(f"sr_finite({v})", f"coalesce(isinf({v}), false)", stages=(stage,))
    if raw.kind == "bool":
        return Parsed(f"CASE WHEN {x} THEN 1.0 WHEN NOT {x} THEN 0.0 END")
    t, first = _t(raw, key, "sr_comma_decimal({})" if decimal_comma else "{}")
    n, v = ident(f"_{key}_n"), ident(f"_{key}_v")
    return Parsed(
        f"sr_finite({v})",
        f"({t} IS NOT NULL AND NOT coalesce(isfinite({v}), false))",
        stages=(
            (first,),
            ((f"_{key}_n", f"sr_plain_number({t})"),),
            (
                (
                    f"_{key}_v",
                    f"CASE WHEN {n} IS NOT NULL THEN {n} WHEN {t} IS NULL THEN NULL "
                    f"ELSE sr_clean_number({t}) END",
                ),
            ),  # fmt: skip
        ),
    )


def integer(raw: Raw, key: str = "i", *, decimal_comma: bool = False) -> Parsed:
    n = number(raw, key, decimal_comma=decimal_comma)
    v = ident(f"_{key}_num")
    whole = f"TRY_CAST({v} AS BIGINT)"
    fraction = f"({v} IS NOT NULL AND ({v} <> floor({v}) OR {whole} IS NULL))"
    stages = (*n.stages, ((f"_{key}_num", n.value), (f"_{key}_nbad", n.bad)))
    return Parsed(
        f"CASE WHEN {fraction} THEN NULL ELSE {whole} END",
        f"({ident(f'_{key}_nbad')} OR {fraction})",
        stages=stages,
    )


def datetime(
    raw: Raw, tz: str, *, date_only: bool, key: str = "d", date_order: str | None = None
) -> Parsed:
    """A date or timestamp (naive, in zone ``tz``); ``date_only``: the local date.
    ``date_order`` (``day_first`` or ``month_first``): how a date written with the year last
    (:data:`SLASH_DATE_RE`) is read; without it such a date is unreadable.

    Stages: every value is either a local time (no zone: taken as it is) or an instant, as
    its UTC time (a zone, a Unix time, a typed instant); the instants are then moved to
    ``tz`` by :func:`zone_sql`."""
    x, kind = raw.sql, raw.kind
    k = f"_{key}_"
    local, utc = ident(k + "local"), ident(k + "utc")
    if kind in ("timestamp", "date", "timestamptz", "number", "integer", "bool"):
        if kind == "timestamptz":
            utc_time = f"make_timestamp(epoch_us({x}))"
            first = ((k + "local", "CAST(NULL AS TIMESTAMP)"), (k + "utc", utc_time))
        elif kind in ("number", "integer"):
            v = f"CAST({x} AS DOUBLE)"
            first = ((k + "local", f"sr_serial({v})"), (k + "utc", f"sr_unix({v})"))
        elif kind == "bool":
            first = (
                (k + "local", "CAST(NULL AS TIMESTAMP)"),
                (k + "utc", "CAST(NULL AS TIMESTAMP)"),
            )
        else:
            first = (
                (k + "local", f"CAST({x} AS TIMESTAMP)"),
                (k + "utc", "CAST(NULL AS TIMESTAMP)"),
            )
        given = f"{x} IS NOT NULL" + (
            f" AND NOT isnan(CAST({x} AS DOUBLE))" if kind in ("number", "integer") else ""
        )
        stages: tuple = (first + ((k + "given", f"({given})"),),)
        given = ident(k + "given")
    else:
        slash = {"day_first": "true", "month_first": "false"}.get(date_order or "")
        t, first_t = _t(raw, key, f"sr_slash_iso({{}}, {slash})" if slash else "{}")
        fl, fu, g = ident(k + "fast_local"), ident(k + "fast_utc"), ident(k + "g")
        num, loc = ident(k + "num"), ident(k + "loc")
        rest = f"{fl} IS NULL AND {fu} IS NULL AND {t} IS NOT NULL"
        stages = (
            (first_t,),
            ((k + "fast_local", f"sr_fast_local({t})"), (k + "fast_utc", f"sr_fast_utc({t})")),
            (
                (k + "num", f"CASE WHEN {rest} AND sr_is_serial({t}) THEN TRY_CAST({t} AS DOUBLE) END"),
                (k + "g", f"CASE WHEN {rest} AND NOT sr_is_serial({t}) THEN sr_iso_parts({t}) END"),
            ),
            ((k + "loc", f"CASE WHEN {g} IS NOT NULL THEN sr_iso_local({g}) END"),),
            (
                (k + "local", f"CASE WHEN {fl} IS NOT NULL THEN {fl} WHEN {num} IS NOT NULL "
                              f"THEN sr_serial({num}) WHEN {g} IS NOT NULL AND {g}.z = '' THEN {loc} END"),
                (k + "utc", f"CASE WHEN {fu} IS NOT NULL THEN {fu} WHEN {num} IS NOT NULL "
                            f"THEN sr_unix({num}) WHEN {g} IS NOT NULL THEN sr_iso_utc({g}, {loc}) END"),
            ),
        )  # fmt: skip
        given = f"{t} IS NOT NULL"
    stages = (
        *stages,
        ((k + "ts", f"CASE WHEN {utc} IS NOT NULL THEN {zone_sql(utc, tz)} ELSE {local} END"),),
    )
    value = f"sr_in_range({ident(k + 'ts')})"
    bad = f"({given} AND {value} IS NULL)"
    if date_only:
        value = f"CAST({value} AS DATE)"
    return Parsed(value, bad, stages=stages)


#: the years whose changes of a zone's offset are looked up in a table (the instants outside go
#: through DuckDB's ICU time zones, the same rules, slower per value)
ZONE_YEARS = (1990, 2040)


@cache
def zone_changes(tz: str) -> tuple[tuple[int, int], ...]:
    """The UTC offsets (seconds) of zone ``tz`` in :data:`ZONE_YEARS`: ``((since, offset),
    ...)`` with ``since`` in Unix seconds, the first the span's start (Python's ``zoneinfo``
    rules)."""
    from zoneinfo import ZoneInfo

    zone, utc = ZoneInfo(tz), dt.UTC

    def offset(t: int) -> int:
        return int(dt.datetime.fromtimestamp(t, utc).astimezone(zone).utcoffset().total_seconds())

    start = int(dt.datetime(ZONE_YEARS[0], 1, 1, tzinfo=utc).timestamp())
    end = int(dt.datetime(ZONE_YEARS[1], 1, 1, tzinfo=utc).timestamp())
    days = np.arange(start, end + 1, 86400, dtype=np.int64)
    local = pd.DatetimeIndex(days * 1_000_000_000, tz="UTC").tz_convert(zone).tz_localize(None)
    offsets = (local.asi8 // 1_000_000_000 - days).astype(np.int64)
    out = [(int(start), int(offsets[0]))]
    for i in np.flatnonzero(offsets[1:] != offsets[:-1]):
        lo, hi = int(days[i]), int(days[i + 1])  # the change happens in (lo, hi]
        before = offset(lo)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if offset(mid) == before else (lo, mid)
        out.append((hi, offset(hi)))
    return tuple(out)


def zone_sql(utc: str, tz: str) -> str:
    """SQL: the naive UTC time ``utc`` (a column) as local time in ``tz``: the offset looked up
    in :func:`zone_changes` by a tree of comparisons (seven or so per value, against a third of
    a microsecond for ICU's conversion; the tree costs a few milliseconds per column to plan),
    ICU's conversion outside :data:`ZONE_YEARS`."""
    if tz == "UTC":
        return utc
    changes = zone_changes(tz)
    epoch = f"epoch({utc})"

    def tree(items) -> str:
        if len(items) == 1:
            return str(items[0][1])
        mid = len(items) // 2
        return f"CASE WHEN {epoch} < {items[mid][0]} THEN {tree(items[:mid])} ELSE {tree(items[mid:])} END"

    end = int(dt.datetime(ZONE_YEARS[1], 1, 1, tzinfo=dt.UTC).timestamp())
    return (
        f"CASE WHEN {epoch} >= {changes[0][0]} AND {epoch} < {end} "
        f"THEN {utc} + to_seconds({tree(changes)}) "
        f"ELSE timezone({sql_text(tz)}, CAST({utc} AS TIMESTAMPTZ)) END"
    )


def boolean(raw: Raw, key: str = "b") -> Parsed:
    if raw.kind == "bool":
        return Parsed(raw.sql)
    t, first = _t(raw, key)
    return Parsed(
        f"sr_bool({t})", f"({t} IS NOT NULL AND sr_bool({t}) IS NULL)", stages=((first,),)
    )


def period(raw: Raw, *, month_only: bool, key: str = "p") -> Parsed:
    """Period text; a full date (or a date cell) is cut to its month."""
    t, first = _t(raw, key)
    pt, pv = ident(f"_{key}_pt"), ident(f"_{key}_pv")
    ok = f"regexp_full_match({pv}, {sql_text(MONTH_RE if month_only else PERIOD_RE)})"
    return Parsed(
        f"CASE WHEN {ok} THEN {pv} END",
        f"({t} IS NOT NULL AND NOT coalesce({ok}, false))",
        stages=(
            (first,),
            ((f"_{key}_pt", f"sr_period_text({t})"),),
            (
                (
                    f"_{key}_pv",
                    f"CASE WHEN contains(lower({pt}), 'q') THEN upper({pt}) ELSE {pt} END",
                ),
            ),
        ),
    )


def category(
    raw: Raw, *, allowed: tuple[str, ...] | None = None, closed: bool | None = None, key: str = "c"
) -> Parsed:
    """A category: lower case with single spaces (a closed set: ``allowed`` or ``closed``,
    spaces and hyphens as ``_``; a value outside ``allowed`` is ``bad`` and cleared);
    ``changed`` where the text changed beyond surrounding spaces."""
    t, first = _t(raw, key)
    norm = ident(f"_{key}_norm")
    closed = bool(allowed) if closed is None else closed
    rule = f"sr_closed_category({t})" if closed else f"sr_category({t})"
    stages = ((first,), ((f"_{key}_norm", rule),))
    changed = f"({t} IS NOT NULL AND {norm} <> {t})"
    if not allowed:
        return Parsed(norm, "false", changed, stages)
    inside = f"{norm} IN ({', '.join(sql_text(a) for a in allowed)})"
    return Parsed(
        f"CASE WHEN {inside} THEN {norm} END",
        f"({t} IS NOT NULL AND NOT {inside})",
        changed,
        stages,
    )


def currency(raw: Raw, key: str = "u") -> Parsed:
    t, first = _t(raw, key)
    return Parsed(f"upper({t})", stages=((first,),))


def plain_text(raw: Raw, key: str = "s") -> Parsed:
    t, first = _t(raw, key)
    return Parsed(t, stages=((first,),))


def inline(p: Parsed) -> Parsed:
    """``p`` as single expressions (its stages substituted in): for the preset rules, which
    build one column's expression from others'."""
    value, bad, changed = p.value, p.bad, p.changed
    for stage in reversed(p.stages):
        for alias, sql in stage:
            name = ident(alias)
            value, bad = value.replace(name, f"({sql})"), bad.replace(name, f"({sql})")
            if changed is not None:
                changed = changed.replace(name, f"({sql})")
    return Parsed(value, bad, changed)


def staged_select(source: str, carry: list[str], parsed: list[Parsed], outputs: list[str]) -> str:
    """A query over ``source`` computing every parser's stages, then ``outputs`` (SQL with
    aliases); ``carry`` are the source's columns the outputs read besides the stages'."""
    depth = max((len(p.stages) for p in parsed), default=0)
    query = source
    for i in range(depth):
        items = [
            f"{sql} AS {ident(alias)}"
            for p in parsed
            if i < len(p.stages)
            for alias, sql in p.stages[i]
        ]
        query = f"(SELECT *, {', '.join(items)} FROM {query})" if items else query
    return f"SELECT {', '.join(outputs)} FROM {query}"


#: the engine type each contract type is parsed into
ENGINE_TYPES = {
    "string": "VARCHAR",
    "period": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "number": "DOUBLE",
    "integer": "BIGINT",
    "bool": "BOOLEAN",
}


# --------------------------------------------------------------------------- cells to Arrow

EXCEL_EPOCH_TS = pd.Timestamp(EXCEL_EPOCH)


def cell_text(v: object) -> str | None:
    """One typed cell (Excel, a database) as text: the form :func:`text` gives in SQL."""
    if v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, float | np.floating):
        f = float(v)
        return str(int(f)) if f.is_integer() else repr(f)
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(v)
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC")
            return ts.isoformat() if ts != ts.normalize() else ts.date().isoformat()
        return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.isoformat()
    return str(v)


def cells_to_arrow(values) -> tuple[pa.Array, str]:
    """Python cells of one column (Excel, a database, an ``object`` Series) as an Arrow array
    and its kind: the cells' own type when every present cell has it, else text
    (:func:`cell_text`). Missing cells (``None``, NaN, NaT) are null."""
    vals = [None if _missing(v) else v for v in values]
    present = [v for v in vals if v is not None]
    types = {_cell_type(v) for v in present}
    if not present or types == {"text"}:
        return pa.array(vals, type=pa.string()), "text"
    if len(types) == 1:
        (kind,) = types
        try:
            if kind == "bool":
                return pa.array(vals, type=pa.bool_()), "bool"
            if kind == "integer":
                return pa.array([None if v is None else int(v) for v in vals], pa.int64()), kind
            if kind == "number":
                return pa.array([None if v is None else float(v) for v in vals], pa.float64()), kind
            if kind == "date":
                return pa.array(vals, type=pa.date32()), kind
            if kind == "timestamp":
                ts = [None if v is None else pd.Timestamp(v).to_datetime64() for v in vals]
                return pa.array(ts, type=pa.timestamp("us")), kind
            if kind == "timestamptz":
                ts = [None if v is None else pd.Timestamp(v).tz_convert("UTC") for v in vals]
                return pa.array(ts, type=pa.timestamp("us", tz="UTC")), kind
        except (OverflowError, pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
            pass
    if types <= {"integer", "number"}:
        return pa.array([None if v is None else float(v) for v in vals], pa.float64()), "number"
    return pa.array([cell_text(v) for v in vals], type=pa.string()), "text"


#: the Python types a database driver gives a typed column, read without a per-cell look
_DB_TYPES = (str, bool, int, float, dt.date, dt.datetime, Decimal)


def column_to_arrow(values: list) -> tuple[pa.Array, str]:
    """:func:`cells_to_arrow` for one column of a database result, fast when the driver gave
    every present cell one Python type (a typed column: text, integer, float, numeric as
    ``Decimal``, date, timestamp with or without zone): the same array and kind, built by
    Arrow instead of cell by cell (``Decimal`` converted with :class:`float`, as
    ``pandas.read_sql_query`` does). Any other column goes through :func:`cells_to_arrow`."""
    types = set(map(type, values))
    types.discard(type(None))
    if len(types) != 1 or not issubclass(kind := types.pop(), _DB_TYPES):
        return cells_to_arrow(values)
    if kind is Decimal:
        values = [None if v is None else float(v) for v in values]
    if issubclass(kind, dt.datetime) and len({v.tzinfo is None for v in values if v}) > 1:
        return cells_to_arrow(values)  # with and without a zone: text, cell by cell
    try:
        arr = pa.array(values, from_pandas=True)  # NaN (float columns) is missing
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, ValueError):
        return cells_to_arrow(values)
    t = arr.type
    if arr.null_count == len(arr):  # only NaN: no value, as cells_to_arrow says
        return cells_to_arrow(values)
    if pa.types.is_string(t):
        return arr, "text"
    if pa.types.is_boolean(t):
        return arr, "bool"
    if pa.types.is_integer(t):
        return arr.cast(pa.int64()), "integer"
    if pa.types.is_floating(t):
        return arr.cast(pa.float64()), "number"
    if pa.types.is_date(t):
        return arr.cast(pa.date32()), "date"
    if pa.types.is_timestamp(t) and t.tz is None:
        return arr.cast(pa.timestamp("us")), "timestamp"
    if pa.types.is_timestamp(t):
        return arr.cast(pa.timestamp("us", tz="UTC")), "timestamptz"
    return cells_to_arrow(values)


def _missing(v: object) -> bool:
    if v is None or v is pd.NaT or v is pd.NA:
        return True
    return isinstance(v, float | np.floating) and math.isnan(v)


def _cell_type(v: object) -> str:
    if isinstance(v, str):
        return "text"
    if isinstance(v, bool | np.bool_):
        return "bool"
    if isinstance(v, int | np.integer):
        return "integer"
    if isinstance(v, float | np.floating):
        return "number"
    if isinstance(v, pd.Timestamp | dt.datetime):
        return "timestamptz" if getattr(v, "tzinfo", None) is not None else "timestamp"
    if isinstance(v, dt.date):
        return "date"
    return "other"


def series_to_arrow(s: pd.Series) -> tuple[pa.Array, str]:
    """A pandas column as an Arrow array and its kind (typed columns keep their type)."""
    dtype = s.dtype
    if isinstance(dtype, pd.ArrowDtype) and pa.types.is_string(dtype.pyarrow_dtype):
        return pa.array(s.array), "text"
    if pd.api.types.is_bool_dtype(dtype):
        return pa.array(
            s.astype("boolean").to_numpy(dtype=object, na_value=None), pa.bool_()
        ), "bool"
    if pd.api.types.is_integer_dtype(dtype):
        return pa.array(
            s.astype("Int64").to_numpy(dtype=object, na_value=None), pa.int64()
        ), "integer"
    if pd.api.types.is_float_dtype(dtype):
        return pa.array(s.to_numpy(dtype=float), pa.float64()), "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        if getattr(dtype, "tz", None) is not None:
            return pa.array(s.dt.tz_convert("UTC"), pa.timestamp("us", tz="UTC")), "timestamptz"
        return pa.array(s.to_numpy(dtype="datetime64[us]"), pa.timestamp("us")), "timestamp"
    return cells_to_arrow(s.to_numpy(dtype=object))


# --------------------------------------------------------------------------- pandas wrappers


@cache
def _connection():
    import duckdb

    con = duckdb.connect()
    install(con)
    return con


def evaluate(
    s: pd.Series, parse: Callable[[Raw], Parsed]
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``parse`` run by the engine on a pandas Series: ``(values, bad, changed)``, aligned
    with ``s`` (values as pandas gives them from Arrow, see the callers for dtypes)."""
    arr, kind = series_to_arrow(s)
    table = pa.table({"x": arr, "_pos": pa.array(np.arange(len(s), dtype=np.int64))})
    p = parse(Raw('"x"', kind))
    outputs = [f"{p.value} AS v", f"{p.bad} AS bad", f"{p.changed or 'false'} AS changed", "_pos"]
    con = _connection()
    con.register("_sr_series", table)
    try:
        out = con.execute(
            f"SELECT v, bad, changed FROM ({staged_select('_sr_series', ['x'], [p], outputs)}) ORDER BY _pos"
        ).to_arrow_table()
    finally:
        con.unregister("_sr_series")
    idx = s.index
    bad = pd.Series(out["bad"].to_numpy(zero_copy_only=False), index=idx).fillna(False)
    changed = pd.Series(out["changed"].to_numpy(zero_copy_only=False), index=idx).fillna(False)
    return _to_pandas(out["v"], idx), bad.astype(bool), changed.astype(bool)


def _to_pandas(col: pa.ChunkedArray, index) -> pd.Series:
    t = col.type
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        values = col.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)
        return pd.Series(values.astype("datetime64[ns]"), index=index)
    if pa.types.is_integer(t):
        return pd.Series(pd.array(col.to_pylist(), dtype="Int64"), index=index)
    if pa.types.is_floating(t):
        return pd.Series(col.to_numpy(zero_copy_only=False).astype(float), index=index)
    return pd.Series(col.to_pylist(), index=index, dtype=object)


def parse_datetimes(s: pd.Series, tz: str, *, date_only: bool) -> tuple[pd.Series, pd.Series]:
    """Parse a date or timestamp column to naive ``datetime64[ns]`` in zone ``tz``.

    Returns ``(values, invalid)``. ``date_only`` cuts each value to midnight of its local date.
    """
    v, bad, _ = evaluate(s, lambda r: datetime(r, tz, date_only=date_only))
    return v, bad


def parse_numbers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a number column to ``float64``; returns ``(values, invalid)``."""
    v, bad, _ = evaluate(s, number)
    return v.astype(float), bad


def parse_integers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a whole-number column to nullable ``Int64``; a fraction is invalid."""
    v, bad, _ = evaluate(s, integer)
    return v.astype("Int64"), bad


def parse_bools(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a yes/no column to an object series of ``True``/``False``/``None``."""
    v, bad, _ = evaluate(s, boolean)
    return v.astype(object).where(v.notna(), None), bad


def parse_periods(s: pd.Series, *, month_only: bool) -> tuple[pd.Series, pd.Series]:
    """Period text: ``2026-10``, ``2026-Q4`` or ``2026`` (``month_only``: ``2026-10`` only)."""
    v, bad, _ = evaluate(s, lambda r: period(r, month_only=month_only))
    return v, bad


def normalise_category(s: pd.Series, *, closed_set: bool) -> tuple[pd.Series, pd.Series]:
    """Lower-case category values; returns ``(values, changed)`` (see :func:`category`;
    here a closed set has no list of allowed values, so nothing is cleared)."""
    v, _, changed = evaluate(s, lambda r: category(r, closed=closed_set))
    return v, changed


def parse_currency(s: pd.Series) -> pd.Series:
    """Currency codes: stripped text upper-cased, ``None`` where blank."""
    return evaluate(s, currency)[0]


def to_text(s: pd.Series) -> pd.Series:
    """Values as stripped text, ``None`` where blank or missing."""
    return evaluate(s, plain_text)[0]
