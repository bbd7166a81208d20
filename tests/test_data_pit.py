"""Point in time: a report for month M sees only what was knowable at the end of M."""

from __future__ import annotations

import pandas as pd

from salesreport.data import as_of, load_tables
from salesreport.tables import Tables
from tests.conftest_data import make_folder, make_params, opp

T = pd.Timestamp
M = "2026-10"


def _org(after: bool) -> dict[str, list[dict]]:
    """A tiny organisation; with ``after``, extra rows dated after October 2026 in every table."""
    opps = [
        opp("O1", "2026-08-01", "2026-09-15", "won", 100),
        opp(
            "O2",
            "2026-09-01",
            "2026-11-15",
            "won",
            200,
            probability="1",
            forecast_category="closed",
        ),
        opp("O3", "2026-09-10", "2026-12-01", "lost", 300, lost_reason="price"),
        opp("O4", "2026-10-05", "2027-01-31", "open", 400),
    ]
    hist = [
        {"opportunity_id": "O2", "stage": "Prospecting", "entered_date": "2026-09-01"},
        {"opportunity_id": "O2", "stage": "Proposal", "entered_date": "2026-10-10"},
        {"opportunity_id": "O2", "stage": "Closed Won", "entered_date": "2026-11-15"},
    ]
    leads = [
        {"lead_id": "L1", "created_date": "2026-08-01", "source": "web", "status": "converted", "owner_id": "R1",
         "region": "DE", "converted_date": "2026-08-20", "opportunity_id": "O1"},
        {"lead_id": "L2", "created_date": "2026-09-01", "source": "web", "status": "converted", "owner_id": "R1",
         "region": "DE", "converted_date": "2026-11-02", "opportunity_id": "O2"},
    ]  # fmt: skip
    acts = [
        {"activity_id": "A1", "rep_id": "R1", "timestamp": "2026-10-31T23:59:59", "type": "call"}
    ]
    orders = [{"order_id": "X1", "account_id": "A-O1", "order_date": "2026-10-31", "amount": "100"}]
    reps = [
        {"rep_id": "R1", "name": "Ann", "role": "ae", "region": "DE", "hire_date": "2025-01-01",
         "leave_date": "2026-12-31"},
    ]  # fmt: skip
    spend = [{"month": "2026-10", "category": "marketing", "amount": "50"}]
    subs = [
        {"submitted_date": "2026-10-01", "period": "2026-10", "category": "commit", "amount": "90"}
    ]
    targets = [{"period": "2026-11", "metric": "revenue", "value": "500"}]
    if after:
        opps.append(opp("O9", "2026-11-01", "2026-11-20", "won", 900))
        hist.append({"opportunity_id": "O9", "stage": "Closed Won", "entered_date": "2026-11-20"})
        leads.append({"lead_id": "L9", "created_date": "2026-11-01", "source": "web", "status": "new",
                      "owner_id": "R1", "region": "DE"})  # fmt: skip
        acts.append(
            {
                "activity_id": "A9",
                "rep_id": "R1",
                "timestamp": "2026-11-01T00:00:00",
                "type": "call",
            }
        )
        orders.append(
            {"order_id": "X9", "account_id": "A-O1", "order_date": "2026-11-01", "amount": "7"}
        )
        reps.append(
            {"rep_id": "R9", "name": "New", "role": "ae", "region": "DE", "hire_date": "2026-11-01"}
        )
        spend.append({"month": "2026-11", "category": "marketing", "amount": "60"})
        subs.append(
            {
                "submitted_date": "2026-11-01",
                "period": "2026-11",
                "category": "commit",
                "amount": "95",
            }
        )
    return {
        "opportunities": opps,
        "stage_history": hist,
        "leads": leads,
        "activities": acts,
        "orders": orders,
        "reps": reps,
        "spend": spend,
        "forecast_submissions": subs,
        "targets": targets,
    }


def test_adding_rows_dated_after_the_month_changes_nothing(tmp_path):
    before = load_tables(make_params(), make_folder(tmp_path / "a", **_org(False)), M)
    after = load_tables(make_params(), make_folder(tmp_path / "b", **_org(True)), M)
    for name, df in before.tables.items():
        pd.testing.assert_frame_equal(df, after.tables.get(name), obj=name)
    assert before.tables.present() == after.tables.present()


