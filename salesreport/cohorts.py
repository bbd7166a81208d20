"""Purchases and customer cohorts, as shared/spec/outputs.md defines them.

A *purchase* is one row that makes revenue (:func:`salesreport.revenue.revenue_rows`): an
order (``order_date``) or, with no orders table, a won opportunity (``close_date``). A
customer is an ``account_id``.

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
from salesreport.periods import month_end_exclusive, month_period
from salesreport.revenue import revenue_rows, revenue_source
from salesreport.tables import Tables

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
# columns taken from the accounts table when the purchase rows lack them
ACCOUNT_COLUMNS = ("segment", "region", "industry", "country")


def purchases(tables: Tables) -> pd.DataFrame:
    """One row per purchase: ``account_id``, ``date``, ``amount`` and the source's other columns.

    Orders when the table is present (``date`` = ``order_date``), else won opportunities
    (``date`` = ``close_date``); lost and open opportunities are never purchases. Every other
    column of the source table is kept (``segment``, ``region``, ``source``, ``product``, ...)
    for segmenting. A column of ``accounts`` (``segment``, ``region``, ``industry``,
    ``country``) that the purchase rows lack is joined on ``account_id`` when the accounts
    table is present; columns the purchase rows do have are never overwritten.

    Parameters
    ----------
    tables : Tables
        The team's loaded tables (orders or opportunities required).

    Returns
    -------
    pandas.DataFrame
        ``account_id``, ``date`` (``datetime64``), ``amount`` (float) first, then the remaining
        columns; rows in table order, index reset.

    Raises
    ------
    DataError
        When a purchase row has no ``account_id``, date or amount (the loader normally stops
        such rows; here they would silently move a customer between cohorts).
    """
    rows = revenue_rows(tables).reset_index(drop=True)
    src = revenue_source(tables)
    fname = "orders" if src == "orders" else "opportunities"
    date_col = "order_date" if src == "orders" else "close_date"
    for col, label in (("account_id", "account_id"), ("date", date_col), ("amount", "amount")):
        if col not in rows.columns:
            raise DataError(
                f"{fname}: column '{label}' is missing; purchases (cohorts, customer KPIs) need "
                f"account_id, {date_col} and amount. Add the column or map it in the team's YAML."
            )
        bad = rows[col].isna().to_numpy()
        if bad.any():
            first = (np.flatnonzero(bad)[:5] + 1).tolist()
            raise DataError(
                f"{fname}: {int(bad.sum())} purchase row(s) have no '{label}' (first rows of the "
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
    rows["amount"] = rows["amount"].astype(float)
    acc = tables.accounts
    if acc is not None and "account_id" in acc.columns:
        add = [c for c in ACCOUNT_COLUMNS if c in acc.columns and c not in rows.columns]
        if add:
            lookup = acc.drop_duplicates("account_id", keep="first").set_index("account_id")[add]
            rows = rows.join(lookup, on="account_id")
    first_cols = ["account_id", "date", "amount"]
    return rows[first_cols + [c for c in rows.columns if c not in first_cols]]


def month_ordinal(dates: pd.Series) -> np.ndarray:
    """Months since 1970-01 (the ordinal of ``Period[M]``) for a datetime64 column."""
    return dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[M]").astype(np.int64)


def ordinal_text(ordinals: np.ndarray) -> np.ndarray:
    """``YYYY-MM`` text for month ordinals (months since 1970-01)."""
    return np.asarray(ordinals, dtype=np.int64).astype("datetime64[M]").astype(str).astype(object)


def segment_labels(p: pd.DataFrame, segment_col: str) -> pd.Series:
    """``col=value`` labels of each purchase (missing values as ``col=(none)``).

    Raises ``ParameterError`` when the purchases have no such column.
    """
    if segment_col not in p.columns:
        raise ParameterError(
            f"cannot segment customers by '{segment_col}': the purchase rows have no such column "
            f"(available: {sorted(c for c in p.columns if c not in ('date', 'amount'))}). "
            "Remove it from cohorts.segment_by in the team's YAML or add the column to the data."
        )
    values = p[segment_col].astype(object).where(p[segment_col].notna(), NONE_LABEL)
    return segment_col + "=" + values.astype(str)


def _point_in_time(tables: Tables, month: str) -> tuple[pd.DataFrame, int]:
    """Purchases on or before the last day of ``month`` and the month's ordinal."""
    period = month_period(month)
    p = purchases(tables)
    p = p[p["date"] < month_end_exclusive(period)].reset_index(drop=True)
    return p, period.ordinal


