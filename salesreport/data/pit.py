"""Point in time: the tables as they could be known at the end of a report month.

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
"""

from __future__ import annotations

import weakref

import pandas as pd

from salesreport.periods import month_end, month_end_exclusive, month_period
from salesreport.tables import Tables

COUNT_COLUMNS = ["table", "action", "reason", "count", "rows"]

#: id(frame) -> (weak reference, month) of the frames :func:`as_of` returned
_CUT: dict[int, tuple[weakref.ref, str]] = {}

#: the date column of each table that drops rows dated after the month (``<= end``), and
#: the ones that are cleared after it
_DROP_BY = {
    "orders": "order_date",
    "forecast_submissions": "submitted_date",
    "stage_history": "entered_date",
    "opportunities": "created_date",
    "leads": "created_date",
    "reps": "hire_date",
}
_CLEARED = {"leads": "converted_date", "reps": "leave_date"}


def _mark_cut(tables: Tables, month: str) -> None:
    """Remember that these frame objects are cut to ``month``."""
    for _, df in tables.items():
        if df is not None and id(df) not in _CUT:
            _CUT[id(df)] = (weakref.ref(df), month)
            weakref.finalize(df, _CUT.pop, id(df), None)


def _any_after(values: pd.Series, bound, inclusive: bool = False) -> bool:
    """A value after ``bound`` (or at it, ``inclusive``); ``True`` (undecided) when the column
    is not a datetime column."""
    if not pd.api.types.is_datetime64_any_dtype(values):
        return True
    top = values.max()
    return bool(pd.notna(top) and (top >= bound if inclusive else top > bound))


def _already_cut(tables: Tables, month: str, end, stop) -> bool:
    """Every frame is one :func:`as_of` returned for ``month`` and its dates still end by then.

    The dates are checked again (a column's maximum, cheap) in case a frame was changed in
    place since; the rules that need joins (stage at the month end, leads' opportunities
    created later) are trusted to the mark.
    """
    for name, df in tables.items():
        hit = _CUT.get(id(df))
        if hit is None or hit[0]() is not df or hit[1] != month:
            return False
        for col in (_DROP_BY.get(name), _CLEARED.get(name)):
            if col is not None and col in df.columns and _any_after(df[col], end):
                return False
        ts = df["timestamp"] if name == "activities" and "timestamp" in df.columns else None
        if ts is not None and _any_after(ts, stop, inclusive=True):
            return False
        if name == "opportunities" and {"status", "close_date"} <= set(df.columns):
            closed = df["status"].isin(["won", "lost"]).to_numpy()
            if _any_after(df["close_date"][closed], end):
                return False
        if name == "spend" and "month" in df.columns and len(df):
            months = pd.PeriodIndex(pd.unique(df["month"].astype(str)), freq="M")
            if months.max() > month_period(month):
                return False
    return True


