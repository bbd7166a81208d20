"""Parse raw columns into the contract's types, as queries on the engine.

Every rule is written once, as a function of a SQL dialect (:mod:`salesreport.data.dialect`:
DuckDB's, PostgreSQL's or Spark's, with the same results on each, ``tests/test_parse_engines.py``),
and each column's SQL (a :class:`Parsed`: staged projections) is built from them by the
parsers :func:`number`, :func:`datetime`, ...; a raw column (:class:`Raw`) carries its
engine's dialect. A parser gives the parsed value and whether the value was *invalid*:
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

from salesreport.data.dialect import DUCKDB, Dialect, days_in_month

#: the characters Python's ``str.strip()`` removes (``str.isspace``)
SPACES = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
#: the same as a regular expression's class (the characters themselves, which the three
#: engines' regular expressions read alike)
SPACE_CLASS = f"[{SPACES}]"
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
SLASH_GROUPS = ("a", "b", "y", "h", "mi", "s", "ap")
#: what a pandas ``datetime64[ns]`` holds, to the microsecond
FIRST_TIME = "1677-09-21 00:12:43.145225"
LAST_TIME = "2262-04-11 23:47:16.854775"
EXCEL_EPOCH = "1899-12-30"
EXCEL_EPOCH_SQL = f"TIMESTAMP '{EXCEL_EPOCH}'"
#: Unix seconds and milliseconds are read up to the last instant a pandas timestamp holds
UNIX_S_MAX = 9223372036.854775807
UNIX_MS_MAX = 9223372036854.775807
DAY_US = 86_400_000_000


def sql_text(value: str) -> str:
    """A SQL string literal (DuckDB's; :meth:`Dialect.lit` for another engine's)."""
    return DUCKDB.lit(value)


def ident(name: str) -> str:
    """A quoted SQL identifier (DuckDB's; :meth:`Dialect.ident` for another engine's)."""
    return DUCKDB.ident(name)


# --------------------------------------------------------------------------- the rules
# Every rule once, as a function of a dialect (:mod:`salesreport.data.dialect`) and SQL
# arguments, inlined where it is used: an argument used twice is computed twice, so the
# builders below pass columns (computed once, in an earlier projection, see :class:`Parsed`),
# and a fallback is a ``CASE`` branch, evaluated only for the rows that reach it
# (``coalesce`` evaluates every argument on every row).


def strip(D: Dialect, s: str) -> str:
    """Text without the surrounding characters ``str.strip()`` removes; blank as NULL."""
    return (
        f"CASE WHEN {D.search(s, f'^{SPACE_CLASS}|{SPACE_CLASS}$')} "
        f"THEN NULLIF({D.strip(s, SPACES)}, '') ELSE NULLIF({s}, '') END"
    )


def unmark(D: Dialect, s: str) -> str:
    """A missing-value marker (:data:`MISSING_MARKERS`) as NULL."""
    return f"CASE WHEN {D.one_of(f'lower({s})', sorted(MISSING_MARKERS))} THEN NULL ELSE {s} END"


def _hour24(D: Dialect, h: str, ap: str) -> str:
    hour = D.to_int(h)
    return (
        f"CASE WHEN {ap} = '' THEN {hour} WHEN {hour} NOT BETWEEN 1 AND 12 THEN 99 "
        f"WHEN upper({ap}) = 'PM' THEN {hour} % 12 + 12 ELSE {hour} % 12 END"
    )


def slash_parts(D: Dialect, t: str) -> str:
    """The groups of a date written with the year last (:data:`SLASH_DATE_RE`), NULL for
    other text."""
    return f"CASE WHEN {D.full_match(t, SLASH_DATE_RE)} THEN {D.groups(t, SLASH_DATE_RE, SLASH_GROUPS)} END"


def slash_iso(D: Dialect, g: str, day_first: bool) -> str:
    """:func:`slash_parts` ``g`` as ISO text, ``day_first`` or month first."""

    def part(name: str) -> str:
        return D.group(g, SLASH_GROUPS, name)

    day, month = (part("a"), part("b")) if day_first else (part("b"), part("a"))
    hour = D.text(_hour24(D, part("h"), part("ap")))
    return (
        f"{part('y')} || '-' || lpad({month}, 2, '0') || '-' || lpad({day}, 2, '0') "
        f"|| CASE WHEN {part('h')} = '' THEN '' ELSE ' ' || lpad({hour}, 2, '0') "
        f"|| ':' || {part('mi')} || ':' || CASE WHEN {part('s')} = '' THEN '00' "
        f"ELSE {part('s')} END END"
    )


def comma_decimal(D: Dialect, t: str) -> str:
    """Text written with a decimal comma as text with a decimal point."""
    return (
        f"CASE WHEN {D.full_match(t, '[^,]*,?[^,]*')} "
        f"THEN replace(replace({t}, '.', ''), ',', '.') ELSE {t} END"
    )


def plain_number(D: Dialect, t: str) -> str:
    return f"CASE WHEN {D.full_match(t, NUMBER_RE)} THEN {D.to_double(t)} END"


def unsymbol(D: Dialect, t: str) -> str:
    """Text without a leading or trailing currency symbol."""
    return D.replace_all(t, CURRENCY_RE, "")


SEPARATORS = "[,' ]"


def _unseparate(D: Dialect, u: str) -> str:
    return (
        f"CASE WHEN {D.full_match(u, THOUSANDS_RE)} "
        f"THEN {D.replace_all(u, SEPARATORS, '')} ELSE {u} END"
    )


def clean_number(D: Dialect, t: str) -> str:
    bare = unsymbol(D, t)
    number = plain_number(D, _unseparate(D, D.strip(D.rstrip(bare, "%"), SPACES)))
    return f"{number} / CASE WHEN right({bare}, 1) = '%' THEN 100.0 ELSE 1.0 END"


def finite(D: Dialect, v: str) -> str:
    return f"CASE WHEN {D.is_finite(v)} THEN {v} + 0.0 END"


def in_range(ts: str) -> str:
    return (
        f"CASE WHEN {ts} BETWEEN TIMESTAMP '{FIRST_TIME}' AND TIMESTAMP '{LAST_TIME}' THEN {ts} END"
    )


def serial(D: Dialect, x: str) -> str:
    """Excel's serial day number ``x`` (a double) as a timestamp."""
    seconds = f"CAST({D.round_half_even(f'{x} * 86400')} AS BIGINT)"
    return f"CASE WHEN {x} > 0 AND {x} < 100000 THEN {D.plus_seconds(EXCEL_EPOCH_SQL, seconds)} END"


