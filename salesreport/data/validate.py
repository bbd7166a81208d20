"""Checks on the loaded tables, as queries on the engine: structural problems stop the run, row
problems are counted.

*Structural* problems concern a whole file and stop the run (all of them are
collected first, then one :class:`~salesreport.exceptions.DataError` lists
them): a missing required column, two headers mapped onto one column, a
column most (more than half) of whose non-blank values cannot be read, a
currency without an exchange rate.

*Row* problems drop or repair single rows, each counted with its reason and
rows in :class:`~salesreport.data.quality.DataQuality` (:data:`ROW_CHECKS`, in the order
they apply; a row dropped by one is not counted by the later ones):

* dropped: a required value empty or unreadable, an unknown ``status``, a
  duplicate key (the first row is kept), a negative ``amount``, ``close_date`` before
  ``created_date``, a ``stage_history`` row whose opportunity is not in ``opportunities``;
* repaired: an optional value unreadable or outside its set (cleared), a
  ``probability`` outside 0-1 (cleared; a whole column on a 0-100 scale is
  divided by 100 instead, which is not a bad row), a category written in
  another case (not a bad row), a ``contract_months`` not above 0 (cleared);
* flagged: a reference to a row of another table that is not there
  (``owner_id`` not in ``reps``...), kept as is (:data:`REFERENCES`).

A table whose bad rows (dropped, or repaired with information lost) exceed
``thresholds.bad_row_share`` of its rows in scope stops the run; with
``strict`` any bad row does.

Every check is a query on the engine. The value checks (negative amount, close before
created) are declared as data (:data:`VALUE_CHECKS`, which ``docs/data-contract.md`` states)
and run for every table in one query (:func:`value_failures`). They ran through pandera's Ibis
backend in a first version: importing it and its per-check validation cost 0.6 CPU s of a
1 s load on the sample, for two conditions a ``WHERE`` clause states.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from salesreport.data import parse as P
from salesreport.data.dialect import DUCKDB, Dialect
from salesreport.data.quality import DataQuality, format_rows
from salesreport.data.runner import Runner
from salesreport.tables import TableSpec

# lower-cased free-text categories (the closed sets come from the contract's ``allowed``)
LOWER_CASE = {("reps", "role"), ("activities", "type"), ("leads", "status")}
TYPE_WORDS = {
    "date": "a date",
    "timestamp": "a date and time",
    "number": "a number",
    "integer": "a whole number",
    "bool": "true/false",
    "period": "a period (2026-10, 2026-Q4 or 2026)",
}
TYPE_FIXES = {
    "date": "Write dates as ISO 8601 (2026-10-31), Excel dates or Unix milliseconds",
    "timestamp": "Write times as ISO 8601 (2026-10-31T14:00:00, with Z or +01:00 for a zone)",
    "number": "Write plain numbers (1234.5 or 1,234.50) without text",
    "integer": "Write whole numbers (12)",
    "bool": "Write TRUE/FALSE or 1/0",
    "period": "Write periods as 2026-10, 2026-Q4 or 2026",
}
# (table, column, parent table, parent key, action): references checked across tables
REFERENCES = (
    ("stage_history", "opportunity_id", "opportunities", "opportunity_id", "dropped"),
    ("opportunities", "owner_id", "reps", "rep_id", "flagged"),
    ("opportunities", "account_id", "accounts", "account_id", "flagged"),
    ("orders", "account_id", "accounts", "account_id", "flagged"),
    ("leads", "owner_id", "reps", "rep_id", "flagged"),
    ("leads", "opportunity_id", "opportunities", "opportunity_id", "flagged"),
    ("activities", "rep_id", "reps", "rep_id", "flagged"),
    ("activities", "opportunity_id", "opportunities", "opportunity_id", "flagged"),
    ("activities", "lead_id", "leads", "lead_id", "flagged"),
)


@dataclass(frozen=True)
class ValueCheck:
    """A condition every row of a table meets; a row that fails it is dropped
    (:func:`value_failures`)."""

    name: str  # the reason counted in the data quality
    column: str  # the column the count names
    condition: str  # SQL a good row meets (a missing value passes)
    needs: tuple[str, ...]  # the columns it reads
    tables: tuple[str, ...] | None = None  # ``None``: every table with the columns
    words: str = ""  # the rule as the data contract states it for ``column``


VALUE_CHECKS = (
    ValueCheck(
        "negative amount", "amount", "amount IS NULL OR amount >= 0", ("amount",), None, ">= 0"
    ),
    ValueCheck(
        "close_date before created_date",
        "close_date",
        "close_date IS NULL OR created_date IS NULL OR close_date >= created_date",
        ("close_date", "created_date"),
        ("opportunities",),
        "on or after `created_date`",
    ),
)
#: the rules of the repairs that concern one column's values, as the data contract states them
REPAIRED_VALUES = {
    "probability": "0-1 (a whole column on a 0-100 scale is divided by 100; a value outside 0-1 is cleared)",
    "contract_months": "> 0 (a value not above 0 is cleared)",
    "currency": "ISO 4217 code (upper-cased; empty: the team's currency)",
}
#: the row checks in the order they apply (for the data contract's documentation)
ROW_CHECKS = (
    ("dropped", "a required value empty, unreadable or (status) outside its set"),
    ("dropped", "a duplicate key (the first row of the file is kept)"),
    ("dropped", "a negative amount"),
    ("dropped", "close_date before created_date (opportunities)"),
    ("repaired", "an optional value unreadable or outside its set: cleared"),
    ("repaired", "probability on a 0-100 scale (the whole column): divided by 100 (not bad)"),
    ("repaired", "probability outside 0-1: cleared"),
    ("repaired", "a category in another case or with extra spaces: normalised (not bad)"),
    ("repaired", "contract_months not above 0: cleared"),
)
EXAMPLE_VALUES = 3
#: the rows kept with an issue that is not a bad one (filtered, converted, ...): the count is
#: kept whole, the rows are examples
EXAMPLE_LINES = 10


@dataclass
class ParsedTable:
    """One table parsed in the engine (``relation``: ``_line``, the contract columns present in
    the contract's types, ``_raw_<col>`` holding the value as read where it was unreadable or
    outside its set, ``_chg_<col>`` where a category's text was normalised, and the extra
    columns as read, named ``_x0, _x1, ...``: ``extras`` maps them to their headers)."""

    table: str
    spec: TableSpec
    file: str
    path: str
    sha256: str
    relation: str  # SQL ``FROM`` item
    rows: int
    columns: list[str]  # contract columns present, contract order
    checked: set[str] = field(default_factory=set)  # columns with ``_raw_<col>``
    changed: list[str] = field(default_factory=list)  # columns with ``_chg_<col>``
    extras: list[tuple[str, str]] = field(default_factory=list)  # (engine name, header)
    applied_mapping: dict[str, str] = field(default_factory=dict)
    duplicate_columns: list[str] = field(default_factory=list)
    derive_skipped: list[str] = field(default_factory=list)
    derive_sources: dict[str, list[str]] = field(default_factory=dict)
    user_mapping: dict[str, str] = field(default_factory=dict)
    pct_scale: bool = False  # probability given on a 0-100 scale
    scope: str = ""  # the team's rows (after the filters): a table, or ``relation`` itself
    made: list[str] = field(default_factory=list)  # the engine tables made for it (to drop)
    in_scope: int = 0
    dropped: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    footer: list[str] = field(default_factory=list)  # a report's footer lines, skipped
    reading: dict[str, str] = field(default_factory=dict)  # how dates/numbers were read
    defaulted: dict[str, str] = field(default_factory=dict)  # column -> the preset's constant
    dialect: Dialect = DUCKDB  # the SQL of the engine holding ``relation`` and ``scope``


def parse_select(
    table: str,
    spec: TableSpec,
    columns: list[tuple[str, P.Raw]],
    tz: str,
    *,
    date_order: str | None = None,
    decimal_comma: bool = False,
) -> tuple[list[P.Parsed], list[str], list[str], set[str], list[str], list[tuple[str, str]]]:
    """How ``columns`` (name -> raw) are parsed into the contract's types.

    Returns ``(parsers, outputs, contract columns, checked, changed, extras)``: the select
    list ``outputs`` reads the stages of ``parsers`` (:func:`salesreport.data.parse.staged_select`);
    the rest as in :class:`ParsedTable`.
    """
    names = {name: raw for name, raw in columns}
    ident = columns[0][1].dialect.ident if columns else P.ident
    outputs: list[str] = []
    parsers = []
    present, checked, changed = [], set(), []
    for i, col in enumerate(spec.columns):
        raw = names.get(col.name)
        if raw is None:
            continue
        present.append(col.name)
        parsed = parse_for(
            table, col, raw, tz, key=f"k{i}", date_order=date_order, decimal_comma=decimal_comma
        )
        parsers.append(parsed)
        outputs.append(f"{parsed.value} AS {ident(col.name)}")
        if parsed.bad != "false":
            checked.add(col.name)
            outputs.append(
                f"CASE WHEN {parsed.bad} THEN {P.raw_text(raw)} END AS {ident('_raw_' + col.name)}"
            )
        if col.allowed and parsed.changed:
            changed.append(col.name)
            outputs.append(f"coalesce({parsed.changed}, false) AS {ident('_chg_' + col.name)}")
    contract = {c.name for c in spec.columns}
    extras = []
    for name, raw in columns:
        if name in contract:
            continue
        engine_name = f"_x{len(extras)}"
        extras.append((engine_name, name))
        outputs.append(f"{raw.sql} AS {ident(engine_name)}")
    return parsers, outputs, present, checked, changed, extras


def parse_for(
    table: str,
    col,
    raw: P.Raw,
    tz: str,
    key: str = "k",
    *,
    date_order: str | None = None,
    decimal_comma: bool = False,
) -> P.Parsed:
    """How contract column ``col`` of ``table`` is parsed (``key``: unique among the columns of
    one query, names the parser's intermediate columns; ``date_order`` and ``decimal_comma``:
    how the file writes dates with the year last and numbers)."""
    if col.type == "string":
        if col.allowed or (table, col.name) in LOWER_CASE:
            return P.category(raw, allowed=col.allowed, key=key)
        if col.name == "currency":
            return P.currency(raw, key=key)
        return P.plain_text(raw, key=key)
    if col.type in ("date", "timestamp"):
        return P.datetime(raw, tz, date_only=col.type == "date", key=key, date_order=date_order)
    if col.type == "number":
        return P.number(raw, key=key, decimal_comma=decimal_comma)
    if col.type == "integer":
        return P.integer(raw, key=key, decimal_comma=decimal_comma)
    if col.type == "bool":
        return P.boolean(raw, key=key)
    if col.type == "period":
        return P.period(raw, month_only=(table == "spend" and col.name == "month"), key=key)
    raise ValueError(f"unknown column type {col.type!r}")  # pragma: no cover


# --------------------------------------------------------------------------- queries


def lines_where(run: Runner, relation: str, predicate: str, limit: int | None = None) -> np.ndarray:
    """The spreadsheet rows (``_line``, ascending) of ``relation`` where ``predicate`` holds;
    the first ``limit`` of them when given."""
    cap = f" LIMIT {int(limit)}" if limit is not None else ""
    out = run.arrays(f"SELECT _line FROM {relation} WHERE {predicate} ORDER BY _line{cap}")["_line"]
    return np.asarray(out, dtype=np.int64)


def examples_where(
    run: Runner, relation: str, predicate: str, limit: int | None = 10
) -> tuple[int, np.ndarray]:
    """How many rows of ``relation`` ``predicate`` holds for, and the first ``limit`` of them
    (``_line``, ascending; all of them when ``limit`` is ``None``), in one query."""
    cap = f" LIMIT {int(limit)}" if limit is not None else ""
    got = run.arrays(
        f"SELECT count(*) OVER () AS n, _line FROM {relation} WHERE {predicate} ORDER BY _line{cap}"
    )
    if not len(got["n"]):
        return 0, np.zeros(0, dtype=np.int64)
    return int(got["n"][0]), np.asarray(got["_line"], dtype=np.int64)


def count_where(run: Runner, relation: str, predicates: list[str]) -> list[int]:
    """How many rows of ``relation`` each predicate holds for (one scan)."""
    if not predicates:
        return []
    sel = ", ".join(f"count(*) FILTER (WHERE {p}) AS _n{i}" for i, p in enumerate(predicates))
    return [int(v) for v in run.rows(f"SELECT {sel} FROM {relation}")[0]]


def examples(run: Runner, relation: str, column: str, predicate: str) -> str:
    """The first distinct values (in row order) of ``column`` where ``predicate`` holds, quoted."""
    c = run.dialect.ident(column)
    rows = run.rows(
        f"SELECT {c} AS v FROM {relation} WHERE {predicate} AND {c} IS NOT NULL "
        f"GROUP BY {c} ORDER BY min(_line) LIMIT {EXAMPLE_VALUES}"
    )
    return ", ".join(repr(str(r[0])) for r in rows)


def not_dropped(pt: ParsedTable) -> str:
    """SQL: the row is not among the rows dropped so far (``pt.dropped``)."""
    if not len(pt.dropped):
        return "true"
    return f"_line NOT IN (SELECT _line FROM {pt.dialect.ident(_dropped_name(pt))})"


def _dropped_name(pt: ParsedTable) -> str:
    return f"_sr_dropped_{pt.table}"


def drop_lines(run: Runner, pt: ParsedTable, lines: np.ndarray) -> None:
    """Add ``lines`` to the table's dropped rows (kept in the engine for the queries)."""
    import pyarrow as pa

    if not len(lines):
        return
    pt.dropped = np.union1d(pt.dropped, lines)
    run.put(_dropped_name(pt), pa.table({"_line": pt.dropped}))


