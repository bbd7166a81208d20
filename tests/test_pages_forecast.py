"""The forecast page, on small frames worked by hand."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from salesreport.pages import forecast
from salesreport.pages.section import Chart
from salesreport.tables import Tables
from tests.pages_context import page_context


def test_a_segment_forecast_with_many_segments_shows_the_largest_and_sums_the_rest():
    # 10 regions R0..R9 over two months; region Ri forecasts 10 * (i + 1) each month
    rows = [
        (month, f"region=R{i}", 10.0 * (i + 1), "proportional")
        for month in ("2026-11", "2026-12")
        for i in range(10)
    ]
    ctx = page_context()
    ctx.frames["segment_forecasts"] = pd.DataFrame(
        rows, columns=["period", "segment", "point", "method"]
    )
    sec = forecast.segment_forecast(ctx)
    assert sec.title == "Forecast by region, adding up to the team forecast"
    note, table = sec.parts[0].html(), sec.parts[1].html()
    assert "The 7 largest of 10 segments, the others summed." in note
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", table)
    assert headers == ["Month", "R9", "R8", "R7", "R6", "R5", "R4", "R3", "Others", "Total"]
    # Others: R0..R2 = 10 + 20 + 30 = 60; Total: 10 * (1 + ... + 10) = 550
    first_row = re.findall(r"<td[^>]*>([^<]*)</td>", table)[:10]
    assert first_row[0] == "Nov 2026" and first_row[-2:] == ["€60", "€550"]


def test_the_accuracy_table_heading_names_the_most_accurate_model():
    # summary rows over all horizons: ml MASE 0.70 (best), the published forecast 0.77, ets 1.1
    rows = [
        ("ml", "mase", 0.70), ("selected", "mase", 0.77), ("ets", "mase", 1.10),
        ("ml", "mape", 0.13), ("selected", "mape", 0.13), ("ets", "mape", 0.2),
    ]  # fmt: skip
    ctx = page_context()
    ctx.frames["forecast_accuracy"] = pd.DataFrame(
        rows, columns=["model", "metric", "value"]
    ).assign(
        kind="summary", horizon=np.nan, origin=None, actual=np.nan, forecast=np.nan, ape=np.nan
    )
    html = forecast.accuracy(ctx).html()
    headings = re.findall(r"<h3[^>]*>([^<]*)</h3>", html)
    assert headings == [
        "Ridge regression was the most accurate over all horizons (MASE 0.70); "
        "the published forecast 0.77"
    ]


def test_one_month_ahead_accuracy_says_the_months_it_charts():
    # October 2026, history_months 24: forecasts for 2024-11 .. 2026-10 count. A forecast
    # made in 2021-12 (an old month re-run) is left out, or its miss (100 vs 50) would
    # dominate: |110-100| + |90-100| = 20 over 200 actual -> 10%, not 70 / 300 = 23%.
    # Two months were scored (July 2025 and October 2026): the heading says those two,
    # not "the last 24 months", and the chart spans the same months.
    rows = [("2021-12", 50.0, 100.0), ("2025-06", 110.0, 100.0), ("2026-09", 90.0, 100.0)]
    ctx = page_context()
    ctx.frames["forecast_accuracy"] = pd.DataFrame(
        rows, columns=["origin", "forecast", "actual"]
    ).assign(model="selected", horizon=1, kind="realised", ape=np.nan)
    sec = forecast.accuracy(ctx)
    assert sec.title == (
        "One-month-ahead forecasts were off by 10% on average over the 2 months scored, "
        "Jul 2025 to Oct 2026"
    )
    assert sec.frame["period"].tolist() == ["2025-07", "2026-10"]
    fig = sec.charts[0]
    line = next(ln for ln in fig.axes[0].get_lines() if ln.get_label() == "Actual")
    x = pd.PeriodIndex.from_ordinals(line.get_xdata().astype(int), freq="M")
    assert (str(x[0]), str(x[-1])) == ("2025-07", "2026-10")
    assert fig._suptitle.get_text().endswith("Jul 2025 to Oct 2026")


def _trend() -> pd.DataFrame:
    """Three months, the middle one flagged: 1,000 against an expected 300, its band
    -200 to 800 (a negative lower bound, as a robust band around a small level gives)."""
    return pd.DataFrame(
        {
            "period": ["2026-08", "2026-09", "2026-10"],
            "actual": [300.0, 1000.0, 320.0],
            "yoy_growth": [np.nan, np.nan, 0.1],
            "expected": [300.0, 300.0, 310.0],
            "lower": [-200.0, -200.0, -190.0],
            "upper": [800.0, 800.0, 810.0],
            "robust_z": [0.0, 4.2, 0.1],
            "anomaly": [False, True, False],
            "reason": ["", "revenue 3.3x the expected 300: 4.2 robust SDs above the STL fit", ""],
        }
    )


def test_unusual_months_read_in_money_and_plain_words_never_a_negative_range():
    ctx = page_context()
    ctx.frames["trend"] = _trend()
    sec = forecast.trend(ctx)
    assert sec.title == "Revenue up 10% on the same month last year; 1 unusual month"
    (table,) = sec.tables
    assert table.to_dict("records") == [
        {"Month": "Sep 2026", "Revenue": 1000.0, "Expected": 300.0, "Usual range": "€0 to €800",
         "How unusual": "3.3× the expected, above the usual range"}
    ]  # fmt: skip
    html = "".join(p.html() for p in sec.parts if not isinstance(p, Chart))  # the words
    assert " SD" not in html and "STL" not in html and "robust" not in html
    assert "-€200" not in html and "−€200" not in html
    assert sec.frame["low"].tolist() == [0.0]


def test_the_trend_chart_names_only_the_lines_it_draws():
    # two months (a team new to its CRM): no average or trend has a value yet, so the
    # chart is the revenue alone and says so; with a 3-month average and a trend, it
    # names those two and not the 12-month average it cannot draw
    ctx = page_context()
    tr = _trend().assign(ma3=np.nan, ma12=np.nan, trend=np.nan)
    ctx.frames["trend"] = tr
    assert forecast.trend(ctx).charts[0]._suptitle.get_text() == "Monthly revenue (EUR)"
    ctx = page_context()
    ctx.frames["trend"] = tr.assign(ma3=[np.nan, np.nan, 540.0], trend=[300.0, 310.0, 320.0])
    title = forecast.trend(ctx).charts[0]._suptitle.get_text()
    assert title == "Monthly revenue (EUR) with its 3-month average and trend"


def test_the_teams_calls_say_whose_calls_were_added_up():
    # the team's call for a period is its own, else its regions' added up, else its reps'
    s = pd.DataFrame(
        {
            "period": ["2026-09", "2026-10", "2026-10"],
            "category": ["commit", "commit", "best_case"],
            "level": ["team", "region", "rep"],
            "submitted_date": pd.to_datetime(["2026-09-01", "2026-10-01", "2026-10-01"]),
            "submitted": [100.0, 95.0, 120.0],
            "actual": [90.0, 100.0, 100.0],
            "error": [10.0, -5.0, 20.0],
            "ape": [0.11, 0.05, 0.2],
            "complete": [True, True, True],
            "keys": ["", "DE,UK", "R1"],
        }
    )
    reps = pd.DataFrame({"rep_id": ["R1"], "name": ["Kira Martin"]})
    ctx = page_context(Tables(reps=reps))
    ctx.frames["submissions"] = s
    sec = forecast.submissions(ctx)
    (table,) = sec.tables
    assert table["Call made by"].tolist() == [
        "The team",
        "Regions DE and UK added up",
        "Rep Kira Martin",
    ]
    assert "Level" not in sec.html()
    # commit calls: |100 - 90| + |95 - 100| = 15 over 190
    assert sec.title == "The team's commit calls were off by 8% on average"
    # periods as the other tables write them, not as the file does
    assert ">September 2026<" in sec.html() and ">October 2026<" in sec.html()
    assert ">2026-10<" not in sec.html()


def test_a_call_for_a_quarter_reads_as_the_targets_name_it():
    ctx = page_context()  # EMEA: fiscal year from January
    assert forecast._call_period("2026-q4", ctx) == "Q4 2026"
    assert forecast._call_period("2026-10", ctx) == "October 2026"
    ctx = page_context(params=ctx.params.model_copy(update={"fiscal_year_start_month": 7}))
    assert forecast._call_period("2027-Q1", ctx) == "FY2027 Q1"


# --------------------------------------------------------------------------- the outlook


def _outlook(**frames):
    ctx = page_context()
    ctx.frames.update(frames)
    return ctx


def test_target_title_states_chance_target_and_range():
    ch = pd.DataFrame(
        {
            "period": ["2026-Q4", "2026"],
            "kind": ["quarter", "year"],
            "actual_to_date": [1.6e6, 11.5e6],
            "target": [3.5e6, 14e6],
            "expected": [4.6e6, 14.5e6],
            "lo80": [4.2e6, 13.1e6],
            "hi80": [5.2e6, 14.6e6],
            "chance": [0.9987, 0.62],
        }
    )
    sec = forecast.targets(_outlook(forecast_targets=ch))
    assert sec.title == "62% chance of reaching the €14M 2026 target; likely range €13.1M–€14.6M"
    assert "&gt;99%" in sec.parts[0].html()  # 99.87% is not a certainty (escaped: >99%)


def test_change_title_splits_actuals_and_model():
    ch = pd.DataFrame(
        {
            "period": ["2026-11", "2026-Q4"],
            "kind": ["month", "quarter"],
            "last_month": [110.0, 330e3],
            "this_month": [107.0, 341e3],
            "change": [-3.0, 11e3],
            "from_actuals": [5.0, 25e3],
            "from_model": [-8.0, -14e3],
            "last_method": "ensemble(ets,theta)",
            "this_method": "ensemble(theta,arima)",
        }
    )
    title = forecast.changes(_outlook(forecast_changes=ch)).title
    assert "Q4 2026 forecast rose €11k since last month, to €341k" in title
    assert "+€25k from October's actual revenue, -€14k from the model's revision" in title


def test_outlook_sections_say_what_is_missing():
    from salesreport.pages import executive

    empty = _outlook(forecast_changes=pd.DataFrame(), forecast_targets=pd.DataFrame())
    assert "no earlier forecast" in forecast.changes(empty).title
    assert not executive.outlook(empty)  # nothing to say: no output
    head = _outlook(forecast_headline=pd.DataFrame([{"value": np.nan, "months": 3}]))
    assert "Not enough months" in forecast.headline_accuracy(head).title


def _fan_note(months: int) -> str:
    """The forecast chart's note for a history of ``months`` months of revenue (10, 20, 30...
    with two leading months of 0, which the forecast leaves out of its history)."""
    from salesreport.forecast import forecast as make_forecast

    periods = pd.period_range(end="2026-10", periods=months + 2, freq="M")
    revenue = pd.Series([0.0, 0.0, *(10.0 * (i + 1) for i in range(months))], index=periods)
    fc = make_forecast(revenue, horizon=3).assign(selected=True)
    ctx = page_context()
    ctx.frames["revenue"] = revenue.rename("revenue").rename_axis("period").reset_index()
    ctx.frames["revenue"]["period"] = ctx.frames["revenue"]["period"].astype(str)
    ctx.frames["forecast"] = fc.assign(period=fc["period"].astype(str))
    return forecast.forecast_fan(ctx).parts[1].html()


def test_the_forecast_note_says_why_a_short_history_gets_seasonal_naive():
    # under 24 months the selection does not choose (salesreport.forecast.core._select):
    # 5 months -> the last month carried forward, 12 months -> the same month last year,
    # 14 months -> that plus half the change on a year earlier; the two leading months of
    # 0 do not count
    why = "a model is chosen by its accuracy on past months from 24 months of history on"
    assert _fan_note(5) == (
        '<p class="sr-note">Model: the last month&#x27;s revenue carried forward, as there is '
        f"no same month last year yet; {why}, and this forecast has 5 months.</p>"
    )
    assert _fan_note(12) == (
        '<p class="sr-note">Model: seasonal naive (the same month last year); '
        f"{why}, and this forecast has 12 months.</p>"
    )
    assert _fan_note(14) == (
        '<p class="sr-note">Model: the same month last year plus half the average change on a '
        f"year earlier; {why}, and this forecast has 14 months.</p>"
    )
    thirty = _fan_note(30)
    assert thirty.endswith(", chosen by its accuracy on past months.</p>")
    assert "seasonal naive" not in thirty and "24 months" not in thirty
