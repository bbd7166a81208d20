"""Operational analyses, on tiny tables worked by hand."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from salesreport import analysis
from salesreport.html import add_toc, esc, heading, table, toc_placeholder
from salesreport.tables import Tables, filled
from salesreport.words import count

D = pd.Timestamp


def opps() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "opportunity_id": ["o1", "o2", "o3", "o4", "o5"],
            "account_id": ["a1", "a2", "a3", "a4", "a5"],
            "owner_id": ["r1", "r1", "r2", "r2", "r1"],
            "created_date": [
                D("2026-08-01"),
                D("2026-09-15"),
                D("2026-10-05"),
                D("2026-07-01"),
                D("2026-10-02"),
            ],
            "close_date": [
                D("2026-10-10"),
                D("2026-10-20"),
                D("2026-12-01"),
                D("2026-10-25"),
                D("2026-11-15"),
            ],
            "stage": ["Closed Won", "Proposal", "Discovery", "Closed Lost", "Proposal"],
            "status": ["won", "open", "open", "lost", "open"],
            "amount": [100.0, 200.0, 300.0, 400.0, 50.0],
            "region": ["DE"] * 5,
            "lost_reason": [None, None, None, "price", None],
        }
    )


def history() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "opportunity_id": ["o1", "o1", "o2", "o2", "o3", "o4", "o4", "o5"],
            "stage": ["Discovery", "Closed Won", "Discovery", "Proposal", "Discovery", "Discovery", "Closed Lost", "Proposal"],
            "entered_date": [D("2026-08-01"), D("2026-10-10"), D("2026-09-15"), D("2026-09-20"), D("2026-10-05"),
                             D("2026-07-01"), D("2026-10-25"), D("2026-10-02")],
        }
    )  # fmt: skip


def test_pipeline_by_stage_counts_deals_open_at_month_end_with_overdue_in_the_report_month():
    t = Tables(opportunities=opps(), stage_history=history())
    pb = analysis.pipeline_by_stage(t, "2026-10", ["Discovery", "Proposal"])
    # open at 2026-10-31: o2 (Proposal, expected 2026-10-20: overdue -> counted in 2026-10),
    # o3 (Discovery, 2026-12), o5 (Proposal, 2026-11). o1 won and o4 lost in October.
    got = {(r.stage, r.close_month): (r.value, r["count"]) for _, r in pb.iterrows()}
    assert got == {
        ("Discovery", "2026-12"): (300.0, 1),
        ("Proposal", "2026-10"): (200.0, 1),
        ("Proposal", "2026-11"): (50.0, 1),
    }
    assert list(pb["stage"]) == ["Discovery", "Proposal", "Proposal"]


def test_deals_needing_attention_give_every_reason():
    acts = pd.DataFrame(
        {
            "activity_id": ["x1", "x2"],
            "rep_id": ["r1", "r2"],
            "timestamp": [D("2026-10-30 10:00"), D("2026-09-01 10:00")],
            "type": ["call", "call"],
            "opportunity_id": ["o5", "o3"],
        }
    )
    t = Tables(opportunities=opps(), stage_history=history(), activities=acts)
    d = analysis.deals_needing_attention(
        t, "2026-10", stalled_days=30, no_activity_days=14
    ).set_index("opportunity_id")
    # o2: expected close 2026-10-20 passed; in Proposal since 2026-09-20 = 41 days; no activity at all
    assert d.loc["o2", "reasons"] == "close date passed; 41 days in stage; no activity in 14 days"
    # o3: last activity 2026-09-01, more than 14 days before 2026-10-31; 26 days in stage is fine
    assert d.loc["o3", "reasons"] == "no activity in 14 days"
    # o5: activity on 2026-10-30, 29 days in stage, close date in November: not listed
    assert "o5" not in d.index
    assert list(d.index) == ["o3", "o2"]  # largest amount first


@pytest.mark.parametrize("when, listed", [("2026-10-17 23:59", True), ("2026-10-18 00:00", False)])
def test_an_activity_clears_a_deal_from_the_first_moment_of_the_last_14_days(when, listed):
    """October ends on the 31st: the last 14 days start on 2026-10-18 at 00:00 (inclusive)."""
    acts = pd.DataFrame({"activity_id": ["x1"], "rep_id": ["r1"], "timestamp": [D(when)],
                         "type": ["call"], "opportunity_id": ["o5"]})  # fmt: skip
    t = Tables(opportunities=opps(), stage_history=history(), activities=acts)
    d = analysis.deals_needing_attention(t, "2026-10", stalled_days=30, no_activity_days=14)
    assert ("o5" in set(d["opportunity_id"])) is listed


def test_funnel_counts_each_step_in_the_window():
    leads = pd.DataFrame(
        {
            "lead_id": ["l1", "l2", "l3"],
            "created_date": [D("2026-01-10"), D("2026-05-01"), D("2025-09-01")],
            "source": ["web"] * 3,
            "status": ["converted", "working", "converted"],
            "owner_id": ["s1"] * 3,
            "region": ["DE"] * 3,
            "opportunity_id": ["o1", None, "o4"],
        }
    )
    f = analysis.funnel(Tables(opportunities=opps(), leads=leads), "2026-10", months=12)
    # window 2025-11-01..2026-10-31: leads l1, l2 (l3 is older); converted l1; opportunities created: all 5; won: o1
    assert dict(zip(f["step"], f["count"], strict=True)) == {
        "Leads created": 2, "Leads converted": 1, "Opportunities created": 5, "Deals won": 1,
    }  # fmt: skip


def _stage_case() -> Tables:
    """Worked by hand in test_stage_conversion_counts_lost_deals_apart_and_reconciles_with_the_win_rate."""
    rows = [  # opportunity, stage, entered
        ("a", "Prospecting", "2026-01-10"), ("a", "Qualification", "2026-02-01"),
        ("a", "Proposal", "2026-03-01"), ("a", "Closed Won", "2026-04-01"),
        ("b", "Prospecting", "2026-02-01"), ("b", "Closed Lost", "2026-02-20"),
        ("c", "Prospecting", "2026-03-01"), ("c", "Proposal", "2026-03-11"),
        ("c", "Qualification", "2026-04-01"),
        ("d", "Prospecting", "2025-06-01"), ("d", "Qualification", "2025-12-01"),
        ("d", "Closed Lost", "2026-05-01"),
        ("f", "Prospecting", "2025-01-01"), ("f", "Closed Won", "2025-08-01"),
        ("g", "Qualification", "2026-09-01"),
    ]  # fmt: skip
    sh = pd.DataFrame(rows, columns=["opportunity_id", "stage", "entered_date"])
    sh["entered_date"] = pd.to_datetime(sh["entered_date"])
    o = pd.DataFrame(
        {
            "opportunity_id": list("abcdefg"),
            "account_id": list("abcdefg"),
            "owner_id": ["r1"] * 7,
            "created_date": pd.to_datetime(["2026-01-10", "2026-02-01", "2026-03-01",
                                            "2025-06-01", "2026-05-01", "2025-01-01",
                                            "2026-09-01"]),
            "close_date": pd.to_datetime(["2026-04-01", "2026-02-20", "2026-12-01", "2026-05-01",
                                          "2026-06-01", "2025-08-01", "2026-11-15"]),
            "stage": ["Closed Won", "Closed Lost", "Qualification", "Closed Lost", "Closed Won",
                      "Closed Won", "Closed Lost"],
            "status": ["won", "lost", "open", "lost", "won", "won", "lost"],
            "amount": [10.0] * 7,
        }
    )  # fmt: skip
    return Tables(opportunities=o, stage_history=sh)


def test_stage_conversion_counts_lost_deals_apart_and_reconciles_with_the_win_rate():
    # the 12 months to October 2026: November 2025 to October 2026
    sc = analysis.stage_conversion(
        _stage_case(), "2026-10", stage_order=["Prospecting", "Qualification", "Proposal"]
    ).set_index("stage")
    assert list(sc.index) == ["Prospecting", "Qualification", "Proposal", "(no stage history)"]
    # Prospecting: entered by a, b, c in the window (d's entry is older); moved on: a and c
    # (c skipped to Proposal) and d (its move in December 2025 is in the window); b was
    # lost from it, which is not "moved on": 3 / (3 + 0 won + 1 lost) = 0.75
    p = sc.loc["Prospecting"]
    assert (p["entered"], p["moved_on"], p["won"], p["lost"]) == (3, 3, 0, 1)
    assert p["conversion"] == pytest.approx(0.75)
    # Qualification: entered by a, c, d, g; moved on: a (to Proposal); lost: d; g is lost
    # after the report month and c still sits there: 1 / (1 + 1) = 0.5
    q = sc.loc["Qualification"]
    assert (q["entered"], q["moved_on"], q["won"], q["lost"]) == (4, 1, 0, 1)
    assert q["conversion"] == pytest.approx(0.5)
    # Proposal: entered by a and c; a won from it; c moved back to Qualification
    r = sc.loc["Proposal"]
    assert (r["entered"], r["moved_on"], r["moved_back"], r["won"], r["lost"]) == (2, 0, 1, 1, 0)
    assert r["conversion"] == 1.0
    # e was won with no stage history; f closed before the window and counts nowhere
    assert sc.loc["(no stage history)", "won"] == 1 and sc["won"].sum() == 2
    # days in stage: Prospecting a 22, b 19, c 10; Qualification a 28, d 151; Proposal a 31, c 21
    assert sc["median_days"].tolist()[:3] == [19, 89.5, 26]
    # the won and lost columns are the window's deals won and lost: their win rate is the
    # win-rate KPI over the same 12 months (2 won, 2 lost)
    from salesreport.kpis import compute_kpis
    from salesreport.params import TeamParams

    k = compute_kpis(_stage_case(), TeamParams(team="t"), "2026-10")
    kpi = k[(k["metric"] == "win_rate") & (k["window"] == "trailing12")]
    kpi = kpi[(kpi["period"] == "2026-10") & (kpi["segment"] == "all")]["value"].iloc[0]
    assert sc["won"].sum() / (sc["won"].sum() + sc["lost"].sum()) == pytest.approx(kpi) == 0.5


def test_stage_conversion_orders_each_deals_entries_by_date_then_as_listed():
    """Worked by hand: entries on one day keep the table's order, rows out of date order are
    put in it, a missing stage is no move, and a deal closed without history has its row."""
    rows = [  # opportunity, stage, entered
        ("a", "Prospecting", "2026-10-01"), ("a", "Qualification", "2026-10-01"),
        ("a", "Closed Won", "2026-10-05"),
        ("b", "Qualification", "2026-10-02"), ("b", None, "2026-10-03"),
        ("b", "Proposal", "2026-10-04"),
        ("c", "Proposal", "2026-10-06"), ("c", "Prospecting", "2026-10-03"),
    ]  # fmt: skip
    sh = pd.DataFrame(rows, columns=["opportunity_id", "stage", "entered_date"])
    sh["entered_date"] = pd.to_datetime(sh["entered_date"])
    o = pd.DataFrame(
        {
            "opportunity_id": ["a", "b", "c", "d"],
            "status": ["won", "open", "lost", "won"],
            "close_date": [D("2026-10-05"), D("2026-12-01"), D("2026-10-20"), D("2025-11-15")],
        }
    )
    t = Tables(opportunities=o, stage_history=sh)
    order = ["Prospecting", "Qualification", "Proposal"]
    sc = analysis.stage_conversion(t, "2026-10", stage_order=order).set_index("stage")
    assert list(sc.index) == [*order, "(no stage history)"]
    # Prospecting: a (then Qualification the same day: 0 days) and c (then Proposal after
    # 3 days), both moved on. Qualification: a won from it (its last stage by 5 October,
    # 4 days), b's next entry has no stage (1 day): no move. Proposal: c lost from it.
    got = sc[["entered", "moved_on", "moved_back", "won", "lost"]].to_numpy().tolist()
    assert got == [[2, 2, 0, 0, 0], [2, 0, 0, 1, 0], [2, 0, 0, 0, 1], [0, 0, 0, 1, 0]]
    assert sc["conversion"].tolist() == [1.0, 1.0, 0.0, 1.0]
    assert sc["median_days"].tolist()[:2] == [1.5, 2.5] and np.isnan(sc["median_days"].iloc[2])
    assert sc["p75_days"].tolist()[:2] == [2.25, 3.25]  # 0 + 0.75 * 3 and 1 + 0.75 * 3
    # nothing entered by the end of December 2025: d, won in the window, is the only row
    early = analysis.stage_conversion(t, "2025-12", stage_order=order)
    assert early[["stage", "won", "lost"]].to_numpy().tolist() == [["(no stage history)", 1, 0]]


def test_stage_conversion_says_what_it_needs():
    with pytest.raises(ValueError, match="stage_history"):
        analysis.stage_conversion(Tables(opportunities=opps()), "2026-10")


def test_pipeline_waterfall_bridges_start_to_end():
    w = analysis.pipeline_waterfall(
        Tables(opportunities=opps(), stage_history=history()), "2026-10"
    )
    v = dict(zip(w["step"], w["value"], strict=True))
    # open at 2026-09-30: o1 100, o2 200, o4 400 = 700; created in Oct: o3 300 + o5 50 = 350
    # won in Oct: o1 100; lost: o4 400; open at end: o2 200 + o3 300 + o5 50 = 550
    assert (
        v["Open at start"] == 700 and v["Created"] == 350 and v["Won"] == -100 and v["Lost"] == -400
    )
    assert v["Open at end"] == 550 == v["Open at start"] + v["Created"] + v["Won"] + v["Lost"]
    # slipped: o2 expected to close 2026-10-20, still open
    assert v["Slipped"] == 200
    # advanced: entered a later stage in October after creation: none (o5's Proposal is its first stage)
    assert v["Advanced"] == 0


def test_pipeline_waterfall_counts_an_entry_any_time_on_the_last_day_and_outcomes_by_one_rule():
    """Advanced: an open deal that entered a stage in the month after its creation. o2's
    entry at 15:00 on 31 October counts; o3's " Closed Lost " (spaces, any case) is an
    outcome as in the stage conversion (salesreport.analysis._is_closed_stage), not a stage."""
    h = pd.concat(
        [
            history(),
            pd.DataFrame(
                {
                    "opportunity_id": ["o2", "o3"],
                    "stage": ["Negotiation", " Closed Lost "],
                    "entered_date": [D("2026-10-31 15:00"), D("2026-10-20")],
                }
            ),
        ],
        ignore_index=True,
    )
    w = analysis.pipeline_waterfall(Tables(opportunities=opps(), stage_history=h), "2026-10")
    assert dict(zip(w["step"], w["value"], strict=True))["Advanced"] == 200  # o2 only
    # without a stage history no "Advanced" step; with one, but nothing in the month: 0
    steps = analysis.pipeline_waterfall(Tables(opportunities=opps()), "2026-10")["step"]
    assert "Advanced" not in steps.tolist()
    old = history()[history()["entered_date"] < D("2026-10-01")]
    w = analysis.pipeline_waterfall(Tables(opportunities=opps(), stage_history=old), "2026-10")
    assert w["step"].iloc[-1] == "Advanced" and w["value"].iloc[-1] == 0


def test_bookings_leaderboard_against_quota():
    reps = pd.DataFrame(
        {"rep_id": ["r1", "r2", "r3"], "name": ["Ann", "Bob", "Cy"],
         "role": ["ae", "Account Executive", "ae"], "region": ["DE"] * 3,
         "hire_date": [D("2020-01-01")] * 3,
         "leave_date": [pd.NaT, pd.NaT, D("2026-09-30")]}
    )  # fmt: skip
    # r1: a yearly quota, 1200 / 12 = 100 a month; r2: quarterly 30 (10 a month) for Q1-Q3
    # and October's own row 40; r3 left before October (its row must not count)
    targets = pd.DataFrame(
        {"period": ["2026", "2026-Q1", "2026-Q2", "2026-Q3", "2026-10", "2026"],
         "metric": ["revenue"] * 6, "value": [1200.0, 30.0, 30.0, 30.0, 40.0, 999.0],
         "rep_id": ["r1", "r2", "r2", "r2", "r2", "r3"], "region": [None] * 6}
    )  # fmt: skip
    o = opps()
    o.loc[3, "owner_id"] = "r3"  # r3's lost deal: r3 gets no row, employed or not
    o.loc[2, "owner_id"] = "r2"
    o = pd.concat([o, o.iloc[[3]].assign(opportunity_id="o6", owner_id="r2")], ignore_index=True)
    lb = analysis.bookings_leaderboard(
        Tables(opportunities=o, reps=reps, targets=targets), "2026-10"
    ).set_index("owner_id")
    assert sorted(lb.index) == ["r1", "r2"]  # r3 left in September; "Account Executive" is an AE
    # r1: won o1 100 in October; quota YTD January-October = 10 x 100 = 1000 -> 0.1
    assert lb.loc["r1", "bookings_ytd"] == 100 and lb.loc["r1", "quota_ytd"] == 1000
    assert lb.loc["r1", "attainment"] == pytest.approx(0.1)
    assert lb.loc["r1", "pipeline_open"] == 250 and lb.loc["r1", "rep"] == "Ann"
    # r2: quota 9 x 10 + 40 = 130; nothing won, one lost (o6) -> win rate 0
    assert lb.loc["r2", "quota_ytd"] == 130 and lb.loc["r2", "bookings_ytd"] == 0
    assert lb.loc["r2", "win_rate_ytd"] == 0


def test_leaderboard_quota_is_the_kpi_engines_revenue_target_for_the_rep():
    """One rule for a month's quota: the leaderboard's months are kpis.csv's (YAML targets,
    a year's row / 12); the year to date sums the months that have one."""
    from salesreport.kpis import compute_kpis
    from salesreport.params import TeamParams

    reps = pd.DataFrame(
        {"rep_id": ["r1", "r2"], "name": ["Ann", "Bob"], "role": ["ae", "ae"],
         "region": ["DE"] * 2, "hire_date": [D("2020-01-01")] * 2}
    )  # fmt: skip
    params = TeamParams.model_validate(
        {"team": "t", "targets": [{"metric": "revenue", "period": "2026", "value": 600,
                                   "rep_id": "r1"},
                                  {"metric": "revenue", "period": "2026-10", "value": 50,
                                   "rep_id": "r2"}]}
    )  # fmt: skip
    t = Tables(opportunities=opps(), reps=reps)
    lb = analysis.bookings_leaderboard(t, "2026-10", params).set_index("owner_id")
    assert lb.loc["r1", "quota_ytd"] == 500  # 600 / 12 x 10 months
    assert lb.loc["r2", "quota_ytd"] == 50  # only October has a quota: r2 measured from then
    k = compute_kpis(t, params, "2026-10")
    ytd = k[(k["metric"] == "revenue") & (k["window"] == "ytd") & (k["period"] == "2026-10")]
    by_rep = ytd.set_index("segment")["target"]
    assert by_rep["owner_id=r1"] == 500  # the same month targets as kpis.csv's