# --------------------------------------------------------------------------- structural


def problem(file: str, column: str | None, rows: list, reason: str, fix: str) -> dict:
    """One structural problem as :class:`DataError` carries it."""
    return {
        "file": file,
        "column": column,
        "rows": [int(r) for r in rows],
        "reason": reason,
        "fix": fix,
    }


def problem_line(p: dict) -> str:
    """``opportunities.csv: column 'close_date' is missing (required). Add it ...``."""
    col = f"column '{p['column']}' " if p.get("column") else ""
    shown = p.get("rows") and "(rows " not in p["reason"]
    rows = f" (rows {format_rows(p['rows'])})" if shown else ""
    return f"{p['file']}: {col}{p['reason']}{rows}. {p['fix']}"


def structural_problems(run: Runner, pt: ParsedTable, params_path: str) -> list[dict]:
    """Every structural problem of one parsed table (missing columns, mostly unreadable
    columns, two headers on one column); sets ``pt.pct_scale`` (one scan of the table)."""
    out: list[dict] = []
    pf = params_path
    for col in pt.duplicate_columns:
        theirs = [k for k, v in pt.applied_mapping.items() if v == col]
        out.append(
            problem(
                pt.file,
                col,
                [],
                f"appears twice after mapping (headers {', '.join(theirs + [col])})",
                f"Keep one of them: map the other one elsewhere under data.mapping.{pt.table} in {pf}.",
            )
        )
    for name in pt.spec.required:
        if name in pt.columns:
            continue
        hints = []
        for their, ours in pt.user_mapping.items():
            if ours == name and their not in pt.applied_mapping:
                hints.append(f"data.mapping maps '{their}' onto it but the file has no such column")
        if name in pt.derive_sources:
            hints.append(f"the preset builds it from {', '.join(pt.derive_sources[name])}")
        hint = f" ({'; '.join(hints)})" if hints else ""
        out.append(
            problem(
                pt.file,
                name,
                [],
                f"is missing (required){hint}",
                (
                    f"Select it in the query of data.sql.tables.{pt.table}, or map a column "
                    f"onto it under data.mapping.{pt.table}, in {pf}."
                    if pt.file.startswith("sql:")
                    else "Add it or map your export's column onto it under "
                    f"data.mapping.{pt.table} in {pf}."
                ),
            )
        )
    D = pt.dialect
    checked = [c for c in pt.spec.columns if c.name in pt.checked]
    stats = []
    for c in checked:
        stats += [f"count({D.ident(c.name)})", f"count({D.ident('_raw_' + c.name)})"]
    prob = "probability" in pt.columns
    if prob:
        stats += [
            "count(probability)",
            "coalesce(bool_and(probability BETWEEN 0 AND 100), true)",
            "coalesce(bool_or(probability > 1), false)",
            "coalesce(bool_or(probability > 0 AND probability < 1), false)",
        ]
    if not stats:
        return out
    named = ", ".join(f"{x} AS _s{i}" for i, x in enumerate(stats))
    values = run.rows(f"SELECT {named} FROM {pt.relation}")[0]
    if prob:
        n, in_range, above_one, fraction = values[-4:]
        pt.pct_scale = bool(n and in_range and above_one and not fraction)
    for i, col in enumerate(checked):
        n_ok, n_bad = values[2 * i], values[2 * i + 1]
        n_given = n_ok + n_bad
        if n_given == 0 or n_bad * 2 <= n_given:
            continue
        name = col.name
        bad = f"{D.ident('_raw_' + name)} IS NOT NULL"
        rows = lines_where(run, pt.relation, bad, 10).tolist()
        eg = examples(run, pt.relation, "_raw_" + name, "true")
        if col.allowed:
            reason = f"has {n_bad} of {n_given} values outside {', '.join(col.allowed)} (e.g. {eg})"
            fix = (
                f"Write one of {', '.join(col.allowed)}, or map your export's column "
                f"onto '{name}' under data.mapping.{pt.table} in {pf}."
            )
        else:
            word = TYPE_WORDS[col.type]
            if pt.table == "spend" and name == "month":
                word = "a month (2026-10)"
            reason = f"has {n_bad} of {n_given} values that are not {word} (e.g. {eg})"
            fix = f"{TYPE_FIXES[col.type]}, or check which column is mapped onto '{name}' in {pf}."
        out.append(problem(pt.file, name, rows, reason, fix))
    return out


