"""Monthly revenue, as shared/spec/outputs.md defines it, for every module.

Revenue is the sum of ``orders.amount`` by ``order_date`` month or, with no
orders table, of won opportunities' ``amount`` by ``close_date`` month.
"""

from __future__ import annotations

import pandas as pd

from salesreport.tables import Tables


def revenue_rows(tables: Tables) -> pd.DataFrame:
    """The rows that make revenue, with a ``date`` and an ``amount`` column.

    Orders when the table is present, else won opportunities (``close_date``).
    Every other column of the source table is kept, for segmenting.
    """
    if tables.orders is not None:
        df = tables.orders.copy()
        df["date"] = df["order_date"]
        return df
    if tables.opportunities is None:
        raise ValueError("revenue needs an orders or an opportunities table")
    opp = tables.opportunities
    df = opp[opp["status"] == "won"].copy()
    df["date"] = df["close_date"]
    return df


def revenue_source(tables: Tables) -> str:
    return "orders" if tables.orders is not None else "won opportunities"


def monthly_revenue(
    tables: Tables,
    end_month: str | pd.Period | None = None,
    start_month: str | pd.Period | None = None,
    segment_col: str | None = None,
) -> pd.Series | pd.DataFrame:
    """Revenue per calendar month on a ``PeriodIndex``, months without sales as 0.

    With ``segment_col``, a frame with one column per segment value. The index
    runs from the first month with revenue (or ``start_month``; ``end_month`` itself when
    there is no revenue at all) to ``end_month`` (default: the last month with revenue).
    """
    rows = revenue_rows(tables)
    if segment_col is not None and segment_col not in rows.columns:
        raise ValueError(
            f"revenue by {segment_col} needs a {segment_col!r} column in the "
            f"{revenue_source(tables)} table, which has none"
        )
    month = rows["date"].dt.to_period("M")
    if segment_col is None:
        s = rows["amount"].groupby(month).sum()
    else:
        s = (
            rows.groupby([month, rows[segment_col].fillna("(none)")])["amount"]
            .sum()
            .unstack(fill_value=0.0)
        )
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