def test_lost_reasons_share():
    lr = analysis.lost_reasons(Tables(opportunities=opps()), "2026-10")
    assert lr.to_dict("records") == [
        {"lost_reason": "price", "deals": 1, "value": 400.0, "share": 1.0}
    ]


def test_html_fragments_escape_data_and_build_a_table_of_contents():
    assert esc('<b a="1">') == "&lt;b a=&quot;1&quot;&gt;"
    page = toc_placeholder() + heading("Revenue <up> 5%") + heading("Pipeline")
    out = add_toc(page)
    assert '<a href="#revenue-up-5">Revenue &lt;up&gt; 5%</a>' in out and "<up>" not in out
    t = table(
        pd.DataFrame({"name": ["<script>"], "value": [1.5]}),
        formats={"value": lambda v: f"{v:.1f}"},
    )
    assert "&lt;script&gt;" in t and "<script>" not in t and '<td class="num">1.5</td>' in t


def reps_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rep_id": ["r1", "r2", "r3", "r4", "s1"],
            "name": ["Ann", "Bo", "Cy", None, "Sid"],
            "role": ["ae", "AE", "ae", "ae", "sdr"],
            "region": ["DE"] * 5,
            "hire_date": [D("2020-01-01"), D("2026-10-31"), D("2021-01-01"), pd.NaT, D("2020-01-01")],
            "leave_date": [pd.NaT, pd.NaT, D("2026-09-30"), D("2026-10-01"), pd.NaT],
        }
    )  # fmt: skip


