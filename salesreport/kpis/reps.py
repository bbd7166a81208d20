"""Rep metrics (shared/spec/kpis.md, "Reps"): revenue per rep, attrition, retention, ramp.

A rep is *employed in P* when ``hire_date`` <= the last day of P and ``leave_date`` is empty
or >= the first day of P; *employed at a day d* when ``hire_date <= d`` and ``leave_date`` is
empty or ``>= d``. Account executives are reps whose ``role`` is ``ae`` (also accepted:
``account_executive``, ``account executive``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.kpis.core import (
    FAR,
    Win,
    blank_before,
    col_months,
    day_numbers,
    div,
    employed,
    first_month,
    long_frame,
    revenue_table,
    rows_for_labels,
    segment_codes,
    window_sums,
)
from salesreport.kpis.targets import monthly_target_matrix, target_rows
from salesreport.params import TeamParams
from salesreport.tables import Tables

AE_ROLES = ("ae", "account_executive", "account executive")
RAMP_LOOKBACK = 24  # reps hired in the 24 months up to the end of P


def _days(reps: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    hire = day_numbers(reps["hire_date"])
    leave = (
        day_numbers(reps["leave_date"])
        if "leave_date" in reps.columns
        else np.full(len(reps), np.nan)
    )
    return hire, leave


def _by_label(per_rep: np.ndarray, reps: pd.DataFrame, segment_col: str | None, labels: list[str]):
    """Sum a ``(reps, windows)`` matrix into ``(labels, windows)`` by the reps' segment."""
    if segment_col is None:
        return per_rep.sum(axis=0, keepdims=True).astype(float)
    if segment_col == "owner_id":
        return rows_for_labels(per_rep, reps["rep_id"], labels)
    codes, own = segment_codes(reps, segment_col)
    pos = pd.Index(labels).get_indexer(own)
    out = np.zeros((len(labels), per_rep.shape[1]))
    keep = pos[codes] >= 0
    np.add.at(out, pos[codes][keep], per_rep[keep].astype(float))
    return out


def rep_metrics(
    tables: Tables, windows: pd.DataFrame, params: TeamParams, segment_col: str | None = None
) -> pd.DataFrame:
    """``revenue_per_rep``, ``rep_attrition_rate``, ``rep_retention_rate``.

    * revenue_per_rep = revenue in P / account executives employed in P. By ``owner_id=X``:
      X's revenue / 1 when X is an employed AE (else empty); by ``region=R``: revenue of the
      rows with region R / employed AEs whose ``reps.region`` is R. Other segment columns: no
      rows. Empty for windows ending before the first month with revenue.
    * rep_attrition_rate = reps (any role) with ``leave_date`` in P / reps employed at the
      first day of P; by ``region`` (``reps.region``) only. rep_retention_rate = 1 - that.
    """
    win = Win.of(windows)
    reps = tables.reps
    hire, leave = _days(reps)
    frames = []
    rev_rows = revenue_table(tables)
    if segment_col is None or (
        segment_col in ("owner_id", "region") and segment_col in rev_rows.columns
    ):
        months, ok = col_months(rev_rows, "date")
        codes, labels = segment_codes(rev_rows, segment_col)
        (rev,) = window_sums(
            codes,
            len(labels),
            np.where(ok, months, -FAR),
            [rev_rows["amount"].to_numpy(float)],
            win.s,
            win.e,
        )
        role = (
            reps["role"]
            .astype(object)
            .where(reps["role"].notna(), "")
            .astype(str)
            .str.strip()
            .str.lower()
        )
        ae = role.isin(AE_ROLES).to_numpy()
        emp = employed(hire, leave, win.start_day, win.end_day) & ae[:, None]
        n_ae = _by_label(emp, reps, segment_col, labels)
        per = blank_before(div(rev, n_ae), win.e, first_month(months, ok))
        frames.append(long_frame(win, labels, {"revenue_per_rep": per}))
    if segment_col is None or segment_col == "region":
        codes, labels = segment_codes(reps, segment_col)
        left = (leave[:, None] >= win.start_day[None, :]) & (leave[:, None] <= win.end_day[None, :])
        at_start = employed(hire, leave, win.start_day, win.start_day)
        rate = div(
            _by_label(left, reps, segment_col, labels),
            _by_label(at_start, reps, segment_col, labels),
        )
        frames.append(
            long_frame(win, labels, {"rep_attrition_rate": rate, "rep_retention_rate": 1.0 - rate})
        )
    return pd.concat(frames, ignore_index=True) if frames else long_frame(win, [], {})


def ramp_metrics(
    tables: Tables, windows: pd.DataFrame, params: TeamParams, segment_col: str | None = None
) -> pd.DataFrame:
    """``ramp_time_months`` at the end of each window's last month e (a stock).

    For each rep: quota(k) = the rep's monthly revenue target of month k (month row, else
    quarter / 3, else year / 12, from the targets table and the YAML); won(k) = sum of
    ``amount`` of won opportunities the rep owns with ``close_date`` in month k. The rep's
    *ramp month* r is the first month k >= hire month with quota(k) > 0 and won(k) >=
    ``ramp_threshold`` x quota(k). ramp_time_months(e) = mean of (r - hire month) over reps
    with hire month in [e - 23, e] and r <= e. Any role. By ``region``: ``reps.region``.
    """
    win = Win.of(windows)
    reps = tables.reps
    opp = tables.opportunities
    lo, hi = int(win.e.min()) - (RAMP_LOOKBACK - 1), int(win.e.max())
    n = hi - lo + 1
    rep_ids = reps["rep_id"].astype(str).to_numpy(object)
    rep_labels = [f"owner_id={r}" for r in rep_ids]
    quota = monthly_target_matrix(
        target_rows(tables, params), "revenue", rep_labels, lo, hi, params.fiscal_year_start_month
    )
    won = opp["status"].to_numpy(object) == "won"
    close, ok = col_months(opp, "close_date")
    uniq = pd.Index(pd.unique(rep_ids))
    pos = uniq.get_indexer(opp["owner_id"].astype(str).to_numpy(object))
    use = won & ok & (pos >= 0) & (close >= lo) & (close <= hi)
    grid = np.zeros((len(uniq), n))
    np.add.at(grid, (pos[use], close[use] - lo), opp["amount"].to_numpy(float)[use])
    won_rep = grid[uniq.get_indexer(rep_ids)]
    hire_m, h_ok = col_months(reps, "hire_date")
    months = np.arange(lo, hi + 1)
    q_ok = ~np.isnan(quota) & (np.nan_to_num(quota) > 0)
    reached = q_ok & (won_rep >= params.ramp_threshold * np.nan_to_num(quota))
    reached &= months[None, :] >= hire_m[:, None]
    any_r = reached.any(axis=1)
    r = np.where(any_r, lo + reached.argmax(axis=1), FAR)
    ramp = (r - hire_m).astype(float)
    elig = (
        h_ok[:, None]
        & (hire_m[:, None] >= win.e[None, :] - (RAMP_LOOKBACK - 1))
        & (hire_m[:, None] <= win.e[None, :])
        & (r[:, None] <= win.e[None, :])
    )
    codes, labels = segment_codes(reps, segment_col)
    total = np.zeros((len(labels), len(win)))
    count = np.zeros((len(labels), len(win)))
    np.add.at(total, codes, np.where(elig, ramp[:, None], 0.0))
    np.add.at(count, codes, elig.astype(float))
    return long_frame(win, labels, {"ramp_time_months": div(total, count)})
