"""How a file writes its dates and numbers, settled from its values before they are parsed.

A spreadsheet saved in a European or US locale writes dates with the year last and the day
or the month first (``31/10/2026``, ``10/31/2026``), and a European Excel writes a CSV file
separated by semicolons with decimal commas (``1.234,50``). Neither is guessed:

* **date order**: the dates of a file's date columns that are written with the year last
  are read day first when one of them has a first number above 12 (``25/10/2026``), month
  first when one has a second number above 12 (``10/25/2026``); both in one file stops the
  run; a date that neither order reads (``31/13/2026``, ``0/5/2026``) settles nothing and is
  an unreadable value, counted as a bad value; none (every such date could be either,
  ``3/4/2026``) stops the run with the setting to add, ``data.date_order``, which otherwise
  decides. The choice and the value that settled it
  are recorded in ``run.json`` (``inputs.reading``). A CSV file is searched when its first
  64 KiB hold such a date (a file whose dates are ISO 8601 is not read twice); a date
  written with the year last further down is then unreadable, counted as a bad value.
* **decimal comma**: in a semicolon-separated CSV file, the numbers of the number columns
  settle it: ``12,5`` or ``1.234,50`` (a comma that cannot separate thousands) is a decimal
  comma, ``12.5`` or ``1,234.50`` a decimal point; both stops the run, and so do numbers that
  could be either (``1,500``, ``1.500``: 1.5 or 1500). ``data.decimal`` (``comma`` or
  ``point``) decides instead. Comma-separated files and other formats use a decimal point.
"""

from __future__ import annotations

from salesreport.data import parse as P
from salesreport.data.read import RawTable, ReadError
from salesreport.tables import TableSpec

#: a number that only a decimal comma reads (a comma not followed by three digits, or points
#: separating thousands before a comma)
COMMA_RE = r"[+-]?(\d+,\d{1,2}|\d+,\d{4,}|\d{1,3}(\.\d{3})+,\d*)"
#: a number that only a decimal point reads
POINT_RE = r"[+-]?(\d+\.\d{1,2}|\d+\.\d{4,}|\d{1,3}(,\d{3})+\.\d*)"
#: a number either mark reads differently (``1,500``: 1.5 or 1500)
EITHER_RE = r"[+-]?\d{1,3}([.,]\d{3})+"


def _header(raw: RawTable, column: P.Raw, name: str) -> str:
    """The export's header of a contract column (its own name when derived)."""
    sql = column.sql
    if sql.startswith("c") and sql[1:].isdigit() and int(sql[1:]) < len(raw.columns):
        return raw.columns[int(sql[1:])]
    return name


def _text_columns(spec: TableSpec, derived: dict[str, P.Raw], types: tuple[str, ...]):
    return [
        (c.name, derived[c.name])
        for c in spec.columns
        if c.type in types and c.name in derived and derived[c.name].kind == "text"
    ]


def settle_date_order(
    con, raw: RawTable, spec: TableSpec, derived: dict[str, P.Raw], setting: str | None,
    source: str,
) -> tuple[str | None, str | None]:  # fmt: skip
    """``(date order, how it was settled)`` for the file's dates written with the year last
    (module docstring); ``(None, None)`` when it has none. Raises :class:`ReadError` when the
    values contradict each other or never settle it."""
    cols = _text_columns(spec, derived, ("date", "timestamp"))
    if not cols:
        return None, None
    if setting:
        return setting, f"{setting} (data.date_order)"
    if raw.csv is not None and not raw.csv.fmt.slashed:
        return None, None
    (row,) = raw.fetch(con, lambda src: date_order_sql([c for _, c in cols], src))
    found = []
    for i, (name, column) in enumerate(cols):
        stats = dict(zip(("n", "day", "month", "any"), row[4 * i : 4 * i + 4], strict=True))
        found.append((_header(raw, column, name), stats))
    day = [(h, s["day"]) for h, s in found if s["day"] is not None]
    month = [(h, s["month"]) for h, s in found if s["month"] is not None]
    if day and month:
        raise ReadError(
            f"has dates written day first ('{day[0][1]}' in {day[0][0]}) and month first "
            f"('{month[0][1]}' in {month[0][0]})",
            "Export the file again with one date format, or add the line "
            f"`date_order: day_first` (or month_first) under data: in {source}; dates written "
            "the other way are then unreadable and counted as bad values",
        )
    if day:
        return "day_first", f"day_first: settled by '{day[0][1]}' in {day[0][0]}"
    if month:
        return "month_first", f"month_first: settled by '{month[0][1]}' in {month[0][0]}"
    given = [(h, s["any"]) for h, s in found if s["n"]]
    if not given:
        return None, None
    return _unsettled(given[0], source)


