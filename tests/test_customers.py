"""Customer KPIs: each metric by hand on a tiny case, and a slow per-customer reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesreport.customers import CUSTOMER_METRICS, customer_kpis
from salesreport.params import validate_params
from salesreport.periods import windows_frame
from salesreport.tables import Tables


def make_orders(rows: list[tuple]) -> pd.DataFrame:
    """rows: (account_id, 'YYYY-MM-DD', amount[, region])."""
    df = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(len(rows))],
            "account_id": [r[0] for r in rows],
            "order_date": pd.to_datetime([r[1] for r in rows]),
            "amount": [float(r[2]) for r in rows],
        }
    )
    if rows and len(rows[0]) > 3:
        df["region"] = [r[3] for r in rows]
    return df


def value(out: pd.DataFrame, metric: str, window: str, period: str, segment: str = "all"):
    sel = out[
        (out["metric"] == metric)
        & (out["window"] == window)
        & (out["period"] == period)
        & (out["segment"] == segment)
    ]
    assert len(sel) == 1, (metric, window, period, segment)
    return sel["value"].iloc[0]


# Tiny case, W = 2 months (active = bought this month or last), gross margin 0.5:
#   A: Jan 100, Mar 60 | B: Jan 50 | C: Feb 30, Mar 30, Apr 30 | D: Apr 20   (all 2026)
# active at month end: Dec 0 | Jan A,B = 2 | Feb A,B,C = 3 | Mar A,C = 2 | Apr A,C,D = 3
# new: Jan 2 | Feb 1 (C) | Mar 0 | Apr 1 (D);  revenue: Jan 150 | Feb 30 | Mar 90 | Apr 50
# spend (sales 100 + marketing 50) in Feb, Mar, Apr; none in Jan; 'events' is not counted.
TINY = [
    ("A", "2026-01-10", 100),
    ("B", "2026-01-20", 50),
    ("C", "2026-02-03", 30),
    ("A", "2026-03-15", 60),
    ("C", "2026-03-04", 30),
    ("C", "2026-04-30", 30),
    ("D", "2026-04-01", 20),
]
SPEND = pd.DataFrame(
    {
        "month": ["2026-02", "2026-02", "2026-03", "2026-03", "2026-04", "2026-04", "2026-04"],
        "category": ["sales", "Marketing", "sales", "marketing", "sales", "marketing", "events"],
        "amount": [100.0, 50.0, 100.0, 50.0, 100.0, 50.0, 1000.0],
    }
)


@pytest.fixture(scope="module")
def tiny():
    params = validate_params({"team": "t", "active_window_months": 2, "gross_margin": 0.5})
    # fiscal year from February: the quarter ending in April is Feb..Apr
    windows = windows_frame("2026-04", 4, fy_start=2)
    return customer_kpis(Tables(orders=make_orders(TINY), spend=SPEND), windows, params)


def test_output_shape(tiny):
    assert list(tiny.columns) == ["metric", "window", "period", "segment", "value"]
    assert list(tiny["metric"].unique()) == list(CUSTOMER_METRICS)
    assert len(tiny) == len(CUSTOMER_METRICS) * 4 * 4  # metrics x months x windows


def test_new_and_active_customers_by_hand(tiny):
    assert [value(tiny, "new_customers", "month", m) for m in ["2026-01", "2026-02"]] == [2, 1]
    assert [value(tiny, "new_customers", "month", m) for m in ["2026-03", "2026-04"]] == [0, 1]
    assert value(tiny, "new_customers", "qtd", "2026-04") == 2  # Feb..Apr: C, D
    assert value(tiny, "new_customers", "ytd", "2026-04") == 2  # FY from Feb
    assert value(tiny, "new_customers", "trailing12", "2026-04") == 4
    actives = [value(tiny, "active_customers", "month", f"2026-0{m}") for m in range(1, 5)]
    assert actives == [2, 3, 2, 3]
    assert value(tiny, "active_customers", "qtd", "2026-04") == 3  # stock at the window's end


def test_customer_retention_rate_by_hand(tiny):
    assert np.isnan(value(tiny, "customer_retention_rate", "month", "2026-01"))  # S = 0
    assert value(tiny, "customer_retention_rate", "month", "2026-02") == 1.0  # (3-1)/2
    assert value(tiny, "customer_retention_rate", "month", "2026-03") == pytest.approx(2 / 3)
    assert value(tiny, "customer_retention_rate", "month", "2026-04") == 1.0  # (3-1)/2
    # quarter Feb..Apr: S = active end Jan = 2, E = 3, N = 2 -> (3-2)/2
    assert value(tiny, "customer_retention_rate", "qtd", "2026-04") == 0.5


def test_clv_by_hand(tiny):
    # March: ARPA 90/2 = 45, churn 1 - 2/3 = 1/3 -> 45 * 0.5 / (1/3) = 67.5
    assert value(tiny, "clv", "month", "2026-03") == pytest.approx(67.5)
    # Feb and Apr: churn 0 -> no finite lifetime -> empty; Jan: no retention -> empty
    for m in ["2026-01", "2026-02", "2026-04"]:
        assert np.isnan(value(tiny, "clv", "month", m))
    # quarter Feb..Apr: ARPA mean (30/3 + 90/2 + 50/3)/3 = 71.667/3; churn mean (0 + 1/3 + 0)/3
    # clv = (71.667/3) * 0.5 / (1/9) = 107.5
    assert value(tiny, "clv", "qtd", "2026-04") == pytest.approx(107.5)


def test_cac_and_payback_by_hand(tiny):
    assert value(tiny, "cac", "month", "2026-02") == 150.0  # (100+50)/1
    assert np.isnan(value(tiny, "cac", "month", "2026-03"))  # no new customers
    assert value(tiny, "cac", "month", "2026-04") == 150.0  # 'events' 1000 excluded
    assert np.isnan(value(tiny, "cac", "month", "2026-01"))  # no spend rows for January
    assert value(tiny, "cac", "qtd", "2026-04") == 225.0  # 450 / 2
    assert np.isnan(value(tiny, "cac", "trailing12", "2026-04"))  # months without spend rows
    # Feb: C's revenue in Feb 30 / 1 month * 0.5 = 15 -> 150/15 = 10
    assert value(tiny, "cac_payback_months", "month", "2026-02") == pytest.approx(10.0)
    # Apr: D 20 * 0.5 = 10 -> 150/10 = 15
    assert value(tiny, "cac_payback_months", "month", "2026-04") == pytest.approx(15.0)
    # quarter: C 90 over Feb..Apr = 30/month, D 20/month; mean 25 * 0.5 = 12.5 -> 225/12.5 = 18
    assert value(tiny, "cac_payback_months", "qtd", "2026-04") == pytest.approx(18.0)
    assert np.isnan(value(tiny, "cac_payback_months", "month", "2026-03"))


def test_no_spend_table_gives_empty_cac():
    params = validate_params({"team": "t"})
    out = customer_kpis(Tables(orders=make_orders(TINY)), windows_frame("2026-04", 4), params)
    cac = out[out["metric"].isin(["cac", "cac_payback_months"])]
    assert len(cac) == 2 * 4 * 4 and cac["value"].isna().all()


def test_net_and_gross_revenue_retention_by_hand():
    # NRR at 2026-12: later = 2026-01..2026-12, earlier = 2025-01..2025-12
    rows = [
        ("A", "2025-01-01", 100),  # earlier 100 (first day counts), later 150 -> capped 100
        ("A", "2026-05-10", 150),
        ("B", "2025-12-31", 200),  # earlier 200, later 0
        ("C", "2024-12-31", 70),  # bought the day before the earlier window: excluded
        ("C", "2026-02-01", 500),
        ("D", "2026-01-15", 50),  # new in the later window: excluded
        ("E", "2025-06-01", 0),  # bought (amount 0) in the earlier window: included
        ("E", "2026-07-01", 40),
    ]
    params = validate_params({"team": "t"})
    out = customer_kpis(Tables(orders=make_orders(rows)), windows_frame("2026-12", 1), params)
    # NRR = (150 + 0 + 40) / (100 + 200 + 0) ; GRR = (100 + 0 + 0) / 300
    assert value(out, "net_revenue_retention", "month", "2026-12") == pytest.approx(190 / 300)
    assert value(out, "gross_revenue_retention", "month", "2026-12") == pytest.approx(100 / 300)
    # NRR is a stock at the window's end: the same for every window ending in 2026-12
    assert value(out, "net_revenue_retention", "ytd", "2026-12") == pytest.approx(190 / 300)


def test_revenue_retention_empty_without_earlier_revenue():
    rows = [("A", "2026-05-10", 150)]
    out = customer_kpis(
        Tables(orders=make_orders(rows)),
        windows_frame("2026-12", 1),
        validate_params({"team": "t"}),
    )
    assert np.isnan(value(out, "net_revenue_retention", "month", "2026-12"))
    assert np.isnan(value(out, "gross_revenue_retention", "month", "2026-12"))


def test_active_window_boundary_counts_calendar_months():
    # d = 2026-10-31, 12 months: purchases from 2025-11-01 through 2026-10-31
    rows = [("X", "2025-10-31", 10), ("Y", "2025-11-01", 10), ("Z", "2026-11-01", 10)]
    out = customer_kpis(
        Tables(orders=make_orders(rows)),
        windows_frame("2026-10", 1),
        validate_params({"team": "t"}),
    )
    assert value(out, "active_customers", "month", "2026-10") == 1  # Y only; Z is in the future


def test_windows_before_the_data_are_empty():
    out = customer_kpis(
        Tables(orders=make_orders(TINY)),
        windows_frame("2026-04", 6),
        validate_params({"team": "t"}),
    )
    early = out[out["period"].isin(["2025-11", "2025-12"])]
    assert len(early) and early["value"].isna().all()
    assert value(out, "new_customers", "month", "2026-03") == 0  # inside the data: a true 0


def test_segments_follow_the_first_purchase_and_region_spend():
    rows = [
        ("A", "2026-01-10", 100, "DE"),
        ("A", "2026-02-10", 100, "UK"),  # A stays in region=DE (its first purchase)
        ("B", "2026-02-05", 40, "UK"),
        ("C", "2026-02-07", 60, None),
    ]
    spend = pd.DataFrame(
        {
            "month": ["2026-02", "2026-02", "2026-02"],
            "category": ["sales", "sales", "marketing"],
            "amount": [80.0, 30.0, 10.0],
            "region": ["DE", "UK", "UK"],
        }
    )
    params = validate_params({"team": "t"})
    out = customer_kpis(
        Tables(orders=make_orders(rows), spend=spend), windows_frame("2026-02", 1), params, "region"
    )
    assert sorted(out["segment"].unique()) == ["region=(none)", "region=DE", "region=UK"]
    assert value(out, "new_customers", "month", "2026-02", "region=UK") == 1  # B
    assert value(out, "new_customers", "month", "2026-02", "region=DE") == 0  # A is January's
    assert value(out, "active_customers", "month", "2026-02", "region=DE") == 1
    assert value(out, "cac", "month", "2026-02", "region=UK") == 40.0  # (30+10)/1
    assert np.isnan(value(out, "cac", "month", "2026-02", "region=DE"))  # no new customers
    assert np.isnan(value(out, "cac", "month", "2026-02", "region=(none)"))  # no spend rows
    # a segment column the spend cannot be split by: cac empty
    orders = make_orders(rows).assign(product=["x", "x", "y", "y"])
    by_product = customer_kpis(
        Tables(orders=orders, spend=spend), windows_frame("2026-02", 1), params, "product"
    )
    assert by_product.loc[by_product["metric"] == "cac", "value"].isna().all()
    assert value(by_product, "new_customers", "month", "2026-02", "product=y") == 2


def test_orders_absent_uses_won_opportunities():
    opp = pd.DataFrame(
        {
            "opportunity_id": ["1", "2", "3"],
            "account_id": ["A", "B", "C"],
            "owner_id": ["R"] * 3,
            "created_date": pd.to_datetime(["2025-12-01"] * 3),
            "close_date": pd.to_datetime(["2026-01-10", "2026-01-12", "2026-01-20"]),
            "stage": ["Won", "Lost", "Won"],
            "status": ["won", "lost", "won"],
            "amount": [100.0, 50.0, 300.0],
            "region": ["DE"] * 3,
        }
    )
    out = customer_kpis(
        Tables(opportunities=opp), windows_frame("2026-01", 1), validate_params({"team": "t"})
    )
    assert value(out, "new_customers", "month", "2026-01") == 2  # A and C; B lost


# ---------------------------------------------------------------------------------------------
# an independent, slow reference: loops over customers and windows, dates not month numbers


def slow_customer_kpis(orders, spend, windows, W, gm, seg_col=None):
    rows = sorted(
        ((r.order_date, i, r.account_id, r.amount, r) for i, r in enumerate(orders.itertuples())),
        key=lambda x: (x[0], x[1]),
    )
    first_date, seg_of = {}, {}
    for date, _i, acct, _amt, r in rows:
        if acct not in first_date:
            first_date[acct] = date
            if seg_col is None:
                seg_of[acct] = "all"
            else:
                v = getattr(r, seg_col)
                seg_of[acct] = f"{seg_col}={'(none)' if pd.isna(v) else v}"
    segments = sorted(set(seg_of.values())) if seg_col else ["all"]
    data_start = min(first_date.values()).to_period("M")

    def members(seg):
        return [a for a in first_date if seg_of[a] == seg]

    by_acct = {a: [(d, amt) for d, _i, b, amt, _r in rows if b == a] for a in first_date}

    def bought(acct, lo, hi):  # amounts of the customer's purchases with lo <= date <= hi
        return [amt for d, amt in by_acct[acct] if lo <= d <= hi]

    def active(acct, d):
        lo = (d.to_period("M") - (W - 1)).start_time
        return len(bought(acct, lo, d)) > 0

    def new_in(seg, s, e):
        return [a for a in members(seg) if s <= first_date[a] <= e]

    def month_retention(seg, p):
        s, e = p.start_time, p.end_time.normalize()
        S = sum(active(a, s - pd.Timedelta(days=1)) for a in members(seg))
        E = sum(active(a, e) for a in members(seg))
        return (E - len(new_in(seg, s, e))) / S if S else np.nan

    out = {}
    for w in windows.itertuples():
        s, e = w.start, w.end
        months = pd.period_range(s, e, freq="M")
        for seg in segments:
            res = {}
            if e.to_period("M") < data_start:
                for m in CUSTOMER_METRICS:
                    out[(m, w.window, w.period, seg)] = np.nan
                continue
            new = new_in(seg, s, e)
            N = len(new)
            S = sum(active(a, s - pd.Timedelta(days=1)) for a in members(seg))
            E = sum(active(a, e) for a in members(seg))
            res["new_customers"] = N
            res["active_customers"] = E
            res["customer_retention_rate"] = (E - N) / S if S else np.nan
            # NRR / GRR on calendar months: end-23..end-12 and end-11..end
            pe = e.to_period("M")
            later_lo, earlier_lo = (pe - 11).start_time, (pe - 23).start_time
            earlier_hi = (pe - 12).end_time.normalize()
            base = net = gross = 0.0
            for a in members(seg):
                if bought(a, earlier_lo, earlier_hi):
                    before = sum(bought(a, earlier_lo, earlier_hi))
                    after = sum(bought(a, later_lo, e))
                    base, net, gross = base + before, net + after, gross + min(after, before)
            res["net_revenue_retention"] = net / base if base else np.nan
            res["gross_revenue_retention"] = gross / base if base else np.nan
            arpas, churns = [], []
            for p in months:
                ms, me = p.start_time, p.end_time.normalize()
                act = sum(active(a, me) for a in members(seg))
                rev = sum(sum(bought(a, ms, me)) for a in members(seg))
                if act:
                    arpas.append(rev / act)
                r = month_retention(seg, p)
                if not np.isnan(r):
                    churns.append(1 - r)
            arpa = np.mean(arpas) if arpas else np.nan
            churn = np.mean(churns) if churns else np.nan
            # churns that cancel out leave float dust: within 1e-9 of 0 is 0 (no finite lifetime)
            ok = churn > 1e-9 and not np.isnan(arpa)
            res["clv"] = arpa * gm / churn if ok else np.nan
            cac = np.nan
            if spend is not None and seg == "all":
                sm = spend[spend["category"].str.lower().isin(["sales", "marketing"])]
                in_w = sm[sm["month"].isin([str(p) for p in months])]
                if set(in_w["month"]) == {str(p) for p in months} and N:
                    cac = in_w["amount"].sum() / N
            res["cac"] = cac
            if new:
                per_cust = [
                    sum(bought(a, first_date[a], e)) / ((pe - first_date[a].to_period("M")).n + 1)
                    for a in new
                ]
                arpu = np.mean(per_cust)
                res["cac_payback_months"] = cac / (arpu * gm) if arpu * gm > 0 else np.nan
            else:
                res["cac_payback_months"] = np.nan
            for m, v in res.items():
                out[(m, w.window, w.period, seg)] = v
    return out


def random_log(seed: int):
    rng = np.random.default_rng(seed)
    n = 200
    orders = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(n)],
            "account_id": [f"A{c}" for c in rng.integers(0, 90, n)],
            "order_date": pd.Timestamp("2024-03-01")
            + pd.to_timedelta(rng.integers(0, 820, n), unit="D"),
            "amount": np.where(rng.random(n) < 0.1, 0.0, rng.gamma(2.0, 50.0, n).round(2)),
            "segment": rng.choice(np.array(["smb", "ent", None], dtype=object), n),
        }
    )
    months = [str(p) for p in pd.period_range("2024-03", "2026-06", freq="M")]
    keep = [m for m in months if rng.random() < 0.9]  # some months without spend rows
    spend = pd.DataFrame(
        {
            "month": keep * 2,
            "category": ["sales"] * len(keep) + ["marketing"] * len(keep),
            "amount": rng.gamma(2.0, 100.0, 2 * len(keep)).round(2),
        }
    )
    return orders, spend


@pytest.mark.parametrize(("seed", "W", "seg_col"), [(0, 12, None), (1, 3, "segment")])
def test_fast_matches_slow_reference_on_random_log(seed, W, seg_col):
    orders, spend = random_log(seed)
    params = validate_params({"team": "t", "active_window_months": W, "gross_margin": 0.6})
    windows = windows_frame("2026-05", 8, fy_start=4)
    fast = customer_kpis(Tables(orders=orders, spend=spend), windows, params, seg_col)
    slow = slow_customer_kpis(orders, spend, windows, W, 0.6, seg_col)
    assert len(fast) == len(slow)
    for r in fast.itertuples():
        expected = slow[(r.metric, r.window, r.period, r.segment)]
        assert r.value == pytest.approx(expected, rel=1e-9, nan_ok=True), (
            r.metric,
            r.window,
            r.period,
            r.segment,
        )
    # the comparison is not vacuous: real numbers for every metric (cac only without segments)
    counts = fast.groupby("metric")["value"].count()
    if seg_col is not None:
        counts = counts.drop(["cac", "cac_payback_months"])
    assert counts.gt(0).all(), counts


def test_point_in_time_later_purchases_change_nothing():
    orders, spend = random_log(3)
    params = validate_params({"team": "t"})
    windows = windows_frame("2025-12", 6)
    cut = orders[orders["order_date"] <= "2025-12-31"]
    pd.testing.assert_frame_equal(
        customer_kpis(Tables(orders=orders, spend=spend), windows, params),
        customer_kpis(Tables(orders=cut, spend=spend), windows, params),
    )


def test_revenue_retention_by_region_follows_each_customers_first_purchase():
    # NRR at 2026-12: later = 2026-01..2026-12, earlier = 2025-01..2025-12
    rows = [
        ("A", "2025-01-01", 100, "north"),  # earlier 100, later 150 (GRR caps it at 100)
        ("A", "2026-05-10", 150, "north"),
        ("B", "2025-12-31", 200, "south"),  # earlier 200, later 0
        ("E", "2025-06-01", 0, "south"),  # bought (amount 0) in the earlier window: included
        ("E", "2026-07-01", 40, "south"),
        ("D", "2026-12-15", 60, "north"),  # new in December 2026: not in the earlier window
    ]
    params = validate_params({"team": "t"})
    windows = windows_frame("2026-12", 1)
    tables = Tables(orders=make_orders(rows))
    team = customer_kpis(tables, windows, params)
    region = customer_kpis(tables, windows, params, "region")
    # team: NRR = (150 + 0 + 40) / (100 + 200 + 0); GRR = 100 / 300
    assert value(team, "net_revenue_retention", "month", "2026-12") == pytest.approx(190 / 300)
    assert value(team, "gross_revenue_retention", "month", "2026-12") == pytest.approx(100 / 300)
    # north: A only -> NRR 150 / 100, GRR 100 / 100; south: B, E -> (0 + 40) / 200, 0 / 200
    north, south = "region=north", "region=south"
    assert value(region, "net_revenue_retention", "month", "2026-12", north) == pytest.approx(1.5)
    assert value(region, "gross_revenue_retention", "month", "2026-12", north) == pytest.approx(1.0)
    assert value(region, "net_revenue_retention", "month", "2026-12", south) == pytest.approx(0.2)
    assert value(region, "gross_revenue_retention", "month", "2026-12", south) == 0.0