def test_account_executives_are_the_aes_employed_in_the_month():
    t = Tables(opportunities=opps(), reps=reps_table())
    # r1 employed throughout; r2 hired on the month's last day (role "AE" in capitals);
    # r3 left the day before the month; r4 has no hire date: not employed, as the KPIs
    # count it (rules.employed); s1 is an SDR.
    assert analysis.account_executives(t, "2026-10") == ["r1", "r2"]
    assert analysis.account_executives(t, "2026-09") == ["r1", "r3"]
    t.reps.loc[3, "hire_date"] = D("2019-05-01")  # r4 left on October 1st: employed that day
    assert analysis.account_executives(t, "2026-10") == ["r1", "r2", "r4"]


def test_without_a_reps_table_every_owner_with_pipeline_or_a_close_in_the_month_gets_a_page():
    # October: r1 won o1 and has o2/o5 open, r2 has o3 open and lost o4 -> both.
    assert analysis.account_executives(Tables(opportunities=opps()), "2026-10") == ["r1", "r2"]
    # June 2026: o4 was created 2026-07-01, the others later -> nobody.
    assert analysis.account_executives(Tables(opportunities=opps()), "2026-06") == []


def test_rep_label_uses_the_name_and_falls_back_to_the_id():
    t = Tables(opportunities=opps(), reps=reps_table())
    assert analysis.rep_label(t, "r1") == "Ann (r1)"
    assert analysis.rep_label(t, "r4") == "r4"  # no name
    assert analysis.rep_label(Tables(opportunities=opps()), "r1") == "r1"  # no reps table


