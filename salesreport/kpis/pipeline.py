"""Pipeline metrics (shared/spec/kpis.md, "Pipeline"): open, weighted, created, coverage.

An opportunity is *open at the end of month k* (its last day) when its ``created_date`` is on
or before that day and it is not won or lost with ``close_date`` on or before that day: in
months, ``created month <= k < close month`` for won/lost rows and ``created month <= k`` for
open ones. Its state comes from its dates and final status; with ``stage_history`` its *stage*
at the end of month k is the last stage entered on or before that day (several entries in one
month: the latest ``entered_date``, then the later row), before its first entry the first
stage entered; an opportunity without history keeps its ``stage`` column. The stage picks the
segment ``stage=...`` and the probability of the weighted value.

Probability at a month end: the row's ``probability`` only where it describes the opportunity
at that day, i.e. the opportunity is still open (status ``open`` at the report month) and was
then in the stage it has now; otherwise (it was won or lost later, so its probability is the
closed one, or it was in an earlier stage) the team's ``stage_probabilities`` of the stage it
was in. A stage without a configured probability adds nothing. At the report month this is
what the loader's point-in-time cut (:mod:`salesreport.data.pit`) does, and every past month
end is treated as that month's own report would have treated it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.kpis.catalogue import NONE_LABEL
from salesreport.kpis.core import (
    FAR,
    Win,
    blank_before,
    col_months,
    div,
    first_month,
    long_frame,
    memo,
    month_ords,
    segment_codes,
    stocks_at,
    window_sums,
)
from salesreport.kpis.targets import monthly_target_matrix, target_rows
from salesreport.params import TeamParams
from salesreport.tables import Tables


def open_intervals(opp: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(first, stop)`` month ordinals: open at the end of month k iff ``first <= k < stop``."""
    created, c_ok = col_months(opp, "created_date")
    close, cl_ok = col_months(opp, "close_date")
    closed = opp["status"].isin(["won", "lost"]).to_numpy() & cl_ok
    first = np.where(c_ok, created, FAR)
    stop = np.where(closed, close, FAR)
    return first, stop


def stage_pieces(opp: pd.DataFrame, stage_history: pd.DataFrame | None) -> pd.DataFrame:
    """Runs of month ends with one stage: ``row`` (position in ``opp``), ``stage``, ``p_first``,
    ``p_stop`` (the stage holds at the end of month k for ``p_first <= k < p_stop``)."""
    n = len(opp)
    base = pd.DataFrame(
        {
            "row": np.arange(n),
            "stage": opp["stage"].to_numpy(object),
            "p_first": np.full(n, -FAR),
            "p_stop": np.full(n, FAR),
        }
    )
    if stage_history is None or stage_history.empty:
        return base
    pos = pd.Series(np.arange(n), index=opp["opportunity_id"].to_numpy())
    pos = pos[~pos.index.duplicated(keep="first")]
    h = stage_history[["opportunity_id", "stage", "entered_date"]].copy()
    h["row"] = h["opportunity_id"].map(pos)
    h = h[h["row"].notna() & h["entered_date"].notna()]
    if h.empty:
        return base
    h["row"] = h["row"].astype(np.int64)
    h["m"], _ = month_ords(h["entered_date"])
    h["seq"] = np.arange(len(h))
    h = h.sort_values(["row", "entered_date", "seq"], kind="stable")
    first_entry = h.drop_duplicates("row", keep="first")
    h = h.drop_duplicates(["row", "m"], keep="last")
    r = h["row"].to_numpy()
    m = h["m"].to_numpy()
    last_of_row = np.r_[r[1:] != r[:-1], True]
    p_stop = np.where(last_of_row, FAR, np.r_[m[1:], FAR])
    hist = pd.DataFrame(
        {
            # before its first entry month an opportunity is in the first stage it entered
            "row": np.r_[first_entry["row"].to_numpy(), r],
            "stage": np.r_[first_entry["stage"].to_numpy(object), h["stage"].to_numpy(object)],
            "p_first": np.r_[np.full(len(first_entry), -FAR), m],
            "p_stop": np.r_[first_entry["m"].to_numpy(), p_stop],
        }
    )
    rest = base[~base["row"].isin(np.unique(r))]
    return pd.concat([hist, rest], ignore_index=True)


def _probability(opp: pd.DataFrame, rows: np.ndarray, stages: np.ndarray, params: TeamParams):
    """Probability per piece (module docstring): the row's ``probability`` where it describes
    that month end (status open and the piece's stage is the row's ``stage``) and is given,
    else ``stage_probabilities`` of the piece's stage (NaN when not configured)."""
    by_stage = pd.Series(stages, dtype=object).map(params.stage_probabilities).to_numpy(float)
    if "probability" not in opp.columns:
        return by_stage
    data = pd.to_numeric(opp["probability"], errors="coerce").to_numpy(float)[rows]
    current = (opp["status"].to_numpy(object)[rows] == "open") & (
        stages == opp["stage"].to_numpy(object)[rows]
    )
    return np.where(current & ~np.isnan(data), data, by_stage)