def currency_problems(
    run: Runner, pt: ParsedTable, team_currency: str, rates: dict[str, float], params_path: str
) -> list[dict]:
    """A currency with no rate in ``fx_rates`` among the team's rows (never mixed silently).

    Checked after the team's filters: rows of other teams may be in currencies
    this team has no rate for.
    """
    if "currency" not in pt.columns:
        return []
    known = ", ".join(pt.dialect.lit(c) for c in sorted(set(rates) | {team_currency}))
    missing = f"currency IS NOT NULL AND currency NOT IN ({known})"
    codes = [r[0] for r in run.rows(
        f"SELECT DISTINCT {pt.dialect.binary('currency')} AS c FROM {pt.scope} WHERE {missing} ORDER BY 1"
    )]  # fmt: skip
    if not codes:
        return []
    # no made-up number a user could paste: the rate is theirs to give
    first = f"<value of 1 {codes[0]} in {team_currency}>"
    example = ", ".join(f"{c}: {first if i == 0 else '...'}" for i, c in enumerate(codes))
    return [
        problem(
            pt.file,
            "currency",
            lines_where(run, pt.scope, missing, 10).tolist(),
            f"holds {', '.join(codes)} with no exchange rate to {team_currency}",
            f"Add the rates to {params_path}: fx_rates: {{{example}}}.",
        )
    ]