def unix(D: Dialect, x: str) -> str:
    """Unix seconds or milliseconds ``x`` (a double) as the UTC timestamp."""
    us, ms = (D.from_us(f"CAST({D.round_half_up(f'{x} * {k}')} AS BIGINT)") for k in ("1e6", "1e3"))
    return (
        f"CASE WHEN {x} >= 1e9 AND {x} < {UNIX_S_MAX} THEN {us} "
        f"WHEN {x} >= 1e11 AND {x} < {UNIX_MS_MAX} THEN {ms} END"
    )


def _fast_local(t: str) -> str:
    return (
        f"CASE WHEN {t} LIKE '____-__-__' THEN CAST(TRY_CAST({t} AS DATE) AS TIMESTAMP) "
        f"WHEN length({t}) = 19 AND ({t} LIKE '____-__-__T__:__:__' OR {t} LIKE '____-__-__ __:__:__') "
        f"AND substr({t}, 12, 2) < '24' AND substr({t}, 18, 2) < '60' "
        f"THEN TRY_CAST({t} AS TIMESTAMP) END"
    )


def _fast_utc(t: str) -> str:
    return (
        f"CASE WHEN NOT ({t} LIKE '____-__-__T__:__:___%' OR {t} LIKE '____-__-__ __:__:___%') "
        f"OR substr({t}, 12, 2) >= '24' OR substr({t}, 18, 2) >= '60' THEN NULL "
        f"WHEN (length({t}) = 20 AND substr({t}, 20, 1) = 'Z') "
        f"OR (length({t}) = 25 AND substr({t}, 20, 1) IN ('+', '-') AND substr({t}, 23, 1) = ':' "
        f"AND substr({t}, 24, 2) < '60') "
        f"THEN make_timestamp(epoch_us(TRY_CAST({t} AS TIMESTAMPTZ))) END"
    )


