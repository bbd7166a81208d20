"""The executive page's sections, on small tables worked by hand."""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from salesreport.pages import executive
from salesreport.pages.section import Chart, Section
from salesreport.tables import Tables
from tests.pages_context import kpi_rows, page_context


def test_the_sales_leads_commentary_is_rendered_with_markup_escaped(tmp_path, monkeypatch):
    monkeypatch.setenv("SALESREPORT_HOME", str(tmp_path))
    notes = tmp_path / "params" / "emea" / "notes"
    notes.mkdir(parents=True)
    (notes / "2026-10.md").write_text(
        "**Big win** at ACME <script>alert(1)</script>\n\n- renewals late\n"
    )
    ctx = SimpleNamespace(params=SimpleNamespace(team="emea"), month="2026-10")
    html = executive.commentary(ctx).html()
    assert "<strong>Big win</strong>" in html and "<li>renewals late</li>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    ctx.month = "2026-09"
    assert not executive.commentary(ctx)


def _revenue(target: float) -> pd.DataFrame:
    rows = []
    for window in ("month", "ytd"):
        for period, value in (("2026-09", 80.0), ("2026-10", 100.0)):
            status = None if np.isnan(target) else "green"
            rows.append(("revenue", window, period, "all", value, target, 70.0, "EUR", status))
    cols = ["metric", "window", "period", "segment", "value", "target", "prior", "unit", "status"]
    return pd.DataFrame(rows, columns=cols).assign(benchmark=np.nan, yoy_change=np.nan)


@pytest.mark.parametrize("target", [np.nan, 90.0])
def test_the_legend_and_the_revenue_chart_mention_a_target_only_when_there_is_one(target):
    ctx = page_context(status=_revenue(target))
    head = executive.headline(ctx).html()
    trend = executive.revenue_trend(ctx)
    (fig,) = trend.charts
    if np.isnan(target):
        assert "sr-legend" not in head
        assert trend.title == "Monthly revenue against last year"
        assert fig._suptitle.get_text() == (
            "Monthly revenue (EUR): actual and the same month last year"
        )
    else:
        assert "sr-legend" in head and "at risk, within 10%" in head
        # 100 against 90: 11% above
        assert trend.title == "Revenue in Oct 2026 11% above its monthly target"
        assert fig._suptitle.get_text() == (
            "Monthly revenue (EUR): actual, target and the same month last year"
        )


def test_the_revenue_chart_starts_where_the_data_does_and_names_only_what_it_draws():
    # a team whose data begins in September 2026: the KPI rows of the 22 months before are
    # empty (no value, target or last year); the chart and its frame start in September
    rows = [
        ("revenue", "month", str(p), "all", np.nan, np.nan, np.nan, "EUR", None)
        for p in pd.period_range("2024-11", "2026-08", freq="M")
    ] + [
        ("revenue", "month", "2026-09", "all", 80.0, np.nan, np.nan, "EUR", None),
        ("revenue", "month", "2026-10", "all", 100.0, np.nan, np.nan, "EUR", None),
    ]
    cols = ["metric", "window", "period", "segment", "value", "target", "prior", "unit", "status"]
    status = pd.DataFrame(rows, columns=cols).assign(benchmark=np.nan, yoy_change=np.nan)
    trend = executive.revenue_trend(page_context(status=status))
    assert trend.frame["period"].tolist() == ["2026-09", "2026-10"]
    assert trend.title == "Revenue in Oct 2026: €100"
    (fig,) = trend.charts
    assert fig._suptitle.get_text() == "Monthly revenue (EUR): actual"
    # a target in August (before the first value) is drawn, so the chart starts there
    status.loc[status["period"] == "2026-08", "target"] = 90.0
    trend = executive.revenue_trend(page_context(status=status))
    assert trend.frame["period"].tolist() == ["2026-08", "2026-09", "2026-10"]
    assert trend.charts[0]._suptitle.get_text() == "Monthly revenue (EUR): actual and target"


def test_okrs_name_regional_key_results_count_objectives_and_regions_apart_and_say_the_status():
    row = dict(
        metric="", window="", baseline=np.nan, target=np.nan, value=np.nan, weight=1, due=1.0
    )
    okrs = pd.DataFrame(
        [
            {**row, "objective": "Pipe", "key_result": None, "grade": 1.0, "status": "green", "segment": "all"},
            {**row, "objective": "Pipe", "key_result": "Coverage 3x", "metric": "pipeline_coverage",
             "window": "month", "baseline": 1.0, "target": 3.0, "value": 3.84, "grade": 1.0,
             "status": "green", "segment": "all"},
            {**row, "objective": "Pipe", "key_result": None, "grade": 0.2, "status": "red", "segment": "region=DE"},
            {**row, "objective": "Pipe", "key_result": "Coverage 3x", "metric": "pipeline_coverage",
             "window": "month", "baseline": 1.0, "target": 3.0, "value": 1.4, "grade": 0.2,
             "status": "red", "segment": "region=DE"},
            {**row, "objective": "Cash", "key_result": None, "grade": 0.5, "status": "amber", "segment": "all", "due": 0.5},
            {**row, "objective": "Cash", "key_result": "Revenue YTD", "metric": "revenue", "window": "ytd",
             "baseline": 0.0, "target": 2e6, "value": 1e6, "grade": 0.5, "status": "amber",
             "segment": "all", "due": 0.5},
        ]
    )  # fmt: skip
    ctx = page_context()
    ctx.frames["okrs"] = okrs
    sec = executive.okrs(ctx)
    # team level: Pipe green, Cash amber -> 1 of 2; the DE spoke of Pipe is red -> 0 of 1
    assert sec.title == "1 of 2 objectives on track; by region, 0 of 1 on track"
    html = sec.html()
    assert "DE: Coverage 3x" in html and "3.8×" in html and "1.4×" in html
    assert "€2M" in html and "€1M" in html  # money in the team's currency
    # the revenue key result is due half way by now: €1M of €2M due; the badges say the
    # status in words, coloured by it, and the legend says what the colours mean
    (table,) = sec.tables
    assert "Due by now" in table.columns
    assert '<span class="sr-badge amber">at risk</span>' in html
    assert '<span class="sr-badge red">off track</span>' in html
    assert "yellow" not in html and "sr-legend" in html


