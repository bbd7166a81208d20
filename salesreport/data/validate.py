"""Checks on the loaded tables: structural problems stop the run, row problems are counted.

*Structural* problems concern a whole file and stop the run (all of them are
collected first, then one :class:`~salesreport.exceptions.DataError` lists
them): a missing required column, two headers mapped onto one column, a
column most (more than half) of whose non-blank values cannot be read, a
currency without an exchange rate.

*Row* problems drop or repair single rows, each counted with its reason and
rows in :class:`~salesreport.data.quality.DataQuality`:

* dropped: a required value empty or unreadable, an unknown ``status``, a
  duplicate key (the first row is kept), ``close_date`` before
  ``created_date``, a negative ``amount``, a ``stage_history`` row whose
  opportunity is not in ``opportunities``;
* repaired: an optional value unreadable or outside its set (cleared), a
  ``probability`` outside 0-1 (cleared; a whole column on a 0-100 scale is
  divided by 100 instead, which is not a bad row), a category written in
  another case (not a bad row);
* flagged: a reference to a row of another table that is not there
  (``owner_id`` not in ``reps``...), kept as is.

A table whose bad rows (dropped, or repaired with information lost) exceed
``thresholds.bad_row_share`` of its rows in scope stops the run; with
``strict`` any bad row does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import pandera.pandas as pa

from salesreport.data.parse import (
    as_objects,
    in_keys,
    normalise_category,
    parse_bools,
    parse_currency,
    parse_datetimes,
    parse_integers,
    parse_numbers,
    parse_periods,
    to_text,
)
from salesreport.data.quality import DataQuality, format_rows
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
EXAMPLE_VALUES = 3


@dataclass
class ParsedTable:
    """One table after mapping and parsing, with per-column masks of what could not be read.

    ``frame`` holds contract columns in their in-memory dtypes (plus extra
    columns as read); ``raw`` the values before parsing, for messages. All
    share the spreadsheet-row index.
    """

    table: str
    spec: TableSpec
    file: str
    path: str
    sha256: str
    raw: pd.DataFrame
    frame: pd.DataFrame
    invalid: dict[str, pd.Series] = field(default_factory=dict)  # given but unreadable
    unknown: dict[str, pd.Series] = field(default_factory=dict)  # outside a closed set
    changed: dict[str, pd.Series] = field(default_factory=dict)  # category case/space normalised
    applied_mapping: dict[str, str] = field(default_factory=dict)
    duplicate_columns: list[str] = field(default_factory=list)
    derive_skipped: list[str] = field(default_factory=list)
    derive_sources: dict[str, list[str]] = field(default_factory=dict)
    user_mapping: dict[str, str] = field(default_factory=dict)
    pct_scale: bool = False  # probability given on a 0-100 scale

    def release(self) -> None:
        """Drop the whole file's rows (``raw``, ``frame``, the masks), keeping the names.

        :func:`~salesreport.data.load_tables` calls it once the table's rows in scope are
        checked: later steps only name the file.
        """
        self.raw = self.raw.iloc[:0]
        self.frame = self.frame.iloc[:0]
        self.invalid, self.unknown, self.changed = {}, {}, {}

    def bad_mask(self, col: str) -> pd.Series:
        m = pd.Series(False, index=self.frame.index)
        if col in self.invalid:
            m |= self.invalid[col]
        if col in self.unknown:
            m |= self.unknown[col]
        return m


def parse_table(
    table: str,
    spec: TableSpec,
    raw: pd.DataFrame,
    tz: str,
) -> tuple[pd.DataFrame, dict[str, pd.Series], dict[str, pd.Series], dict[str, pd.Series]]:
    """Parse every contract column present in ``raw``.

    Returns ``(frame, invalid, unknown, changed)``: the parsed frame (contract
    columns first, in contract order, then the extra columns as read) and the
    masks per column.
    """
    out = raw.copy()
    invalid: dict[str, pd.Series] = {}
    unknown: dict[str, pd.Series] = {}
    changed: dict[str, pd.Series] = {}
    for col in spec.columns:
        if col.name not in raw.columns:
            continue
        s = raw[col.name]
        if col.type == "string":
            if col.allowed or (table, col.name) in LOWER_CASE:
                vals, ch = normalise_category(s, closed_set=bool(col.allowed))
                if col.allowed:
                    changed[col.name] = ch
                    unknown[col.name] = vals.notna() & ~vals.isin(col.allowed)
            elif col.name == "currency":
                vals = parse_currency(s)
            else:
                vals = to_text(s)
        elif col.type in ("date", "timestamp"):
            vals, bad = parse_datetimes(s, tz, date_only=col.type == "date")
            invalid[col.name] = bad
        elif col.type == "number":
            vals, bad = parse_numbers(s)
            invalid[col.name] = bad
        elif col.type == "integer":
            vals, bad = parse_integers(s)
            invalid[col.name] = bad
        elif col.type == "bool":
            vals, bad = parse_bools(s)
            invalid[col.name] = bad
        elif col.type == "period":
            vals, bad = parse_periods(s, month_only=(table == "spend" and col.name == "month"))
            invalid[col.name] = bad
        else:  # pragma: no cover - the contract has no other types
            raise ValueError(f"unknown column type {col.type!r}")
        out[col.name] = vals
    order = [c.name for c in spec.columns if c.name in out.columns]
    out = out[order + [c for c in out.columns if c not in order]]
    return out, invalid, unknown, changed


# --------------------------------------------------------------------------- structural


def _examples(raw: pd.Series, mask: pd.Series) -> str:
    vals = as_objects(raw[mask]).astype(str).drop_duplicates().head(EXAMPLE_VALUES).tolist()
    return ", ".join(repr(v) for v in vals)


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


def structural_problems(pt: ParsedTable, params_path: str) -> list[dict]:
    """Every structural problem of one parsed table (missing columns, mostly unreadable columns)."""
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
        if name in pt.frame.columns:
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
                "Add it or map your export's column onto it under "
                f"data.mapping.{pt.table} in {pf}.",
            )
        )
    for col in pt.spec.columns:
        name = col.name
        if name not in pt.frame.columns or (name not in pt.invalid and name not in pt.unknown):
            continue
        bad = pt.bad_mask(name)
        given = pt.frame[name].notna() | bad
        n_given = int(given.sum())
        n_bad = int(bad.sum())
        if n_given == 0 or n_bad * 2 <= n_given:
            continue
        rows = list(bad[bad].index[:10])
        if name in pt.unknown:
            reason = (
                f"has {n_bad} of {n_given} values outside {', '.join(col.allowed or ())} "
                f"(e.g. {_examples(pt.raw[name], bad)})"
            )
            fix = (
                f"Write one of {', '.join(col.allowed or ())}, or map your export's column "
                f"onto '{name}' under data.mapping.{pt.table} in {pf}."
            )
        else:
            word = TYPE_WORDS[col.type]
            if pt.table == "spend" and name == "month":
                word = "a month (2026-10)"
            reason = f"has {n_bad} of {n_given} values that are not {word} (e.g. {_examples(pt.raw[name], bad)})"
            fix = f"{TYPE_FIXES[col.type]}, or check which column is mapped onto '{name}' in {pf}."
        out.append(problem(pt.file, name, rows, reason, fix))
    return out


def currency_problems(
    pt: ParsedTable,
    team_currency: str,
    rates: dict[str, float],
    params_path: str,
    keep: pd.Series | None = None,
) -> list[dict]:
    """A currency with no rate in ``fx_rates`` among the team's rows ``keep`` (never mixed silently).

    Checked after the team's filters: rows of other teams may be in currencies
    this team has no rate for.
    """
    if "currency" not in pt.frame.columns:
        return []
    cur = pt.frame["currency"] if keep is None else pt.frame["currency"][keep]
    known = set(rates) | {team_currency}
    missing = cur.notna() & ~cur.isin(known)
    if not missing.any():
        return []
    codes = sorted(cur[missing].unique())
    example = ", ".join(f"{c}: 1.17" if i == 0 else f"{c}: ..." for i, c in enumerate(codes))
    return [
        problem(
            pt.file,
            "currency",
            list(missing[missing].index[:10]),
            f"holds {', '.join(codes)} with no exchange rate to {team_currency}",
            f"Add the rates (value of 1 unit in {team_currency}) to {params_path}, "
            f"e.g. fx_rates: {{{example}}}.",
        )
    ]


# --------------------------------------------------------------------------- rows


def _pandera_failures(
    df: pd.DataFrame, checks: dict[str, tuple[str | None, pa.Check]]
) -> dict[str, pd.Index]:
    """Run named checks lazily with pandera; returns check name -> failing row labels.

    ``checks`` maps a name to ``(column, check)``; a column of ``None`` is a
    check on the whole frame.
    """
    columns: dict[str, list[pa.Check]] = {}
    frame_checks: list[pa.Check] = []
    for _name, (col, check) in checks.items():
        if col is None:
            frame_checks.append(check)
        elif col in df.columns:
            columns.setdefault(col, []).append(check)
    if not columns and not frame_checks:
        return {}
    schema = pa.DataFrameSchema(
        {c: pa.Column(checks=ch, nullable=True, required=False) for c, ch in columns.items()},
        checks=frame_checks,
    )
    try:
        schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        out: dict[str, pd.Index] = {}
        for name in checks:
            idx = fc.loc[fc["check"] == name, "index"].dropna().unique()
            if len(idx):
                out[name] = pd.Index(sorted(idx))
        return out
    return {}


def _drop(df, rows, q, pt, reason, column=None):
    rows = [r for r in rows if r in df.index]
    q.add(pt.table, pt.file, "dropped", reason, rows, column=column, bad=True)
    return df.drop(index=rows)


def check_rows(pt: ParsedTable, df: pd.DataFrame, q: DataQuality) -> pd.DataFrame:
    """Drop or repair the bad rows of one table (its rows in scope), counting each in ``q``."""
    spec = pt.spec
    # 1. required values empty or unreadable, unknown status
    for col in spec.columns:
        if not col.required or col.name not in df.columns:
            continue
        bad = pt.bad_mask(col.name).reindex(df.index, fill_value=False)
        if bad.any():
            rows = list(bad[bad].index)
            raw = pt.raw[col.name]
            if col.name in pt.unknown:
                what = (
                    f"unknown {col.name} (e.g. {_examples(raw.loc[rows], raw.loc[rows].notna())})"
                )
            else:
                word = TYPE_WORDS.get(col.type, "readable")
                what = f"{col.name} is not {word} (e.g. {_examples(raw.loc[rows], raw.loc[rows].notna())})"
            df = _drop(df, rows, q, pt, what, col.name)
        empty = df[col.name].isna()
        if empty.any():
            df = _drop(df, list(empty[empty].index), q, pt, f"{col.name} is empty", col.name)
    # 2. duplicate keys: keep the first
    if spec.key and spec.key in df.columns:
        dup = df[spec.key].duplicated(keep="first")
        if dup.any():
            df = _drop(
                df, list(dup[dup].index), q, pt, f"duplicate {spec.key} (first row kept)", spec.key
            )
    # 3. value checks (pandera, lazy)
    checks: dict[str, tuple[str | None, pa.Check]] = {}
    if "amount" in df.columns:
        checks["negative amount"] = (
            "amount",
            pa.Check(lambda s: s.isna() | (s >= 0), name="negative amount"),
        )
    if {"close_date", "created_date"} <= set(df.columns) and pt.table == "opportunities":
        checks["close_date before created_date"] = (
            None,
            pa.Check(
                lambda d: (
                    d["close_date"].isna()
                    | d["created_date"].isna()
                    | (d["close_date"] >= d["created_date"])
                ),
                name="close_date before created_date",
            ),
        )
    for name, rows in _pandera_failures(df, checks).items():
        col = checks[name][0] or "close_date"
        df = _drop(df, list(rows), q, pt, name, col)
    # 4. optional values unreadable or outside their set: cleared
    for col in spec.columns:
        if col.required or col.name not in df.columns:
            continue
        bad = pt.bad_mask(col.name).reindex(df.index, fill_value=False)
        if bad.any():
            rows = list(bad[bad].index)
            raw = pt.raw[col.name].loc[rows]
            word = (
                f"outside {', '.join(col.allowed)}"
                if col.name in pt.unknown
                else f"not {TYPE_WORDS.get(col.type)}"
            )
            df[col.name] = df[col.name].mask(bad)
            q.add(
                pt.table,
                pt.file,
                "repaired",
                f"{col.name} {word}, cleared (e.g. {_examples(raw, raw.notna())})",
                rows,
                column=col.name,
                bad=True,
            )
    # 5. probability in 0-1
    if "probability" in df.columns:
        p = df["probability"]
        if pt.pct_scale:
            rows = list(p[p.notna() & (p != 0)].index)
            df["probability"] = p / 100.0
            q.add(
                pt.table,
                pt.file,
                "repaired",
                "probability on a 0-100 scale, divided by 100",
                rows,
                column="probability",
            )
        else:
            out = p.notna() & ((p < 0) | (p > 1))
            if out.any():
                df.loc[out, "probability"] = float("nan")
                q.add(
                    pt.table,
                    pt.file,
                    "repaired",
                    "probability outside 0-1, cleared",
                    list(out[out].index),
                    column="probability",
                    bad=True,
                )
    # 6. categories written in another case or with spaces (not bad)
    for name, ch in pt.changed.items():
        m = ch.reindex(df.index, fill_value=False) & df[name].notna()
        if m.any():
            q.add(
                pt.table,
                pt.file,
                "repaired",
                f"{name} normalised (lower case, no extra spaces)",
                list(m[m].index),
                column=name,
            )
    # 7. contract_months must be > 0
    if "contract_months" in df.columns:
        m = df["contract_months"].notna() & (df["contract_months"] <= 0)
        m = m.fillna(False).astype(bool)
        if m.any():
            df["contract_months"] = df["contract_months"].mask(m)
            q.add(
                pt.table,
                pt.file,
                "repaired",
                "contract_months not above 0, cleared",
                list(m[m].index),
                column="contract_months",
                bad=True,
            )
    return df


def probability_scale(prob: pd.Series) -> bool:
    """``True`` when a probability column is on a 0-100 scale.

    That is: every value lies in [0, 100], at least one is above 1 and none is
    strictly between 0 and 1 (a fraction would mean the 0-1 scale).
    """
    p = prob.dropna()
    if p.empty:
        return False
    return bool(
        (p >= 0).all() and (p <= 100).all() and (p > 1).any() and not ((p > 0) & (p < 1)).any()
    )


def check_references(
    frames: dict[str, pd.DataFrame],
    all_keys: dict[str, object],
    parsed: dict[str, ParsedTable],
    q: DataQuality,
) -> dict[str, pd.DataFrame]:
    """Rows pointing at a row of another table that is not in its file.

    ``all_keys`` holds every key of each parent table's file (before filters),
    so a row whose parent was filtered out for the team is no orphan (a ``set``, or the
    Arrow array :func:`~salesreport.data.parse.key_values` gives).
    ``stage_history`` rows of an unknown opportunity are dropped; the other
    references are flagged and kept.
    """
    out = dict(frames)
    for child, col, parent, pkey, action in REFERENCES:
        if child not in out or parent not in all_keys or col not in out[child].columns:
            continue
        df = out[child]
        vals = df[col]
        orphan = vals.notna() & ~in_keys(vals, all_keys[parent])
        if not orphan.any():
            continue
        rows = list(orphan[orphan].index)
        pt = parsed[child]
        pfile = parsed[parent].file
        reason = f"{col} not in {pfile} ({pkey})"
        if action == "dropped":
            out[child] = df.drop(index=rows)
            q.add(child, pt.file, "dropped", reason, rows, column=col, bad=True)
        else:
            q.add(child, pt.file, "flagged", reason, rows, column=col)
    return out


def threshold_problems(
    parsed: dict[str, ParsedTable],
    in_scope: dict[str, int],
    q: DataQuality,
    share: float,
    strict: bool,
    params_path: str,
) -> list[dict]:
    """Tables whose bad rows exceed ``share`` of their rows in scope (any, with ``strict``)."""
    out = []
    for table, pt in parsed.items():
        n = in_scope.get(table, 0)
        bad = q.bad_rows(table)
        if not bad or n == 0:
            continue
        ratio = len(bad) / n
        if not strict and ratio <= share:
            continue
        issues = q.for_table(table, bad_only=True)
        detail = "; ".join(
            f"{i.action} {i.n} {i.reason} (rows {format_rows(i.rows)})" for i in issues
        )
        limit = (
            "strict mode allows none"
            if strict
            else f"more than thresholds.bad_row_share = {share:.0%}"
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
