"""Purchases and customer cohorts, as shared/spec/outputs.md defines them.

A *purchase* is one row that makes revenue: an order (``order_date``) or, with no orders
table, a won opportunity (``close_date``) (:func:`salesreport.kpis.sources.revenue_rows`, the
one definition). A customer is an ``account_id``. The table is computed by the engine from
the semantic layer's customer source (:func:`salesreport.kpis.sources.customers`): one row
per customer and month with purchases, with the customer's first month and segment.

Cohorts (``cohorts.csv``):

* ``cohort``: the month (``YYYY-MM``) of a customer's first purchase;
* ``months_since``: calendar months from the cohort month (0 = the cohort month itself);
* ``customers``: the cohort's size (customers whose first purchase is in that month);
* ``active``: customers of the cohort with at least one purchase in that month (a purchase of
  amount 0 counts: it is a purchase);
* ``retention = active / customers``;
* ``revenue``: the sum of the cohort's purchase amounts in that month;
* ``revenue_retention = revenue / revenue in month 0``, empty when month-0 revenue is 0.

Every cohort gets one row for every ``months_since`` from 0 to the report month, including
months in which no customer of the cohort bought (``active`` 0, ``revenue`` 0). Only purchases
dated on or before the last day of the report month are used, so a report re-run for an old
month reproduces what was knowable then.

First purchase and ties: a customer's first purchase is its earliest-dated purchase; when
several share that date, the one that comes first in the table (orders or opportunities, in
their stored row order) is taken. Segmenting by a column uses that purchase's value; a missing
value is labelled ``(none)`` (``segment=(none)``), as :func:`salesreport.revenue.monthly_revenue`
does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.exceptions import DataError, ParameterError
from salesreport.periods import month_period

COHORT_COLUMNS = [
    "cohort",
    "months_since",
    "customers",
    "active",
    "retention",
    "revenue",
    "revenue_retention",
]
NONE_LABEL = "(none)"


def as_engine(tables):
    """``tables`` when it is an :class:`~salesreport.engine.Engine`, else an embedded engine
    holding the (pandas) tables."""
    from salesreport.engine import Engine

    return tables if isinstance(tables, Engine) else Engine.duckdb().register_tables(tables)


def purchases(tables) -> pd.DataFrame:
    """One row per purchase: ``account_id``, ``date``, ``amount`` and the source's other columns.

    Orders when the table is present (``date`` = ``order_date``), else won opportunities
    (``date`` = ``close_date``); lost and open opportunities are never purchases. A column of
    ``accounts`` (``segment``, ``region``, ``industry``, ``country``) that the purchase rows
    lack is joined on ``account_id``; columns the purchase rows have are never overwritten.

    Raises
    ------
    DataError
        When a purchase row has no ``account_id``, date or amount (the loader normally stops
        such rows; here they would silently move a customer between cohorts).
    """
    from salesreport.kpis.sources import purchases as purchase_rows
    from salesreport.rules import FAR

    engine = as_engine(tables)
    check_purchases(engine)
    p = engine.execute(purchase_rows(engine, FAR).order_by("_row")).drop(columns=["m", "_row"])
    first = ["account_id", "date", "amount"]
    return p[first + [c for c in p.columns if c not in first]]


def check_purchases(engine) -> None:
    """:class:`DataError` naming the first rows of purchases without ``account_id``, date or
    amount (rows counted 1-based among the purchase rows, in table order)."""
    import ibis

    from salesreport.kpis.sources import revenue_rows

    src = "orders" if engine.has("orders") else "won opportunities"
    fname = "orders" if engine.has("orders") else "opportunities"
    date_col = "order_date" if engine.has("orders") else "close_date"
    r = revenue_rows(engine)
    r = r.mutate(_pos=ibis.row_number().over(order_by="_row") + 1)
    for col, label in (("account_id", "account_id"), ("date", date_col), ("amount", "amount")):
        if col not in r.columns:
            raise DataError(
                f"{fname}: column '{label}' is missing; purchases (cohorts, customer KPIs) need "
                f"account_id, {date_col} and amount. Add the column or map it in the team's YAML."
            )
        bad = r.filter(r[col].isnull())
        n = int(engine.execute(bad.count()))
        if n:
            first = engine.execute(bad.order_by("_pos").limit(5).select("_pos"))["_pos"].tolist()
            raise DataError(
                f"{fname}: {n} purchase row(s) have no '{label}' (first rows of the "
                f"{src}, 1-based: {first}); fill the value or remove the rows before the run.",
                problems=[
                    {
                        "file": fname,
                        "column": label,
                        "rows": first,
                        "reason": "missing value in a purchase row",
                        "fix": "fill it or drop the row in the source",
                    }
                ],
            )


def cohort_table(tables, month: str, segment_col: str | None = None) -> pd.DataFrame:
    """The cohort table of ``cohorts.csv`` for the report month ``month`` (``YYYY-MM``).

    Definitions (see the module docstring): cohort = month of the customer's first purchase;
    ``months_since`` 0 is that month; ``customers`` the cohort size; ``active`` customers of
    the cohort with >= 1 purchase in the month; ``retention = active / customers``;
    ``revenue`` the cohort's purchase amounts in the month; ``revenue_retention = revenue /
    month-0 revenue`` (NaN when month-0 revenue is 0). One row per cohort and per
    ``months_since`` from 0 to the report month, months without purchases included. Only
    purchases dated on or before the last day of ``month`` count.

    Parameters
    ----------
    tables : Tables or Engine
        The team's tables (orders, else won opportunities).
    month : str
        Report month, ``YYYY-MM``.
    segment_col : str, optional
        Split cohorts by this purchase column (``segment``, ``source``, ...): an extra leading
        column ``segment`` holds ``f"{segment_col}={value}"`` of the customer's *first*
        purchase, so each customer sits in exactly one segment.

    Returns
    -------
    pandas.DataFrame
        Columns ``[segment,] cohort, months_since, customers, active, retention, revenue,
        revenue_retention``, sorted by segment, cohort and months_since.

    Examples
    --------
    >>> import pandas as pd
    >>> from salesreport.tables import Tables
    >>> orders = pd.DataFrame({"order_id": ["1", "2"], "account_id": ["a", "a"],
    ...     "order_date": pd.to_datetime(["2026-01-05", "2026-03-02"]), "amount": [10.0, 5.0]})
    >>> cohort_table(Tables(orders=orders), "2026-03")[["months_since", "active", "revenue"]]
       months_since  active  revenue
    0             0       1     10.0
    1             1       0      0.0
    2             2       1      5.0
    """
    from salesreport import rules
    from salesreport.kpis.sources import customers

    engine = as_engine(tables)
    check_purchases(engine)
    if segment_col is not None and segment_col not in _purchase_columns(engine):
        raise ParameterError(
            f"cannot segment customers by '{segment_col}': the purchase rows have no such column "
            f"(available: {sorted(_purchase_columns(engine))}). "
            "Remove it from cohorts.segment_by in the team's YAML or add the column to the data."
        )
    report_ord = month_period(month).ordinal
    columns = (["segment"] if segment_col is not None else []) + COHORT_COLUMNS
    src = customers(engine, [segment_col], report_ord, active_months=1)
    r = src.rows
    firsts = r.filter(r.is_first == 1)
    sizes = engine.execute(firsts.group_by(["seg", "first_m"]).agg(customers=firsts.count()))
    if sizes.empty:
        return _typed(pd.DataFrame({c: [] for c in columns}))
    cells = engine.execute(
        r.group_by(["seg", "first_m", "m"]).agg(active=r.count(), revenue=rules.total(r.revenue))
    )
    # full grid: every (segment, cohort) x months_since 0 .. report month
    sz = sizes.sort_values(["seg", "first_m"]).reset_index(drop=True)
    n_since = report_ord - sz["first_m"].to_numpy(np.int64) + 1
    rep = np.repeat(np.arange(len(sz)), n_since)
    starts = np.repeat(np.cumsum(n_since) - n_since, n_since)
    grid = pd.DataFrame(
        {
            "seg": sz["seg"].to_numpy(object)[rep],
            "cohort": sz["first_m"].to_numpy(np.int64)[rep],
            "months_since": np.arange(len(rep)) - starts,
            "customers": sz["customers"].to_numpy(np.int64)[rep],
        }
    )
    grid["m"] = grid["cohort"] + grid["months_since"]
    cells = cells.rename(columns={"first_m": "cohort"}).astype({"cohort": np.int64, "m": np.int64})
    grid = grid.merge(cells, on=["seg", "cohort", "m"], how="left")
    grid["active"] = grid["active"].fillna(0).astype(np.int64)
    grid["revenue"] = grid["revenue"].fillna(0.0).astype(float)
    grid["retention"] = grid["active"] / grid["customers"]
    rev0 = (
        grid["revenue"]
        .where(grid["months_since"] == 0)
        .groupby([grid["seg"], grid["cohort"]])
        .transform("max")
    )
    grid["revenue_retention"] = (grid["revenue"] / rev0).where(rev0 != 0)
    grid = grid.sort_values(["seg", "cohort", "months_since"], kind="stable")
    out = pd.DataFrame(
        {
            "cohort": grid["cohort"].to_numpy(np.int64).astype("datetime64[M]").astype(str),
            "months_since": grid["months_since"].to_numpy(),
            "customers": grid["customers"].to_numpy(),
            "active": grid["active"].to_numpy(),
            "retention": grid["retention"].to_numpy(),
            "revenue": grid["revenue"].to_numpy(),
            "revenue_retention": grid["revenue_retention"].to_numpy(),
        }
    )
    if segment_col is not None:
        out.insert(0, "segment", grid["seg"].to_numpy(object))
    return _typed(out)


def _purchase_columns(engine) -> list[str]:
    """The columns a purchase row has (its table's, and the accounts' it lacks)."""
    from salesreport.kpis.sources import ACCOUNT_COLUMNS, revenue_table_columns

    cols = [c for c in revenue_table_columns(engine) if c != "_row"]
    if engine.has("accounts"):
        cols += [c for c in ACCOUNT_COLUMNS if c in engine.columns("accounts") and c not in cols]
    return cols


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """The cohort table's dtypes: text labels, int64 counts, float rates and revenue."""
    types = {
        "segment": object,
        "cohort": object,
        "months_since": np.int64,
        "customers": np.int64,
        "active": np.int64,
        "retention": float,
        "revenue": float,
        "revenue_retention": float,
    }
    return df.astype({c: t for c, t in types.items() if c in df.columns}).reset_index(drop=True)