def date_order_sql(columns: list[P.Raw], source: str) -> str:
    """SQL over ``source``: for each text column (its dialect's SQL), the number of dates
    written with the year last that one order or the other reads, the least one (in code
    point order) only day first reads, the least only month first reads, and the least any
    order reads (4 columns each)."""
    D = columns[0].dialect
    texts, parts, aggs = [], [], []
    for i, column in enumerate(columns):
        t, a, b = (D.ident(f"{k}{i}") for k in "tab")
        texts.append(f"{P.text(column)} AS {t}")
        for k, group in (("a", 1), ("b", 2)):
            parts.append(
                f"{D.to_int(D.extract(t, P.SLASH_DATE_RE, group))} AS {D.ident(f'{k}{i}')}"
            )
        # a date counts only when one order reads it: 31/13/2026 (either way a month 13) is
        # an unreadable value, no evidence and no question
        day_first = f"{a} BETWEEN 1 AND 31 AND {b} BETWEEN 1 AND 12"
        month_first = f"{b} BETWEEN 1 AND 31 AND {a} BETWEEN 1 AND 12"
        readable = f"(({day_first}) OR ({month_first}))"
        least = D.binary(t)
        aggs += [
            f"count({a}) FILTER (WHERE {readable}) AS {D.ident(f'n{i}')}",
            f"min({least}) FILTER (WHERE {a} > 12 AND {day_first}) AS {D.ident(f'day{i}')}",
            f"min({least}) FILTER (WHERE {b} > 12 AND {month_first}) AS {D.ident(f'month{i}')}",
            f"min({least}) FILTER (WHERE {readable}) AS {D.ident(f'any{i}')}",
        ]
    inner = f"SELECT {', '.join(texts)} FROM {source}"
    cols = ", ".join(D.ident(f"t{i}") for i in range(len(columns)))
    return (
        f"SELECT {', '.join(aggs)} FROM (SELECT {cols}, {', '.join(parts)} "
        f"FROM ({inner}) AS _sr_texts) AS _sr_parts"
    )


def decimal_sql(columns: list[P.Raw], source: str) -> str:
    """SQL over ``source``: for each text column, the least number (in code point order)
    only a decimal comma reads, the least only a decimal point reads, and the least either
    reads differently (3 columns each)."""
    D = columns[0].dialect
    parts = []
    for i, column in enumerate(columns):
        v = D.strip(P.unsymbol(D, P.text(column)), P.SPACES)
        for k, pattern in (("comma", COMMA_RE), ("point", POINT_RE), ("either", EITHER_RE)):
            least = f"min({D.binary(v)}) FILTER (WHERE {D.full_match(v, pattern)})"
            parts.append(f"{least} AS {D.ident(f'{k}{i}')}")
    return f"SELECT {', '.join(parts)} FROM {source}"


def _unsettled(example: tuple[str, str], source: str):
    header, value = example
    raise ReadError(
        f"has dates written with the year last ('{value}' in {header}) and no day above 12 "
        "tells whether the day or the month comes first",
        f"Add the line `date_order: day_first` (31/10/2026) or `date_order: month_first` "
        f"(10/31/2026) under data: in {source}",
    )


def settle_decimal(
    con, raw: RawTable, spec: TableSpec, derived: dict[str, P.Raw], setting: str | None,
    source: str,
) -> tuple[bool, str | None]:  # fmt: skip
    """``(decimal comma, how it was settled)`` (module docstring). Raises :class:`ReadError`
    when the numbers contradict each other or could be read either way."""
    if setting:
        return setting == "comma", (
            f"decimal {setting} (data.decimal)" if setting == "comma" else None
        )
    if raw.csv is None or raw.delimiter != ";":
        return False, None
    cols = _text_columns(spec, derived, ("number", "integer"))
    if not cols:
        return False, None
    (row,) = raw.fetch(con, lambda src: decimal_sql([c for _, c in cols], src))
    comma, point, either = [], [], []
    for i, (name, column) in enumerate(cols):
        header = _header(raw, column, name)
        for found, value in zip((comma, point, either), row[3 * i : 3 * i + 3], strict=True):
            if value is not None:
                found.append((header, value))
    fix = f"Add the line `decimal: comma` (or `decimal: point`) under data: in {source}"
    if comma and point:
        raise ReadError(
            f"is separated by semicolons and has numbers with a decimal comma ('{comma[0][1]}' in "
            f"{comma[0][0]}) and with a decimal point ('{point[0][1]}' in {point[0][0]})",
            fix + "; numbers written the other way are then unreadable and counted",
        )
    if comma:
        return True, f"decimal comma: settled by '{comma[0][1]}' in {comma[0][0]}"
    if point:
        return False, None
    if either:
        raise ReadError(
            f"is separated by semicolons and its numbers ('{either[0][1]}' in {either[0][0]}) "
            "read differently with a decimal comma and a decimal point",
            fix,
        )
    return False, None