def as_of(tables: Tables, month: str, *, copy: bool = True) -> tuple[Tables, pd.DataFrame]:
    """Cut ``tables`` to what was knowable at the end of ``month`` (rules in the module docstring).

    Parameters
    ----------
    tables : Tables
        Tables in contract form (not modified).
    month : str
        The report month ``YYYY-MM``.
    copy : bool
        ``False``: a table the cut does not change is returned as the same object (not a
        copy; for tables already cut, e.g. by the loader, on millions of rows). A table it
        changes is always a copy; ``tables`` is never modified. Tables that are all frames
        this function returned for the same ``month`` (and whose dates still end by then)
        come back as they are at once, without the joins (the loader's cut, then the KPI
        engine's).

    Returns
    -------
    tuple[Tables, pandas.DataFrame]
        The cut tables (copies, unless ``copy=False``; index labels kept) and what changed, one row per
        table and reason: ``table, action, reason, count, rows`` with ``action``
        always ``after_month`` and ``rows`` the index labels touched
        (spreadsheet row numbers when :func:`~salesreport.data.load_tables`
        calls it).
    """
    p = month_period(month)
    end = month_end(p)  # last day, midnight: a date column is <= end
    stop = month_end_exclusive(p)  # first instant of M+1: a timestamp is < stop
    if not copy and _already_cut(tables, month, end, stop):
        return tables, pd.DataFrame([], columns=COUNT_COLUMNS)
    counts: list[dict] = []

    def note(table: str, reason: str, mask: pd.Series) -> None:
        if mask.any():
            rows = list(mask[mask].index)
            counts.append(
                {
                    "table": table,
                    "action": "after_month",
                    "reason": reason,
                    "count": len(rows),
                    "rows": rows,
                }
            )

    out: dict[str, pd.DataFrame | None] = {}

    def cut(name: str, col: str, later: pd.Series) -> pd.DataFrame:
        df = tables.get(name)
        note(name, f"{col} after {month}, dropped", later)
        if not copy and not later.any():
            return df  # the caller's frame: :func:`own` copies it before any change
        return df.loc[~later].copy()

    def own(df: pd.DataFrame) -> pd.DataFrame:
        """``df``, or a copy when it is still the caller's frame (before changing it)."""
        return df.copy() if any(df is f for _, f in tables.items()) else df

    for name, col in (
        ("orders", "order_date"),
        ("forecast_submissions", "submitted_date"),
        ("stage_history", "entered_date"),
        ("opportunities", "created_date"),
        ("leads", "created_date"),
        ("reps", "hire_date"),
    ):
        df = tables.get(name)
        if df is not None and col in df.columns:
            out[name] = cut(name, col, (df[col] > end).fillna(False).astype(bool))
    if tables.activities is not None and "timestamp" in tables.activities.columns:
        ts = tables.activities["timestamp"]
        out["activities"] = cut("activities", "timestamp", (ts >= stop).fillna(False).astype(bool))
    if tables.spend is not None and "month" in tables.spend.columns:
        months = pd.PeriodIndex(tables.spend["month"].astype(str), freq="M")
        out["spend"] = cut("spend", "month", pd.Series(months > p, index=tables.spend.index))

    opp = out.get("opportunities")
    if opp is not None:
        closed_later = opp["status"].isin(["won", "lost"]) & (opp["close_date"] > end)
        if closed_later.any():
            note("opportunities", f"closed after {month}: open at the end of {month}", closed_later)
            opp = own(opp)
            opp.loc[closed_later, "status"] = "open"
            if "lost_reason" in opp.columns:
                opp["lost_reason"] = opp["lost_reason"].mask(closed_later)
            if "forecast_category" in opp.columns:
                fc = closed_later & (opp["forecast_category"] == "closed")
                opp["forecast_category"] = opp["forecast_category"].mask(fc)
            if "probability" in opp.columns:
                opp["probability"] = opp["probability"].mask(closed_later)
        hist = out.get("stage_history")
        if hist is not None and len(hist):
            order = hist.assign(_pos=range(len(hist))).sort_values(["entered_date", "_pos"])
            last = order.groupby("opportunity_id", sort=False)["stage"].last()
            stage_then = opp["opportunity_id"].map(last)
            moved = (opp["status"] == "open") & stage_then.notna() & (stage_then != opp["stage"])
            if moved.any():
                note("opportunities", f"stage set to the stage at the end of {month}", moved)
                opp = own(opp)
                opp.loc[moved, "stage"] = stage_then[moved]
                # probability and forecast category belonged to the later stage
                for col in ("probability", "forecast_category"):
                    if col in opp.columns:
                        opp[col] = opp[col].mask(moved)
        out["opportunities"] = opp

    leads = out.get("leads")
    if leads is not None:
        if "converted_date" in leads.columns:
            later = (leads["converted_date"] > end).fillna(False).astype(bool)
            note("leads", f"converted after {month}: conversion cleared", later)
            if later.any():  # (masking nothing changes nothing: skipped)
                leads = own(leads)
                leads["converted_date"] = leads["converted_date"].mask(later)
                if "opportunity_id" in leads.columns:
                    leads["opportunity_id"] = leads["opportunity_id"].mask(later)
                if "status" in leads.columns:
                    leads.loc[later & (leads["status"] == "converted"), "status"] = "working"
        if "opportunity_id" in leads.columns and opp is not None:
            created_later = leads["opportunity_id"].notna() & ~leads["opportunity_id"].isin(
                tables.opportunities["opportunity_id"][tables.opportunities["created_date"] <= end]
            )
            # only clear ids of opportunities known to be created after M (others are orphans)
            created_later &= leads["opportunity_id"].isin(tables.opportunities["opportunity_id"])
            note(
                "leads", f"opportunity created after {month}: opportunity_id cleared", created_later
            )
            if created_later.any():
                leads = own(leads)
                leads["opportunity_id"] = leads["opportunity_id"].mask(created_later)
        out["leads"] = leads

    reps = out.get("reps")
    if reps is not None and "leave_date" in reps.columns:
        later = (reps["leave_date"] > end).fillna(False).astype(bool)
        note("reps", f"leave_date after {month}, cleared", later)
        if later.any():
            reps = own(reps)
            reps["leave_date"] = reps["leave_date"].mask(later)

    result = tables.replace(**out)
    _mark_cut(result, month)
    return result, pd.DataFrame(counts, columns=COUNT_COLUMNS)
