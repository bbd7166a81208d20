"""The SQL dialects the contract's rules and checks are written for: DuckDB (the embedded
engine), PostgreSQL and Spark SQL.

:mod:`salesreport.data.parse` writes each rule once, in terms of the operations below (and
the presets, the settling of a file's formats, the checks, the filters and the cut write
their SQL with them); a :class:`Dialect` renders each operation in its engine's SQL with the
*same result* on the three engines (``tests/test_parse_engines.py`` proves it on real
servers). Where the
engines differ, the difference is handled here, once:

* **regular expressions** are written in one syntax (RE2's, the subset the three share:
  ``\\d``, ``(?:...)``, bracket classes, ``{m,n}``, ``^`` and ``$``) and translated
  (:meth:`Dialect.regex`): Java's ``$`` also matches before a final line break, so Spark's
  end anchor is ``\\z``; a Spark SQL string literal reads backslashes as escapes, so they are
  doubled there;
* **casts that may fail** (``TRY_CAST`` in DuckDB, ``try_cast`` in Spark): PostgreSQL has none
  and stops the query at the first bad value, so its casts are guarded by a regular
  expression or a range check before they run (text of a number that overflows a double is
  infinite, as DuckDB and Java read it; one that underflows is zero);
* **impossible dates** (``2026-02-30``): DuckDB's ``TRY(make_timestamp(...))`` and Spark's
  ``make_timestamp`` (without ANSI mode) give NULL, PostgreSQL's stops the query: the date is
  checked first (:meth:`Dialect.make_timestamp`, the calendar's rule in arithmetic);
* **several groups of one match**: a DuckDB ``STRUCT`` from one ``regexp_extract``, a
  PostgreSQL array from ``regexp_match``, a Spark array from one ``regexp_replace``
  (:meth:`Dialect.groups`); a group that took no part is ``''`` on each;
* **rounding**: DuckDB's ``round`` of a double is half away from zero, PostgreSQL's half to
  even: :meth:`Dialect.round_half_up` is used only for positive values of at least 2^46
  (Unix times in microseconds), where adding a half is exact;
* **microseconds since 1970 and back** (:meth:`Dialect.epoch_us`, :meth:`Dialect.from_us`),
  with which every other time arithmetic is written (a zone's offset, Excel's serial days);
* **the text of a number cell** (a Parquet or database column read as text): PostgreSQL and
  Java write a double their own way (``1e+20``, ``2.254958598518339E9``, ``1.0E-4``); both
  are written again as Python's ``repr`` writes them, as DuckDB does, and a whole number
  up to 1e38 exactly (:func:`_whole_text`);
* **stages**: PostgreSQL's planner pulls a projection into the next and writes a stage's
  expression again at each use of its alias; ``OFFSET 0`` keeps each stage apart;
* **text order** (an example's "least" value): PostgreSQL's follows the database's collation
  (``en_US``: ``a < B``), :meth:`Dialect.binary` compares code points as the others do.

One difference is left as each engine's own (the README says so): upper and lower case of
the few letters whose mapping differs between Unicode's simple rules (DuckDB), its full ones
(Java: ``ß`` upper-cases to ``SS``) and the database's collation (PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext


def days_in_month(y: str, m: str) -> str:
    """SQL: the number of days of month ``m`` of year ``y`` (whole numbers; the Gregorian
    calendar), in arithmetic every engine shares."""
    return (
        f"CASE WHEN {m} IN (4, 6, 9, 11) THEN 30 WHEN {m} = 2 THEN CASE WHEN "
        f"({y} % 4 = 0 AND {y} % 100 <> 0) OR {y} % 400 = 0 THEN 29 ELSE 28 END ELSE 31 END"
    )


def _outside_brackets(pattern: str):
    """``(char, inside a bracket class, escaped)`` for each character of a pattern (a ``]``
    right after ``[`` or ``[^`` is a member, not the end)."""
    inside = escaped = False
    start = 0
    for i, c in enumerate(pattern):
        yield c, inside, escaped
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif not inside and c == "[":
            inside, start = True, i + 1 + (pattern[i + 1 : i + 2] == "^")
        elif inside and c == "]" and i > start:
            inside = False


@dataclass(frozen=True)
class Dialect:
    """DuckDB's SQL; :class:`Postgres` and :class:`Spark` render what differs."""

    name: str = "duckdb"
    text_type: str = "VARCHAR"
    double_type: str = "DOUBLE"
    #: the engine reads ISO text with its own fast casts (DuckDB), the others with the rules'
    #: regular expression (same results: ``tests/test_data_parse.py``)
    fast_iso: bool = True

    # -- literals and names
    def lit(self, value: str) -> str:
        """A string literal."""
        return "'" + str(value).replace("'", "''") + "'"

    def ident(self, name: str) -> str:
        """A quoted identifier."""
        return '"' + str(name).replace('"', '""') + '"'

    def text(self, x: str) -> str:
        return f"CAST({x} AS {self.text_type})"

    def null(self, type_: str) -> str:
        return f"CAST(NULL AS {type_})"

    def one_of(self, x: str, values: list[str]) -> str:
        """Whether text ``x`` is one of ``values`` (NULL for NULL)."""
        return f"list_contains([{', '.join(self.lit(v) for v in values)}], {x})"

    # -- regular expressions (module docstring)
    def regex(self, pattern: str) -> str:
        """The pattern as this engine's regular expression, as a literal."""
        return self.lit(pattern)

    def full_match(self, x: str, pattern: str) -> str:
        return f"regexp_full_match({x}, {self.regex(pattern)})"

    def search(self, x: str, pattern: str) -> str:
        return f"regexp_matches({x}, {self.regex(pattern)})"

    def replace_all(self, x: str, pattern: str, replacement: str) -> str:
        return f"regexp_replace({x}, {self.regex(pattern)}, {self.lit(replacement)}, 'g')"

    def extract(self, x: str, pattern: str, group: int) -> str:
        """Group ``group`` of the first match; ``''`` without a match."""
        return f"regexp_extract({x}, {self.regex(pattern)}, {group})"

    def groups(self, x: str, pattern: str, names: tuple[str, ...]) -> str:
        """Every group of ``x``'s match, for :meth:`group` (where ``x`` does not match, each
        group is ``''``: NULL on PostgreSQL and Spark, whose :meth:`group` gives ``''``)."""
        return f"regexp_extract({x}, {self.regex(pattern)}, {list(names)!r})"

    def group(self, g: str, names: tuple[str, ...], name: str) -> str:
        """One group of :meth:`groups`' value, ``''`` where it took no part."""
        return f"{g}.{name}"

    # -- text
    def strip(self, x: str, chars: str) -> str:
        return f"trim({x}, {self.lit(chars)})"

    def rstrip(self, x: str, chars: str) -> str:
        return f"rtrim({x}, {self.lit(chars)})"

    def binary(self, x: str) -> str:
        """Text compared (``min``, ``<``) by its characters' code points."""
        return x

    # -- numbers
    def to_double(self, t: str) -> str:
        """Text known to be a number (``NUMBER_RE``) as a double (infinite past its range)."""
        return f"TRY_CAST({t} AS DOUBLE)"

    def to_int(self, t: str) -> str:
        """Text of at most a few digits, or ``''`` (NULL), as an integer."""
        return f"CAST(NULLIF({t}, '') AS INTEGER)"

    def double_to_bigint(self, v: str) -> str:
        """A whole double as a BIGINT, NULL outside BIGINT's range."""
        return f"TRY_CAST({v} AS BIGINT)"

    def is_finite(self, v: str) -> str:
        return f"isfinite({v})"

    def is_inf(self, v: str) -> str:
        return f"isinf({v})"

    def is_nan(self, v: str) -> str:
        return f"isnan({v})"

    def round_half_even(self, v: str) -> str:
        return f"round_even({v}, 0)"

    def is_whole(self, v: str) -> str:
        """Whether a finite double is a whole number."""
        return f"{v} = floor({v})"

    def round_half_up(self, v: str) -> str:
        """A positive double of at least 2^46 rounded half up (module docstring): below 2^52
        adding a half is exact, and from 2^52 on every double is whole."""
        return f"round({v})"

    def whole_text(self, v: str) -> str:
        """A whole double below 1e38 in magnitude as integer text."""
        return f"CAST(CAST({v} AS HUGEINT) AS VARCHAR)"

    def fraction_text(self, v: str) -> str:
        """A finite double that is not whole as its shortest text (``0.1``, ``1.5e-07``:
        Python's ``repr``, positional from 1e-4 to 1e16)."""
        return self.text(v)

    # -- time
    def epoch_us(self, ts: str) -> str:
        """A naive timestamp as microseconds since 1970-01-01 00:00."""
        return f"epoch_us({ts})"

    def from_us(self, us: str) -> str:
        """Microseconds since 1970-01-01 00:00 as a naive timestamp."""
        return f"make_timestamp({us})"

    def plus_seconds(self, ts: str, seconds: str) -> str:
        """A naive timestamp plus a whole number of seconds."""
        return f"{ts} + to_seconds({seconds})"

    def make_timestamp(self, y: str, m: str, d: str, h: str, mi: str, us: str) -> str:
        """A naive timestamp from whole numbers (``us``: microseconds into the minute), NULL
        when they name no time (day 30 of February)."""
        return f"TRY(make_timestamp({y}, {m}, {d}, {h}, {mi}, 0) + to_microseconds({us}))"

    def utc_to_zone(self, utc: str, tz: str) -> str:
        """A naive UTC time as the naive local time of zone ``tz`` (the engine's zone rules)."""
        return f"timezone({self.lit(tz)}, CAST({utc} AS TIMESTAMPTZ))"

    def instant_utc(self, x: str) -> str:
        """A typed instant (a timestamp with a zone) as its naive UTC time."""
        return f"make_timestamp(epoch_us({x}))"

    def timestamp(self, x: str) -> str:
        return f"CAST({x} AS TIMESTAMP)"

    def format_date(self, d: str) -> str:
        return f"strftime({d}, '%Y-%m-%d')"

    def format_time(self, ts: str, fraction: bool) -> str:
        fmt = "%Y-%m-%dT%H:%M:%S.%f" if fraction else "%Y-%m-%dT%H:%M:%S"
        return f"strftime({ts}, '{fmt}')"

    def stage(self, items: list[str], source: str, n: int) -> str:
        """A projection adding ``items`` to every column of ``source`` (a table, or a stage
        before), as an item of ``FROM``."""
        return f"(SELECT *, {', '.join(items)} FROM {source}) AS _sr_s{n}"


#: 2^1024 - 2^970: a decimal at least this large rounds to an infinite double
_PG_OVERFLOW = str(2**1024 - 2**970)
#: 2^-1075 (half the least double above zero): a decimal at most this small rounds to zero
with localcontext() as _c:
    _c.prec = 800
    _PG_UNDERFLOW = format(Decimal(2) ** -1075, "e")


@dataclass(frozen=True)
class Postgres(Dialect):
    name: str = "postgres"
    text_type: str = "TEXT"
    double_type: str = "DOUBLE PRECISION"
    fast_iso: bool = False

    def one_of(self, x: str, values: list[str]) -> str:
        return f"{x} IN ({', '.join(self.lit(v) for v in values)})"

    def full_match(self, x: str, pattern: str) -> str:
        return f"({x} ~ {self.regex(f'^(?:{pattern})$')})"

    def search(self, x: str, pattern: str) -> str:
        return f"({x} ~ {self.regex(pattern)})"

    def extract(self, x: str, pattern: str, group: int) -> str:
        return f"coalesce((regexp_match({x}, {self.regex(pattern)}))[{group}], '')"

    def groups(self, x: str, pattern: str, names: tuple[str, ...]) -> str:
        return f"regexp_match({x}, {self.regex(pattern)})"

    def group(self, g: str, names: tuple[str, ...], name: str) -> str:
        return f"coalesce(({g})[{names.index(name) + 1}], '')"

    def strip(self, x: str, chars: str) -> str:
        return f"btrim({x}, {self.lit(chars)})"

    def binary(self, x: str) -> str:
        # the database's collation may order by language (en_US: a < B < c)
        return f'({x} COLLATE "C")'

    def to_double(self, t: str) -> str:
        # float8's input stops the query past a double's range, where DuckDB and Java give
        # an infinity or a zero: short text with a moderate exponent is cast as it is; other
        # text goes through numeric (exact, an exponent up to 999) and is compared with the
        # ends of the range (2^1024 - 2^970, past which a double rounds to infinity; 2^-1075,
        # up to which it rounds to zero); an exponent of four digits or more is past both
        exp = f"CAST(substring({t} from '[eE]([+-]?[0-9]+)$') AS NUMERIC)"
        n = f"CAST({t} AS NUMERIC)"
        return (
            f"CASE WHEN {t} ~ '[eE][+-]?0*[1-9][0-9]{{3}}' THEN CASE "
            f"WHEN {t} !~ '[1-9][^eE]*[eE]' OR {t} ~ '[eE]-' THEN CAST(0 AS DOUBLE PRECISION) "
            f"WHEN {t} ~ '^-' THEN '-Infinity'::float8 ELSE 'Infinity'::float8 END "
            f"WHEN length({t}) <= 30 AND abs(coalesce({exp}, 0)) <= 250 "
            f"THEN CAST({t} AS DOUBLE PRECISION) "
            f"WHEN abs({n}) >= {_PG_OVERFLOW} THEN sign({n}) * 'Infinity'::float8 "
            f"WHEN abs({n}) <= {_PG_UNDERFLOW} THEN CAST(0 AS DOUBLE PRECISION) "
            f"ELSE CAST({n} AS DOUBLE PRECISION) END"
        )

    def double_to_bigint(self, v: str) -> str:
        return (
            f"CASE WHEN {v} >= -9223372036854775808.0 AND {v} < 9223372036854775808.0 "
            f"THEN CAST({v} AS BIGINT) END"
        )

    def is_finite(self, v: str) -> str:
        return f"(abs({v}) < 'Infinity'::float8)"

    def is_inf(self, v: str) -> str:
        return f"(abs({v}) = 'Infinity'::float8)"

    def is_nan(self, v: str) -> str:
        return f"({v} = 'NaN'::float8)"

    def round_half_even(self, v: str) -> str:
        # round(double precision) is the C library's rint: to the nearest, ties to even
        return f"round({v})"

    def round_half_up(self, v: str) -> str:
        return f"CASE WHEN {v} < 4503599627370496.0 THEN floor({v} + 0.5) ELSE {v} END"

    def whole_text(self, v: str) -> str:
        return _whole_text(self, v, "NUMERIC")

    def fraction_text(self, v: str) -> str:
        # PostgreSQL writes 3.9402505239956575e+15 (an exponent from 1e15)
        return _python_repr(self, v, "e")

    def epoch_us(self, ts: str) -> str:
        return f"CAST(extract(epoch FROM {ts}) * 1000000 AS BIGINT)"

    def from_us(self, us: str) -> str:
        # whole seconds and microseconds apart: an interval times a double is exact below 2^53
        return (
            f"(TIMESTAMP '1970-01-01' + div({us}, 1000000) * INTERVAL '1 second' "
            f"+ mod({us}, 1000000) * INTERVAL '1 microsecond')"
        )

    def plus_seconds(self, ts: str, seconds: str) -> str:
        return f"({ts} + ({seconds}) * INTERVAL '1 second')"

    def make_timestamp(self, y: str, m: str, d: str, h: str, mi: str, us: str) -> str:
        last = days_in_month(y, m)
        return (
            f"CASE WHEN {y} >= 1 AND {m} BETWEEN 1 AND 12 AND {d} BETWEEN 1 AND {last} "
            f"THEN make_timestamp(CAST({y} AS INTEGER), CAST({m} AS INTEGER), CAST({d} AS INTEGER), "
            f"CAST({h} AS INTEGER), CAST({mi} AS INTEGER), 0) "
            f"+ ({us}) * INTERVAL '1 microsecond' END"
        )

    def utc_to_zone(self, utc: str, tz: str) -> str:
        return f"(({utc} AT TIME ZONE 'UTC') AT TIME ZONE {self.lit(tz)})"

    def stage(self, items: list[str], source: str, n: int) -> str:
        # OFFSET 0 keeps the planner from pulling the projection up into the next, which
        # would write a stage's expression again at each use of its alias (a rule reading a
        # column ten times, of a rule reading its own ten times...)
        return f"(SELECT *, {', '.join(items)} FROM {source} OFFSET 0) AS _sr_s{n}"

    def instant_utc(self, x: str) -> str:
        return f"({x} AT TIME ZONE 'UTC')"

    def format_date(self, d: str) -> str:
        return f"to_char({d}, 'YYYY-MM-DD')"

    def format_time(self, ts: str, fraction: bool) -> str:
        fmt = 'YYYY-MM-DD"T"HH24:MI:SS' + (".US" if fraction else "")
        return f"to_char({ts}, '{fmt}')"


@dataclass(frozen=True)
class Spark(Dialect):
    name: str = "spark"
    text_type: str = "STRING"
    double_type: str = "DOUBLE"
    fast_iso: bool = False

    def lit(self, value: str) -> str:
        return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"

    def ident(self, name: str) -> str:
        return "`" + str(name).replace("`", "``") + "`"

    def regex(self, pattern: str) -> str:
        out = []
        for c, inside, escaped in _outside_brackets(pattern):
            out.append("\\z" if c == "$" and not inside and not escaped else c)
        return self.lit("".join(out))

    def one_of(self, x: str, values: list[str]) -> str:
        return f"{x} IN ({', '.join(self.lit(v) for v in values)})"

    def full_match(self, x: str, pattern: str) -> str:
        return f"({x} RLIKE {self.regex(f'^(?:{pattern})$')})"

    def search(self, x: str, pattern: str) -> str:
        return f"({x} RLIKE {self.regex(pattern)})"

    def replace_all(self, x: str, pattern: str, replacement: str) -> str:
        return f"regexp_replace({x}, {self.regex(pattern)}, {self.lit(replacement)})"

    def extract(self, x: str, pattern: str, group: int) -> str:
        return f"regexp_extract({x}, {self.regex(pattern)}, {group})"

    def groups(self, x: str, pattern: str, names: tuple[str, ...]) -> str:
        # one match, its groups joined by a character no group holds, split again
        joined = "\x01".join(f"${i}" for i in range(1, len(names) + 1))
        parts = f"split(regexp_replace({x}, {self.regex(pattern)}, {self.lit(joined)}), '\x01', -1)"
        return f"CASE WHEN {self.search(x, pattern)} THEN {parts} END"

    def group(self, g: str, names: tuple[str, ...], name: str) -> str:
        return f"coalesce(({g})[{names.index(name)}], '')"

    def strip(self, x: str, chars: str) -> str:
        return f"trim(BOTH {self.lit(chars)} FROM {x})"

    def rstrip(self, x: str, chars: str) -> str:
        return f"trim(TRAILING {self.lit(chars)} FROM {x})"

    def to_double(self, t: str) -> str:
        return f"try_cast({t} AS DOUBLE)"

    def to_int(self, t: str) -> str:
        return f"try_cast(NULLIF({t}, '') AS INT)"

    def double_to_bigint(self, v: str) -> str:
        return (
            f"CASE WHEN {v} >= -9223372036854775808.0D AND {v} < 9223372036854775808.0D "
            f"THEN CAST({v} AS BIGINT) END"
        )

    def is_finite(self, v: str) -> str:
        return f"(abs({v}) < double('Infinity'))"

    def is_inf(self, v: str) -> str:
        return f"(abs({v}) = double('Infinity'))"

    def is_nan(self, v: str) -> str:
        return f"CASE WHEN {v} IS NOT NULL THEN isnan({v}) END"

    def round_half_even(self, v: str) -> str:
        return f"bround({v}, 0)"

    def is_whole(self, v: str) -> str:
        # floor of a double is a BIGINT in Spark, clamped at its ends; rint stays a double
        return f"{v} = rint({v})"

    def round_half_up(self, v: str) -> str:
        return f"CASE WHEN {v} < 4503599627370496.0D THEN floor({v} + 0.5D) ELSE {v} END"

    def whole_text(self, v: str) -> str:
        return _whole_text(self, v, "DECIMAL(38, 0)")

    def fraction_text(self, v: str) -> str:
        # Java writes 1.0E-4, 2.254958598518339E9 and 1.0E38 (an exponent below 1e-3 and
        # from 1e7)
        return _python_repr(self, v, "E")

    def epoch_us(self, ts: str) -> str:
        return f"unix_micros({ts})"

    def from_us(self, us: str) -> str:
        return f"timestamp_micros({us})"

    def plus_seconds(self, ts: str, seconds: str) -> str:
        return f"timestamp_micros(unix_micros({ts}) + CAST({seconds} AS BIGINT) * 1000000)"

    def make_timestamp(self, y: str, m: str, d: str, h: str, mi: str, us: str) -> str:
        # make_timestamp is NULL for a day that does not exist (without ANSI mode, as the
        # engine runs: salesreport.backends)
        return (
            f"timestamp_micros(unix_micros(make_timestamp({y}, {m}, {d}, {h}, {mi}, 0)) + ({us}))"
        )

    def utc_to_zone(self, utc: str, tz: str) -> str:
        return f"from_utc_timestamp({utc}, {self.lit(tz)})"

    def instant_utc(self, x: str) -> str:
        # the session's zone is UTC (salesreport.backends): a timestamp is its UTC time
        return f"CAST({x} AS TIMESTAMP)"

    def format_date(self, d: str) -> str:
        return f"date_format({d}, 'yyyy-MM-dd')"

    def format_time(self, ts: str, fraction: bool) -> str:
        fmt = "yyyy-MM-dd'T'HH:mm:ss" + (".SSSSSS" if fraction else "")
        return f"date_format({ts}, {self.lit(fmt)})"


def _whole_text(D: Dialect, v: str, decimal: str) -> str:
    """A whole double below 1e38 in magnitude as integer text, exactly, where the engine
    converts a double to a decimal by its shortest text (PostgreSQL's 15 digits, Java's
    ``Double.toString``): the sign, then the magnitude's high part and its low 64 bits (the
    magnitude with its high bits cleared, exact in a double), the low part split again by
    2^32 so that each fits a BIGINT, summed as decimals."""
    a = f"abs({v})"
    high = f"floor({a} / 18446744073709551616.0)"
    rest = f"({a} - {high} * 18446744073709551616.0)"
    middle = f"floor({rest} / 4294967296.0)"
    low = f"({rest} - {middle} * 4294967296.0)"

    def part(x: str) -> str:
        return f"CAST(CAST({x} AS BIGINT) AS {decimal})"

    digits = (
        f"CAST({part(high)} * CAST(18446744073709551616 AS {decimal}) "
        f"+ {part(middle)} * CAST(4294967296 AS {decimal}) + {part(low)} AS {D.text_type})"
    )
    return f"CASE WHEN {v} < 0 THEN '-' ELSE '' END || {digits}"


def _python_repr(D: Dialect, v: str, e_char: str) -> str:
    """The engine's shortest text of a double, its digits and exponent written again as
    Python's ``repr`` writes them (an exponent below 1e-4 and from 1e16, ``e-05``,
    ``e+16``), where the engine's own rule for an exponent differs."""
    s = D.text(v)
    e = f"CAST(split_part({s}, '{e_char}', 2) AS INT)"
    digits = f"trim(TRAILING '0' FROM replace(replace(split_part({s}, '{e_char}', 1), '-', ''), '.', ''))"
    sign = f"CASE WHEN {v} < 0 THEN '-' ELSE '' END"
    rest = f"substr({digits}, 2)"
    mantissa = (
        f"{sign} || substr({digits}, 1, 1) || CASE WHEN {rest} = '' THEN '' ELSE '.' || {rest} END"
    )
    exponent = f"lpad({D.text(f'abs({e})')}, 2, '0')"
    return (
        f"CASE WHEN {s} NOT LIKE '%{e_char}%' THEN {s} "
        f"WHEN {e} >= 16 THEN {mantissa} || 'e+' || {exponent} "
        f"WHEN {e} >= 0 THEN {sign} || substr({digits}, 1, {e} + 1) || '.' || substr({digits}, {e} + 2) "
        f"WHEN {e} >= -4 THEN {sign} || '0.' || repeat('0', -{e} - 1) || {digits} "
        f"ELSE {mantissa} || 'e-' || {exponent} END"
    )


DUCKDB = Dialect()
POSTGRES = Postgres()
SPARK = Spark()
DIALECTS = {d.name: d for d in (DUCKDB, POSTGRES, SPARK)}