# --------------------------------------------------------------------------- rows


def value_failures(
    run: Runner, relations: dict[str, str], checks: dict[str, dict[str, str]]
) -> dict:
    """The rows failing named checks (SQL conditions a good row meets), of every table in one
    query: ``relations`` (table -> SQL ``FROM`` item) and ``checks`` (table -> check name ->
    condition). Returns ``(table, check name) -> failing rows (_line)``. A row with a missing
    value passes a check (its condition allows it)."""
    D = run.dialect
    names = list(dict.fromkeys(n for c in checks.values() for n in c))
    parts = []
    for table, conds in checks.items():
        if not conds:
            continue
        cols = ", ".join(
            f"coalesce({conds[n]}, true) AS {D.ident(n)}" if n in conds else f"true AS {D.ident(n)}"
            for n in names
        )
        parts.append(f"SELECT {D.lit(table)} AS _table, _line, {cols} FROM {relations[table]}")
    if not parts:
        return {}
    failing = " OR ".join(f"NOT {D.ident(n)}" for n in names)
    got = run.rows(
        f"SELECT * FROM ({' UNION ALL '.join(parts)}) AS _sr_checks WHERE {failing} "
        f"ORDER BY {D.binary('_table')}, _line"
    )
    out: dict[tuple[str, str], list[int]] = {}
    for row in got:
        for i, name in enumerate(names):
            if not row[2 + i]:
                out.setdefault((row[0], name), []).append(int(row[1]))
    return {k: np.asarray(v, dtype=np.int64) for k, v in out.items()}