def test_opportunity_won_after_the_month_is_open_at_the_month(tmp_path):
    res = load_tables(make_params(), make_folder(tmp_path, **_org(True)), M)
    o = res.tables.opportunities.set_index("opportunity_id")
    assert o.loc["O1", "status"] == "won"  # closed 2026-09-15, before the end of October
    assert o.loc["O2", "status"] == "open"  # won 2026-11-15
    assert o.loc["O2", "close_date"] == T("2026-11-15")  # kept, as the expected close
    assert o.loc["O2", "stage"] == "Proposal"  # last stage entered by 2026-10-31
    assert pd.isna(o.loc["O2", "probability"]) and pd.isna(o.loc["O2", "forecast_category"])
    assert o.loc["O3", "status"] == "open" and pd.isna(o.loc["O3", "lost_reason"])
    assert "O9" not in o.index


def test_leads_reps_and_other_tables_are_cut(tmp_path):
    res = load_tables(make_params(), make_folder(tmp_path, **_org(True)), M)
    t = res.tables
    leads = t.leads.set_index("lead_id")
    assert leads.loc["L1", "opportunity_id"] == "O1"
    assert pd.isna(leads.loc["L2", "converted_date"]) and pd.isna(leads.loc["L2", "opportunity_id"])
    assert leads.loc["L2", "status"] == "working" and leads.loc["L1", "status"] == "converted"
    assert t.reps["rep_id"].tolist() == ["R1"] and t.reps["leave_date"].isna().all()
    assert t.activities["activity_id"].tolist() == ["A1"]  # 23:59:59 on the last day is in
    assert t.spend["month"].tolist() == ["2026-10"]
    assert t.targets["period"].tolist() == ["2026-11"]  # plans are kept
    q = res.quality.to_frame()
    cut = q[q["action"] == "after_month"].set_index(["table", "reason"])["count"]
    assert cut[("opportunities", "closed after 2026-10: open at the end of 2026-10")] == 2
    assert cut[("leads", "converted after 2026-10: conversion cleared")] == 1
    assert cut[("reps", "hire_date after 2026-10, dropped")] == 1


def test_as_of_on_tables_directly():
    opps = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2"],
            "created_date": [T("2026-10-01"), T("2026-11-02")],
            "close_date": [T("2026-11-01"), T("2026-11-03")],
            "status": ["won", "won"],
            "stage": ["Closed Won", "Closed Won"],
        }
    )
    leads = pd.DataFrame(
        {
            "lead_id": ["L1"],
            "created_date": [T("2026-10-01")],
            "converted_date": [T("2026-10-20")],
            "opportunity_id": ["O2"],  # converted in October, but O2 only exists from November
        }
    )
    cut, counts = as_of(Tables(opportunities=opps, leads=leads), "2026-10")
    assert cut.opportunities["status"].tolist() == ["open"]
    assert cut.leads["opportunity_id"].isna().all()
    assert opps["status"].tolist() == ["won", "won"]  # the input is not modified
    assert counts.set_index("reason")["count"].to_dict() == {
        "created_date after 2026-10, dropped": 1,
        "closed after 2026-10: open at the end of 2026-10": 1,
        "opportunity created after 2026-10: opportunity_id cleared": 1,
    }


def test_open_opportunity_gets_stage_at_month_and_loses_later_probability():
    opps = pd.DataFrame(
        {
            "opportunity_id": ["O1"],
            "created_date": [T("2026-09-01")],
            "close_date": [T("2027-01-31")],
            "status": ["open"],
            "stage": ["Negotiation"],
            "probability": [0.75],
            "forecast_category": ["commit"],
        }
    )
    hist = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O1", "O1"],
            "stage": ["Prospecting", "Discovery", "Negotiation"],
            "entered_date": [T("2026-09-01"), T("2026-10-31"), T("2026-11-01")],
        }
    )
    cut, _ = as_of(Tables(opportunities=opps, stage_history=hist), "2026-10")
    row = cut.opportunities.iloc[0]
    assert row["stage"] == "Discovery"  # entered on the last day of October
    assert pd.isna(row["probability"]) and pd.isna(row["forecast_category"])
    assert len(cut.stage_history) == 2


