"""Monthly revenue, as shared/spec/outputs.md defines it, for every module.

Revenue is the sum of ``orders.amount`` by ``order_date`` month or, with no orders table, of
won opportunities' ``amount`` by ``close_date`` month: the rows of
:func:`salesreport.kpis.sources.revenue_rows` (the one definition), summed by the engine.
"""

from __future__ import annotations

import pandas as pd


def revenue_source(tables) -> str:
    """``orders`` or ``won opportunities``: where revenue comes from (Tables or Engine)."""
    return "orders" if tables.has("orders") else "won opportunities"


def monthly_revenue(
    tables,
    end_month: str | pd.Period | None = None,
    start_month: str | pd.Period | None = None,
    segment_col: str | None = None,
) -> pd.Series | pd.DataFrame:
    """Revenue per calendar month on a ``PeriodIndex``, months without sales as 0.

    With ``segment_col``, a frame with one column per segment value (missing values as
    ``(none)``). The index runs from the first month with revenue (or ``start_month``;
    ``end_month`` itself when there is no revenue at all) to ``end_month`` (default: the last
    month with revenue).

    Parameters
    ----------
    tables : Tables or Engine
        The team's tables (an engine when the caller has one: no tables are copied).
    """
    from salesreport import rules
    from salesreport.cohorts import as_engine
    from salesreport.kpis.sources import NONE_LABEL, revenue_rows

    if not (tables.has("orders") or tables.has("opportunities")):
        raise ValueError("revenue needs an orders or an opportunities table")
    engine = as_engine(tables)
    rows = revenue_rows(engine)
    if segment_col is not None and segment_col not in rows.columns:
        raise ValueError(
            f"revenue by {segment_col} needs a {segment_col!r} column in the "
            f"{revenue_source(engine)} table, which has none"
        )
    rows = rows.mutate(m=rules.month_of(rows.date))
    rows = rows.filter(rows.m.notnull())
    keys = ["m"] if segment_col is None else ["m", "seg"]
    if segment_col is not None:
        rows = rows.mutate(seg=rows[segment_col].cast("string").fill_null(NONE_LABEL))
    sums = engine.execute(rows.group_by(keys).agg(revenue=rules.total(rows.amount)))
    months = pd.PeriodIndex.from_ordinals(sums["m"].astype("int64"), freq="M")
    if segment_col is None:
        s = pd.Series(sums["revenue"].to_numpy(float), index=months).sort_index()
    else:
        s = (
            pd.Series(sums["revenue"].to_numpy(float), index=[months, sums["seg"].to_numpy(object)])
            .sort_index()
            .unstack(fill_value=0.0)
        )
        s.columns.name = None
    if len(s.index) == 0 and end_month is None:
        return s
    last = pd.Period(end_month, "M") if end_month is not None else s.index.max()
    if start_month is not None:
        first = pd.Period(start_month, "M")
    else:  # no revenue at all by end_month (nothing won yet): that one month, at 0
        first = s.index.min() if len(s.index) else last
    idx = pd.period_range(first, last, freq="M", name="period")
    out = s.reindex(idx, fill_value=0.0).astype(float)
    if segment_col is None:
        out.name = "revenue"
    return out