def _is_serial(D: Dialect, t: str) -> str:
    eight_digits = D.full_match(t, r"\d{8}")
    return f"({D.full_match(t, NUMBER_RE)} AND NOT {eight_digits})"


def _iso_local(D: Dialect, g: str) -> str:
    def part(*names: str) -> str:
        return " || ".join(D.group(g, ISO_GROUPS, n) for n in names)

    def number(names: tuple[str, ...], default: str) -> str:
        return f"CAST(COALESCE(NULLIF({part(*names)}, ''), '{default}') AS BIGINT)"

    fraction = f"CAST(rpad(left({part('f', 'fb')}, 6), 6, '0') AS BIGINT)"
    micro = f"{number(('s', 'sb'), '0')} * 1000000 + {fraction}"
    year = f"CAST({part('y')} AS BIGINT)"
    args = ((("m", "mb"), "1"), (("d", "db"), "1"), (("h", "hb"), "0"), (("mi", "mib"), "0"))
    return (
        f"CASE WHEN {part('y')} = '' OR ({part('s2')} <> '' AND {part('s1')} <> {part('s2')}) THEN NULL "
        f"WHEN {D.to_int(part('h', 'hb'))} > 23 OR {D.to_int(part('mi', 'mib'))} > 59 "
        f"OR {D.to_int(part('s', 'sb'))} > 59 THEN NULL "
        f"ELSE {D.make_timestamp(year, *(number(*a) for a in args), micro)} END"
    )


def _zone_minutes(D: Dialect, z: str) -> str:
    return D.to_int(f"right(replace(substr({z}, 4), ':', ''), 2)")


def _iso_utc(D: Dialect, g: str, loc: str) -> str:
    z = D.group(g, ISO_GROUPS, "z")
    h, hb = D.group(g, ISO_GROUPS, "h"), D.group(g, ISO_GROUPS, "hb")
    offset = (
        f"(CASE WHEN substr({z}, 1, 1) = '-' THEN -1 ELSE 1 END) "
        f"* (CAST(substr({z}, 2, 2) AS INTEGER) * 3600 + COALESCE({_zone_minutes(D, z)}, 0) * 60)"
    )
    return (
        f"CASE WHEN {z} = '' OR ({h} = '' AND {hb} = '') THEN NULL WHEN {z} = 'Z' THEN {loc} "
        f"WHEN {_zone_minutes(D, z)} > 59 THEN NULL "
        f"ELSE {D.plus_seconds(loc, f'-({offset})')} END"
    )


def category_rule(D: Dialect, t: str) -> str:
    return (
        f"CASE WHEN {D.full_match(t, '[a-z0-9_-]+(?: [a-z0-9_-]+)*')} THEN {t} "
        f"ELSE {D.replace_all(f'lower({t})', SPACE_CLASS + '+', ' ')} END"
    )


def closed_category_rule(D: Dialect, t: str) -> str:
    return (
        f"CASE WHEN {D.full_match(t, '[a-z0-9_]+')} THEN {t} "
        f"ELSE {D.replace_all(category_rule(D, t), f'[{SPACES}-]+', '_')} END"
    )


ISO_DATE_START = r"^\d{4}-\d{2}-\d{2}"


def period_text(D: Dialect, t: str) -> str:
    """Period text; a date (``2026-10-31...``, a day that exists) cut to its month."""
    y, m, d = (f"CAST(substr({t}, {i}, {n}) AS INTEGER)" for i, n in ((1, 4), (6, 2), (9, 2)))
    return (
        f"CASE WHEN {D.search(t, ISO_DATE_START)} AND {m} BETWEEN 1 AND 12 "
        f"AND {d} BETWEEN 1 AND {days_in_month(y, m)} THEN substr({t}, 1, 7) ELSE {t} END"
    )