def test_what_changed_names_the_segment_and_its_move_in_the_metrics_unit():
    reps = pd.DataFrame({"rep_id": ["R1", "R2"], "name": ["Kira Martin", "Ravi Roy"]})
    status = kpi_rows(
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
    sec = executive.changes(page_context(Tables(reps=reps), status))
    text = sec.html()
    assert "up 100% on last year (€200 against €100); largest move in region DE (+€100)" in text
    assert "down 50% on last year (30% against 60%); largest move in rep Ravi Roy (−50 pts)" in text
    assert sec.title == "Revenue up 100% on last year, the largest change"


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
    sec = executive.win_loss(page_context(Tables(opportunities=o)))
    assert sec.title == "“price” behind 75% of lost deals in the last 12 months"
    table = sec.parts[0].html()
    assert "&lt;b&gt;rival&lt;/b&gt;" in table and "<b>rival" not in table
    bar = lambda row: re.findall(r"--sr-bar:([\d.]+)", row)  # noqa: E731
    rows = table.split("<tr>")[2:]
    # deals: price 3 -> 1, rival 1/3; value: price 300/600, rival 600 -> 1
    assert bar(rows[0]) == ["1.000", "0.500"] and bar(rows[1]) == ["0.333", "1.000"]
    assert "(by close date)" in sec.parts[1].html() and "October 2026" in sec.parts[1].html()
    assert sec.frame["deals"].tolist() == [3, 1]  # the numbers behind the table


def test_the_quarter_view_sets_the_quarter_to_date_against_the_whole_quarters_target():
    # October 2026 is the 1st month of Q4 (January fiscal year): October 300 of revenue;
    # targets 400 a month, so the quarter's 1,200; the published forecast adds November
    # 500 and December 600: the quarter ends at 1,400, 17% above 1,200.
    ctx = page_context()
    ctx.frames["revenue"] = pd.DataFrame(
        {"period": ["2026-09", "2026-10"], "revenue": [900.0, 300.0]}
    )
    ctx.frames["revenue_targets"] = pd.DataFrame(
        {"period": ["2026-10", "2026-11", "2026-12"], "target": [400.0, 400.0, 400.0]}
    )
    ctx.frames["forecast"] = pd.DataFrame(
        {"period": ["2026-11", "2026-12", "2027-01", "2026-11"], "point": [500.0, 600.0, 7.0, 1.0],
         "selected": [True, True, True, False], "model": "ets"}
    )  # fmt: skip
    sec = executive.quarter(ctx)
    assert sec.title == (
        "Q4 2026 to date: €300 of revenue, 25% of the quarter's €1.2k target with 2 months to go"
    )
    assert "the quarter ends at €1.4k, 17% above target" in sec.html()
    q = sec.frame
    assert q["month"].tolist() == ["2026-10", "2026-11", "2026-12"]
    assert q["revenue"].tolist()[0] == 300 and q["revenue"].isna().tolist() == [False, True, True]
    assert q["forecast"].tolist()[1:] == [500, 600] and np.isnan(q["forecast"].iloc[0])


def test_the_quarter_follows_the_fiscal_year():
    # fiscal year from February: October 2026 is in Q3 of FY2027 (Aug-Oct), its last month
    ctx = page_context(
        params=page_context().params.model_copy(update={"fiscal_year_start_month": 2})
    )
    ctx.frames["revenue"] = pd.DataFrame(
        {"period": ["2026-08", "2026-09", "2026-10"], "revenue": [1.0, 2.0, 3.0]}
    )
    sec = executive.quarter(ctx)
    assert sec.title.startswith("Q3 FY2027 to date: €6 of revenue (no quarterly target set)")
    assert sec.title.endswith("at the quarter's end")


def test_a_section_is_one_html_output_styled_for_jupyterlab_with_no_maths_from_amounts():
    ctx = page_context(status=_revenue(90.0).assign(unit="USD"))
    ctx.params = ctx.params.model_copy(update={"currency": "USD"})
    sec = executive.headline(ctx)
    out = sec._repr_html_()
    # the stylesheet first (JupyterLab has not got the published page's head), then the
    # section, marked for MathJax to skip: "$100 against $90" must not become maths
    assert out.startswith('<style class="sr-style">') and ".sr-tile" in out
    assert '<section class="sr-section tex2jax_ignore mathjax_ignore">' in out
    assert "$100" in out
    assert isinstance(sec, Section) and not [p for p in sec.parts if isinstance(p, Chart)]