def check_rows(run: Runner, parsed: dict[str, ParsedTable], q: DataQuality) -> None:
    """Drop or repair the bad rows of every table (its rows in scope, ``pt.scope``), counting
    each in ``q`` (table by table, in the order of :data:`ROW_CHECKS`); the dropped rows go into
    ``pt.dropped`` (:func:`checked_relation` gives the table with the drops and repairs)."""
    counts = {t: DataQuality() for t in parsed}
    for t, pt in parsed.items():
        _drop_required_and_duplicates(run, pt, counts[t])
    checks = {
        t: {
            c.name: c.condition
            for c in VALUE_CHECKS
            if set(c.needs) <= set(pt.columns) and (c.tables is None or t in c.tables)
        }
        for t, pt in parsed.items()
    }
    live = {
        t: f"(SELECT * FROM {pt.scope} WHERE {not_dropped(pt)}) AS _sr_live"
        for t, pt in parsed.items()
    }
    failures = value_failures(run, live, checks)
    for t, pt in parsed.items():
        for c in VALUE_CHECKS:  # a row failing two is dropped by the first
            if (t, c.name) in failures:
                lines = np.setdiff1d(failures[t, c.name], pt.dropped)
                if len(lines):
                    counts[t].add(t, pt.file, "dropped", c.name, lines, column=c.column, bad=True)
                    drop_lines(run, pt, lines)
        _count_repairs(run, pt, counts[t])
        q.issues.extend(counts[t].issues)