def bool_rule(D: Dialect, t: str) -> str:
    words = [", ".join(D.lit(w) for w in ws) for ws in (TRUE_WORDS, FALSE_WORDS)]
    return f"CASE WHEN lower({t}) IN ({words[0]}) THEN true WHEN lower({t}) IN ({words[1]}) THEN false END"


def double_text(D: Dialect, x: str) -> str:
    """A double as text: a whole number without a fraction (``123``), another as the
    engine's shortest form that reads back as the same double."""
    return (
        f"CASE WHEN {D.is_nan(x)} THEN NULL WHEN {D.is_inf(x)} THEN CASE WHEN {x} > 0 THEN 'inf' "
        f"ELSE '-inf' END WHEN {D.is_whole(x)} AND abs({x}) < 1e38 THEN {D.whole_text(x)} "
        f"ELSE {D.fraction_text(x)} END"
    )


def _midnight(D: Dialect, ts: str) -> str:
    return f"{D.epoch_us(ts)} % {DAY_US} = 0"


def time_text(D: Dialect, ts: str) -> str:
    """A timestamp as ISO text: the date alone at midnight, microseconds only when some."""
    return (
        f"CASE WHEN {_midnight(D, ts)} THEN {D.format_date(ts)} "
        f"WHEN {D.epoch_us(ts)} % 1000000 = 0 THEN {D.format_time(ts, False)} "
        f"ELSE {D.format_time(ts, True)} END"
    )


def install(con) -> None:
    """Prepare a DuckDB connection for the rules: its session zone set to UTC (so a
    ``TIMESTAMP`` cast to ``TIMESTAMPTZ`` is read as UTC) and no progress bar."""
    quiet(con)
    con.execute("SET TimeZone = 'UTC'")


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
    #: the SQL dialect of the engine holding the column
    dialect: Dialect = DUCKDB


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
    x, kind, D = raw.sql, raw.kind, raw.dialect
    if raw.clean:
        return x
    if kind == "text":
        return strip(D, x)
    if kind == "number":
        return double_text(D, f"CAST({x} AS {D.double_type})")
    if kind == "integer":
        return D.text(x)
    if kind == "bool":
        return f"CASE WHEN {x} THEN 'true' WHEN NOT {x} THEN 'false' END"
    if kind == "date":
        return D.format_date(x)
    if kind == "timestamp":
        return time_text(D, D.timestamp(x))
    if kind == "timestamptz":
        utc = D.instant_utc(x)
        return f"{time_text(D, utc)} || CASE WHEN {_midnight(D, utc)} THEN '' ELSE '+00:00' END"
    return strip(D, D.text(x))


def raw_text(raw: Raw) -> str:
    """SQL: the value as read, as text (for the examples in messages)."""
    return raw.sql if raw.kind == "text" else raw.dialect.text(raw.sql)


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
    dialect: Dialect = DUCKDB


def _t(raw: Raw, key: str) -> tuple[str, tuple]:
    """The value as text, computed once, a missing-value marker (:data:`MISSING_MARKERS`) as
    missing: its column and the stages computing it."""
    name = f"_{key}_t"
    return raw.dialect.ident(name), (((name, unmark(raw.dialect, text(raw))),),)


