"""Audience sections built from small tables worked by hand."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from salesreport import views
from salesreport.context import ReportContext
from salesreport.params import load_params
from salesreport.tables import Tables
from tests.test_analysis import history, opps

STATUS_COLUMNS = ["metric", "window", "period", "segment", "value", "target", "prior", "unit"]


def _ctx(tables: Tables | None = None, status: pd.DataFrame | None = None, params=None):
    """A context for October 2026 on ``tables``, with ``status`` as its kpi_status frame
    (empty, with its columns, by default)."""
    if status is None:
        status = pd.DataFrame(columns=[*STATUS_COLUMNS, "status", "benchmark", "yoy_change"])
    return ReportContext(
        params=params or load_params("emea"),
        month="2026-10",
        tables=tables or Tables(),
        frames={"kpi_status": status},
        notes={},
    )


@pytest.mark.parametrize(
    "call",
    [lambda ctx: views.pipeline_section(ctx), lambda ctx: views.rep_pipeline_section(ctx, "r1")],
    ids=["team", "rep"],
)
@pytest.mark.parametrize("order", [["Proposal", "Discovery"], ["Discovery", "Proposal"]])
def test_stages_stack_in_the_teams_stage_order_not_by_size(call, order):
    # open at 2026-10-31 (tests/test_analysis.py): Proposal 200 + 50, Discovery 300, all
    # owned by r1 here. Stacked by size, Discovery would sit at the bottom whatever the order.
    params = load_params("emea").model_copy(update={"stage_order": order})
    ctx = _ctx(
        Tables(opportunities=opps().assign(owner_id="r1"), stage_history=history()), params=params
    )
    fig = call(ctx)[1]
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    present = [s for s in order if s in legend]
    assert legend == present[::-1]  # the legend reads top down: the last stage first


def test_sdr_section_ranks_by_meetings_and_names_its_columns_for_people():
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
    ctx = _ctx(Tables(reps=reps, activities=acts))
    heading, table, note = views.sdr_section(ctx)
    assert "SDRs booked 4 of the team&#x27;s 5 meetings in October" in heading
    assert re.findall(r"<tr><td>(\w+)</td>", table) == ["Kim", "Lee", "Sam"]
    # data bars, each against the column's largest: calls Lee 9 -> 1, Sam 5/9, Kim 1/9;
    # meetings Kim 2 -> 1, Lee and Sam 1/2; no email at all: no bars in that column
    cells = {
        row[0][1]: row[1:]
        for row in (re.findall(r"<td([^>]*)>([^<]*)</td>", tr) for tr in table.split("<tr>")[2:])
    }
    bar = lambda attrs: (re.findall(r"--sr-bar:([\d.]+)", attrs) or [None])[0]  # noqa: E731
    # columns after SDR: Calls, Emails, LinkedIn requests, Meetings booked
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


def test_team_activity_section_lists_every_rep_with_data_bars_and_names_the_quiet_ones():
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
    heading, table, note = views.activity_section(_ctx(Tables(reps=reps, activities=acts)))
    assert "9 activities logged in October, 3 of them meetings; 1 rep logged none" in heading
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
    # a month nobody logged anything in: the team is listed with zeros, whole numbers
    quiet = acts.assign(timestamp=pd.Timestamp("2026-09-05"))
    heading, table, _ = views.activity_section(_ctx(Tables(reps=reps, activities=quiet)))
    assert "No activity logged in October; 3 reps logged none" in heading
    assert re.findall(r'<td class="num">([^<]*)</td>', table) == ["0", "0", "0"]


def test_win_loss_is_one_table_with_deals_and_value_as_data_bars():
    # lost in the 12 months to October 2026: price 3 deals (100 + 100 + 100), "<b>rival</b>"
    # 1 deal (600); a loss of September 2025 is outside the window, a won deal is not a loss
    o = pd.DataFrame(
        {
            "status": ["lost"] * 5 + ["won"],
            "close_date": pd.to_datetime(["2026-10-01", "2026-01-15", "2025-11-01",
                                          "2026-06-30", "2025-09-30", "2026-10-02"]),
            "amount": [100.0, 100.0, 100.0, 600.0, 5000.0, 900.0],
            "lost_reason": ["price", "price", "price", "<b>rival</b>", "price", None],
        }
    )  # fmt: skip
    heading, table, note = views.win_loss(_ctx(Tables(opportunities=o)))
    assert "“price” behind 75% of lost deals in the last 12 months" in heading
    assert "&lt;b&gt;rival&lt;/b&gt;" in table and "<b>rival" not in table
    bar = lambda row: re.findall(r"--sr-bar:([\d.]+)", row)  # noqa: E731
    rows = table.split("<tr>")[2:]
    # deals: price 3 -> 1, rival 1/3; value: price 300/600, rival 600 -> 1
    assert bar(rows[0]) == ["1.000", "0.500"] and bar(rows[1]) == ["0.333", "1.000"]
    assert "(by close date)" in note and "October 2026" in note


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
    status = pd.DataFrame(rows).assign(status="none", benchmark=np.nan, yoy_change=np.nan)
    out = views.sdr_trend_section(_ctx(status=status))
    headings = [o for o in out if isinstance(o, str) and o.startswith("<h2")]
    assert "Meetings booked: 90 this month (-10% on last year)" in headings[0]
    assert (
        "Lead conversion rate: 7% of October&#x27;s leads converted so far "
        "(October 2025&#x27;s: 23%, with a year longer to convert)" in headings[1]
    )
    assert "on last year" not in headings[1]
    assert any("converted by the end of October 2026" in o for o in out if isinstance(o, str))


def test_segments_read_as_words_with_rep_and_account_names():
    tables = Tables(
        reps=pd.DataFrame({"rep_id": ["R1"], "name": ["Kira Martin"]}),
        accounts=pd.DataFrame({"account_id": ["A1"], "name": ["Acme GmbH"]}),
    )
    ctx = _ctx(tables)
    label = lambda s: views.segment_label(ctx, s)  # noqa: E731
    assert label("all") == "the team"
    assert label("region=DE") == "region DE"
    assert label("lead_source=web") == "lead source web"
    assert label("owner_id=R1") == "rep Kira Martin"
    assert label("owner_id=R9") == "rep R9"  # not in the reps table: the id
    assert label("account_id=A1") == "account Acme GmbH"


def _status(rows) -> pd.DataFrame:
    cols = ["metric", "segment", "value", "prior", "unit"]
    f = pd.DataFrame(rows, columns=cols).assign(window="month", period="2026-10", target=np.nan)
    return f.assign(status="none", benchmark=np.nan, yoy_change=np.nan)


def test_what_changed_names_the_segment_and_its_move_in_the_metrics_unit():
    reps = pd.DataFrame({"rep_id": ["R1", "R2"], "name": ["Kira Martin", "Ravi Roy"]})
    status = _status(
        [
            # revenue 200 against 100: +100%; region DE moved +100 (150 - 50), FR 0
            ("revenue", "all", 200.0, 100.0, "EUR"),
            ("revenue", "region=DE", 150.0, 50.0, "EUR"),
            ("revenue", "region=FR", 50.0, 50.0, "EUR"),
            # win rate 0.30 against 0.60: -50%; R2's 0.20 against 0.70 is -50 points
            ("win_rate", "all", 0.30, 0.60, "ratio"),
            ("win_rate", "owner_id=R1", 0.40, 0.50, "ratio"),
            ("win_rate", "owner_id=R2", 0.20, 0.70, "ratio"),
        ]
    )
    ctx = _ctx(Tables(reps=reps), status)
    text = views.biggest_changes(ctx)[1]
    assert "up 100% on last year (€200 against €100); largest move in region DE (+€100)" in text
    assert "down 50% on last year (30% against 60%); largest move in rep Ravi Roy (−50 pts)" in text


@pytest.mark.parametrize("target", [np.nan, 90.0])
def test_executive_charts_and_notes_mention_a_target_only_when_there_is_one(target):
    rows = []
    for window in ("month", "ytd"):
        for period, value in (("2026-09", 80.0), ("2026-10", 100.0)):
            status = "none" if np.isnan(target) else "green"
            rows.append(("revenue", window, period, "all", value, target, 70.0, "EUR", status))
    cols = ["metric", "window", "period", "segment", "value", "target", "prior", "unit", "status"]
    status = pd.DataFrame(rows, columns=cols).assign(benchmark=np.nan, yoy_change=np.nan)
    ctx = _ctx(status=status)
    note = "Colours compare each value with its target"
    head = "".join(x for x in views.executive_headline(ctx) if isinstance(x, str))
    heading, fig = views.revenue_trend(ctx)
    if np.isnan(target):
        assert note not in head
        assert heading.endswith("Monthly revenue against last year</h2>")
        assert (
            fig._suptitle.get_text() == "Monthly revenue (EUR): actual and the same month last year"
        )
    else:
        assert note in head
        assert "Revenue in Oct 2026 above its monthly target" in heading
        assert fig._suptitle.get_text() == (
            "Monthly revenue (EUR): actual, target and the same month last year"
        )


@pytest.mark.parametrize(
    ("section", "heading"),
    [
        (views.pipeline_section, "Pipeline: no opportunities table in the data"),
        (views.attention_section, "Deals needing attention: no opportunities table in the data"),
        (views.attainment_section, "Attainment: no opportunities table in the data"),
        (views.activity_section, "Team activity: no activities table in the data"),
        (views.waterfall_section, "Pipeline bridge: no opportunities table in the data"),
        (views.sdr_section, "SDR activity: no activities table in the data"),
        (views.sdr_trend_section, "SDR trends: no leads table in the data"),
        (views.sdr_funnel_section, "SDR funnel: no activities table in the data"),
    ],
)
def test_a_section_without_its_table_has_a_heading_and_says_what_unlocks_it(section, heading):
    out = section(_ctx())
    assert heading in out[0] and "<h2" in out[0]  # listed in the page's contents
    assert "to the team&#x27;s data folder to unlock it" in out[1]


def test_an_ae_without_any_opportunity_gets_an_empty_pipeline_not_an_error():
    ctx = _ctx(Tables(opportunities=opps(), stage_history=history()))
    (heading,) = views.rep_pipeline_section(ctx, "r9")  # r9 owns no opportunity
    assert "r9: no open deals at the end of October 2026" in heading


def test_a_chart_with_no_rows_is_explained_in_plain_words():
    note = views._try_chart(views.charts.funnel, pd.DataFrame(columns=["step", "count"]), "t")
    assert "Nothing to chart" in note and "funnel" not in note


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
    ctx = _ctx(Tables(reps=reps, activities=acts, leads=leads, opportunities=opps))
    f = views.analysis.sdr_funnel(ctx.tables, "2026-10")
    assert f.values.tolist() == [
        ["Touches", 4],  # 2 calls + 1 email + 1 LinkedIn
        ["Meetings booked", 2],
        ["Opportunities from their leads", 1],  # O1
    ]
    heading = views.sdr_funnel_section(ctx)[0]
    # 4 touches / 2 meetings = one meeting per 2 touches
    assert (
        "One meeting booked per 2 touches, 1 new opportunity from SDR leads in October 2026"
        in heading
    )


def test_a_segment_forecast_with_many_segments_shows_the_largest_and_sums_the_rest():
    # 10 regions R0..R9 over two months; region Ri forecasts 10 * (i + 1) each month
    rows = [
        (month, f"region=R{i}", 10.0 * (i + 1), "proportional")
        for month in ("2026-11", "2026-12")
        for i in range(10)
    ]
    sf = pd.DataFrame(rows, columns=["period", "segment", "point", "method"])
    ctx = _ctx()
    ctx.frames["segment_forecasts"] = sf
    heading, note, table = views.segment_forecast_section(ctx)
    assert "Forecast by region, adding up to the team forecast" in heading
    assert "The 7 largest of 10 segments, the others summed." in note
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", table)
    assert headers == ["Month", "R9", "R8", "R7", "R6", "R5", "R4", "R3", "Others", "Total"]
    # Others: R0..R2 = 10 + 20 + 30 = 60; Total: 10 * (1 + ... + 10) = 550
    first_row = re.findall(r"<td[^>]*>([^<]*)</td>", table)[:10]
    assert first_row[-2:] == ["€60", "€550"]


def test_the_accuracy_table_heading_names_the_most_accurate_model():
    # summary rows over all horizons: ml MASE 0.70 (best), the published forecast 0.77, ets 1.1
    rows = [
        ("ml", "mase", 0.70), ("selected", "mase", 0.77), ("ets", "mase", 1.10),
        ("ml", "mape", 0.13), ("selected", "mape", 0.13), ("ets", "mape", 0.2),
    ]  # fmt: skip
    acc = pd.DataFrame(rows, columns=["model", "metric", "value"]).assign(
        kind="summary", horizon=np.nan, origin=None, actual=np.nan, forecast=np.nan, ape=np.nan
    )
    ctx = _ctx()
    ctx.frames["forecast_accuracy"] = acc
    headings = [x for x in views.accuracy_section(ctx) if isinstance(x, str) and "<h3" in x]
    assert len(headings) == 1
    assert (
        "Ridge regression was the most accurate over all horizons (MASE 0.70); "
        "the published forecast 0.77"
    ) in headings[0]


def test_one_month_ahead_accuracy_covers_the_last_history_months_only():
    # October 2026, history_months 24: forecasts for 2024-11 .. 2026-10 count. A forecast
    # made in 2021-12 (an old month re-run) is left out, or its miss (100 vs 50) would
    # dominate: |110-100| + |90-100| = 20 over 200 actual -> 10%, not 70 / 300 = 23%.
    rows = [("2021-12", 50.0, 100.0), ("2025-06", 110.0, 100.0), ("2026-09", 90.0, 100.0)]
    acc = pd.DataFrame(rows, columns=["origin", "forecast", "actual"]).assign(
        model="selected", horizon=1, kind="realised", ape=np.nan
    )
    ctx = _ctx()
    ctx.frames["forecast_accuracy"] = acc
    out = views.accuracy_section(ctx)
    assert "off by 10% on average in the last 24 months (WAPE, realised)" in out[0]
    line = next(ln for ln in out[1].axes[0].get_lines() if ln.get_label() == "Actual")
    first = pd.PeriodIndex.from_ordinals([int(line.get_xdata()[0])], freq="M")[0]
    assert str(first) == "2025-07"  # the forecast made in 2025-06 was for July


def test_what_changed_most_leads_with_the_largest_change():
    status = _status(
        [
            ("revenue", "all", 200.0, 100.0, "EUR"),  # +100%
            ("deals_won", "all", 9.0, 10.0, "count"),  # -10%
        ]
    )
    heading = views.biggest_changes(_ctx(status=status))[0]
    assert "Revenue up 100% on last year, the largest change" in heading


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
    heading = views.sdr_funnel_section(_ctx(Tables(reps=reps, activities=acts)))[0]
    assert f"{expected} in October 2026" in heading


def test_wape_is_the_summed_miss_over_the_summed_actuals():
    # |100 - 110| + |200 - 170| = 40 over 300 -> 0.1333; actuals summing to 0 give no ratio
    from salesreport.forecast.accuracy import wape

    assert wape(pd.Series([100.0, 200.0]), pd.Series([110.0, 170.0])) == pytest.approx(40 / 300)
    assert np.isnan(wape(pd.Series([0.0]), pd.Series([5.0])))
