"""Point in time: the tables as they could be known at the end of a report month, as queries.

A report for month M sees only what was dated on or before the last day of M
(re-running an old month reproduces what was knowable then):

* rows dated after M are dropped: ``opportunities`` and ``leads`` by
  ``created_date``, ``stage_history`` by ``entered_date``, ``activities`` by
  ``timestamp`` (before the first instant of M+1), ``orders`` by
  ``order_date``, ``spend`` by ``month``, ``forecast_submissions`` by
  ``submitted_date``, ``reps`` by ``hire_date``; ``targets`` (plans) and
  ``accounts`` are kept whole;
* opportunities won or lost after M were open at M: ``status`` becomes
  ``open`` (``close_date`` stays, as the expected close), and what only the
  close told (``lost_reason``, a ``closed`` forecast category, the
  ``probability``) is cleared so that stage probabilities apply;
* with ``stage_history``, every opportunity open at the end of M gets as
  ``stage`` the last stage it entered on or before the end of M (ties: the
  later row of the file), and its ``probability`` and ``forecast_category``,
  which belonged to the later stage, are cleared; one without history rows
  by then keeps its stage;
* leads converted after M: ``converted_date`` and ``opportunity_id`` cleared,
  a ``converted`` status becomes ``working`` (the lead was being worked at M;
  other statuses carry no date and are kept);
  an ``opportunity_id`` whose opportunity was created after M is cleared too;
* reps: ``leave_date`` after M cleared.

:func:`cut` is the rule, as SQL on relations of the engine (each with ``_line``, the row's
number, which the counts of what changed name); the loader runs it on the checked tables,
and :func:`as_of` runs it on pandas tables.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from salesreport.data.dialect import Dialect
from salesreport.data.parse import ident
from salesreport.data.runner import DuckRunner, Runner
from salesreport.data.validate import examples_where
from salesreport.periods import month_end, month_end_exclusive, month_period
from salesreport.rules import CLOSED_STATUSES, OPEN
from salesreport.tables import TABLES, Tables

COUNT_COLUMNS = ["table", "action", "reason", "count", "rows"]

#: the date column of each table that drops rows dated after the month, in the order of the
#: counts
DROP_BY = (
    ("orders", "order_date"),
    ("forecast_submissions", "submitted_date"),
    ("stage_history", "entered_date"),
    ("opportunities", "created_date"),
    ("leads", "created_date"),
    ("reps", "hire_date"),
)
#: the columns the cut may change, per table
CHANGED = {
    "opportunities": ("status", "stage", "lost_reason", "forecast_category", "probability"),
    "leads": ("converted_date", "opportunity_id", "status"),
    "reps": ("leave_date",),
}


def _replace(D: Dialect, columns: list[str], changes: dict[str, str]) -> str:
    """A select list: ``columns`` with some replaced by expressions."""
    return ", ".join(
        f"{changes[c]} AS {D.ident(c)}" if c in changes else D.ident(c) for c in columns
    )


def cut(
    run: Runner,
    relations: dict[str, tuple[str, list[str]]],
    month: str,
    limit: int | None = None,
) -> tuple[dict[str, str], list[dict]]:
    """The point-in-time cut of ``relations`` (table -> (SQL ``FROM`` item, its columns)),
    rules in the module docstring.

    Returns ``(selects, counts)``: per table a ``SELECT`` of the cut rows (every column of
    the relation), and what changed, one record per table and reason (``table, action,
    reason, count, rows``; ``action`` always ``after_month``, ``rows`` the ``_line`` values
    touched, ascending; the first ``limit`` of them when given). The counts are computed here;
    the selects are for the caller to run.
    """
    D = run.dialect
    names = itertools.count()

    def sub(select: str) -> str:
        """A subquery as a ``FROM`` item, with an alias of its own."""
        return f"({select}) AS _sr_cut{next(names)}"

    p = month_period(month)
    end = f"DATE '{month_end(p):%Y-%m-%d}'"  # last day: a date column is <= end
    stop = f"TIMESTAMP '{month_end_exclusive(p):%Y-%m-%d %H:%M:%S}'"  # first instant of M+1
    counts: list[dict] = []

    def note(table: str, reason: str, relation: str, predicate: str) -> None:
        n, rows = examples_where(run, relation, predicate, limit)
        if not n:
            return
        counts.append(
            {
                "table": table,
                "action": "after_month",
                "reason": reason,
                "count": int(n),
                "rows": rows,
            }
        )

    out: dict[str, tuple[str, list[str]]] = dict(relations)
    for name, col in DROP_BY:
        if name in relations and col in relations[name][1]:
            rel, cols = relations[name]
            later = f"coalesce({D.ident(col)} > {end}, false)"
            note(name, f"{col} after {month}, dropped", rel, later)
            out[name] = (sub(f"SELECT * FROM {rel} WHERE NOT {later}"), cols)
    if "activities" in relations and "timestamp" in relations["activities"][1]:
        rel, cols = relations["activities"]
        later = f"coalesce({D.ident('timestamp')} >= {stop}, false)"
        note("activities", f"timestamp after {month}, dropped", rel, later)
        out["activities"] = (sub(f"SELECT * FROM {rel} WHERE NOT {later}"), cols)
    if "spend" in relations and "month" in relations["spend"][1]:
        rel, cols = relations["spend"]
        later = f"coalesce({D.ident('month')} > {D.lit(str(p))}, false)"
        note("spend", f"month after {month}, dropped", rel, later)
        out["spend"] = (sub(f"SELECT * FROM {rel} WHERE NOT {later}"), cols)

    if "opportunities" in out:
        rel, cols = out["opportunities"]
        closed = ", ".join(D.lit(s) for s in CLOSED_STATUSES)
        closed_later = f"(status IN ({closed}) AND coalesce(close_date > {end}, false))"
        note(
            "opportunities", f"closed after {month}: open at the end of {month}", rel, closed_later
        )
        changes = {"status": f"CASE WHEN {closed_later} THEN {D.lit(OPEN)} ELSE status END"}
        if "lost_reason" in cols:
            changes["lost_reason"] = f"CASE WHEN {closed_later} THEN NULL ELSE lost_reason END"
        if "forecast_category" in cols:
            changes["forecast_category"] = (
                f"CASE WHEN {closed_later} AND forecast_category = 'closed' THEN NULL "
                "ELSE forecast_category END"
            )
        if "probability" in cols:
            changes["probability"] = f"CASE WHEN {closed_later} THEN NULL ELSE probability END"
        rel = sub(f"SELECT {_replace(D, cols, changes)} FROM {rel}")
        hist = out.get("stage_history")
        if hist is not None:
            last = sub(
                "SELECT opportunity_id AS _sid, stage AS _stage FROM "
                + sub(
                    "SELECT opportunity_id, stage, row_number() OVER (PARTITION BY opportunity_id "
                    f"ORDER BY entered_date DESC NULLS FIRST, _line DESC) AS _n FROM {hist[0]} "
                    "WHERE stage IS NOT NULL AND opportunity_id IS NOT NULL"
                )
                + " WHERE _n = 1"
            )
            joined = sub(f"SELECT * FROM {rel} LEFT JOIN {last} ON opportunity_id = _sid")
            moved = "(status = 'open' AND _stage IS NOT NULL AND stage IS DISTINCT FROM _stage)"
            note("opportunities", f"stage set to the stage at the end of {month}", joined, moved)
            changes = {"stage": f"CASE WHEN {moved} THEN _stage ELSE stage END"}
            for c in ("probability", "forecast_category"):
                if c in cols:
                    changes[c] = f"CASE WHEN {moved} THEN NULL ELSE {D.ident(c)} END"
            rel = sub(f"SELECT {_replace(D, cols, changes)} FROM {joined}")
        out["opportunities"] = (rel, cols)

    if "leads" in out:
        rel, cols = out["leads"]
        if "converted_date" in cols:
            later = f"coalesce(converted_date > {end}, false)"
            note("leads", f"converted after {month}: conversion cleared", rel, later)
            changes = {"converted_date": f"CASE WHEN {later} THEN NULL ELSE converted_date END"}
            if "opportunity_id" in cols:
                changes["opportunity_id"] = f"CASE WHEN {later} THEN NULL ELSE opportunity_id END"
            if "status" in cols:
                changes["status"] = (
                    f"CASE WHEN {later} AND status = 'converted' THEN 'working' ELSE status END"
                )
            rel = sub(f"SELECT {_replace(D, cols, changes)} FROM {rel}")
        if "opportunity_id" in cols and "opportunities" in relations:
            opp, opp_cols = relations["opportunities"]  # as given, before the cut
            if "opportunity_id" in opp_cols and "created_date" in opp_cols:
                ids = f"SELECT opportunity_id FROM {opp} WHERE opportunity_id IS NOT NULL"
                created_later = (
                    f"(opportunity_id IS NOT NULL AND opportunity_id IN ({ids}) AND opportunity_id "
                    f"NOT IN ({ids} AND coalesce(created_date <= {end}, false)))"
                )
                note(
                    "leads",
                    f"opportunity created after {month}: opportunity_id cleared",
                    rel,
                    created_later,
                )
                changes = {
                    "opportunity_id": f"CASE WHEN {created_later} THEN NULL ELSE opportunity_id END"
                }
                rel = sub(f"SELECT {_replace(D, cols, changes)} FROM {rel}")
        out["leads"] = (rel, cols)

    if "reps" in out and "leave_date" in out["reps"][1]:
        rel, cols = out["reps"]
        later = f"coalesce(leave_date > {end}, false)"
        note("reps", f"leave_date after {month}, cleared", rel, later)
        cleared = {"leave_date": f"CASE WHEN {later} THEN NULL ELSE leave_date END"}
        rel = sub(f"SELECT {_replace(D, cols, cleared)} FROM {rel}")
        out["reps"] = (rel, cols)

    selects = {name: f"SELECT * FROM {rel}" for name, (rel, _) in out.items()}
    return selects, counts


def as_of(tables: Tables, month: str, *, copy: bool = True) -> tuple[Tables, pd.DataFrame]:
    """Cut pandas ``tables`` to what was knowable at the end of ``month`` (:func:`cut`, run by
    an embedded engine).

    Parameters
    ----------
    tables : Tables
        Tables in contract form (not modified).
    month : str
        The report month ``YYYY-MM``.
    copy : bool
        ``False``: a table the cut does not change is returned as the same object (not a
        copy). A table it changes is always a copy; ``tables`` is never modified.

    Returns
    -------
    tuple[Tables, pandas.DataFrame]
        The cut tables (index labels kept) and what changed, one row per table and reason:
        ``table, action, reason, count, rows`` with ``action`` always ``after_month`` and
        ``rows`` the index labels touched.
    """
    import duckdb
    import pyarrow as pa

    from salesreport.data.parse import install
    from salesreport.engine import to_arrow

    con = duckdb.connect()
    try:
        install(con)  # (the progress bar quiet)
        relations: dict[str, tuple[str, list[str]]] = {}
        for name, df in tables.items():
            arrow = to_arrow(df, TABLES[name])
            arrow = arrow.append_column("_line", pa.array(np.arange(len(df), dtype=np.int64)))
            con.register(f"_sr_in_{name}", arrow)
            relations[name] = (ident(f"_sr_in_{name}"), [c for c in arrow.column_names])
        selects, counts = cut(DuckRunner(con), relations, month)
        out: dict[str, pd.DataFrame] = {}
        touched = {c["table"] for c in counts}
        for name, df in tables.items():
            if name not in touched and not copy:
                out[name] = df
                continue
            changed = [c for c in CHANGED.get(name, ()) if c in df.columns]
            cols = ", ".join(["_line", *(ident(c) for c in changed)])
            res = con.execute(
                f"SELECT {cols} FROM ({selects[name]}) AS _sr_cut ORDER BY _line"
            ).to_arrow_table()
            kept = res["_line"].to_numpy()
            new = df.iloc[kept].copy()
            for c in changed:
                new[c] = _column(res[c], df[c].dtype, new.index)
            out[name] = new
    finally:
        con.close()
    recs = []
    for c in counts:
        labels = [tables.get(c["table"]).index[int(i)] for i in c["rows"]]
        recs.append({**c, "rows": labels})
    return tables.replace(**out), pd.DataFrame(recs, columns=COUNT_COLUMNS)


def _column(values, dtype, index) -> pd.Series:
    """An engine column as a pandas column like the frame's own (dates ``datetime64[ns]``,
    numbers ``float64``, text ``object``)."""
    import pyarrow as pa

    if pa.types.is_date(values.type) or pa.types.is_timestamp(values.type):
        arr = values.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False)
        return pd.Series(arr.astype("datetime64[ns]"), index=index)
    if pa.types.is_floating(values.type):
        return pd.Series(values.to_numpy(zero_copy_only=False).astype(float), index=index)
    return pd.Series(values.to_pylist(), index=index, dtype=object)