def number(raw: Raw, key: str = "n", *, decimal_comma: bool = False) -> Parsed:
    """A number; ``decimal_comma``: text written with a decimal comma (``1.234,50``, ``12,5``;
    a ``.`` is then a thousands separator)."""
    x, D = raw.sql, raw.dialect
    if raw.kind in ("number", "integer"):
        v = D.ident(f"_{key}_v")
        stage = ((f"_{key}_v", f"CAST({x} AS {D.double_type})"),)
        return Parsed(finite(D, v), f"coalesce({D.is_inf(v)}, false)", stages=(stage,), dialect=D)
    if raw.kind == "bool":
        return Parsed(
            f"CAST(CASE WHEN {x} THEN 1 WHEN NOT {x} THEN 0 END AS {D.double_type})", dialect=D
        )
    t, t_stages = _t(raw, key)
    if decimal_comma:
        t0, t = t, D.ident(f"_{key}_tc")
        t_stages = (*t_stages, ((f"_{key}_tc", comma_decimal(D, t0)),))
    n, v = D.ident(f"_{key}_n"), D.ident(f"_{key}_v")
    return Parsed(
        finite(D, v),
        f"({t} IS NOT NULL AND NOT coalesce({D.is_finite(v)}, false))",
        stages=(
            *t_stages,
            ((f"_{key}_n", plain_number(D, t)),),
            (
                (
                    f"_{key}_v",
                    f"CASE WHEN {n} IS NOT NULL THEN {n} WHEN {t} IS NULL THEN NULL "
                    f"ELSE {clean_number(D, t)} END",
                ),
            ),  # fmt: skip
        ),
        dialect=D,
    )