def _drop_required_and_duplicates(run: Runner, pt: ParsedTable, q: DataQuality) -> None:
    """Rows with a required value empty, unreadable or outside its set (the first that
    applies), then duplicate keys (the first row of the file kept): dropped."""
    spec, rel, ident = pt.spec, pt.scope, pt.dialect.ident

    def drop(lines: np.ndarray, reason: str, column: str | None) -> None:
        q.add(pt.table, pt.file, "dropped", reason, lines, column=column, bad=True)
        drop_lines(run, pt, lines)

    # 1. required values unreadable (or outside their set), or empty: the first that applies
    whys = []
    for col in spec.columns:
        if not col.required or col.name not in pt.columns:
            continue
        if col.name in pt.checked:
            whys.append((col, "bad", f"{ident('_raw_' + col.name)} IS NOT NULL"))
        whys.append((col, "empty", f"{ident(col.name)} IS NULL"))
    if whys:
        case = " ".join(f"WHEN {cond} THEN {i}" for i, (_, _, cond) in enumerate(whys))
        raws = " ".join(
            f"WHEN {i} THEN {ident('_raw_' + col.name)}"
            for i, (col, kind, _) in enumerate(whys)
            if kind == "bad"
        )
        example = f"CASE why {raws} END" if raws else pt.dialect.null(pt.dialect.text_type)
        got = run.arrays(
            f"SELECT _line, why, {example} AS raw FROM (SELECT *, CASE {case} END AS why FROM {rel}) "
            "AS _sr_why WHERE why IS NOT NULL ORDER BY _line"
        )
        lines, why = np.asarray(got["_line"], np.int64), np.asarray(got["why"])
        raw = np.asarray(got["raw"], dtype=object)
        for i, (col, kind, _) in enumerate(whys):
            hit = why == i
            if not hit.any():
                continue
            if kind == "empty":
                drop(lines[hit], f"{col.name} is empty", col.name)
                continue
            eg = _quoted(raw[hit])
            what = (
                f"unknown {col.name}"
                if col.allowed
                else f"{col.name} is not {TYPE_WORDS.get(col.type, 'readable')}"
            )
            drop(lines[hit], f"{what} (e.g. {eg})", col.name)
    # 2. duplicate keys: keep the first
    key = spec.key
    if key and key in pt.columns:
        k, live = ident(key), not_dropped(pt)
        lines = run.arrays(
            f"SELECT _line FROM (SELECT _line, row_number() OVER (PARTITION BY {k} ORDER BY _line) AS n "
            f"FROM {rel} WHERE {live} AND {k} IN (SELECT {k} FROM {rel} WHERE {live} "
            f"GROUP BY {k} HAVING count(*) > 1)) AS _sr_keys WHERE n > 1 ORDER BY _line"
        )["_line"]
        if len(lines):
            drop(np.asarray(lines, np.int64), f"duplicate {key} (first row kept)", key)