def retention_matrix(cohorts: pd.DataFrame, value: str = "retention") -> pd.DataFrame:
    """Cohorts down, ``months_since`` across: one cell per cohort and month, for heat maps.

    Parameters
    ----------
    cohorts : pandas.DataFrame
        Output of :func:`cohort_table`.
    value : str
        The column to spread: ``retention`` (default), ``revenue_retention``, ``active``,
        ``revenue`` or ``customers``.

    Returns
    -------
    pandas.DataFrame
        Index ``cohort`` (or ``segment, cohort`` for a segmented table), columns the integers
        ``months_since`` 0..N; cells past the report month are NaN (a younger cohort has fewer
        months), as are empty ``revenue_retention`` cells.
    """
    if value not in COHORT_COLUMNS or value in ("cohort", "months_since"):
        raise ValueError(
            f"retention_matrix: value must be one of retention, revenue_retention, active, "
            f"revenue, customers; got {value!r}"
        )
    missing = [c for c in ("cohort", "months_since", value) if c not in cohorts.columns]
    if missing:
        raise ValueError(
            f"retention_matrix: the cohort table lacks columns {missing}; pass cohort_table()'s output"
        )
    index = ["segment", "cohort"] if "segment" in cohorts.columns else ["cohort"]
    mat = cohorts.pivot(index=index, columns="months_since", values=value)
    mat.columns.name = "months_since"
    return mat.sort_index().astype(float)