def test_rep_activity_sets_one_rep_beside_the_median_rep():
    acts = pd.DataFrame(
        {
            "activity_id": [f"a{i}" for i in range(10)],
            "rep_id": ["r1", "r1", "r1", "r2", "r3", "r3", "r3", "r1", "s1", "s1"],
            "type": [
                "call",
                "call",
                "email",
                "call",
                "email",
                "email",
                "meeting",
                "call",
                "call",
                "linkedin",
            ],
            "timestamp": [D("2026-10-01")] * 7 + [D("2026-09-30")] + [D("2026-10-02")] * 2,
        }
    )
    t = Tables(opportunities=opps(), activities=acts, reps=reps_table())
    got = analysis.rep_activity(t, "2026-10", "r1").set_index("type")
    # October per rep: r1 call 2 email 1; r2 call 1; r3 email 2 meeting 1 (r1's September
    # call is outside; s1 is an SDR: not one of r1's peers, and LinkedIn is only theirs).
    # Medians over the 3 AEs: call [2,1,0] -> 1; email [1,0,2] -> 1; meeting [0,0,1] -> 0.
    assert list(got.index) == ["call", "email", "meeting"]
    assert got["count"].tolist() == [2, 1, 0]
    assert got["team_median"].tolist() == [1.0, 1.0, 0.0]
    assert set(got["reps"]) == {3}
    # a rep with nothing logged in the month: zeros against the same medians
    assert analysis.rep_activity(t, "2026-10", "r4")["count"].tolist() == [0, 0, 0]


