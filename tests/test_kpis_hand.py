"""Tiny hand-worked cases, one or more per metric (arithmetic in the comments)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesreport.kpis import compute_kpis
from salesreport.params import TeamParams
from salesreport.tables import Tables

D = pd.Timestamp
NaT = pd.NaT


def _opps() -> pd.DataFrame:
    rows = [
        # id, created, close, status, amount, cm, owner, region, stage, probability
        ("O1", "2026-01-10", "2026-03-05", "won", 1200.0, 12, "R1", "DE", "Negotiation", 1.0),
        ("O2", "2026-02-01", "2026-03-20", "lost", 500.0, None, "R2", "UK", "Proposal", np.nan),
        ("O3", "2026-02-15", "2026-04-10", "open", 1000.0, None, "R1", "DE", "Proposal", 0.5),
        ("O4", "2026-03-01", "2026-03-31", "won", 600.0, 6, "R2", "UK", "Negotiation", np.nan),
        ("O5", "2025-12-20", "2026-02-10", "won", 2400.0, None, "R1", "DE", "Negotiation", np.nan),
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "opportunity_id",
            "created_date",
            "close_date",
            "status",
            "amount",
            "contract_months",
            "owner_id",
            "region",
            "stage",
            "probability",
        ],
    )
    df["account_id"] = ["A1", "A2", "A3", "A2", "A5"]
    for c in ("created_date", "close_date"):
        df[c] = pd.to_datetime(df[c])
    df["contract_months"] = pd.array(df["contract_months"], dtype="Int64")
    return df


def _leads() -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "lead_id": ["L1", "L2", "L3", "L4", "L5"],
            "created_date": pd.to_datetime(
                ["2026-03-02", "2026-03-10", "2026-02-05", "2026-01-20", "2026-01-10"]
            ),
            "source": ["referral", "Web", " Referral", "web", "web"],
            "status": ["working", "converted", "new", "Disqualified", "converted"],
            "owner_id": ["S1", "S1", "S2", "S2", "S1"],
            "region": ["DE", "DE", "UK", "UK", "DE"],
            "converted_date": pd.to_datetime(
                [None, "2026-03-15", "2026-04-02", None, "2026-03-20"]
            ),
            "opportunity_id": [None, "O4", "", None, None],
        }
    )
    return df


def _acts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "activity_id": ["A1", "A2", "A3", "A4", "A5"],
            "rep_id": ["R1", "R1", "R2", "R3", "R2"],
            "timestamp": pd.to_datetime(
                [
                    "2026-03-03 10:00",
                    "2026-03-31 23:30",
                    "2026-02-10 09:00",
                    "2026-03-15 12:00",
                    "2026-04-01 00:00",
                ]
            ),
            "type": ["call", "meeting", "email", "other", "call"],
        }
    )


def _reps() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3", "R4"],
            "name": ["a", "b", "c", "d"],
            "role": ["ae", "ae", "sdr", "ae"],
            "region": ["DE", "UK", "DE", "DE"],
            "hire_date": pd.to_datetime(["2025-01-01", "2025-06-01", "2026-03-15", "2024-01-01"]),
            "leave_date": pd.to_datetime([None, "2026-03-10", None, "2026-02-28"]),
        }
    )


PARAMS = TeamParams.model_validate(
    {
        "team": "t",
        "stage_probabilities": {"Proposal": 0.55, "Negotiation": 0.75},
        "targets": [
            {"metric": "revenue", "period": "2026-Q1", "value": 3000},
            {"metric": "revenue", "period": "2026", "value": 12000},
        ],
    }
)


@pytest.fixture(scope="module")
def kpis() -> pd.DataFrame:
    t = Tables(opportunities=_opps(), leads=_leads(), activities=_acts(), reps=_reps())
    return compute_kpis(t, PARAMS, "2026-03")


def val(k: pd.DataFrame, metric: str, window: str, period: str, segment: str = "all", col="value"):
    hit = k[
        (k["metric"] == metric)
        & (k["window"] == window)
        & (k["period"] == period)
        & (k["segment"] == segment)
    ]
    assert len(hit) == 1, (metric, window, period, segment, len(hit))
    return float(hit[col].iloc[0])


def test_deal_counts_win_rate_and_sizes(kpis):
    # March: won O1, O4; lost O2
    assert val(kpis, "deals_won", "month", "2026-03") == 2
    assert val(kpis, "deals_lost", "month", "2026-03") == 1
    assert val(kpis, "win_rate", "month", "2026-03") == pytest.approx(2 / 3)
    # (1200 + 600) / 2
    assert val(kpis, "average_deal_size", "month", "2026-03") == pytest.approx(900)
    # O1: 1200*12/12 = 1200; O4: 600*12/6 = 1200 -> 1200
    assert val(kpis, "acv", "month", "2026-03") == pytest.approx(1200)
    # O1: Jan 10 -> Mar 5 = 21 + 28 + 5 = 54 days; O4: Mar 1 -> Mar 31 = 30 -> mean 42
    assert val(kpis, "sales_cycle_days", "month", "2026-03") == pytest.approx(42)
    # Q1: won O1, O4, O5 (Feb 10) -> 3; lost O2 -> win rate 3/4
    assert val(kpis, "deals_won", "qtd", "2026-03") == 3
    assert val(kpis, "win_rate", "qtd", "2026-03") == pytest.approx(0.75)


def test_month_without_closed_deals_has_empty_win_rate_not_zero(kpis):
    # January 2026: nothing won or lost (O5 closed in Feb) -> counts 0, rate and means empty
    assert val(kpis, "deals_won", "month", "2026-01") == 0
    assert np.isnan(val(kpis, "win_rate", "month", "2026-01"))
    assert np.isnan(val(kpis, "average_deal_size", "month", "2026-01"))
    # before the first created_date month (2025-12) the data does not reach: empty, not 0
    assert np.isnan(val(kpis, "deals_won", "month", "2025-11"))


def test_mrr_is_a_stock_at_the_window_end(kpis):
    # end of March: O1 1200/12 = 100 (Mar..Feb 2027), O4 600/6 = 100 (Mar..Aug),
    # O5 2400/12 = 200 (Feb 2026..Jan 2027) -> 400 for every window ending in March
    for w in ("month", "qtd", "ytd", "trailing12"):
        assert val(kpis, "mrr", w, "2026-03") == pytest.approx(400)
    # end of January: nothing won yet -> 0
    assert val(kpis, "mrr", "month", "2026-01") == 0


def test_revenue_growth_and_attainment(kpis):
    # revenue = won deals by close month: Feb 2400 (O5), Mar 1800 (O1 + O4)
    assert val(kpis, "revenue", "month", "2026-03") == pytest.approx(1800)
    assert val(kpis, "revenue", "qtd", "2026-03") == pytest.approx(4200)
    # mom: 1800 / 2400 - 1 = -0.25; only for window month
    assert val(kpis, "revenue_growth_mom", "month", "2026-03") == pytest.approx(-0.25)
    assert kpis[(kpis.metric == "revenue_growth_mom") & (kpis.window != "month")].empty
    # yoy: revenue data starts in Feb 2026 (first won deal), so March 2025 is empty -> empty
    assert np.isnan(val(kpis, "revenue_growth_yoy", "month", "2026-03"))
    # targets: Q1 row 3000 -> 1000 a month; ytd March = 3000 -> 4200 / 3000 = 1.4
    assert val(kpis, "revenue", "ytd", "2026-03", col="target") == pytest.approx(3000)
    assert val(kpis, "target_attainment", "ytd", "2026-03") == pytest.approx(1.4)
    # month: 1800 / 1000
    assert val(kpis, "target_attainment", "month", "2026-03") == pytest.approx(1.8)
    # trailing12 (Apr 2025 .. Mar 2026): 2025 has no target -> empty
    assert np.isnan(val(kpis, "revenue", "trailing12", "2026-03", col="target"))


def test_pipeline_open_weighted_created(kpis):
    # end of March: only O3 open (O4 closed on Mar 31 = the last day counts as closed)
    assert val(kpis, "pipeline_open_count", "month", "2026-03") == 1
    assert val(kpis, "pipeline_open_value", "month", "2026-03") == 1000
    assert val(kpis, "pipeline_weighted_value", "month", "2026-03") == pytest.approx(500)
    # end of Feb: O1, O2, O3 open; weighted 1200*0.75 + 500*0.55 + 1000*0.5 = 1675: O1's
    # probability 1.0 is the won deal's, not Feb's -> the Negotiation stage's 0.75
    assert val(kpis, "pipeline_open_count", "month", "2026-02") == 3
    assert val(kpis, "pipeline_open_value", "qtd", "2026-02") == 2700
    assert val(kpis, "pipeline_weighted_value", "month", "2026-02") == pytest.approx(1675)
    # by stage at the end of Feb: Negotiation O1 1200; Proposal O2 + O3 1500
    assert val(kpis, "pipeline_open_value", "month", "2026-02", "stage=Proposal") == 1500
    # created: Feb O2 + O3 = 1500; Q1 O1..O4 = 3300
    assert val(kpis, "pipeline_created_value", "month", "2026-02") == 1500
    assert val(kpis, "pipeline_created_value", "qtd", "2026-03") == 3300


def test_pipeline_coverage_uses_next_month_target(kpis):
    # end of Feb: open with close in March: O1 1200 + O2 500 = 1700; March target 3000/3 -> 1.7
    assert val(kpis, "pipeline_coverage", "month", "2026-02") == pytest.approx(1.7)
    # end of March: O3 1000 closes in April; April: no month/quarter row, year 12000/12 = 1000
    assert val(kpis, "pipeline_coverage", "ytd", "2026-03") == pytest.approx(1.0)


def test_leads(kpis):
    # March: L1, L2 created; L2 has an opportunity and converted on Mar 15
    assert val(kpis, "leads_created", "month", "2026-03") == 2
    assert val(kpis, "lead_to_opportunity_ratio", "month", "2026-03") == pytest.approx(0.5)
    assert val(kpis, "lead_conversion_rate", "month", "2026-03") == pytest.approx(0.5)
    # Q1: 5 leads; L2 and L5 converted by Mar 31 (L3 converts Apr 2, after the report month)
    assert val(kpis, "leads_created", "qtd", "2026-03") == 5
    assert val(kpis, "lead_conversion_rate", "qtd", "2026-03") == pytest.approx(0.4)
    # blank opportunity_id ("") does not count: L2 only, 1 of 5
    assert val(kpis, "lead_to_opportunity_ratio", "qtd", "2026-03") == pytest.approx(0.2)
    # referrals: L1 (Mar), L3 " Referral" (Feb) -> Q1 2
    assert val(kpis, "referrals", "month", "2026-03") == 1
    assert val(kpis, "referrals", "qtd", "2026-03") == 2
    # age at Mar 31: L1 29 days (Mar 2), L3 54 days (Feb 5: 23 + 31); L2 and L5 converted by
    # then, L4 disqualified -> (29 + 54) / 2 = 41.5
    assert val(kpis, "average_lead_age_days", "month", "2026-03") == pytest.approx(41.5)
    # at Feb 28: L3 23 days; L5 (converted only on Mar 20, so still open) 21 + 28 = 49 days;
    # L4's status is undated -> excluded -> (23 + 49) / 2 = 36
    assert val(kpis, "average_lead_age_days", "month", "2026-02") == pytest.approx(36)


def test_activities_and_reps(kpis):
    # March: A1 call, A2 meeting (23:30 on Mar 31 is still March), A4 other; A5 is April
    assert val(kpis, "calls", "month", "2026-03") == 1
    assert val(kpis, "meetings", "month", "2026-03") == 1
    assert val(kpis, "emails", "month", "2026-03") == 0
    assert val(kpis, "calls", "month", "2026-03", "owner_id=R1") == 1
    # employed in March: R1, R2 (left Mar 10), R3 (joined Mar 15, mid-month) -> 3 / 3 = 1
    assert val(kpis, "activities_per_rep", "month", "2026-03") == pytest.approx(1.0)
    # Feb: 1 activity, employed R1, R2, R4 (left Feb 28) -> 1/3
    assert val(kpis, "activities_per_rep", "month", "2026-02") == pytest.approx(1 / 3)
    # revenue per AE in March: 1800 / (R1, R2) = 900; R3 is an SDR, R4 has left
    assert val(kpis, "revenue_per_rep", "month", "2026-03") == pytest.approx(900)
    assert val(kpis, "revenue_per_rep", "month", "2026-03", "owner_id=R1") == pytest.approx(1200)
    # attrition March: R2 leaves / employed on Mar 1 (R1, R2) = 0.5; Feb: R4 / (R1, R2, R4)
    assert val(kpis, "rep_attrition_rate", "month", "2026-03") == pytest.approx(0.5)
    assert val(kpis, "rep_retention_rate", "month", "2026-03") == pytest.approx(0.5)
    assert val(kpis, "rep_attrition_rate", "month", "2026-02") == pytest.approx(1 / 3)
    # region DE in March: leavers none; employed on Mar 1 in DE: R1 -> 0
    assert val(kpis, "rep_attrition_rate", "month", "2026-03", "region=DE") == 0


def test_ramp_time():
    reps = pd.DataFrame(
        {
            "rep_id": ["X", "Y"],
            "name": ["x", "y"],
            "role": ["ae", "ae"],
            "region": ["DE", "DE"],
            "hire_date": pd.to_datetime(["2025-11-15", "2023-01-01"]),
        }
    )
    opp = _opps().iloc[:0]
    won = [("2025-11-20", 500.0, "X"), ("2025-12-10", 700.0, "X"), ("2026-01-05", 900.0, "X")]
    won += [("2026-01-05", 5000.0, "Y")]
    opp = pd.DataFrame(
        {
            "opportunity_id": [f"W{i}" for i in range(4)],
            "account_id": ["A"] * 4,
            "owner_id": [w[2] for w in won],
            "created_date": pd.to_datetime(["2025-11-01"] * 4),
            "close_date": pd.to_datetime([w[0] for w in won]),
            "stage": ["Won"] * 4,
            "status": ["won"] * 4,
            "amount": [w[1] for w in won],
            "region": ["DE"] * 4,
        }
    )
    targets = pd.DataFrame(
        {
            "period": ["2025-Q4", "2026", "2026"],
            "metric": ["revenue"] * 3,
            "value": [3000.0, 12000.0, 12000.0],
            "rep_id": ["X", "X", "Y"],
            "region": [None, None, None],
        }
    )
    k = compute_kpis(Tables(opportunities=opp, reps=reps, targets=targets), PARAMS, "2026-03")
    # quota 1000 a month (3000/3, 12000/12); threshold 0.8 -> 800: Nov 500, Dec 700 no,
    # Jan 900 yes -> ramp = Jan 2026 - Nov 2025 = 2 months. Y was hired > 24 months ago.
    assert np.isnan(val(k, "ramp_time_months", "month", "2025-12"))
    assert val(k, "ramp_time_months", "month", "2026-01") == pytest.approx(2)
    assert val(k, "ramp_time_months", "ytd", "2026-03", "region=DE") == pytest.approx(2)


def test_open_pipeline_at_a_month_end_counts_what_was_opened_before_and_not_yet_closed():
    """The stock rule (``first <= k < stop``) at its edges: a deal open since long before the
    computed months, one closed before it was created, an empty amount."""
    rows = [
        # id, created, close, status, amount, owner, region
        ("P1", "2019-05-10", None, "open", 300.0, "R1", "DE"),  # open since 2019
        ("P2", "2026-02-03", "2026-06-30", "open", np.nan, "R2", "UK"),  # amount unknown
        ("P3", "2026-03-15", "2026-01-20", "lost", 800.0, "R1", "DE"),  # closed before created
        ("P4", "2025-06-01", "2026-02-14", "won", 1000.0, "R1", "DE"),  # open Jun 25 .. Jan 26
    ]
    opp = pd.DataFrame(
        rows,
        columns=["opportunity_id", "created_date", "close_date", "status", "amount", "owner_id",
                 "region"],
    )  # fmt: skip
    for c in ("created_date", "close_date"):
        opp[c] = pd.to_datetime(opp[c])
    opp["stage"] = "Proposal"
    opp["account_id"] = ["A1", "A2", "A3", "A4"]
    k = compute_kpis(Tables(opportunities=opp), PARAMS, "2026-03")
    count = lambda period, seg="all": val(k, "pipeline_open_count", "month", period, seg)  # noqa: E731
    value = lambda period, seg="all": val(k, "pipeline_open_value", "month", period, seg)  # noqa: E731
    # end of March 2026: P1 and P2 (P4 won in Feb; P3 never open) -> 2 deals, 300 + nothing
    assert count("2026-03") == 2
    assert value("2026-03") == 300
    # end of January: P1 and P4 (P2 created in February) -> 300 + 1000
    assert count("2026-01") == 2
    assert value("2026-01") == 1300
    # the first reported month (April 2024, 24 months back): P1 alone, open for five years
    assert count("2024-04") == 1
    assert value("2024-04") == 300
    # UK at the end of March: P2 alone, its amount empty -> 1 deal worth 0
    assert count("2026-03", "region=UK") == 1
    assert value("2026-03", "region=UK") == 0
    # the same stock for every window ending in March: the value at the window's end
    assert val(k, "pipeline_open_value", "ytd", "2026-03") == 300
    # P3 (closed on Jan 20, created Mar 15) is in no month: DE at the end of March is P1 alone
    assert count("2026-03", "region=DE") == 1


def test_prior_is_the_same_window_and_segment_a_year_earlier():
    won = [  # close date, amount, region
        ("2025-02-10", 300.0, "UK"),
        ("2025-03-12", 500.0, "DE"),
        ("2026-03-05", 800.0, "DE"),
    ]
    opp = pd.DataFrame(
        {
            "opportunity_id": ["W1", "W2", "W3"],
            "account_id": ["A1", "A2", "A3"],
            "owner_id": ["R1", "R2", "R1"],
            "created_date": pd.to_datetime(["2025-01-05", "2025-01-20", "2026-02-01"]),
            "close_date": pd.to_datetime([d for d, _, _ in won]),
            "status": "won",
            "stage": "Closed Won",
            "amount": [a for _, a, _ in won],
            "region": [r for _, _, r in won],
        }
    )
    k = compute_kpis(Tables(opportunities=opp), PARAMS, "2026-03")
    prior = lambda w, p, seg="all": val(k, "revenue", w, p, seg, col="prior")  # noqa: E731
    # March 2026 against March 2025: 800 now, 500 then
    assert val(k, "revenue", "month", "2026-03") == 800
    assert prior("month", "2026-03") == 500
    # Q1 2026 to date (800) against Q1 2025 to March: 300 + 500
    assert prior("qtd", "2026-03") == 800
    # by segment: the UK sold nothing in March 2025 (0, the data had started), 300 in its Q1
    assert prior("month", "2026-03", "region=UK") == 0
    assert prior("qtd", "2026-03", "region=UK") == 300
    # and per rep: R2's March 2025 sale
    assert prior("month", "2026-03", "owner_id=R2") == 500
    # March 2025's own prior is March 2024, before the first month of data: empty, not 0
    assert np.isnan(prior("month", "2025-03"))
    # the count of won deals has its own prior: 1 deal in March 2025
    assert val(k, "deals_won", "month", "2026-03", col="prior") == 1


def test_activity_counts_add_every_activity_of_a_rep_in_a_month():
    """Several activities of one rep in one month each count (the source groups them by rep,
    region and month before it splits by segment); an activity without a timestamp counts in
    no month but its rep still gets a row; a rep missing from ``reps`` is region (none)."""
    acts = pd.DataFrame(
        {
            "activity_id": [f"A{i}" for i in range(1, 10)],
            "rep_id": ["R1", "R1", "R1", "R1", "R2", "R3", "R9", "R5", "R1"],
            "timestamp": pd.to_datetime(
                [
                    "2026-03-02 09:00",  # R1 call
                    "2026-03-02 09:00",  # R1 call, the same minute
                    "2026-03-20 16:00",  # R1 call
                    "2026-03-21 10:00",  # R1 email
                    "2026-03-05 11:00",  # R2 call (UK)
                    "2026-01-07 08:00",  # R3 call in January (DE)
                    "2026-03-09 13:00",  # R9 call: not in reps
                    None,  # R5 call: no timestamp, in no month
                    "2026-02-27 17:00",  # R1 email in February
                ]
            ),
            "type": ["call", "call", "call", "email", "call", "call", "call", "call", "email"],
        }
    )
    k = compute_kpis(Tables(activities=acts, reps=_reps()), PARAMS, "2026-03")
    # March calls: R1 3, R2 1, R9 1 = 5; by region: DE (R1) 3, UK (R2) 1, (none) (R9) 1
    assert val(k, "calls", "month", "2026-03") == 5
    assert val(k, "calls", "month", "2026-03", "owner_id=R1") == 3
    assert val(k, "calls", "month", "2026-03", "region=DE") == 3
    assert val(k, "calls", "month", "2026-03", "region=UK") == 1
    assert val(k, "calls", "month", "2026-03", "region=(none)") == 1
    # Q1: March's 5 and R3's January call = 6; DE: R1 3 + R3 1 = 4
    assert val(k, "calls", "qtd", "2026-03") == 6
    assert val(k, "calls", "qtd", "2026-03", "region=DE") == 4
    # emails: R1 one in March, one in February -> month 1, quarter 2
    assert val(k, "emails", "month", "2026-03", "owner_id=R1") == 1
    assert val(k, "emails", "qtd", "2026-03", "owner_id=R1") == 2
    # R5's only activity has no timestamp: a row, and nothing counted
    assert val(k, "calls", "month", "2026-03", "owner_id=R5") == 0
    assert val(k, "calls", "qtd", "2026-03", "owner_id=R5") == 0