def _count_repairs(run: Runner, pt: ParsedTable, q: DataQuality) -> None:
    """The repairs of the rows kept (the values are changed by :func:`checked_relation`)."""
    spec, rel, ident = pt.spec, pt.scope, pt.dialect.ident
    # 4-7. repairs on the rows kept: (predicate, reason, column, bad, with examples)
    live = not_dropped(pt)
    repairs: list[tuple[str, str, str, bool, bool]] = []
    for col in spec.columns:
        if col.required or col.name not in pt.checked:
            continue
        word = (
            f"outside {', '.join(col.allowed)}"
            if col.allowed
            else f"not {TYPE_WORDS.get(col.type)}"
        )
        bad_value = f"{ident('_raw_' + col.name)} IS NOT NULL"
        repairs.append((bad_value, f"{col.name} {word}, cleared", col.name, True, True))
    if "probability" in pt.columns:
        if pt.pct_scale:
            repairs.append(("probability IS NOT NULL AND probability <> 0",
                            "probability on a 0-100 scale, divided by 100", "probability", False, False))  # fmt: skip
        else:
            repairs.append(("(probability < 0 OR probability > 1)",
                            "probability outside 0-1, cleared", "probability", True, False))  # fmt: skip
    for name in pt.changed:
        repairs.append((f"{ident('_chg_' + name)} AND {ident(name)} IS NOT NULL",
                        f"{name} normalised (lower case, no extra spaces)", name, False, False))  # fmt: skip
    if "contract_months" in pt.columns:
        repairs.append(("contract_months <= 0", "contract_months not above 0, cleared",
                        "contract_months", True, False))  # fmt: skip
    counts = count_where(run, rel, [f"({r[0]}) AND {live}" for r in repairs])
    for (pred, reason, column, bad, with_examples), n in zip(repairs, counts, strict=True):
        if not n:
            continue
        where = f"({pred}) AND {live}"
        if with_examples:
            reason = f"{reason} (e.g. {examples(run, rel, '_raw_' + column, where)})"
        if bad:
            q.add(
                pt.table,
                pt.file,
                "repaired",
                reason,
                lines_where(run, rel, where),
                column=column,
                bad=True,
            )
        else:
            lines = lines_where(run, rel, where, EXAMPLE_LINES)
            q.add(pt.table, pt.file, "repaired", reason, lines, column=column, count=n)


def _quoted(values: np.ndarray) -> str:
    """The first distinct values, quoted (``'a', 'b'``)."""
    seen: list[str] = []
    for v in values:
        if v is None or str(v) in seen:
            continue
        seen.append(str(v))
        if len(seen) == EXAMPLE_VALUES:
            break
    return ", ".join(repr(v) for v in seen)


def checked_relation(pt: ParsedTable) -> str:
    """SQL ``FROM`` item (with its alias): the team's rows of the table after the row checks (dropped rows out,
    repairs applied); ``_line``, the contract columns, the extras."""
    cols = ["_line"]
    for name in pt.columns:
        if name == "probability":
            if pt.pct_scale:
                cols.append("probability / 100.0 AS probability")
            else:
                cols.append(
                    "CASE WHEN probability < 0 OR probability > 1 THEN NULL ELSE probability END AS probability"
                )
        elif name == "contract_months":
            cols.append(
                "CASE WHEN contract_months <= 0 THEN NULL ELSE contract_months END AS contract_months"
            )
        else:
            cols.append(pt.dialect.ident(name))
    cols += [pt.dialect.ident(e) for e, _ in pt.extras]
    return f"(SELECT {', '.join(cols)} FROM {pt.scope} WHERE {not_dropped(pt)}) AS _sr_checked"