def test_table_headers_are_written_for_people_and_escaped():
    df = pd.DataFrame({"bookings_ytd": [1.0], "owner_id": ["r1"], "Median rep (3 reps)": [2.0],
                       "<b>x</b>": ["y"]})  # fmt: skip
    html = table(df)
    heads = re.findall(r"<th(?: [^>]*)?>(.*?)</th>", html)
    assert heads == ["Bookings YTD", "Owner ID", "Median rep (3 reps)", "&lt;b&gt;x&lt;/b&gt;"]


def test_data_bars_scale_to_the_largest_value_shown_and_skip_negatives_and_gaps():
    df = pd.DataFrame({"rep": ["a", "b", "c", "d"], "calls": [8.0, 2.0, -1.0, None]})
    html = table(df, bars=["calls"], formats={"calls": lambda v: "—" if pd.isna(v) else f"{v:.0f}"})
    # 8 is the largest: a 8/8 = 1, b 2/8 = 0.25; a negative or missing value has no bar.
    # Each bar leaves room for the column's longest text ("-1": 2 characters) and a gap.
    assert re.findall(r'--sr-bar:([\d.]+);--sr-room:(\d+)ch">([^<]*)<', html) == [
        ("1.000", "3", "8"), ("0.250", "3", "2"), ("0.000", "3", "-1"), ("0.000", "3", "—"),
    ]  # fmt: skip
    # a column with nothing above 0 gets plain cells
    assert "sr-databar" not in table(df.assign(calls=0.0), bars=["calls"])