def test_a_month_before_the_data_starts_stops_with_the_first_month_to_choose(tmp_path):
    import pytest

    from salesreport.exceptions import DataError

    folder = make_folder(
        tmp_path,
        opportunities=[opp("O1", "2025-03-10", "2025-04-02", "won", 100)],
        orders=[
            {"order_id": "X1", "account_id": "A-O1", "order_date": "2025-05-01", "amount": 100}
        ],
    )
    with pytest.raises(DataError) as err:
        load_tables(make_params(), folder, "2025-02")
    assert str(err.value) == (
        "orders.csv: no row is dated on or before 28 February 2025, and neither is any row "
        "of opportunities.csv (the first is in March 2025). Choose --month 2025-03 or later."
    )
    # the month the first opportunity was opened: a report (revenue 0, nothing won yet)
    loaded = load_tables(make_params(), folder, "2025-03")
    assert len(loaded.tables.opportunities) == 1 and len(loaded.tables.orders) == 0


def test_revenue_before_the_first_sale_is_one_month_at_zero():
    from salesreport.revenue import monthly_revenue

    orders = pd.DataFrame(
        {"order_id": ["X1"], "account_id": ["A"], "order_date": [pd.Timestamp("2025-05-01")],
         "amount": [100.0]}
    ).iloc[0:0]  # fmt: skip
    y = monthly_revenue(Tables(orders=orders), end_month="2025-03")
    assert list(y.index.astype(str)) == ["2025-03"] and y.tolist() == [0.0]


# --------------------------------------------------------------------------- as_of on pandas


def test_as_of_without_copy_shares_only_unchanged_tables():
    from tests.test_kpis_fixtures import make_tables

    tables = make_tables(seed=4, n_opps=120, n_acts=150, n_reps=5)
    before = {name: df.copy() for name, df in tables.items()}
    cut, counts = as_of(tables, "2025-06")
    cut2, counts2 = as_of(tables, "2025-06", copy=False)
    pd.testing.assert_frame_equal(counts, counts2)
    for name, df in cut.items():
        pd.testing.assert_frame_equal(cut2.get(name), df, check_exact=True)
        pd.testing.assert_frame_equal(tables.get(name), before[name], check_exact=True)
    # cut again: nothing changes, so nothing is copied (and nothing modified)
    again, counts3 = as_of(cut2, "2025-06", copy=False)
    assert counts3.empty
    assert all(again.get(name) is df for name, df in cut2.items())


def test_tables_the_loader_cut_are_not_changed_by_a_second_cut(tmp_path):
    res = load_tables(make_params(), make_folder(tmp_path, **_org(True)), M)
    again, counts = as_of(res.tables, M, copy=False)
    assert counts.empty
    for name, df in res.tables.items():
        assert again.get(name) is df, name  # nothing to change: the same objects


def test_another_month_is_cut_again(tmp_path):
    res = load_tables(make_params(), make_folder(tmp_path, **_org(True)), M)
    earlier, counts = as_of(res.tables, "2026-09", copy=False)
    # O4 was created 2026-10-05 and A1 is dated 2026-10-31: both after September
    assert "O4" not in set(earlier.opportunities["opportunity_id"])
    assert earlier.activities.empty
    assert not counts.empty


def test_a_frame_changed_in_place_is_cut_by_its_values(tmp_path):
    res = load_tables(make_params(), make_folder(tmp_path, **_org(True)), M)
    opps = res.tables.opportunities
    # an opportunity moved into November after the load: the cut drops it
    opps.loc[opps["opportunity_id"] == "O1", "created_date"] = T("2026-11-20")
    cut, counts = as_of(res.tables, M, copy=False)
    assert "O1" not in set(cut.opportunities["opportunity_id"])
    # ... and lead L1's opportunity_id (O1, now created after the month) is cleared
    assert counts["reason"].tolist() == [
        "created_date after 2026-10, dropped",
        "opportunity created after 2026-10: opportunity_id cleared",
    ]
    # the rows are the frame's index labels: O1 is row 0, L1 row 0
    assert counts["rows"].tolist() == [[0], [0]]
    # a deal closed (won) after the month is open again
    opps2 = cut.opportunities
    opps2.loc[opps2["opportunity_id"] == "O4", ["status", "close_date"]] = ["won", T("2026-12-01")]
    recut, _ = as_of(cut, M, copy=False)
    o4 = recut.opportunities.set_index("opportunity_id").loc["O4"]
    assert o4["status"] == "open"
