"""Cohort table: hand-worked cases, an independent slow reference and hypothesis properties."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesreport.cohorts import (
    COHORT_COLUMNS,
    cohort_table,
    purchases,
    retention_matrix,
    yearly_revenue_retention,
)
from salesreport.exceptions import DataError, ParameterError
from salesreport.tables import Tables

settings.register_profile(
    "cohorts", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def make_orders(rows: list[tuple], with_segment: bool = False) -> pd.DataFrame:
    """rows: (account_id, 'YYYY-MM-DD', amount[, segment])."""
    df = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(len(rows))],
            "account_id": [r[0] for r in rows],
            "order_date": pd.to_datetime([r[1] for r in rows]),
            "amount": [float(r[2]) for r in rows],
        }
    )
    if with_segment:
        df["segment"] = [r[3] for r in rows]
    return df


# Three customers over four months (report month 2026-04):
#   A: 2026-01-05 100, 2026-01-20 50, 2026-03-10 30       -> cohort 2026-01
#   B: 2026-01-15 200, 2026-02-01 100                      -> cohort 2026-01
#   C: 2026-02-10 80,  2026-04-30 40                       -> cohort 2026-02
#   A: 2026-05-02 999  (after the report month: ignored)
THREE = [
    ("A", "2026-01-05", 100, "smb"),
    ("A", "2026-01-20", 50, "ent"),
    ("A", "2026-03-10", 30, "ent"),
    ("B", "2026-01-15", 200, "ent"),
    ("B", "2026-02-01", 100, "ent"),
    ("C", "2026-02-10", 80, None),
    ("C", "2026-04-30", 40, None),
    ("A", "2026-05-02", 999, "smb"),
]


def test_cohort_table_three_customers_by_hand():
    out = cohort_table(Tables(orders=make_orders(THREE, True)), "2026-04")
    assert list(out.columns) == COHORT_COLUMNS
    expected = pd.DataFrame(
        {
            "cohort": ["2026-01"] * 4 + ["2026-02"] * 3,
            "months_since": [0, 1, 2, 3, 0, 1, 2],
            # cohort 2026-01 = {A, B}: 2 customers; cohort 2026-02 = {C}: 1
            "customers": [2, 2, 2, 2, 1, 1, 1],
            # Jan: A,B  Feb: B  Mar: A  Apr: nobody | Feb: C  Mar: nobody  Apr: C (30th counts)
            "active": [2, 1, 1, 0, 1, 0, 1],
            "retention": [1.0, 0.5, 0.5, 0.0, 1.0, 0.0, 1.0],
            # Jan 100+50+200=350, Feb 100, Mar 30, Apr 0 | Feb 80, Mar 0, Apr 40
            "revenue": [350.0, 100.0, 30.0, 0.0, 80.0, 0.0, 40.0],
            # over month 0: 350/350, 100/350, 30/350, 0/350 | 80/80, 0/80, 40/80
            "revenue_retention": [1.0, 100 / 350, 30 / 350, 0.0, 1.0, 0.0, 0.5],
        }
    )
    pd.testing.assert_frame_equal(out, expected, check_dtype=False)
    assert out["months_since"].dtype == np.int64 and out["active"].dtype == np.int64


def test_segment_is_the_first_purchase_value():
    out = cohort_table(Tables(orders=make_orders(THREE, True)), "2026-04", segment_col="segment")
    assert list(out.columns) == ["segment"] + COHORT_COLUMNS
    # A's first order is smb (later ones ent), B ent, C has no segment -> (none); sorted labels
    assert out["segment"].unique().tolist() == [
        "segment=(none)",
        "segment=ent",
        "segment=smb",
    ]
    smb = out[out["segment"] == "segment=smb"]
    # A alone: Jan 100+50=150 (the ent-labelled order still counts for A), Feb 0, Mar 30, Apr 0
    assert smb["revenue"].tolist() == [150.0, 0.0, 30.0, 0.0]
    assert smb["active"].tolist() == [1, 0, 1, 0]
    assert smb["revenue_retention"].tolist() == pytest.approx([1.0, 0.0, 30 / 150, 0.0])
    ent = out[out["segment"] == "segment=ent"]
    assert ent["revenue"].tolist() == [200.0, 100.0, 0.0, 0.0]  # B only
    none = out[out["segment"] == "segment=(none)"]
    assert none["cohort"].tolist() == ["2026-02"] * 3 and none["customers"].tolist() == [1, 1, 1]


def test_first_purchase_tie_goes_to_the_first_row():
    rows = [("A", "2026-01-05", 10, "x"), ("A", "2026-01-05", 20, "y"), ("A", "2026-02-01", 5, "y")]
    out = cohort_table(Tables(orders=make_orders(rows, True)), "2026-02", segment_col="segment")
    assert out["segment"].unique().tolist() == ["segment=x"]
    assert out["revenue"].tolist() == [30.0, 5.0]  # 10+20 in month 0, 5 in month 1


def test_revenue_retention_is_empty_when_month_zero_revenue_is_zero():
    rows = [("D", "2026-01-03", 0, None), ("D", "2026-02-03", 10, None)]
    out = cohort_table(Tables(orders=make_orders(rows)), "2026-02")
    assert out["active"].tolist() == [1, 1]  # a 0-amount order is still a purchase
    assert out["revenue_retention"].isna().all()


def test_cohorts_extend_to_the_report_month_with_empty_months():
    rows = [("A", "2025-11-20", 10, None)]
    out = cohort_table(Tables(orders=make_orders(rows)), "2026-02")
    # 2025-11 .. 2026-02: months_since 0..3
    assert out["months_since"].tolist() == [0, 1, 2, 3]
    assert out["active"].tolist() == [1, 0, 0, 0]
    assert out["retention"].tolist() == [1.0, 0.0, 0.0, 0.0]


def test_no_purchases_gives_an_empty_table_with_the_columns():
    rows = [("A", "2026-05-20", 10, None)]
    out = cohort_table(Tables(orders=make_orders(rows)), "2026-04")
    assert out.empty and list(out.columns) == COHORT_COLUMNS


def test_orders_absent_uses_won_opportunities_by_close_date():
    opp = pd.DataFrame(
        {
            "opportunity_id": ["1", "2", "3", "4", "5"],
            "account_id": ["A", "A", "B", "B", "C"],
            "owner_id": ["R"] * 5,
            "created_date": pd.to_datetime(["2025-12-01"] * 5),
            "close_date": pd.to_datetime(
                ["2026-01-10", "2026-03-05", "2026-02-01", "2026-01-02", "2026-01-20"]
            ),
            "stage": ["Won", "Won", "Won", "Lost", "Proposal"],
            "status": ["won", "won", "won", "lost", "open"],
            "amount": [100.0, 50.0, 70.0, 999.0, 999.0],
            "region": ["DE"] * 5,
        }
    )
    out = cohort_table(Tables(opportunities=opp), "2026-03")
    # won only: A Jan 100 & Mar 50 -> cohort 2026-01; B Feb 70 -> cohort 2026-02 (lost Jan ignored)
    # C has only an open deal: no customer
    assert out["cohort"].tolist() == ["2026-01"] * 3 + ["2026-02"] * 2
    assert out["revenue"].tolist() == [100.0, 0.0, 50.0, 70.0, 0.0]
    assert out["customers"].tolist() == [1, 1, 1, 1, 1]


def test_purchases_columns_and_accounts_join():
    orders = make_orders([("A", "2026-01-05", 10, None)])
    orders["product"] = ["core"]
    accounts = pd.DataFrame({"account_id": ["A"], "segment": ["smb"], "region": ["DE"]})
    p = purchases(Tables(orders=orders, accounts=accounts))
    assert list(p.columns[:3]) == ["account_id", "date", "amount"]
    assert p.loc[0, "segment"] == "smb" and p.loc[0, "region"] == "DE"
    assert p.loc[0, "product"] == "core"
    # a column the orders have is never overwritten from accounts
    orders["segment"] = ["ent"]
    assert purchases(Tables(orders=orders, accounts=accounts)).loc[0, "segment"] == "ent"


def test_missing_account_id_names_the_rows():
    orders = make_orders([("A", "2026-01-05", 10), ("A", "2026-01-06", 5)])
    orders.loc[1, "account_id"] = None
    with pytest.raises(DataError, match=r"orders: 1 purchase row\(s\) have no 'account_id'.*\[2\]"):
        purchases(Tables(orders=orders))


def test_unknown_segment_column_is_a_parameter_error():
    with pytest.raises(ParameterError, match="'channel'"):
        cohort_table(Tables(orders=make_orders(THREE, True)), "2026-04", segment_col="channel")


def test_retention_matrix_pivots_cohorts_by_months_since():
    out = cohort_table(Tables(orders=make_orders(THREE, True)), "2026-04")
    mat = retention_matrix(out)
    assert mat.index.tolist() == ["2026-01", "2026-02"]
    assert mat.columns.tolist() == [0, 1, 2, 3]
    assert mat.loc["2026-01"].tolist() == [1.0, 0.5, 0.5, 0.0]
    assert mat.loc["2026-02", [0, 1, 2]].tolist() == [1.0, 0.0, 1.0]
    assert np.isnan(mat.loc["2026-02", 3])  # younger cohort: no month 3 yet
    seg = retention_matrix(
        cohort_table(Tables(orders=make_orders(THREE, True)), "2026-04", "segment"), "revenue"
    )
    assert seg.index.names == ["segment", "cohort"]
    assert seg.loc[("segment=smb", "2026-01"), 2] == 30.0
    with pytest.raises(ValueError, match="value must be one of"):
        retention_matrix(out, "cohort")


# ---------------------------------------------------------------------------------------------
# an independent, slow reference straight from the words of outputs.md


def slow_cohort_table(orders: pd.DataFrame, month: str) -> pd.DataFrame:
    end = pd.Period(month, freq="M")
    rows = [
        (r.account_id, pd.Period(r.order_date, freq="M"), r.amount, r.order_date, i)
        for i, r in enumerate(orders.itertuples())
        if pd.Period(r.order_date, freq="M") <= end
    ]
    first: dict[str, tuple] = {}
    for acct, m, _amt, date, i in rows:
        if acct not in first or (date, i) < first[acct][1:]:
            first[acct] = (m, date, i)
    members: dict[pd.Period, set] = defaultdict(set)
    for acct, (m, _d, _i) in first.items():
        members[m].add(acct)
    out = []
    for cohort in sorted(members):
        size = len(members[cohort])
        rev0 = None
        k = 0
        while cohort + k <= end:
            cal = cohort + k
            buyers = {a for a, m, _x, _d, _i in rows if a in members[cohort] and m == cal}
            revenue = sum(x for a, m, x, _d, _i in rows if a in members[cohort] and m == cal)
            if k == 0:
                rev0 = revenue
            out.append(
                {
                    "cohort": str(cohort),
                    "months_since": k,
                    "customers": size,
                    "active": len(buyers),
                    "retention": len(buyers) / size,
                    "revenue": float(revenue),
                    "revenue_retention": revenue / rev0 if rev0 != 0 else np.nan,
                }
            )
            k += 1
    return pd.DataFrame(out, columns=COHORT_COLUMNS)


def random_orders(n: int, n_customers: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 500, n)
    return pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(n)],
            "account_id": [f"A{c}" for c in rng.integers(0, n_customers, n)],
            "order_date": pd.Timestamp("2025-01-01") + pd.to_timedelta(days, unit="D"),
            # some zero amounts, so empty revenue_retention and 0-amount purchases appear
            "amount": np.where(rng.random(n) < 0.1, 0.0, rng.gamma(2.0, 50.0, n).round(2)),
        }
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_matches_slow_reference_on_random_log(seed):
    orders = random_orders(300, 40, seed)
    for month in ("2025-06", "2026-05"):
        fast = cohort_table(Tables(orders=orders), month)
        slow = slow_cohort_table(orders, month)
        pd.testing.assert_frame_equal(fast, slow, check_dtype=False)


# ---------------------------------------------------------------------------------------------
# properties

order_rows = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d", "e", "f"]),
        st.integers(0, 400),  # days after 2025-01-01
        st.integers(0, 1000),  # whole amounts: sums are exact
    ),
    min_size=1,
    max_size=40,
)
report_months = st.sampled_from(["2025-01", "2025-04", "2025-09", "2026-02"])


def orders_from(rows: list[tuple]) -> pd.DataFrame:
    return make_orders(
        [(a, pd.Timestamp("2025-01-01") + pd.Timedelta(days=d), amt) for a, d, amt in rows]
    )


@settings(settings.get_profile("cohorts"))
@given(order_rows, report_months)
def test_property_retention_bounds_and_month_zero(rows, month):
    out = cohort_table(Tables(orders=orders_from(rows)), month)
    assert ((out["retention"] >= 0) & (out["retention"] <= 1)).all()
    assert (out.loc[out["months_since"] == 0, "retention"] == 1.0).all()
    assert (out["active"] <= out["customers"]).all()


@settings(settings.get_profile("cohorts"))
@given(order_rows, report_months)
def test_property_cohort_revenues_add_up_to_monthly_revenue(rows, month):
    orders = orders_from(rows)
    out = cohort_table(Tables(orders=orders), month)
    cal = pd.PeriodIndex(out["cohort"], freq="M") + out["months_since"].to_numpy()
    by_month = out.groupby(cal.astype(str))["revenue"].sum()
    kept = orders[orders["order_date"].dt.to_period("M") <= pd.Period(month, "M")]
    total = kept.groupby(kept["order_date"].dt.to_period("M").astype(str))["amount"].sum()
    # every calendar month with revenue appears, and months with none sum to 0
    assert total.reindex(by_month.index, fill_value=0.0).tolist() == by_month.tolist()
    assert set(total.index) <= set(by_month.index)


@settings(settings.get_profile("cohorts"))
@given(order_rows, order_rows, report_months)
def test_property_purchases_after_the_report_month_change_nothing(rows, later, month):
    before = orders_from(rows)
    start = pd.Period(month, "M").to_timestamp(how="end").normalize() + pd.Timedelta(days=1)
    extra = make_orders([(a, start + pd.Timedelta(days=d), amt) for a, d, amt in later])
    extra["order_id"] = "X" + extra["order_id"]
    both = pd.concat([before, extra], ignore_index=True)
    pd.testing.assert_frame_equal(
        cohort_table(Tables(orders=before), month), cohort_table(Tables(orders=both), month)
    )


def test_yearly_revenue_retention_by_hand():
    # Report month 2026-03. Orders (one customer per cohort):
    #   A, cohort 2024-01: 100 in 2024-01 (year 1); 80 in 2025-01 and 10 in 2025-06 (year 2,
    #      months 12-23, over at 2025-12); 50 in 2026-01 (year 3, months 24-35: not over)
    #   B, cohort 2024-03: 200 in 2024-03 and 100 in 2024-09 (year 1); 150 in 2025-03 (year 2,
    #      months 12-23 = 2025-03..2026-02: over at 2026-03)
    #   C, cohort 2024-05: 60 in 2024-05; 60 in 2025-05 (year 2 ends 2026-04: not over)
    #   D, cohort 2025-02: 40 in 2025-02; 40 in 2026-02 (its second year is not over)
    orders = make_orders(
        [
            ("A", "2024-01-10", 100), ("A", "2025-01-10", 80), ("A", "2025-06-10", 10),
            ("A", "2026-01-10", 50), ("B", "2024-03-10", 200), ("B", "2024-09-10", 100),
            ("B", "2025-03-10", 150), ("C", "2024-05-10", 60), ("C", "2025-05-10", 60),
            ("D", "2025-02-10", 40), ("D", "2026-02-10", 40),
        ]
    )  # fmt: skip
    out = yearly_revenue_retention(cohort_table(Tables(orders=orders), "2026-03"))
    # 2024 cohorts, year 2: A and B count (C's year is not over): (80 + 10 + 150) / (100 + 300)
    # = 240 / 400 = 0.6. No cohort has a full third year; 2025's cohorts none a full second.
    assert out.to_dict("records") == [
        {
            "cohort_year": 2024,
            "year": 2,
            "cohorts": 2,
            "first_year_revenue": 400.0,
            "revenue": 240.0,
            "retention": 0.6,
        }
    ]


def test_yearly_revenue_retention_leaves_out_zero_first_year_revenue_and_one_segment_at_a_time():
    table = pd.DataFrame(
        {"cohort": "2023-01", "months_since": range(24), "revenue": [0.0] * 12 + [5.0] * 12}
    )
    assert yearly_revenue_retention(table).empty  # 60 against 0: no share to give
    # a team whose data starts 7 months ago: no cohort has had a full year yet
    assert yearly_revenue_retention(table[table["months_since"] < 7]).empty
    two = pd.concat([table.assign(segment="a"), table.assign(segment="b")])
    with pytest.raises(ValueError, match="one segment at a time"):
        yearly_revenue_retention(two)