def test_sdr_table_lists_the_sdrs_of_the_month_with_whole_counts():
    reps = pd.DataFrame(
        {
            "rep_id": ["s1", "s2", "s3", "s4", "r1"],
            "name": ["Sue", "Sam", "Sid", "Sol", "Ann"],
            "role": ["sdr", "sdr", "SDR", "sdr", "ae"],
            "region": ["DE"] * 5,
            "hire_date": [D("2025-01-01"), D("2020-01-01"), D("2020-01-01"), D("2026-10-20"), D("2020-01-01")],
            "leave_date": [pd.NaT, D("2024-06-30"), D("2024-06-30"), pd.NaT, pd.NaT],
        }
    )  # fmt: skip
    acts = pd.DataFrame(
        {
            "activity_id": ["a1", "a2", "a3", "a4", "a5", "a6"],
            "rep_id": ["s1", "s1", "s1", "s3", "r1", "s2"],
            "type": ["call", "call", "meeting", "email", "call", "call"],
            "timestamp": [D("2026-10-02"), D("2026-10-03"), D("2026-10-31 18:00"), D("2026-10-05"),
                          D("2026-10-06"), D("2026-09-30")],
        }
    )  # fmt: skip
    leads = pd.DataFrame(
        {
            "lead_id": ["l1", "l2", "l3"],
            "owner_id": ["s1", "s1", "s2"],
            "created_date": [D("2026-10-01"), D("2026-10-11"), D("2024-01-01")],
            "status": ["converted", "open", "open"],
            "converted_date": [D("2026-10-20"), pd.NaT, pd.NaT],
            "opportunity_id": ["o1", None, None],
        }
    )
    t = analysis.sdr_table(Tables(activities=acts, leads=leads, reps=reps), "2026-10")
    got = t.set_index("rep_id")
    # s1 employed and busy; s3 left in 2024 but logged an email in October (kept: busy);
    # s4 hired on 20 October (employed, nothing logged: zeros); s2 left in 2024 and only
    # logged in September (dropped, with their 2024 open lead); r1 is an AE.
    assert set(got.index) == {"s1", "s3", "s4"}
    assert got.loc["s1", ["call", "email", "linkedin", "meeting"]].tolist() == [2, 0, 0, 1]
    assert got.loc["s1", ["leads_created", "leads_converted"]].tolist() == [2, 1]
    assert got.loc["s1", "meeting_rate"] == pytest.approx(1 / 2)  # 1 meeting / 2 calls
    # the open lead l2: created 11 October, age at 31 October = 20 days
    assert got.loc["s1", "lead_age_days"] == pytest.approx(20)
    assert got.loc["s3", "meeting_rate"] == 0 and np.isnan(got.loc["s4", "meeting_rate"])
    assert str(t["call"].dtype).startswith("int") and t.iloc[0]["rep_id"] == "s1"