def check_references(run: Runner, parsed: dict[str, ParsedTable], q: DataQuality) -> None:
    """Rows pointing at a row of another table that is not in its file.

    The parent's keys are every key of its file (before filters), so a row whose parent was
    filtered out for the team is no orphan. ``stage_history`` rows of an unknown opportunity
    are dropped; the other references are flagged and kept. One query counts every reference
    of a table.
    """
    refs: dict[str, list[tuple]] = {}
    for child, col, parent, pkey, action in REFERENCES:
        if child not in parsed or parent not in parsed or col not in parsed[child].columns:
            continue
        if pkey in parsed[parent].columns:
            refs.setdefault(child, []).append((col, parent, pkey, action))
    for child, links in refs.items():
        pt = parsed[child]
        ident = pt.dialect.ident
        orphans = []
        for col, parent, pkey, _ in links:
            keys = f"(SELECT {ident(pkey)} FROM {parsed[parent].relation} WHERE {ident(pkey)} IS NOT NULL)"
            orphans.append(f"{ident(col)} IS NOT NULL AND {ident(col)} NOT IN {keys}")
        counts = count_where(run, pt.scope, [f"{o} AND {not_dropped(pt)}" for o in orphans])
        dropped_before = len(pt.dropped)
        for (col, parent, pkey, action), orphan, n in zip(links, orphans, counts, strict=True):
            orphan = f"{orphan} AND {not_dropped(pt)}"
            if n and len(pt.dropped) != dropped_before:  # an earlier reference dropped rows
                (n,) = count_where(run, pt.scope, [orphan])
            if not n:
                continue
            reason = f"{col} not in {parsed[parent].file} ({pkey})"
            if action == "dropped":
                lines = lines_where(run, pt.scope, orphan)
                q.add(child, pt.file, "dropped", reason, lines, column=col, bad=True)
                drop_lines(run, pt, lines)
            else:
                lines = lines_where(run, pt.scope, orphan, EXAMPLE_LINES)
                q.add(child, pt.file, "flagged", reason, lines, column=col, count=n)


def check_target_metrics(run: Runner, parsed: dict[str, ParsedTable], q: DataQuality) -> None:
    """Rows of ``targets`` naming a metric that is not a KPI of the catalogue (``quota``, a
    misspelt ``revenu``): flagged and kept, as no KPI reads them, so that the target the
    user meant is not missed in silence (the team's YAML refuses such a metric outright)."""
    from salesreport.kpis.catalogue import CATALOGUE

    pt = parsed.get("targets")
    if pt is None or "metric" not in pt.columns:
        return
    known = ", ".join(pt.dialect.lit(m) for m in CATALOGUE)
    other = f"metric IS NOT NULL AND metric NOT IN ({known}) AND {not_dropped(pt)}"
    (n,) = count_where(run, pt.scope, [other])
    if not n:
        return
    names = [r[0] for r in run.rows(
        f"SELECT DISTINCT {pt.dialect.binary('metric')} AS m FROM {pt.scope} WHERE {other} ORDER BY 1 LIMIT 4"
    )]  # fmt: skip
    shown = ", ".join(repr(m) for m in names[:3]) + (", ..." if len(names) > 3 else "")
    q.add(
        "targets",
        pt.file,
        "flagged",
        f"metric is not a KPI ({shown}): the target is not used (every KPI is in docs/kpis.md)",
        lines_where(run, pt.scope, other, EXAMPLE_LINES),
        column="metric",
        count=n,
    )


def threshold_problems(
    parsed: dict[str, ParsedTable],
    q: DataQuality,
    share: float,
    strict: bool,
    params_path: str,
    floor: int = 0,
) -> list[dict]:
    """Tables whose bad rows exceed ``share`` of their rows in scope and number more than
    ``floor`` (any, with ``strict``): a few bad rows of a small table (one duplicate in 16 rows
    is 6 %) do not stop the run."""
    out = []
    for table, pt in parsed.items():
        n = pt.in_scope
        bad = q.bad_rows(table)
        if not bad or n == 0:
            continue
        ratio = len(bad) / n
        if not strict and (ratio <= share or len(bad) <= floor):
            continue
        issues = q.for_table(table, bad_only=True)
        detail = "; ".join(
            f"{i.action} {i.n} {i.reason} (rows {format_rows(i.rows)})" for i in issues
        )
        limit = (
            "strict mode allows none"
            if strict
            else f"more than thresholds.bad_row_share = {share:.0%}"
            + (f" and thresholds.bad_rows_floor = {floor}" if floor else "")
        )
        fix = "Clean the export" + (
            f" or run without --strict / strict: false in {params_path}."
            if strict
            else f" or raise thresholds.bad_row_share in {params_path}."
        )
        out.append(
            problem(
                pt.file,
                None,
                sorted(bad)[:10],
                f"{len(bad)} of {n} rows ({ratio:.1%}) are bad, {limit}: {detail}",
                fix,
            )
        )
    return out