def integer(raw: Raw, key: str = "i", *, decimal_comma: bool = False) -> Parsed:
    D = raw.dialect
    n = number(raw, key, decimal_comma=decimal_comma)
    v = D.ident(f"_{key}_num")
    whole = D.double_to_bigint(v)
    fraction = f"({v} IS NOT NULL AND (NOT {D.is_whole(v)} OR {whole} IS NULL))"
    stages = (*n.stages, ((f"_{key}_num", n.value), (f"_{key}_nbad", n.bad)))
    return Parsed(
        f"CASE WHEN {fraction} THEN NULL ELSE {whole} END",
        f"({D.ident(f'_{key}_nbad')} OR {fraction})",
        stages=stages,
        dialect=D,
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
    x, kind, D = raw.sql, raw.kind, raw.dialect
    k = f"_{key}_"
    local, utc = D.ident(k + "local"), D.ident(k + "utc")
    no_time = D.null("TIMESTAMP")
    if kind in ("timestamp", "date", "timestamptz", "number", "integer", "bool"):
        if kind == "timestamptz":
            first = ((k + "local", no_time), (k + "utc", D.instant_utc(x)))
        elif kind in ("number", "integer"):
            v = f"CAST({x} AS {D.double_type})"
            first = ((k + "local", serial(D, v)), (k + "utc", unix(D, v)))
        elif kind == "bool":
            first = ((k + "local", no_time), (k + "utc", no_time))
        else:
            first = ((k + "local", D.timestamp(x)), (k + "utc", no_time))
        given = f"{x} IS NOT NULL" + (
            f" AND NOT {D.is_nan(f'CAST({x} AS {D.double_type})')}"
            if kind in ("number", "integer")
            else ""
        )
        stages: tuple = (first + ((k + "given", f"({given})"),),)
        given = D.ident(k + "given")
    else:
        order = {"day_first": True, "month_first": False}.get(date_order or "")
        t, t_stages = _t(raw, key)
        if order is not None:  # a date written with the year last as ISO text
            t0, t, sg = t, D.ident(k + "ts0"), D.ident(k + "sg")
            t_stages = (
                *t_stages,
                ((k + "sg", slash_parts(D, t0)),),
                (
                    (
                        k + "ts0",
                        f"CASE WHEN {sg} IS NULL THEN {t0} ELSE {slash_iso(D, sg, order)} END",
                    ),
                ),
            )
        fl, fu, g = D.ident(k + "fast_local"), D.ident(k + "fast_utc"), D.ident(k + "g")
        num, loc = D.ident(k + "num"), D.ident(k + "loc")
        rest = f"{fl} IS NULL AND {fu} IS NULL AND {t} IS NOT NULL"
        fast = (_fast_local(t), _fast_utc(t)) if D.fast_iso else (no_time, no_time)
        stages = (
            *t_stages,
            ((k + "fast_local", fast[0]), (k + "fast_utc", fast[1])),
            (
                (k + "num", f"CASE WHEN {rest} AND {_is_serial(D, t)} THEN {D.to_double(t)} END"),
                (k + "g", f"CASE WHEN {rest} AND NOT {_is_serial(D, t)} THEN {D.groups(t, ISO_RE, ISO_GROUPS)} END"),
            ),
            ((k + "loc", f"CASE WHEN {g} IS NOT NULL THEN {_iso_local(D, g)} END"),),
            (
                (k + "local", f"CASE WHEN {fl} IS NOT NULL THEN {fl} WHEN {num} IS NOT NULL "
                              f"THEN {serial(D, num)} WHEN {g} IS NOT NULL "
                              f"AND {D.group(g, ISO_GROUPS, 'z')} = '' THEN {loc} END"),
                (k + "utc", f"CASE WHEN {fu} IS NOT NULL THEN {fu} WHEN {num} IS NOT NULL "
                            f"THEN {unix(D, num)} WHEN {g} IS NOT NULL THEN {_iso_utc(D, g, loc)} END"),
            ),
        )  # fmt: skip
        given = f"{t} IS NOT NULL"
    stages = (
        *stages,
        ((k + "ts", f"CASE WHEN {utc} IS NOT NULL THEN {zone_sql(utc, tz, D)} ELSE {local} END"),),
    )
    value = in_range(D.ident(k + "ts"))
    bad = f"({given} AND {value} IS NULL)"
    if date_only:
        value = f"CAST({value} AS DATE)"
    return Parsed(value, bad, stages=stages, dialect=D)


#: the years whose changes of a zone's offset are looked up in a table (the instants outside go
#: through the engine's own time zones, the same rules, slower per value)
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


def zone_sql(utc: str, tz: str, D: Dialect = None) -> str:
    """SQL: the naive UTC time ``utc`` (a column) as local time in ``tz``: the offset looked up
    in :func:`zone_changes` by a tree of comparisons (seven or so per value, against a third of
    a microsecond for DuckDB's ICU conversion; the tree costs a few milliseconds per column to
    plan; and the same rules on every engine, Python's), the engine's conversion outside
    :data:`ZONE_YEARS`."""
    D = D or DUCKDB
    if tz == "UTC":
        return utc
    changes = zone_changes(tz)
    epoch = D.epoch_us(utc)

    def tree(items) -> str:
        if len(items) == 1:
            return str(items[0][1])
        mid = len(items) // 2
        return (
            f"CASE WHEN {epoch} < {items[mid][0] * 1_000_000} THEN {tree(items[:mid])} "
            f"ELSE {tree(items[mid:])} END"
        )

    end = int(dt.datetime(ZONE_YEARS[1], 1, 1, tzinfo=dt.UTC).timestamp())
    return (
        f"CASE WHEN {epoch} >= {changes[0][0] * 1_000_000} AND {epoch} < {end * 1_000_000} "
        f"THEN {D.plus_seconds(utc, tree(changes))} "
        f"ELSE {D.utc_to_zone(utc, tz)} END"
    )


def boolean(raw: Raw, key: str = "b") -> Parsed:
    D = raw.dialect
    if raw.kind == "bool":
        return Parsed(raw.sql, dialect=D)
    t, t_stages = _t(raw, key)
    return Parsed(
        bool_rule(D, t),
        f"({t} IS NOT NULL AND {bool_rule(D, t)} IS NULL)",
        stages=t_stages,
        dialect=D,
    )


def period(raw: Raw, *, month_only: bool, key: str = "p") -> Parsed:
    """Period text; a full date (or a date cell) is cut to its month."""
    D = raw.dialect
    t, t_stages = _t(raw, key)
    pt, pv = D.ident(f"_{key}_pt"), D.ident(f"_{key}_pv")
    ok = D.full_match(pv, MONTH_RE if month_only else PERIOD_RE)
    return Parsed(
        f"CASE WHEN {ok} THEN {pv} END",
        f"({t} IS NOT NULL AND NOT coalesce({ok}, false))",
        stages=(
            *t_stages,
            ((f"_{key}_pt", period_text(D, t)),),
            ((f"_{key}_pv", f"CASE WHEN lower({pt}) LIKE '%q%' THEN upper({pt}) ELSE {pt} END"),),
        ),
        dialect=D,
    )


def category(
    raw: Raw, *, allowed: tuple[str, ...] | None = None, closed: bool | None = None, key: str = "c"
) -> Parsed:
    """A category: lower case with single spaces (a closed set: ``allowed`` or ``closed``,
    spaces and hyphens as ``_``; a value outside ``allowed`` is ``bad`` and cleared);
    ``changed`` where the text changed beyond surrounding spaces."""
    D = raw.dialect
    t, t_stages = _t(raw, key)
    norm = D.ident(f"_{key}_norm")
    closed = bool(allowed) if closed is None else closed
    rule = closed_category_rule(D, t) if closed else category_rule(D, t)
    stages = (*t_stages, ((f"_{key}_norm", rule),))
    changed = f"({t} IS NOT NULL AND {norm} <> {t})"
    if not allowed:
        return Parsed(norm, "false", changed, stages, D)
    inside = f"{norm} IN ({', '.join(D.lit(a) for a in allowed)})"
    return Parsed(
        f"CASE WHEN {inside} THEN {norm} END",
        f"({t} IS NOT NULL AND NOT {inside})",
        changed,
        stages,
        D,
    )


def currency(raw: Raw, key: str = "u") -> Parsed:
    t, t_stages = _t(raw, key)
    return Parsed(f"upper({t})", stages=t_stages, dialect=raw.dialect)


def plain_text(raw: Raw, key: str = "s") -> Parsed:
    t, t_stages = _t(raw, key)
    return Parsed(t, stages=t_stages, dialect=raw.dialect)


def inline(p: Parsed) -> Parsed:
    """``p`` as single expressions (its stages substituted in): for the preset rules, which
    build one column's expression from others'."""
    value, bad, changed = p.value, p.bad, p.changed
    for stage in reversed(p.stages):
        for alias, sql in stage:
            name = p.dialect.ident(alias)
            value, bad = value.replace(name, f"({sql})"), bad.replace(name, f"({sql})")
            if changed is not None:
                changed = changed.replace(name, f"({sql})")
    return Parsed(value, bad, changed, dialect=p.dialect)


def staged_select(
    source: str, carry: list[str], parsed: list[Parsed], outputs: list[str],
    dialect: Dialect = DUCKDB,
) -> str:  # fmt: skip
    """A query over ``source`` computing every parser's stages, then ``outputs`` (SQL with
    aliases); ``carry`` are the source's columns the outputs read besides the stages'."""
    depth = max((len(p.stages) for p in parsed), default=0)
    query = source
    for i in range(depth):
        items = [
            f"{sql} AS {dialect.ident(alias)}"
            for p in parsed
            if i < len(p.stages)
            for alias, sql in p.stages[i]
        ]
        query = dialect.stage(items, query, i) if items else query
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


#: the engine the pandas functions below run on: ``None`` for an embedded DuckDB connection of
#: their own, or an :class:`~salesreport.engine.Engine` (PostgreSQL, Spark) to run the same
#: rules there (tests/test_parse_engines.py)
SERIES_ENGINE = None


def evaluate(
    s: pd.Series, parse: Callable[[Raw], Parsed]
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """``parse`` run by the engine on a pandas Series: ``(values, bad, changed)``, aligned
    with ``s`` (values as pandas gives them from Arrow, see the callers for dtypes)."""
    from salesreport.data.runner import DuckRunner, EngineRunner

    arr, kind = series_to_arrow(s)
    table = pa.table({"x": arr, "_pos": pa.array(np.arange(len(s), dtype=np.int64))})
    run = DuckRunner(_connection()) if SERIES_ENGINE is None else EngineRunner(SERIES_ENGINE)
    D = run.dialect
    p = parse(Raw(D.ident("x"), kind, dialect=D))
    outputs = [f"{p.value} AS v", f"{p.bad} AS bad", f"{p.changed or 'false'} AS changed"]
    name = "_sr_series"
    query = staged_select(D.ident(name), ["x"], [p], [*outputs, D.ident("_pos")], D)
    sql = f"SELECT v, bad, changed FROM ({query}) AS _sr_out ORDER BY {D.ident('_pos')}"
    out = run.over(name, table, sql)
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
