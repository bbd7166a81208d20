"""The SDRs' page, on small tables worked by hand."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from salesreport import analysis
from salesreport.pages import sdr
from salesreport.tables import Tables
from tests.pages_context import page_context


def test_the_sdr_table_ranks_by_meetings_and_names_its_columns_for_people():
    reps = pd.DataFrame(
        {
            "rep_id": ["s1", "s2", "s3", "a1"],
            "name": ["Sam", "Kim", "Lee", "Ann"],
            "role": ["sdr", "sdr", "sdr", "ae"],
            "hire_date": pd.to_datetime(["2025-01-01"] * 4),
        }
    )
    # October: Sam 5 calls + 1 meeting, Kim 1 call + 2 meetings, Lee 9 calls + 1 meeting.
    # By meetings Kim (2) leads; Lee and Sam tie on 1 and Lee's 10 activities beat Sam's 6.
    # The AE's meeting is the team's, not an SDR's.
    rows = [("s1", "call")] * 5 + [("s1", "meeting")] + [("s2", "call")] + [("s2", "meeting")] * 2
    rows += [("s3", "call")] * 9 + [("s3", "meeting")] + [("a1", "meeting")]
    acts = pd.DataFrame(
        {
            "activity_id": [f"x{i}" for i in range(len(rows))],
            "rep_id": [r for r, _ in rows],
            "type": [t for _, t in rows],
            "timestamp": pd.Timestamp("2026-10-05"),
        }
    )
    sec = sdr.sdrs(page_context(Tables(reps=reps, activities=acts)))
    assert sec.title == "SDRs booked 4 of the team's 5 meetings in October"
    table, note = sec.parts[0].html(), sec.parts[1].html()
    assert re.findall(r"<tr><td>(\w+)</td>", table) == ["Kim", "Lee", "Sam"]
    assert sec.frame["rep"].tolist() == ["Kim", "Lee", "Sam"]
    # data bars, each against the column's largest: calls Lee 9 -> 1, Sam 5/9, Kim 1/9;
    # meetings Kim 2 -> 1, Lee and Sam 1/2; no email at all: no bars in that column
    cells = {
        row[0][1]: row[1:]
        for row in (re.findall(r"<td([^>]*)>([^<]*)</td>", tr) for tr in table.split("<tr>")[2:])
    }
    bar = lambda attrs: (re.findall(r"--sr-bar:([\d.]+)", attrs) or [None])[0]  # noqa: E731
    assert {name: [bar(a) for a, _ in c[:4]] for name, c in cells.items()} == {
        "Kim": ["0.111", None, None, "1.000"],
        "Lee": ["1.000", None, None, "0.500"],
        "Sam": ["0.556", None, None, "0.500"],
    }
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", table)
    assert headers[:5] == ["SDR", "Calls", "Emails", "LinkedIn requests", "Meetings booked"]
    assert "Meetings per touch" in headers
    # Kim: 2 meetings / 1 touch = 200%; Sam: 1 / 5 = 20%
    assert re.search(r"Kim</td>.*200%", table) and re.search(r"Sam</td>.*20%", table)
    assert "Meetings per touch: meetings booked over calls" in note


def test_lead_conversion_trend_states_no_change_on_last_year_against_older_leads():
    # the KPI counts each month's leads converted by the end of the report month, so
    # October's 7% and last October's 23% are not alike: no "-70% on last year"
    periods = [str(p) for p in pd.period_range("2025-10", "2026-10", freq="M")]
    rows = []
    for metric, value, prior in [("lead_conversion_rate", 0.07, 0.23), ("meetings", 90, 100)]:
        rows += [
            {"metric": metric, "window": "month", "period": p, "segment": "all",
             "value": value, "target": np.nan, "prior": prior,
             "unit": "ratio" if "rate" in metric else "count"}
            for p in periods
        ]  # fmt: skip
    status = pd.DataFrame(rows).assign(status=None, benchmark=np.nan, yoy_change=np.nan)
    out = sdr.trends(page_context(status=status))
    assert out[0].title == "Meetings booked: 90 this month (−10% on last year)"
    assert out[1].title == (
        "Lead conversion rate: 7% of October's leads converted so far "
        "(October 2025's: 23%, with a year longer to convert)"
    )
    assert "converted by the end of October 2026" in out[1].html()
    # one cell shows them all, as one output
    assert out._repr_html_().count('<section class="sr-section') == 2


def test_each_trend_chart_names_only_what_it_draws():
    # a team in its first year: meetings have a target and no last year, leads created
    # neither, lead conversion a last year only; each chart's title says what it draws
    # ("... by month, with last year" over a lone line misled a reader)
    periods = [str(p) for p in pd.period_range("2026-08", "2026-10", freq="M")]
    rows = []
    for metric, target, prior in [
        ("meetings", 50.0, np.nan),
        ("leads_created", np.nan, np.nan),
        ("lead_conversion_rate", np.nan, 0.2),
    ]:
        rows += [
            {"metric": metric, "window": "month", "period": p, "segment": "all",
             "value": 0.1 if "rate" in metric else 60.0, "target": target, "prior": prior,
             "unit": "ratio" if "rate" in metric else "count"}
            for p in periods
        ]  # fmt: skip
    status = pd.DataFrame(rows).assign(status=None, benchmark=np.nan, yoy_change=np.nan)
    out = sdr.trends(page_context(status=status))
    titles = [sec.charts[0]._suptitle.get_text() for sec in out]
    assert titles == [
        "Meetings booked by month, with target",
        "Leads created by month",
        "Lead conversion rate by month, with last year",
    ]
    for sec in out:  # and the legend has no more than that
        legend = sec.charts[0].axes[0].get_legend()
        names = [t.get_text() for t in legend.get_texts()] if legend else []
        assert "Target" not in names or "target" in sec.charts[0]._suptitle.get_text()
        assert (
            "Same month last year" not in names or "last year" in sec.charts[0]._suptitle.get_text()
        )


def test_sdr_funnel_counts_touches_meetings_and_opportunities_from_sdr_leads():
    reps = pd.DataFrame(
        {"rep_id": ["s1", "s2", "a1"], "name": ["Sam", "Kim", "Ann"], "role": ["sdr", "SDR", "ae"]}
    )
    # October: s1 2 calls + 1 email + 1 meeting, s2 1 LinkedIn + 1 meeting; the AE's call and
    # meeting are not the SDRs'; s1's September call is outside the month.
    rows = [
        ("s1", "call", "2026-10-02"), ("s1", "call", "2026-10-03"), ("s1", "email", "2026-10-04"),
        ("s1", "meeting", "2026-10-05"), ("s2", "linkedin", "2026-10-06"),
        ("s2", "meeting", "2026-10-31 18:00"), ("a1", "call", "2026-10-07"),
        ("a1", "meeting", "2026-10-08"), ("s1", "call", "2026-09-30"),
    ]  # fmt: skip
    acts = pd.DataFrame(
        {
            "activity_id": [f"x{i}" for i in range(len(rows))],
            "rep_id": [r[0] for r in rows],
            "type": [r[1] for r in rows],
            "timestamp": pd.to_datetime([r[2] for r in rows], format="ISO8601"),
        }
    )
    leads = pd.DataFrame(
        {
            "lead_id": ["l1", "l2", "l3"],
            "created_date": pd.to_datetime(["2026-09-01", "2026-10-01", "2026-10-02"]),
            "source": "web",
            "status": "converted",
            "owner_id": ["s1", "s2", "a1"],
            "region": "DE",
            "opportunity_id": ["O1", "O2", "O3"],
        }
    )
    # O1 created in October from s1's lead, O2 in November (later), O3 from the AE's lead
    opps = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2", "O3"],
            "created_date": pd.to_datetime(["2026-10-10", "2026-11-02", "2026-10-11"]),
        }
    )
    ctx = page_context(Tables(reps=reps, activities=acts, leads=leads, opportunities=opps))
    f = analysis.sdr_funnel(ctx.tables, "2026-10")
    assert f.values.tolist() == [
        ["Touches", 4],  # 2 calls + 1 email + 1 LinkedIn
        ["Meetings booked", 2],
        ["Opportunities from their leads", 1],  # O1
    ]
    # 4 touches / 2 meetings = one meeting per 2 touches
    assert sdr.funnel(ctx).title == (
        "One meeting booked per 2 touches, 1 new opportunity from SDR leads in October 2026"
    )


@pytest.mark.parametrize(
    ("touches", "meetings", "expected"),
    [
        (4, 2, "One meeting booked per 2 touches"),
        (3, 2, "One meeting booked per 2 touches"),  # 1.5 rounds to 2
        (1, 1, "One meeting booked per 1 touch"),
        (1, 3, "3.0 meetings booked per touch"),  # 1 / 3 rounds to 0: say it the other way
        (5, 0, "No meeting booked from 5 touches"),
    ],
)
def test_sdr_funnel_heading_reads_right_whatever_the_ratio(touches, meetings, expected):
    reps = pd.DataFrame({"rep_id": ["s1"], "name": ["Sam"], "role": ["sdr"]})
    kinds = ["call"] * touches + ["meeting"] * meetings
    acts = pd.DataFrame(
        {
            "activity_id": [f"x{i}" for i in range(len(kinds))],
            "rep_id": "s1",
            "type": kinds,
            "timestamp": pd.Timestamp("2026-10-05"),
        }
    )
    assert sdr.funnel(page_context(Tables(reps=reps, activities=acts))).title == (
        f"{expected} in October 2026"
    )
