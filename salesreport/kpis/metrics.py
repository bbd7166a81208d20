"""Revenue, growth and deal metrics (shared/spec/kpis.md, "Revenue and growth").

Every function here has the one metric signature
``f(tables, windows, params, segment_col=None) -> DataFrame[metric, window, period, segment,
value]``: ``windows`` is :func:`salesreport.periods.windows_frame` output, ``segment`` is
``all`` without ``segment_col`` and ``col=value`` with it (missing values as ``col=(none)``).
Definitions are in :mod:`salesreport.kpis.catalogue`; windows of flows sum every row dated in
them, ratios are ratios of window sums, and windows ending before the first month of the source
table's data are empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.kpis.core import (
    FAR,
    Win,
    blank_before,
    col_months,
    contract_months,
    day_numbers,
    div,
    first_month,
    long_frame,
    revenue_table,
    segment_codes,
    stocks_at,
    window_sums,
)
from salesreport.kpis.targets import target_rows, window_targets
from salesreport.params import TeamParams
from salesreport.tables import Tables


def revenue_metrics(
    tables: Tables, windows: pd.DataFrame, params: TeamParams, segment_col: str | None = None
) -> pd.DataFrame:
    """``revenue``, ``revenue_growth_yoy``, ``revenue_growth_mom``, ``target_attainment``.

    * revenue(P): sum of ``amount`` of the revenue rows (orders by ``order_date``, else won
      opportunities by ``close_date``) dated in P.
    * revenue_growth_yoy: revenue(P) / revenue(P shifted 12 months earlier) - 1.
    * revenue_growth_mom: revenue(month P) / revenue(month before) - 1, window ``month`` only.
    * target_attainment: revenue(P) / the revenue target of the same window and segment.

    A revenue is empty for windows ending before the first month with revenue rows; a ratio
    is empty when its denominator is 0 or empty.
    """
    win = Win.of(windows)
    rows = revenue_table(tables)
    months, ok = col_months(rows, "date")
    codes, labels = segment_codes(rows, segment_col)
    amount = rows["amount"].to_numpy(float)
    d0 = first_month(months, ok)
    months = np.where(ok, months, -FAR)
    n = len(win)
    s_all = np.concatenate([win.s, win.s - 12, win.e - 1])
    e_all = np.concatenate([win.e, win.e - 12, win.e - 1])
    (sums,) = window_sums(codes, len(labels), months, [amount], s_all, e_all)
    rev = blank_before(sums[:, :n], win.e, d0)
    prior = blank_before(sums[:, n : 2 * n], win.e - 12, d0)
    prev = blank_before(sums[:, 2 * n :], win.e - 1, d0)
    tgt = window_targets(
        target_rows(tables, params),
        "revenue",
        windows,
        labels,
        params.fiscal_year_start_month,
        additive=True,
    )
    out = long_frame(
        win,
        labels,
        {
            "revenue": rev,
            "revenue_growth_yoy": div(rev, prior) - 1.0,
            "target_attainment": div(rev, tgt),
        },
    )
    mom = long_frame(
        win, labels, {"revenue_growth_mom": div(rev, prev) - 1.0}, keep=win.window == "month"
    )
    return pd.concat([out, mom], ignore_index=True)


def deal_metrics(
    tables: Tables, windows: pd.DataFrame, params: TeamParams, segment_col: str | None = None
) -> pd.DataFrame:
    """``deals_won``, ``deals_lost``, ``win_rate``, ``average_deal_size``, ``acv``,
    ``sales_cycle_days``, ``mrr`` from the opportunities.

    A won or lost opportunity belongs to the window containing its ``close_date``.

    * deals_won / deals_lost: counts; win_rate = won / (won + lost);
    * average_deal_size = sum of won ``amount`` / won; acv = sum of ``amount x 12 /
      contract_months`` / won (12 months where absent); sales_cycle_days = sum of
      ``close_date - created_date`` (days) / won;
    * mrr: sum of ``amount / contract_months`` over won opportunities whose contract covers
      the last day of the window's last month e: close month <= e < close month +
      contract_months (a contract from ``close_date`` for c months covers exactly the month
      ends of its close month and the c - 1 months after).

    Counts and mrr are empty for windows ending before the first ``created_date`` month.
    """
    win = Win.of(windows)
    opp = tables.opportunities
    status = opp["status"].to_numpy(object)
    won = status == "won"
    lost = status == "lost"
    close_m, close_ok = col_months(opp, "close_date")
    created_m, created_ok = col_months(opp, "created_date")
    d0 = first_month(created_m, created_ok)
    codes, labels = segment_codes(opp, segment_col)
    n_seg = len(labels)
    amount = opp["amount"].to_numpy(float)
    cm = contract_months(opp)
    cycle = day_numbers(opp["close_date"]) - day_numbers(opp["created_date"])

    def sums(mask, values):
        m = np.where(mask & close_ok, close_m, -FAR)
        return window_sums(codes, n_seg, m, values, win.s, win.e)

    n_won, won_amt, won_acv, won_cycle = sums(
        won, [None, amount, amount * 12.0 / cm, np.nan_to_num(cycle)]
    )
    (n_lost,) = sums(lost, [None])
    first = np.where(won & close_ok, close_m, FAR)
    (mrr,) = stocks_at(codes, n_seg, first, first + cm.astype(np.int64), [amount / cm], win.e)
    values = {
        "deals_won": blank_before(n_won, win.e, d0),
        "deals_lost": blank_before(n_lost, win.e, d0),
        "win_rate": div(n_won, n_won + n_lost),
        "average_deal_size": div(won_amt, n_won),
        "acv": div(won_acv, n_won),
        "sales_cycle_days": div(won_cycle, n_won),
        "mrr": blank_before(mrr, win.e, d0),
    }
    return long_frame(win, labels, values)