def first_purchases(p: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Customer codes of each purchase and the row of each customer's first purchase.

    Returns ``(codes, first_row)``: ``codes[i]`` numbers the customer (``account_id``) of row
    ``i`` of ``p`` (0..n_customers-1, in order of appearance) and ``first_row[c]`` is the
    position in ``p`` of customer ``c``'s first purchase: the earliest date, ties going to the
    row that comes first in ``p``.
    """
    codes, _ = pd.factorize(p["account_id"], sort=False)
    codes = codes.astype(np.int64)
    order = np.lexsort((np.arange(len(p)), p["date"].to_numpy()))
    uniq, first_pos = np.unique(codes[order], return_index=True)
    first_row = np.empty(len(uniq), dtype=np.int64)
    first_row[uniq] = order[first_pos]
    return codes, first_row


def cohort_table(tables: Tables, month: str, segment_col: str | None = None) -> pd.DataFrame:
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
    tables : Tables
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
    >>> orders = pd.DataFrame({"order_id": ["1", "2"], "account_id": ["a", "a"],
    ...     "order_date": pd.to_datetime(["2026-01-05", "2026-03-02"]), "amount": [10.0, 5.0]})
    >>> cohort_table(Tables(orders=orders), "2026-03")[["months_since", "active", "revenue"]]
       months_since  active  revenue
    0             0       1     10.0
    1             1       0      0.0
    2             2       1      5.0
    """
    p, report_ord = _point_in_time(tables, month)
    columns = (["segment"] if segment_col is not None else []) + COHORT_COLUMNS
    seg_all = segment_labels(p, segment_col) if segment_col is not None else None
    if len(p) == 0:
        return _typed(pd.DataFrame({c: [] for c in columns}))

    months = month_ordinal(p["date"])
    acct_codes, first_row_by_code = first_purchases(p)
    first_month_by_code = months[first_row_by_code]
    cohort = first_month_by_code[acct_codes]
    if seg_all is not None:
        seg_codes_rows, seg_values = pd.factorize(seg_all.to_numpy(), sort=True)
        seg_of_acct = seg_codes_rows[first_row_by_code]
    else:
        seg_values = np.array(["all"], dtype=object)
        seg_of_acct = np.zeros(len(first_month_by_code), dtype=np.int64)
    seg = seg_of_acct[acct_codes]

    # cohort sizes: one count per customer at (segment, cohort)
    sizes = (
        pd.DataFrame({"seg": seg_of_acct, "cohort": first_month_by_code})
        .groupby(["seg", "cohort"])
        .size()
        .rename("customers")
    )
    # active customers and revenue per (segment, cohort, month)
    per_month = pd.DataFrame(
        {"seg": seg, "cohort": cohort, "month": months, "acct": acct_codes, "amount": p["amount"]}
    )
    by_cust = per_month.groupby(["seg", "cohort", "month", "acct"], sort=False)["amount"].sum()
    cells = (
        by_cust.groupby(level=["seg", "cohort", "month"])
        .agg(["size", "sum"])
        .rename(columns={"size": "active", "sum": "revenue"})
    )

    # full grid: every (segment, cohort) x months_since 0 .. report month
    sz = sizes.reset_index()
    n_since = report_ord - sz["cohort"].to_numpy() + 1
    rep = np.repeat(np.arange(len(sz)), n_since)
    starts = np.repeat(np.cumsum(n_since) - n_since, n_since)
    since = np.arange(len(rep)) - starts
    grid = pd.DataFrame(
        {
            "seg": sz["seg"].to_numpy()[rep],
            "cohort": sz["cohort"].to_numpy()[rep],
            "months_since": since,
            "customers": sz["customers"].to_numpy()[rep],
        }
    )
    grid["month"] = grid["cohort"] + grid["months_since"]
    grid = grid.join(cells, on=["seg", "cohort", "month"])
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
            "cohort": ordinal_text(grid["cohort"].to_numpy()),
            "months_since": grid["months_since"].to_numpy(),
            "customers": grid["customers"].to_numpy(),
            "active": grid["active"].to_numpy(),
            "retention": grid["retention"].to_numpy(),
            "revenue": grid["revenue"].to_numpy(),
            "revenue_retention": grid["revenue_retention"].to_numpy(),
        }
    )
    if segment_col is not None:
        out.insert(0, "segment", np.asarray(seg_values, dtype=object)[grid["seg"].to_numpy()])
    return _typed(out)


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