def yearly_revenue_retention(cohorts: pd.DataFrame) -> pd.DataFrame:
    """Revenue each cohort year kept in its later years, as a share of its first year's.

    Whole years make the measure read the same whatever the billing rhythm: with yearly
    contracts a cohort's month-by-month revenue spikes every twelfth month, and its
    revenue in a year does not.

    Definitions, on :func:`cohort_table`'s output: a cohort's year *k* after its first
    purchase (*k* = 1 is its first year) is ``months_since`` 12(k-1) to 12(k-1)+11, and its
    revenue that year the sum of ``revenue`` over those months. A cohort counts for year
    *k* only once the table reaches ``months_since`` 12(k-1)+11 (the year is over by the
    report month). For the cohorts of calendar year *Y* (``cohort_year``, the year of the
    cohort month) and *k* >= 2::

        retention = sum of their year-k revenue / sum of the same cohorts' first-year revenue

    over the cohorts of *Y* that count for year *k*: revenue-weighted, so a large cohort
    weighs as much as its revenue. Pairs without such a cohort, or whose first-year revenue
    is 0, are left out.

    Parameters
    ----------
    cohorts : pandas.DataFrame
        :func:`cohort_table`'s output (``cohort``, ``months_since``, ``revenue``), one
        segment at most.

    Returns
    -------
    pandas.DataFrame
        ``cohort_year`` (int), ``year`` (k >= 2, int), ``cohorts`` (how many counted),
        ``first_year_revenue``, ``revenue``, ``retention``, sorted by year then cohort year.

    Examples
    --------
    >>> import pandas as pd
    >>> months = range(24)
    >>> table = pd.DataFrame({"cohort": "2024-01", "months_since": list(months),
    ...     "revenue": [120.0 if m == 0 else 0.0 for m in range(12)] + [90.0] + [0.0] * 11})
    >>> yearly_revenue_retention(table)[["cohort_year", "year", "retention"]].to_dict("records")
    [{'cohort_year': 2024, 'year': 2, 'retention': 0.75}]
    """
    columns = ["cohort_year", "year", "cohorts", "first_year_revenue", "revenue", "retention"]
    missing = [c for c in ("cohort", "months_since", "revenue") if c not in cohorts.columns]
    if missing:
        raise ValueError(
            f"yearly_revenue_retention: the cohort table lacks columns {missing}; "
            "pass cohort_table()'s output"
        )
    if "segment" in cohorts.columns and cohorts["segment"].nunique() > 1:
        raise ValueError("yearly_revenue_retention: one segment at a time")
    df = pd.DataFrame(
        {
            "cohort": cohorts["cohort"].astype(str).to_numpy(),
            "m": pd.to_numeric(cohorts["months_since"]).to_numpy(np.int64),
            "revenue": pd.to_numeric(cohorts["revenue"]).fillna(0.0).to_numpy(float),
        }
    )
    if df.empty:
        return pd.DataFrame(columns=columns)
    df["year"] = df["m"] // 12 + 1
    by_year = df.groupby(["cohort", "year"], sort=True)["revenue"].sum()
    reached = df.groupby("cohort")["m"].max()
    # a cohort's year k counts once the table reaches its last month, 12(k-1) + 11
    complete = by_year[
        by_year.index.get_level_values("year") * 12 - 1
        <= reached.reindex(by_year.index.get_level_values("cohort")).to_numpy()
    ]
    first = complete[complete.index.get_level_values("year") == 1].droplevel("year")
    later = complete[complete.index.get_level_values("year") >= 2].rename("revenue").reset_index()
    later["first_year_revenue"] = later["cohort"].map(first)
    later["cohort_year"] = later["cohort"].str[:4].astype(int)
    out = (
        later.groupby(["year", "cohort_year"], sort=True)
        .agg(
            cohorts=("cohort", "size"),
            first_year_revenue=("first_year_revenue", "sum"),
            revenue=("revenue", "sum"),
        )
        .reset_index()
    )
    out = out[out["first_year_revenue"] > 0].copy()
    out["retention"] = out["revenue"] / out["first_year_revenue"]
    return out[columns].reset_index(drop=True)