def test_team_activity_lists_every_rep_with_one_column_per_type_and_the_quiet_ones():
    reps = pd.DataFrame(
        {
            "rep_id": ["a1", "a2", "a3", "s1", "m1", "a9"],
            "name": ["Ann", "Bob", "Cy", "Sue", "Max", "Old"],
            "role": ["ae", "AE", "ae", "sdr", "manager", "ae"],
            "hire_date": [D("2020-01-01")] * 5 + [D("2019-01-01")],
            "leave_date": [pd.NaT] * 5 + [D("2025-06-30")],
        }
    )
    rows = [("a1", "call", "2026-10-01"), ("a1", "email", "2026-10-31 23:00"),
            ("a1", "proposal", "2026-10-10"), ("s1", "call", "2026-10-02"),
            ("s1", "call", "2026-10-03"), ("s1", "linkedin", "2026-10-04"),
            ("m1", "meeting", "2026-10-05"), ("a2", "call", "2026-09-30"),
            ("a2", "call", "2026-11-01")]  # fmt: skip
    acts = pd.DataFrame(
        {
            "activity_id": [f"x{i}" for i in range(len(rows))],
            "rep_id": [r for r, _, _ in rows],
            "type": [t for _, t, _ in rows],
            "timestamp": pd.to_datetime([d for _, _, d in rows], format="ISO8601"),
        }
    )
    t = analysis.team_activity(Tables(reps=reps, activities=acts), "2026-10")
    # October only: a1 call+email+proposal (3), s1 2 calls + 1 LinkedIn (3), m1 (a manager
    # who logged a meeting) 1. a2 and a3: AEs employed in October who logged nothing in it
    # (a2's calls fall on 30 Sep and 1 Nov): zeros. a9 left in 2025: not listed.
    # Ties on total read by name: Ann before Sue, Bob before Cy.
    assert t["rep"].tolist() == ["Ann", "Sue", "Max", "Bob", "Cy"]
    assert t.columns.tolist() == [
        "rep_id", "rep", "role", "call", "email", "linkedin", "meeting", "proposal", "total"
    ]  # fmt: skip
    got = t.set_index("rep_id")
    assert got.loc["a1", ["call", "email", "linkedin", "meeting", "proposal", "total"]].tolist() == [
        1, 1, 0, 0, 1, 3
    ]  # fmt: skip
    assert got.loc["s1", ["call", "linkedin", "total"]].tolist() == [2, 1, 3]
    assert got.loc["a2"].drop(["rep", "role"]).tolist() == [0] * 6
    assert got.loc["m1", "role"] == "manager" and got.loc["a2", "role"] == "AE"
    # without a reps table: only who logged something, named by id
    bare = analysis.team_activity(Tables(activities=acts), "2026-10")
    assert bare["rep_id"].tolist() == ["a1", "s1", "m1"] and "role" not in bare.columns


def test_team_activity_sums_the_smallest_extra_types_into_other():
    types = ["call", "email", "meeting", "linkedin", "proposal", "sms", "fax"]
    counts = [7, 6, 5, 4, 3, 2, 1]
    rows = [t for t, n in zip(types, counts, strict=True) for _ in range(n)]
    acts = pd.DataFrame(
        {
            "activity_id": [f"x{i}" for i in range(len(rows))],
            "rep_id": "a1",
            "type": rows,
            "timestamp": pd.Timestamp("2026-10-05"),
        }
    )
    t = analysis.team_activity(Tables(activities=acts), "2026-10", max_types=5)
    # the contract's order first (call, email, linkedin, meeting), then the rest summed
    assert t.columns.tolist()[2:] == ["call", "email", "linkedin", "meeting", "other", "total"]
    assert t.iloc[0, 2:].tolist() == [7, 6, 4, 5, 3 + 2 + 1, 28]


def test_account_names_fall_back_to_the_id_and_need_the_optional_name_column():
    accounts = pd.DataFrame(
        {"account_id": ["A1", "A2", "A2", "A3"], "name": ["Acme GmbH", "Beta SA", "Beta dup", None]}
    )
    got = analysis.account_names(Tables(accounts=accounts))
    assert got.to_dict() == {"A1": "Acme GmbH", "A2": "Beta SA", "A3": "A3"}  # first row kept
    assert analysis.account_names(Tables(accounts=accounts[["account_id"]])).empty
    assert analysis.account_names(Tables()).empty


def test_a_name_two_reps_share_carries_the_id_so_rows_never_merge():
    reps = pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3", "R4"],
            "name": ["Grace de Vries", "Grace de Vries", "Ana Ruiz", None],
        }
    )
    tables = Tables(reps=reps)
    got = analysis.rep_names(tables)
    assert got.to_dict() == {
        "R1": "Grace de Vries (R1)",
        "R2": "Grace de Vries (R2)",
        "R3": "Ana Ruiz",  # a name of its own stays as it is
        "R4": "R4",
    }
    # a page title names the rep once, with the id, whatever other reps are called
    assert analysis.rep_label(tables, "R1") == "Grace de Vries (R1)"
    assert analysis.rep_label(tables, "R3") == "Ana Ruiz (R3)"
    assert analysis.rep_label(tables, "R4") == "R4"
    # activity counted per rep: the two Graces are two rows, each with its own count
    acts = pd.DataFrame(
        {
            "activity_id": ["a1", "a2", "a3"],
            "rep_id": ["R1", "R2", "R2"],
            "type": ["call", "call", "call"],
            "timestamp": pd.to_datetime(["2026-10-02", "2026-10-03", "2026-10-04"]),
        }
    )
    by_rep = analysis.activity_by_rep(Tables(reps=reps, activities=acts), "2026-10")
    assert by_rep.set_index("rep")["count"].to_dict() == {
        "Grace de Vries (R1)": 1,
        "Grace de Vries (R2)": 2,
    }


