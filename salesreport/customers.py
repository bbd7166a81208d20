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

import pandas as pd

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


def customer_kpis(
    tables: Tables,
    windows: pd.DataFrame,
    params: TeamParams,
    segment_col: str | None = None,
) -> pd.DataFrame:
    """Customer KPIs (definitions in the module docstring) for every window row.

    The catalogue's customer entries (:mod:`salesreport.kpis.catalogue`) compiled for these
    windows by :func:`salesreport.kpis.compiler.evaluate` on an embedded engine.

    Parameters
    ----------
    tables : Tables
        The team's tables: orders (else opportunities) for purchases, optional spend for CAC.
    windows : pandas.DataFrame
        :func:`salesreport.periods.windows_frame` output.
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

    Raises
    ------
    ParameterError
        When the purchases have no ``segment_col`` column.
    """
    from salesreport.engine import Engine
    from salesreport.exceptions import ParameterError
    from salesreport.kpis.compiler import evaluate
    from salesreport.kpis.sources import customer_columns

    missing = [c for c in ("window", "period", "start", "end") if c not in windows.columns]
    if missing:
        raise ValueError(
            f"customer_kpis: windows lacks columns {missing}; pass salesreport.periods.windows_frame()"
        )
    engine = Engine.duckdb().register_tables(tables)
    if segment_col is not None and segment_col not in customer_columns(engine):
        raise ParameterError(
            f"cannot segment customers by '{segment_col}': the purchase rows have no such column. "
            "Remove it from the team's YAML or add the column to the data."
        )
    return evaluate(engine, params, windows, list(CUSTOMER_METRICS), segment_col)
