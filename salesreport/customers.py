"""Customer KPIs of shared/spec/kpis.md ("Customers"), for every window of the history.

Purchases are :func:`salesreport.cohorts.purchases` (orders, else won opportunities); a customer
is an ``account_id``. With ``W = params.active_window_months`` (default 12):

* **first purchase**: the customer's earliest-dated purchase (ties: the first row in the table);
  its month is the customer's *first month*.
* **active at date d**: the customer has a purchase dated ``t`` with ``d - W months < t <= d``,
  months counted on the calendar: ``t`` on or before ``d`` and in one of the W calendar months
  ending with d's month. At a month end: for d = 2026-10-31 and W = 12, purchases from
  2025-11-01 through 2026-10-31 (so a purchase on 2025-10-31 no longer counts).
  Every KPI here looks at month ends only: the *end of P* is the last day of P's last month;
  the *start of P* is the end of the day before P starts, i.e. the last day of the month
  before P's first month.

A window (``month``, ``qtd``, ``ytd``, ``trailing12``) spans the months ``start .. end`` of
its row in :func:`salesreport.periods.windows_frame`. Per window P:

* ``new_customers``: customers whose first month lies in P (a flow over the whole window).
* ``active_customers``: customers active at the end of P (a stock).
* ``customer_retention_rate = (E - N) / S``: S active at the start of P, E active at the end of
  P, N = new_customers in P. Empty when S = 0. (A customer who comes back after more than W
  months without buying is in E but not in S or N, so the rate can exceed 1.)
* ``net_revenue_retention``: customers with at least one purchase in the 12 calendar months
  before the 12 months ending with P's last month (months end-23 .. end-12); their revenue in
  months end-11 .. end over their revenue in months end-23 .. end-12. Always 12 months,
  whatever W. Empty when that earlier revenue is 0.
* ``gross_revenue_retention``: the same with each customer's later revenue capped at its
  earlier revenue: ``sum(min(later_i, earlier_i)) / sum(earlier_i)``.
* ``clv = ARPA x gross_margin / churn``. For a single month m: ``ARPA_m = revenue(m) /
  active(end of m)`` (every buyer of m is active at its end) and ``churn_m = 1 -
  retention_m``, retention_m being customer_retention_rate over the month m. For a window of
  several months, ARPA is the mean of ARPA_m and churn the mean of churn_m over the window's
  months, each over the months where it is defined (active > 0, resp. active at the start of
  the month > 0). Empty when either is undefined or when churn <= 0 (no finite lifetime;
  a mean churn within 1e-9 of 0, rounding left over from churns that cancel, counts as 0).
* ``cac``: spend rows with ``category`` sales or marketing (case-insensitive) whose ``month``
  lies in P, summed, over new_customers in P. Empty with no spend table, when new_customers
  is 0, or when some month of P has no sales/marketing spend row at all (spend unknown, not
  zero). By segment: only for ``segment_col="region"`` when spend has a ``region`` column
  (spend of that region over the region's new customers); other segments get empty cac.
* ``cac_payback_months = cac / (ARPU_new x gross_margin)``, ARPU_new being the mean, over the
  customers new in P, of each one's revenue from its first month through the end of P divided
  by the number of those months (for a one-month window: new customers' revenue in P / N).
  Empty when cac is empty or ARPU_new <= 0 (never pays back).

Segments: with ``segment_col`` each customer belongs to ``f"{col}={value}"`` of its first
purchase (``col=(none)`` when missing) for all of its history; only the segment rows are
returned (call without ``segment_col`` for the ``all`` rows).

Windows that end before the team's first purchase month have empty values for every metric
(the data does not reach them). Only purchases dated on or before the last day of the latest
window are used, so every value is what was knowable at the end of its window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.cohorts import first_purchases, month_ordinal, purchases, segment_labels
from salesreport.params import TeamParams
from salesreport.tables import Tables

CUSTOMER_METRICS = (
    "new_customers",
    "active_customers",
    "customer_retention_rate",
    "net_revenue_retention",
    "gross_revenue_retention",
    "clv",
    "cac",
    "cac_payback_months",
)
SPEND_CATEGORIES = ("sales", "marketing")
NRR_MONTHS = 12
CHURN_ZERO = 1e-9  # a window's mean churn closer to 0 than this is 0 (no finite lifetime)


def customer_kpis(
    tables: Tables,
    windows: pd.DataFrame,
    params: TeamParams,
    segment_col: str | None = None,
) -> pd.DataFrame:
    """Customer KPIs (definitions in the module docstring) for every window row.

    Parameters
    ----------
    tables : Tables
        The team's tables: orders (else opportunities) for purchases, optional spend for CAC.
    windows : pandas.DataFrame
        :func:`salesreport.periods.windows_frame` output; uses ``window``, ``period``,
        ``start`` (first day) and ``end`` (last day).
    params : TeamParams
        ``active_window_months`` and ``gross_margin`` are used.
    segment_col : str, optional
        Split by this purchase column, each customer by its first purchase's value.

    Returns
    -------
    pandas.DataFrame
        ``metric, window, period, segment, value``: one row per metric (in
        ``CUSTOMER_METRICS`` order), window row (in ``windows`` order) and segment (sorted);
        ``value`` float, NaN when it cannot be computed.
    """
    missing = [c for c in ("window", "period", "start", "end") if c not in windows.columns]
    if missing:
        raise ValueError(
            f"customer_kpis: windows lacks columns {missing}; pass salesreport.periods.windows_frame()"
        )
    from salesreport.kpis.core import memo

    w_start, w_end, p, months = memo(
        "customer_purchases",
        (tables.orders, tables.opportunities, tables.accounts, windows),
        lambda: _purchases_in_windows(tables, windows),
    )
    n_w = len(windows)
    hi = int(w_end.max()) if n_w else 0
    seg_rows = segment_labels(p, segment_col) if segment_col is not None else None
    if len(p) == 0 or n_w == 0:
        labels = ["all"] if segment_col is None else []
        return _frame(
            windows, labels, {m: np.full((len(labels), n_w), np.nan) for m in CUSTOMER_METRICS}
        )

    # the same for every segment column: shared within an engine run
    codes, first_row, a_c, a_m, a_rev, cum = memo(
        "customer_months", (p,), lambda: _customer_months(p, months)
    )
    first_month = months[first_row]
    if seg_rows is not None:
        seg_row_codes, labels = pd.factorize(seg_rows.to_numpy(), sort=True)
        seg_of = seg_row_codes[first_row].astype(np.int64)
        labels = list(labels)
    else:
        labels = ["all"]
        seg_of = np.zeros(len(first_row), dtype=np.int64)
    n_seg = len(labels)

    # monthly grid lo..hi, lo at least one month before every window start
    lo = int(min(first_month.min(), w_start.min() - 1))
    n = hi - lo + 1
    W = params.active_window_months
    active = _active_by_month(a_c, a_m, seg_of[a_c], lo, n, n_seg, W)
    new_m = _grid_sum((n_seg, n), seg_of, first_month - lo)
    rev_m = _grid_sum((n_seg, n), seg_of[a_c], a_m - lo, a_rev)

    ie, isb = w_end - lo, w_start - 1 - lo  # grid columns of the end and of the month before
    new_cum = np.cumsum(new_m, axis=1)
    new = new_cum[:, ie] - new_cum[:, isb]
    act_end = active[:, ie]
    act_start = active[:, isb]
    retention = _div(act_end - new, act_start)

    # clv: window means of monthly ARPA and monthly churn
    arpa_m = _div(rev_m, active)
    prev = np.concatenate([np.zeros((n_seg, 1)), active[:, :-1]], axis=1)
    churn_m = 1.0 - _div(active - new_m, prev)
    churn_m[:, 0] = np.nan  # the grid's first month has no known previous month
    arpa = _window_nanmean(arpa_m, ie, isb)
    churn = _window_nanmean(churn_m, ie, isb)
    churn[np.abs(churn) < CHURN_ZERO] = 0.0  # monthly churns that cancel out, up to rounding
    gm = params.gross_margin
    clv = np.where(churn > 0, arpa * gm / np.where(churn > 0, churn, 1.0), np.nan)
    clv[np.isnan(arpa) | np.isnan(churn)] = np.nan

    nrr, grr = _revenue_retention(cum, first_month, seg_of, w_end, n_seg)
    cac = _cac(tables, segment_col, labels, new, lo, n, ie, isb, w_end - w_start + 1)
    arpu_new = _new_customer_arpu(cum, first_month, seg_of, w_start, w_end, n_seg)
    denom = arpu_new * gm
    payback = np.where(denom > 0, cac / np.where(denom > 0, denom, 1.0), np.nan)

    values = {
        "new_customers": new,
        "active_customers": act_end,
        "customer_retention_rate": retention,
        "net_revenue_retention": nrr,
        "gross_revenue_retention": grr,
        "clv": clv,
        "cac": cac,
        "cac_payback_months": payback,
    }
    before_data = w_end < first_month.min()
    for v in values.values():
        v[:, before_data] = np.nan
    return _frame(windows, labels, values)


def _purchases_in_windows(tables: Tables, windows: pd.DataFrame) -> tuple:
    """Window start/end month ordinals, the purchases up to the last window's end month and
    their month ordinals."""
    w_start = month_ordinal(windows["start"])
    w_end = month_ordinal(windows["end"])
    hi = int(w_end.max()) if len(windows) else 0
    p = purchases(tables)
    months_all = month_ordinal(p["date"])
    keep = months_all <= hi
    return w_start, w_end, p[keep].reset_index(drop=True), months_all[keep]


def _customer_months(p: pd.DataFrame, months: np.ndarray) -> tuple:
    """Customer codes, first-purchase rows and one row per (customer, month with a purchase),
    sorted by customer then month: ``codes, first_row, a_c, a_m, a_rev, cumulative``."""
    codes, first_row = first_purchases(p)
    am = (
        pd.DataFrame({"c": codes, "m": months, "amount": p["amount"].to_numpy()})
        .groupby(["c", "m"], sort=True)["amount"]
        .sum()
    )
    a_c = am.index.get_level_values("c").to_numpy(np.int64)
    a_m = am.index.get_level_values("m").to_numpy(np.int64)
    a_rev = am.to_numpy(float)
    cum = _Cumulative(a_c, a_m, am.groupby(level="c").cumsum().to_numpy(float))
    return codes, first_row, a_c, a_m, a_rev, cum


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where den is 0."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    return np.divide(num, den, out=np.full(np.broadcast(num, den).shape, np.nan), where=den != 0)


def _window_nanmean(x: np.ndarray, ie: np.ndarray, isb: np.ndarray) -> np.ndarray:
    """Mean of ``x`` over grid columns isb+1 .. ie (per window), skipping NaN; NaN if none."""
    ok = ~np.isnan(x)
    s = np.cumsum(np.where(ok, x, 0.0), axis=1)
    c = np.cumsum(ok, axis=1)
    return _div(s[:, ie] - s[:, isb], c[:, ie] - c[:, isb])


def _active_by_month(
    a_c: np.ndarray, a_m: np.ndarray, seg: np.ndarray, lo: int, n: int, n_seg: int, W: int
) -> np.ndarray:
    """Customers active at the end of each grid month, per segment.

    A purchase in month m keeps its customer active at the ends of months m .. m+W-1; each
    (customer, month) row adds +1 at m and -1 where its span ends, cut short at the
    customer's next purchase month so that no customer is counted twice.
    """
    nxt = np.empty_like(a_m)
    nxt[:-1] = a_m[1:]
    same = np.zeros(len(a_c), dtype=bool)
    same[:-1] = a_c[1:] == a_c[:-1]
    stop = np.where(same, np.minimum(a_m + W, nxt), a_m + W)
    # counts: whole numbers, exact in any order
    diff = _grid_sum((n_seg, n + 1), seg, a_m - lo)
    diff -= _grid_sum((n_seg, n + 1), seg, np.minimum(stop - lo, n))
    return np.cumsum(diff, axis=1)[:, :n]


def _grid_sum(
    shape: tuple[int, int], rows: np.ndarray, cols: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """``np.add.at(np.zeros(shape), (rows, cols), weights)`` (``None``: 1 per row) by
    ``bincount``: the same sums added in the same row order, many times faster. Positions
    outside the grid go to ``np.add.at`` (which wraps negative ones and raises past the end)."""
    n_r, n_c = shape
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    inside = not len(rows) or (
        rows.min() >= 0 and rows.max() < n_r and cols.min() >= 0 and cols.max() < n_c
    )
    w = 1.0 if weights is None else np.asarray(weights, dtype=float)
    if not inside:
        out = np.zeros(shape)
        np.add.at(out, (rows, cols), w)
        return out
    flat = rows * n_c + cols
    if weights is None:
        return np.bincount(flat, minlength=n_r * n_c).reshape(n_r, n_c).astype(float)
    w = np.broadcast_to(w, flat.shape)
    return np.bincount(flat, weights=w, minlength=n_r * n_c).reshape(n_r, n_c)


class _Cumulative:
    """Each customer's cumulative revenue and purchase-month count up to a month (inclusive)."""

    def __init__(self, a_c: np.ndarray, a_m: np.ndarray, rev_cum: np.ndarray):
        """Rows sorted by customer then month; ``rev_cum`` is the within-customer cumsum."""
        self.base = int(a_m.min()) - 1
        self.k = int(a_m.max()) - self.base + 2
        self.keys = a_c * self.k + (a_m - self.base)
        self.codes = a_c
        start = np.r_[True, a_c[1:] != a_c[:-1]]
        group_start = np.maximum.accumulate(np.where(start, np.arange(len(a_c)), 0))
        self.rev = rev_cum
        self.cnt = (np.arange(len(a_c)) - group_start + 1).astype(float)

    def at(self, c: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(revenue, purchase months) of customers ``c`` up to the end of months ``m``."""
        rel = np.clip(m - self.base, 0, self.k - 1)
        idx = np.searchsorted(self.keys, c * self.k + rel, side="right") - 1
        ok = idx >= 0
        ok[ok] = self.codes[idx[ok]] == c[ok]
        idx = np.where(ok, idx, 0)
        return np.where(ok, self.rev[idx], 0.0), np.where(ok, self.cnt[idx], 0.0)


def _revenue_retention(
    cum: _Cumulative, first_month: np.ndarray, seg_of: np.ndarray, w_end: np.ndarray, n_seg: int
) -> tuple[np.ndarray, np.ndarray]:
    """NRR and GRR at each window's end month (see the module docstring)."""
    from salesreport.kpis.core import memo

    ends = np.unique(w_end)
    # the customers' revenues do not depend on the segment column: shared within an engine run
    c_idx, t, earlier, later = memo(
        f"nrr:{ends.tobytes().hex()}", (cum,), lambda: _retention_pairs(cum, first_month, ends)
    )
    s = seg_of[c_idx]
    base = _grid_sum((n_seg, len(ends)), s, t, earlier)
    net = _grid_sum((n_seg, len(ends)), s, t, later)
    gross = _grid_sum((n_seg, len(ends)), s, t, np.minimum(later, earlier))
    col = np.searchsorted(ends, w_end)
    return _div(net, base)[:, col], _div(gross, base)[:, col]


def _retention_pairs(
    cum: _Cumulative, first_month: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(customer, end month position, revenue in months end-23 .. end-12, revenue in months
    end-11 .. end) of the customers with a purchase in months end-23 .. end-12."""
    c_idx, t_idx = np.nonzero(first_month[:, None] <= ends[None, :] - NRR_MONTHS)
    e = ends[t_idx]
    r_e, _ = cum.at(c_idx, e)
    r_mid, n_mid = cum.at(c_idx, e - NRR_MONTHS)
    r_old, n_old = cum.at(c_idx, e - 2 * NRR_MONTHS)
    bought = (n_mid - n_old) > 0
    return c_idx[bought], t_idx[bought], (r_mid - r_old)[bought], (r_e - r_mid)[bought]


def _new_customer_arpu(
    cum: _Cumulative,
    first_month: np.ndarray,
    seg_of: np.ndarray,
    w_start: np.ndarray,
    w_end: np.ndarray,
    n_seg: int,
) -> np.ndarray:
    """Mean monthly revenue, first month through the window's end, of customers new in it."""

    def per_customer() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        c_idx, w_idx = np.nonzero(
            (first_month[:, None] >= w_start[None, :]) & (first_month[:, None] <= w_end[None, :])
        )
        rev, _ = cum.at(c_idx, w_end[w_idx])  # nothing before the first month
        return c_idx, w_idx, rev / (w_end[w_idx] - first_month[c_idx] + 1)

    from salesreport.kpis.core import memo

    # independent of the segment column: shared within an engine run
    c_idx, w_idx, per_month = memo(
        f"arpu_new:{w_start.tobytes().hex()}:{w_end.tobytes().hex()}", (cum,), per_customer
    )
    total = _grid_sum((n_seg, len(w_end)), seg_of[c_idx], w_idx, per_month)
    count = _grid_sum((n_seg, len(w_end)), seg_of[c_idx], w_idx)
    return _div(total, count)


def _cac(
    tables: Tables,
    segment_col: str | None,
    labels: list[str],
    new: np.ndarray,
    lo: int,
    n: int,
    ie: np.ndarray,
    isb: np.ndarray,
    n_months: np.ndarray,
) -> np.ndarray:
    """Sales + marketing spend in the window over new customers (see the module docstring)."""
    out = np.full(new.shape, np.nan)
    spend = tables.spend
    if spend is None:
        return out
    if segment_col is None:
        spend_labels = pd.Series("all", index=spend.index)
    elif segment_col == "region" and "region" in spend.columns:
        spend_labels = segment_labels(spend, "region")
    else:
        return out
    cat = spend["category"].astype(str).str.strip().str.lower()
    rows = cat.isin(SPEND_CATEGORIES).to_numpy()
    month = pd.PeriodIndex(spend["month"].astype(str), freq="M").asi8
    seg_index = {label: i for i, label in enumerate(labels)}
    seg = spend_labels.map(seg_index).to_numpy()
    rows &= ~pd.isna(seg) & (month >= lo) & (month < lo + n)
    seg_i = seg[rows].astype(np.int64)
    col = month[rows] - lo
    amount = np.zeros((len(labels), n))
    seen = np.zeros((len(labels), n))
    np.add.at(amount, (seg_i, col), spend["amount"].to_numpy(float)[rows])
    seen[seg_i, col] = 1.0
    amt_cum = np.cumsum(amount, axis=1)
    seen_cum = np.cumsum(seen, axis=1)
    total = amt_cum[:, ie] - amt_cum[:, isb]
    covered = (seen_cum[:, ie] - seen_cum[:, isb]) == n_months[None, :]
    ok = covered & (new > 0)
    out[ok] = total[ok] / new[ok]
    return out


def _frame(windows: pd.DataFrame, labels: list[str], values: dict[str, np.ndarray]) -> pd.DataFrame:
    """Long frame metric, window, period, segment, value (metric, window row, segment order)."""
    n_w, n_seg = len(windows), len(labels)
    win = np.tile(np.repeat(windows["window"].to_numpy(object), n_seg), len(values))
    per = np.tile(np.repeat(windows["period"].astype(str).to_numpy(object), n_seg), len(values))
    seg = np.tile(np.asarray(labels, dtype=object), n_w * len(values))
    metric = np.repeat(np.asarray(list(values), dtype=object), n_w * n_seg)
    value = np.concatenate([np.asarray(v, dtype=float).T.reshape(-1) for v in values.values()])
    return pd.DataFrame(
        {"metric": metric, "window": win, "period": per, "segment": seg, "value": value}
    )