def _leads(**optional) -> pd.DataFrame:
    base = {
        "lead_id": ["l1", "l2", "l3", "l4"],
        "created_date": [D("2026-09-01"), D("2026-10-01"), D("2026-10-21"), D("2026-10-05")],
        "source": ["web"] * 4,
        "status": ["converted", "junk", "open", "Closed - no budget"],
        "owner_id": ["s1"] * 4,
        "region": ["DE"] * 4,
    }
    return pd.DataFrame({**base, **optional})


def test_sdr_lead_age_follows_the_open_lead_rule_of_the_kpi():
    # At 31 October: l1 is 'converted' but its converted_date (5 November) comes later, so it is
    # open, 60 days old (1 Sep -> 31 Oct); l2 'junk' and l4 'closed...' are closed whatever
    # their age; l3 is open, 10 days old. Mean (60 + 10) / 2 = 35.
    leads = _leads(converted_date=[D("2026-11-05"), pd.NaT, pd.NaT, pd.NaT])
    t = analysis.sdr_table(Tables(leads=leads), "2026-10").set_index("rep_id")
    assert t.loc["s1", "lead_age_days"] == pytest.approx(35)
    # created in October: l2, l3, l4; none converted by 31 October (l1: September, and later)
    assert t.loc["s1", "leads_created"] == 3 and t.loc["s1", "leads_converted"] == 0


def test_converted_leads_use_the_opportunity_else_the_conversion_date_else_nothing():
    end = D("2026-10-31")
    with_opp = _leads(opportunity_id=["O1", None, "", "O4"])
    assert analysis.converted_leads(with_opp, end).tolist() == [True, False, False, True]
    dated = _leads(converted_date=[D("2026-10-02"), pd.NaT, D("2026-11-02"), pd.NaT])
    assert analysis.converted_leads(dated, end).tolist() == [True, False, False, False]
    bare = _leads()
    assert analysis.converted_leads(bare, end) is None
    # a leads table with only its required columns: no "Leads converted" step, no column
    steps = analysis.funnel(Tables(leads=bare), "2026-10")
    assert steps["step"].tolist() == ["Leads created"] and steps["count"].tolist() == [4]
    assert "leads_converted" not in analysis.sdr_table(Tables(leads=bare), "2026-10").columns


def test_counts_agree_with_their_noun():
    assert count(1, "row") == "1 row"
    assert count(0, "row") == "0 rows"
    assert count(1204, "activity", "activities") == "1,204 activities"
    assert count(1, "activity", "activities") == "1 activity"


def test_dates_and_numbers_in_tables_never_wrap():
    t = table(pd.DataFrame({"close": ["2026-12-30", "2026-11", "soon"], "amount": [1.0, 2.0, 3.0]}))
    assert '<td class="date">2026-12-30</td>' in t and '<td class="date">2026-11</td>' in t
    assert "<td>soon</td>" in t and '<td class="num">1.0</td>' in t
    from salesreport.html import house_css

    assert "td.date { white-space: nowrap; }" in house_css()


def test_closed_stage_names_are_outcomes_whatever_their_case_and_spaces():
    stage = pd.Series([" Closed Won", "closed-lost", "CLOSED", "Closing", None, float("nan"),
                       "Proposal", " Closed Won"], index=list("abcdefgh"))  # fmt: skip
    got = analysis._is_closed_stage(stage)
    assert got.tolist() == [True, True, True, False, False, False, False, True]
    assert list(got.index) == list("abcdefgh") and got.dtype == bool
    assert analysis._is_closed_stage(pd.Series([], dtype=object)).tolist() == []


def test_a_link_is_filled_when_a_value_is_there_and_not_blank():
    """Worked by hand: missing markers and blanks are not links; a number or a padded id is."""
    s = pd.Series(["L1", None, " ", "", np.nan, " L2 ", 3, pd.NaT], index=[9, 7, 5, 3, 1, 0, 2, 4])
    got = filled(s)
    assert got.dtype == bool
    assert got.tolist() == [True, False, False, False, False, True, True, False]
    assert filled(pd.Series([], dtype=object)).tolist() == []