def _open_pieces(opp: pd.DataFrame, stage_history: pd.DataFrame | None, params: TeamParams):
    """The non-empty runs ``lo <= k < hi`` in which an opportunity is open in one stage:
    ``(rows, lo, hi, stages, amount, amount x probability)``."""
    first, stop = open_intervals(opp)
    pieces = stage_pieces(opp, stage_history)
    rows = pieces["row"].to_numpy(np.int64)
    lo = np.maximum(first[rows], pieces["p_first"].to_numpy(np.int64))
    hi = np.minimum(stop[rows], pieces["p_stop"].to_numpy(np.int64))
    keep = lo < hi
    rows, lo, hi = rows[keep], lo[keep], hi[keep]
    stages = pieces["stage"].to_numpy(object)[keep]
    a = opp["amount"].to_numpy(float)[rows]
    wa = np.nan_to_num(a * _probability(opp, rows, stages, params))
    return rows, lo, hi, stages, a, wa


def pipeline_metrics(
    tables: Tables, windows: pd.DataFrame, params: TeamParams, segment_col: str | None = None
) -> pd.DataFrame:
    """``pipeline_open_count``, ``pipeline_open_value``, ``pipeline_weighted_value`` (stocks at
    the end of each window's last month) and ``pipeline_created_value`` (sum of ``amount`` of
    opportunities with ``created_date`` in the window).

    ``segment_col="stage"`` splits the open pipeline by the stage at the window's end (see the
    module docstring) and the created value by the ``stage`` column. All are empty for windows
    ending before the first ``created_date`` month.
    """
    win = Win.of(windows)
    opp = tables.opportunities
    created, c_ok = col_months(opp, "created_date")
    d0 = first_month(created, c_ok)
    amount = opp["amount"].to_numpy(float)

    rows, lo, hi, stages, a, wa = memo(
        "open_pieces",
        (opp, tables.stage_history),
        lambda: _open_pieces(opp, tables.stage_history, params),
    )
    if segment_col == "stage":
        # pieces carry the stage at each month end; the created value uses the stage column
        both = np.concatenate([stages, opp["stage"].to_numpy(object)])
        both = np.where(pd.isna(both), NONE_LABEL, both).astype(str)
        all_codes, uniq = pd.factorize(both, sort=True)
        p_codes = all_codes[: len(stages)].astype(np.int64)
        codes = all_codes[len(stages) :].astype(np.int64)
        labels = [f"stage={v}" for v in uniq]
    else:
        codes, labels = segment_codes(opp, segment_col)
        p_codes = codes[rows]
    n_seg = len(labels)
    cnt, val, wtd = stocks_at(p_codes, n_seg, lo, hi, [None, a, wa], win.e)
    (created_val,) = window_sums(
        codes, n_seg, np.where(c_ok, created, -FAR), [amount], win.s, win.e
    )
    values = {
        "pipeline_open_count": blank_before(cnt, win.e, d0),
        "pipeline_open_value": blank_before(val, win.e, d0),
        "pipeline_weighted_value": blank_before(wtd, win.e, d0),
        "pipeline_created_value": blank_before(created_val, win.e, d0),
    }
    return long_frame(win, labels, values)


def coverage_metrics(
    tables: Tables, windows: pd.DataFrame, params: TeamParams, segment_col: str | None = None
) -> pd.DataFrame:
    """``pipeline_coverage``: open value at the end of the window's last month e with
    ``close_date`` in month e + 1, over the revenue target of month e + 1.

    An opportunity with close month e + 1 is open at the end of e exactly when its created
    month is <= e (a won/lost one closes after e). The target is the monthly revenue target of
    month e + 1 (month row, else quarter / 3, else year / 12; ``all`` falls back to the sum of
    region targets); empty without one or when it is 0. By ``stage``: the ``stage`` column.
    """
    win = Win.of(windows)
    opp = tables.opportunities
    created, c_ok = col_months(opp, "created_date")
    close, cl_ok = col_months(opp, "close_date")
    k = close - 1
    use = c_ok & cl_ok & (created <= k)
    codes, labels = segment_codes(opp, segment_col)
    (val,) = window_sums(
        codes, len(labels), np.where(use, k, -FAR), [opp["amount"].to_numpy(float)], win.e, win.e
    )
    lo, hi = int(win.e.min()) + 1, int(win.e.max()) + 1
    tgt = monthly_target_matrix(
        target_rows(tables, params), "revenue", labels, lo, hi, params.fiscal_year_start_month
    )
    cov = div(val, tgt[:, win.e + 1 - lo])
    return long_frame(win, labels, {"pipeline_coverage": cov})
