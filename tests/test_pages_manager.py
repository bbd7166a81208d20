"""The manager's and the AEs' pages, on small tables worked by hand."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from salesreport.pages import executive, forecast, manager, operations, rep, sdr
from salesreport.tables import Tables
from tests.pages_context import page_context
from tests.test_analysis import history, opps


@pytest.mark.parametrize(
    "call",
    [lambda ctx: manager.pipeline(ctx), lambda ctx: rep.pipeline(ctx, "r1")],
    ids=["team", "rep"],
)
@pytest.mark.parametrize("order", [["Proposal", "Discovery"], ["Discovery", "Proposal"]])
def test_stages_stack_in_the_teams_stage_order_not_by_size(call, order):
    # open at 2026-10-31 (tests/test_analysis.py): Proposal 200 + 50, Discovery 300, all
    # owned by r1 here. Stacked by size, Discovery would sit at the bottom whatever the order.
    params = page_context().params.model_copy(update={"stage_order": order})
    ctx = page_context(
        Tables(opportunities=opps().assign(owner_id="r1"), stage_history=history()), params=params
    )
    (fig,) = call(ctx).charts
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    present = [s for s in order if s in legend]
    assert legend == present[::-1]  # the legend reads top down: the last stage first


def test_team_activity_lists_every_rep_with_data_bars_and_names_the_quiet_ones():
    reps = pd.DataFrame(
        {
            "rep_id": ["a1", "a2", "s1"],
            "name": ["Ann", "Bob", "Sue"],
            "role": ["ae", "ae", "sdr"],
            "hire_date": pd.to_datetime(["2025-01-01"] * 3),
        }
    )
    # October: Ann 4 calls + 1 meeting, Sue 2 calls + 2 meetings; Bob logged nothing
    rows = [("a1", "call")] * 4 + [("a1", "meeting"), ("s1", "call"), ("s1", "call")]
    rows += [("s1", "meeting")] * 2
    acts = pd.DataFrame(
        {
            "activity_id": [f"x{i}" for i in range(len(rows))],
            "rep_id": [r for r, _ in rows],
            "type": [t for _, t in rows],
            "timestamp": pd.Timestamp("2026-10-05"),
        }
    )
    sec = manager.activity(page_context(Tables(reps=reps, activities=acts)))
    assert sec.title == "9 activities logged in October, 3 of them meetings; 1 rep logged none"
    table, note = sec.parts[0].html(), sec.parts[1].html()
    assert re.findall(r"<tr><td>(\w+)</td>", table) == ["Ann", "Sue", "Bob"]
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", table)
    assert headers == ["Rep", "Role", "Calls", "Meetings", "Total"]
    # bars against each column's busiest rep: calls Ann 4 -> 1, Sue 2/4; meetings Sue 2 -> 1,
    # Ann 1/2; Bob's zeros, bars of length 0; the total is a plain number
    bar = lambda row: re.findall(r"--sr-bar:([\d.]+)", row)  # noqa: E731
    body = {re.search(r"<td>(\w+)</td>", tr).group(1): tr for tr in table.split("<tr>")[2:]}
    assert bar(body["Ann"]) == ["1.000", "0.500"] and bar(body["Sue"]) == ["0.500", "1.000"]
    assert bar(body["Bob"]) == ["0.000", "0.000"]
    assert re.findall(r"<tr><td>\w+</td><td>(\w+)</td>", table) == ["AE", "SDR", "AE"]
    assert "employed in the month who logged nothing are listed with zeros" in note
    assert sec.frame["total"].tolist() == [5, 4, 0]  # the numbers, not the words
    # a month nobody logged anything in: the team is listed with zeros, whole numbers
    quiet = acts.assign(timestamp=pd.Timestamp("2026-09-05"))
    sec = manager.activity(page_context(Tables(reps=reps, activities=quiet)))
    assert sec.title == "No activity logged in October; 3 reps logged none"
    assert re.findall(r'<td class="num">([^<]*)</td>', sec.parts[0].html()) == ["0", "0", "0"]


def _many_deals(n: int) -> pd.DataFrame:
    """``n`` open deals whose close date passed, amounts 1..n."""
    return pd.DataFrame(
        {
            "opportunity_id": [f"o{i}" for i in range(1, n + 1)],
            "account_id": "a1",
            "owner_id": "r1",
            "created_date": pd.Timestamp("2026-01-01"),
            "close_date": pd.Timestamp("2026-09-30"),
            "stage": "Proposal",
            "status": "open",
            "amount": [float(i) for i in range(1, n + 1)],
        }
    )


def test_deals_needing_attention_beyond_the_page_are_all_in_a_csv_beside_it(tmp_path):
    # 30 deals need attention, the page shows the 25 largest; every one of them is in
    # deals-needing-attention.csv in the run's folder, which the table links
    ctx = page_context(Tables(opportunities=_many_deals(30)), folder=tmp_path)
    sec = manager.attention(ctx)
    assert sec.title == "30 open deals need attention, worth €465"  # 1 + ... + 30
    html = sec.html()
    assert "Showing 25 of 30 rows." in html
    assert '<a href="deals-needing-attention.csv">All 30 rows as CSV</a>' in html
    csv = pd.read_csv(tmp_path / "files" / "deals-needing-attention.csv")
    assert len(csv) == 30 and csv["amount"].tolist() == [float(i) for i in range(30, 0, -1)]
    assert csv["close_date"].iloc[0] == "2026-09-30"
    # without a run's folder (JupyterLab) nothing is written: the frame holds every row
    sec = manager.attention(page_context(Tables(opportunities=_many_deals(30))))
    assert "Showing 25 of 30 rows." in sec.html() and ".csv" not in sec.html()
    assert len(sec.frame) == 30
    # a table that fits writes nothing
    small = manager.attention(
        page_context(Tables(opportunities=_many_deals(3)), folder=tmp_path / "x")
    )
    assert ".csv" not in small.html() and not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("section", "heading"),
    [
        (manager.pipeline, "Pipeline: no opportunities table in the data"),
        (manager.attention, "Deals needing attention: no opportunities table in the data"),
        (manager.attainment, "Attainment: no opportunities table in the data"),
        (manager.activity, "Team activity: no activities table in the data"),
        (operations.waterfall, "Pipeline bridge: no opportunities table in the data"),
        (operations.stages, "Stage conversion and bottlenecks: no stage_history table in the data"),
        (sdr.sdrs, "SDR activity: no activities table in the data"),
        (lambda ctx: sdr.trends(ctx)[0], "SDR trends: no leads table in the data"),
        (sdr.funnel, "SDR funnel: no activities table in the data"),
        (
            forecast.submissions,
            "The team's own forecast calls: no forecast_submissions table in the data",
        ),
    ],
)
def test_a_section_without_its_table_has_a_heading_and_says_what_unlocks_it(section, heading):
    sec = section(page_context())
    assert sec.title == heading and sec.level == 2  # listed in the page's contents
    assert "to the team&#x27;s data folder to unlock it" in sec.html()


def test_an_ae_without_any_opportunity_gets_an_empty_pipeline_not_an_error():
    ctx = page_context(Tables(opportunities=opps(), stage_history=history()))
    sec = rep.pipeline(ctx, "r9")  # r9 owns no opportunity
    assert sec.title == "r9: no open deals at the end of October 2026" and sec.frame.empty


def test_the_team_pages_show_the_same_win_loss_section():
    assert manager.win_loss is executive.win_loss


def test_the_attainment_chart_says_against_quota_only_when_it_draws_one():
    # without a quota (no targets table) the bars are bookings alone, and the chart says so;
    # with r1's yearly quota (1,200: 1,000 to October) it draws the quota and names it
    ctx = page_context(Tables(opportunities=opps(), stage_history=history()))
    sec = manager.attainment(ctx)
    assert sec.title == "Bookings year to date by account executive (no quotas set)"
    assert sec.charts[0]._suptitle.get_text() == "Bookings year to date (EUR)"
    targets = pd.DataFrame(
        {"period": ["2026"], "metric": ["revenue"], "value": [1200.0], "rep_id": ["r1"],
         "region": [None]}
    )  # fmt: skip
    ctx = page_context(Tables(opportunities=opps(), stage_history=history(), targets=targets))
    sec = manager.attainment(ctx)
    fig = sec.charts[0]
    assert fig._suptitle.get_text() == "Bookings year to date against quota (EUR)"
    # the chart calls the quota a quota, as its title and the table do
    # r1 booked 100 of 1,000, r2 has no quota: the legend names those two colours only
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["Below quota", "No quota", "Quota"]
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "€100  (10% of quota)" in labels
    assert not any("target" in t for t in labels + legend)
    # with a quota of 60 r1 is above it (an AE's own page shows one bar: no "Below quota")
    ctx = page_context(
        Tables(opportunities=opps(), stage_history=history(), targets=targets.assign(value=60.0))
    )
    fig = manager.attainment(ctx, "r1").charts[0]
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["At or above quota", "Quota"]
