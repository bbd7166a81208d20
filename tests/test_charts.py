"""Charts: formats, finding titles, and what each chart draws (titles, units, series, targets).

Expected strings and numbers are worked out by hand in the comments next to them.
"""

from __future__ import annotations

import base64
import io

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from salesreport import charts as c
from salesreport.charts.theme import ACTUAL, BAD, FORECAST, PRIOR, month_ticks

# ---------------------------------------------------------------- helpers


def title_of(fig: Figure) -> str:
    return fig.get_suptitle()


def legend_labels(ax) -> list[str]:
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def line_labels(ax) -> list[str]:
    return [ln.get_label() for ln in ax.get_lines() if not ln.get_label().startswith("_")]


def bars(ax) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def tick_texts(ax, axis: str = "x") -> list[str]:
    """Tick labels from the axis' locator and formatter, without rendering."""
    a = ax.xaxis if axis == "x" else ax.yaxis
    fmt = a.get_major_formatter()
    ticks = a.get_major_locator()()
    if hasattr(fmt, "format_ticks"):
        return list(fmt.format_ticks(ticks))
    return [fmt(t) for t in ticks]


def annotations(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def months(start: str, n: int) -> pd.PeriodIndex:
    return pd.period_range(start, periods=n, freq="M")


# ---------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (1_234_567, "EUR", "€1.2M"),  # 1.234567M -> one decimal
        (350_000, "USD", "$350k"),  # 350k, >= 100 of the unit: no decimal
        (12_500, "GBP", "£12.5k"),
        (2_000_000, "EUR", "€2M"),  # ".0" dropped
        (999_600, "EUR", "€1M"),  # 999.6k would round to "1000k": next unit
        (999_400, "EUR", "€999k"),
        (450, "EUR", "€450"),
        (-1_234_567, "EUR", "-€1.2M"),
        (2.5e9, "USD", "$2.5B"),
        (1_200_000, "SEK", "SEK 1.2M"),  # no symbol: code as prefix
        (0, "EUR", "€0"),
    ],
)
def test_fmt_money_compact_uses_symbol_and_scale(value, currency, expected):
    assert c.fmt_money(value, currency) == expected


def test_fmt_money_full_amount_has_thousands_separators():
    assert c.fmt_money(1_234_567, "EUR", compact=False) == "€1,234,567"
    assert c.fmt_money(-1234.4, "USD", compact=False) == "-$1,234"


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NA, float("inf"), -np.inf])
def test_missing_values_format_as_em_dash(missing):
    assert c.fmt_money(missing, "EUR") == "—"
    assert c.fmt_pct(missing) == "—"
    assert c.fmt_number(missing) == "—"


def test_fmt_pct_reads_ratios():
    assert c.fmt_pct(0.12) == "12%"
    assert c.fmt_pct(0.1234, decimals=1) == "12.3%"
    assert c.fmt_pct(1.04) == "104%"
    assert c.fmt_pct(0.05, signed=True) == "+5%"
    assert c.fmt_pct(-0.05, signed=True) == "-5%"
    assert c.fmt_pct(-0.001) == "0%"  # -0.1% rounds to 0: no "-0%"


def test_fmt_grade_cuts_so_a_grade_under_a_band_edge_never_reads_as_the_edge():
    # the ES pipeline KR on the sample: coverage 1.796x, baseline 1, target 3 ->
    # (1.796 - 1) / (3 - 1) = 0.398, red under 0.4; rounding would show "0.40"
    assert c.fmt_grade(0.398) == "0.39"
    assert c.fmt_grade(0.398, percent=True) == "39%"
    assert c.fmt_grade(0.29) == "0.29"  # 0.29 * 100 = 28.999... in floats: still 0.29
    assert c.fmt_grade(0.7) == "0.70" and c.fmt_grade(1.0, percent=True) == "100%"
    assert c.fmt_grade(None) == "—"


def test_fmt_number_thousands_and_decimals():
    assert c.fmt_number(12345) == "12,345"
    assert c.fmt_number(2.5) == "2.5"  # below 100 and not whole: one decimal
    assert c.fmt_number(12_300, compact=True) == "12.3k"
    assert c.fmt_number(1234.567, decimals=2) == "1,234.57"


def test_tick_formatters_write_exact_ticks():
    money = c.money_formatter("EUR")
    assert [money(v, 0) for v in (0, 250_000, 1_250_000, 1_500_000)] == [
        "€0",
        "€250k",
        "€1.25M",  # a tick gets the decimals it needs, unlike the 1-decimal table format
        "€1.5M",
    ]
    pct = c.pct_formatter()
    assert [pct(v, 0) for v in (0, 0.125, 0.25, 1.0)] == ["0%", "12.5%", "25%", "100%"]
    num = c.number_formatter()
    assert [num(v, 0) for v in (500, 1500, 12_000)] == ["500", "1.5k", "12k"]


@pytest.mark.parametrize(
    ("unit", "value", "text", "label"),
    [
        ("EUR", 1_200_000, "€1.2M", "EUR"),
        ("ratio", 0.25, "25%", "%"),
        ("days", 42, "42", "days"),
    ],
)
def test_unit_formatters_pick_money_percent_or_number(unit, value, text, label):
    _tick, fmt, unit_text = c.unit_formatters(unit)
    assert fmt(value) == text
    assert unit_text == label


# ---------------------------------------------------------------- finding titles


def test_finding_title_revenue_states_gap_to_target():
    # 11.2M / 10M - 1 = +12%
    assert c.finding_title_revenue(11.2e6, 10e6, "year to date") == (
        "Revenue 12% above target year to date"
    )
    # 9.6 / 10 - 1 = -4%; the window code "ytd" reads "year to date"
    assert c.finding_title_revenue(9.6e6, 10e6, "ytd") == "Revenue 4% below target year to date"
    # 10.004 / 10 - 1 = +0.04% rounds to 0%
    assert c.finding_title_revenue(10.004e6, 10e6, "qtd") == "Revenue on target quarter to date"
    assert c.finding_title_revenue(1.2e6, None, "month", currency="EUR") == (
        "Revenue €1.2M this month"
    )
    assert c.finding_title_revenue(1.2e6, float("nan"), "month") == (
        "Revenue this month: no target set"
    )


def test_finding_title_change_relative_or_points():
    # 0.31 - 0.28 = 3 points
    assert c.finding_title_change("Win rate", 0.31, 0.28, points=True) == (
        "Win rate up 3 pts vs last year"
    )
    # 92 / 100 - 1 = -8%
    assert c.finding_title_change("Revenue", 92, 100) == "Revenue down 8% vs last year"
    assert c.finding_title_change("Revenue", 100.2, 100) == "Revenue flat vs last year"
    assert c.finding_title_change("Revenue", 5, 0) == "Revenue: no comparison vs last year"


def test_finding_title_attainment_counts_only_rows_with_target():
    # 5 < 10 misses, 10 >= 10 meets, 12 has no target: 1 of 2
    assert c.finding_title_attainment([5, 10, 12], [10, 10, np.nan]) == (
        "1 of 2 reps at or above target"
    )
    # lower is better: 50 <= 60 meets, 70 > 60 misses
    assert c.finding_title_attainment(
        [50, 70], [60, 60], who="segments", higher_is_better=False
    ) == ("1 of 2 segments at or below target")


def test_other_finding_titles():
    # 3.1 / 3.26 - 1 = -4.9% -> 5% below
    assert c.finding_title_forecast(3.1e6, 3.26e6, "EUR") == (
        "Forecast €3.1M next quarter, 5% below target"
    )
    assert c.finding_title_accuracy(0.08) == "Forecasts one month ahead were off by 8% on average"
    assert c.finding_title_accuracy(0.15, horizon=3) == (
        "Forecasts 3 months ahead were off by 15% on average"
    )
    assert c.finding_title_retention(1.04, 0.91) == "Net revenue retention 104%, gross 91%"
    # 41 / 1200 = 3.4% -> whole per cent
    assert c.finding_title_funnel(1200, 41) == "3% of leads became won deals"
    assert c.finding_title_count("meetings booked", 1412, "in October 2026") == (
        "1,412 meetings booked in October 2026"
    )


# ---------------------------------------------------------------- theme and months


def test_set_theme_sets_house_rc():
    saved = mpl.rcParams.copy()
    try:
        c.set_theme()
        assert mpl.rcParams["figure.dpi"] == 110
        assert mpl.rcParams["axes.spines.top"] is False
        assert to_hex(mpl.rcParams["axes.prop_cycle"].by_key()["color"][0]) == "#0173b2"
    finally:
        mpl.rcParams.update(saved)


def test_month_ticks_always_label_the_report_month():
    # 24 months: step 3 (24/3 = 8 ticks), counted back from the last month
    ticks = month_ticks(0, 23, max_ticks=8)
    assert ticks == [2, 5, 8, 11, 14, 17, 20, 23]
    assert month_ticks(0, 5, max_ticks=8) == [0, 1, 2, 3, 4, 5]
    # anchored mid-range (forecast start): labels on both sides of it
    assert month_ticks(0, 11, anchor=5, max_ticks=6) == [1, 3, 5, 7, 9, 11]


def test_charts_are_not_registered_with_pyplot():
    before = plt.get_fignums()
    fig = c.kpi_bars(pd.DataFrame({"label": ["A"], "value": [1.0], "target": [2.0]}), "count", "t")
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == before


def test_notebook_display_shows_figures_as_png(monkeypatch):
    import IPython
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
        assert c.enable_notebook_display() is True
        fig = c.funnel(pd.DataFrame({"step": ["Leads", "Won"], "count": [10, 2]}), "t")
        data, _meta = shell.display_formatter.format(fig)
        assert data["image/png"][:4] == b"\x89PNG"
    finally:
        InteractiveShell.clear_instance()


def test_figure_to_data_uri_is_a_900px_png():
    fig = c.funnel(pd.DataFrame({"step": ["Leads", "Won"], "count": [10, 2]}), "20% won")
    uri = c.figure_to_data_uri(fig)
    assert uri.startswith("data:image/png;base64,")
    png = base64.b64decode(uri.split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert 850 <= width <= 960  # 8.2 in x 110 dpi = 902 px, give or take the tight bbox


# ---------------------------------------------------------------- revenue and KPIs


def monthly_frame(n: int = 6, target: bool = True, prior: bool = True) -> pd.DataFrame:
    df = pd.DataFrame({"period": [str(p) for p in months("2026-05", n)], "value": 100.0})
    if target:
        df["target"] = 110.0
    if prior:
        df["prior"] = 90.0
    return df


def test_revenue_vs_target_draws_bars_target_and_prior():
    fig = c.revenue_vs_target(monthly_frame(), "EUR", "Revenue 9% below target year to date")
    ax = fig.axes[0]
    assert title_of(fig) == "Revenue 9% below target year to date"
    assert ax.get_ylabel() == "Revenue (EUR)"
    assert ax.get_xlabel() == "Month"
    assert len(bars(ax)) == 6
    assert set(line_labels(ax)) == {"Target", "Same month last year"}
    assert legend_labels(ax) == ["Actual", "Target", "Same month last year"]
    target = next(ln for ln in ax.get_lines() if ln.get_label() == "Target")
    assert list(target.get_ydata()) == [110.0] * 6
    assert "Oct 2026" in tick_texts(ax)  # the last month, 2026-05 + 5
    assert "€100" in tick_texts(ax, "y")


def test_revenue_vs_target_without_target_has_only_bars_and_no_legend():
    fig = c.revenue_vs_target(monthly_frame(target=False, prior=False), "USD", "Revenue")
    ax = fig.axes[0]
    assert line_labels(ax) == []
    assert ax.get_legend() is None
    assert ax.get_ylabel() == "Revenue (USD)"


def test_revenue_vs_target_draws_other_kpis_by_unit():
    df = monthly_frame(3)
    df[["value", "target", "prior"]] = [[0.2, 0.3, 0.25]] * 3
    ax = c.revenue_vs_target(df, "ratio", "Conversion below target").axes[0]
    assert ax.get_ylabel() == "Value (%)"
    assert all(t.endswith("%") for t in tick_texts(ax, "y"))
    ax = c.revenue_vs_target(monthly_frame(3), "count", "t", metric="Meetings booked").axes[0]
    assert ax.get_ylabel() == "Meetings booked (count)"


def test_revenue_vs_target_sorts_months():
    df = monthly_frame(3, prior=False)
    df["value"] = [1.0, 2.0, 3.0]
    fig = c.revenue_vs_target(df.iloc[::-1], "EUR", "t")
    heights = [b.get_height() for b in sorted(bars(fig.axes[0]), key=lambda b: b.get_x())]
    assert heights == [1.0, 2.0, 3.0]


def test_kpi_trend_percent_axis():
    df = pd.DataFrame({"period": months("2026-01", 4), "value": [0.2, 0.3, 0.25, 0.35]})
    df["target"] = 0.3
    fig = c.kpi_trend(df, "ratio", "Win rate on target", metric="Win rate")
    ax = fig.axes[0]
    assert ax.get_ylabel() == "Win rate (%)"
    assert set(line_labels(ax)) == {"Actual", "Target"}
    assert all(t.endswith("%") for t in tick_texts(ax, "y"))


def test_kpi_bars_colours_misses_and_labels_attainment():
    frame = pd.DataFrame(
        {
            "label": ["Ann", "Bob", "Cy"],
            "value": [120.0, 80.0, 50.0],
            "target": [100.0, 100.0, None],
        }
    )
    fig = c.kpi_bars(frame, "EUR", "1 of 2 reps at or above target", metric="Revenue")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Revenue (EUR)"
    rects = sorted(bars(ax), key=lambda r: -r.get_y())  # top first
    assert [r.get_width() for r in rects] == [120.0, 80.0, 50.0]  # best on top
    # Ann meets (blue), Bob misses (orange), Cy has no target (grey, not "met")
    assert to_hex(rects[0].get_facecolor()) == ACTUAL
    assert to_hex(rects[1].get_facecolor()) == FORECAST
    assert to_hex(rects[2].get_facecolor()) == PRIOR
    texts = annotations(ax)
    assert "€120  (120% of target)" in texts  # 120 / 100
    assert "€80  (80% of target)" in texts
    assert "€50" in texts
    ticks = [col for col in ax.collections if isinstance(col, PathCollection)]
    assert len(ticks) == 1  # the target ticks
    assert legend_labels(ax) == ["At or above target", "Below target", "No target", "Target"]


def test_kpi_bars_period_label_and_percent_unit():
    frame = pd.DataFrame({"label": ["smb", "ent"], "value": [0.3, 0.4]})
    fig = c.kpi_bars(frame, "ratio", "t", metric="Win rate", period_label="year to date")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "Win rate (%), year to date"
    assert ax.get_legend() is None  # one series, no target
    assert "40%" in annotations(ax)


def test_revenue_by_segment_stacks_segments():
    df = pd.DataFrame(
        {
            "period": ["2026-09", "2026-09", "2026-10", "2026-10"],
            "segment": ["web", "partner", "web", "partner"],
            "value": [100.0, 200.0, 300.0, 400.0],
        }
    )
    fig = c.revenue_by_segment(df, "EUR", "Partners bring 60% of revenue", segment_name="Channel")
    ax = fig.axes[0]
    assert len(bars(ax)) == 4
    assert "€300" in annotations(ax) and "€700" in annotations(ax)  # 100+200, 300+400
    assert ax.get_legend().get_title().get_text() == "Channel"
    # partner 200 + 400 = 600 > web 100 + 300 = 400: partner stacks lowest, so it is
    # listed last in the legend (legend reads top-down like the stack)
    assert legend_labels(ax) == ["web", "partner"]


# ---------------------------------------------------------------- forecast


def forecast_frame(n: int = 3, levels: tuple[int, ...] = (80, 95)) -> pd.DataFrame:
    df = pd.DataFrame({"period": [str(p) for p in months("2026-11", n)], "point": 100.0})
    for lv in levels:
        df[f"lo{lv}"] = 100.0 - lv
        df[f"hi{lv}"] = 100.0 + lv
    return df


def test_forecast_fan_draws_actuals_forecast_bands_and_target():
    history = pd.Series([90.0, 95.0, 98.0], index=months("2026-08", 3))
    target = pd.Series(105.0, index=months("2026-08", 6))
    fig = c.forecast_fan(history, forecast_frame(), "EUR", "Forecast €300 next quarter", target)
    ax = fig.axes[0]
    assert title_of(fig) == "Forecast €300 next quarter"
    assert {"Actual", "Forecast", "Target"} <= set(line_labels(ax))
    bands = [col for col in ax.collections if isinstance(col, PolyCollection)]
    assert sorted(b.get_label() for b in bands) == ["80% interval", "95% interval"]
    forecast = next(ln for ln in ax.get_lines() if ln.get_label() == "Forecast")
    assert list(forecast.get_ydata()) == [98.0, 100.0, 100.0, 100.0]  # joined to last actual
    assert ax.get_ylabel() == "Revenue (EUR)"
    assert "Oct 2026" in tick_texts(ax)  # the last actual month is labelled


def test_forecast_fan_with_one_level_and_without_history():
    fig = c.forecast_fan(pd.Series(dtype=float), forecast_frame(levels=(80,)), "EUR", "t")
    ax = fig.axes[0]
    assert len([col for col in ax.collections if isinstance(col, PolyCollection)]) == 1
    assert "Actual" not in line_labels(ax)


def test_forecast_fan_refuses_several_models():
    fc = pd.concat([forecast_frame(), forecast_frame()])
    with pytest.raises(ValueError, match="more than once"):
        c.forecast_fan(pd.Series([1.0], index=months("2026-10", 1)), fc, "EUR", "t")


def test_forecast_fan_picks_the_selected_model():
    ets, naive = forecast_frame(), forecast_frame()
    ets["model"], ets["selected"] = "ets", True
    naive["model"], naive["selected"], naive["point"] = "naive", False, 50.0
    fig = c.forecast_fan(pd.Series(dtype=float), pd.concat([naive, ets]), "EUR", "t")
    forecast = next(ln for ln in fig.axes[0].get_lines() if ln.get_label() == "Forecast")
    assert list(forecast.get_ydata()) == [100.0, 100.0, 100.0]  # ets, not naive's 50


def test_forecast_vs_actual_draws_both_lines():
    df = pd.DataFrame(
        {
            "period": months("2026-07", 4),
            "actual": [10.0, 12, 11, 13],
            "forecast": [9.0, 12, 12, 14],
        }
    )
    fig = c.forecast_vs_actual(df, "EUR", "Forecasts one month ahead were off by 7% on average")
    ax = fig.axes[0]
    assert line_labels(ax) == ["Actual", "Forecast made a month before"]
    assert ax.get_ylabel() == "Revenue (EUR)"
    assert ax.get_xlabel() == "Month"


def test_forecast_vs_actual_leaves_a_gap_for_months_without_a_forecast():
    # March and April 2026 have no row: the lines break there instead of joining Feb to May
    df = pd.DataFrame(
        {
            "period": ["2026-05", "2026-01", "2026-02"],
            "actual": [13.0, 10, 12],
            "forecast": [14.0, 9, 12],
        }
    )
    ax = c.forecast_vs_actual(df, "EUR", "t").axes[0]
    actual = next(ln for ln in ax.get_lines() if ln.get_label() == "Actual")
    x = list(pd.PeriodIndex.from_ordinals(actual.get_xdata().astype(int), freq="M").astype(str))
    assert x == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"]
    assert np.allclose(actual.get_ydata(), [10, 12, np.nan, np.nan, 13], equal_nan=True)


def test_accuracy_by_horizon_one_line_per_model_selected_thicker():
    df = pd.DataFrame(
        {
            "model": ["ets"] * 3 + ["naive"] * 3,
            "horizon": [1, 2, 3] * 2,
            "mape": [0.05, 0.06, 0.07, 0.08, 0.1, 0.12],
            "selected": [True] * 3 + [False] * 3,
        }
    )
    fig = c.accuracy_by_horizon(df, "ETS is the most accurate")
    ax = fig.axes[0]
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert set(lines) == {"ets (selected)", "naive"}
    assert lines["ets (selected)"].get_linewidth() > lines["naive"].get_linewidth()
    assert "MAPE" in ax.get_ylabel() and "%" in ax.get_ylabel()
    assert ax.get_xlabel() == "Forecast horizon (months ahead)"


def test_trend_decomposition_three_panels_and_anomalies():
    idx = months("2025-11", 12)
    t = np.arange(12, dtype=float)
    trend = pd.DataFrame(
        {
            "actual": 100 + t,
            "ma3": 100 + t,
            "ma12": np.nan,
            "trend": 100 + t,
            "seasonal": 0.0,
            "resid": 0.0,
            "anomaly": [False] * 10 + [True, True],
        },
        index=idx,
    )
    fig = c.trend_decomposition(trend, "Two unusual months", currency="EUR")
    top, season, resid = fig.axes
    assert set(line_labels(top)) == {"Actual", "3-month average", "Trend"}  # ma12 all missing
    flagged = [col for col in top.collections if col.get_label() == "Anomaly"]
    assert len(flagged) == 1 and len(flagged[0].get_offsets()) == 2
    resid_colours = [to_hex(b.get_facecolor()) for b in bars(resid)]
    assert resid_colours.count(BAD) == 2
    assert top.get_ylabel() == "Revenue (EUR)"
    assert season.get_ylabel() == "Season (EUR)"
    assert resid.get_xlabel() == "Month"


# ---------------------------------------------------------------- pipeline


def test_pipeline_by_stage_stacks_in_stage_order_with_totals():
    df = pd.DataFrame(
        {
            "stage": ["Proposal", "Discovery", "Proposal", "Discovery"],
            "close_month": ["2026-11", "2026-11", "2026-12", "2026-12"],
            "value": [200_000.0, 100_000.0, 50_000.0, 1_000_000.0],
        }
    )
    fig = c.pipeline_by_stage(df, "EUR", "t", stage_order=["Discovery", "Proposal"])
    ax = fig.axes[0]
    assert ax.get_ylabel() == "Open pipeline (EUR)"
    assert ax.get_xlabel() == "Expected close month"
    assert len(bars(ax)) == 4
    # totals: 100k + 200k = 300k; 1M + 50k = 1.05M -> "€1.1M" (one decimal)
    assert {"€300k", "€1.1M"} <= set(annotations(ax))
    # Discovery at the bottom: the bar starting at 0 in November is Discovery's 100k
    nov = pd.Period("2026-11", "M").ordinal
    bottom = [b for b in bars(ax) if abs(b.get_x() + b.get_width() / 2 - nov) < 0.01]
    assert min(bottom, key=lambda b: b.get_y()).get_height() == 100_000.0
    assert legend_labels(ax) == ["Proposal", "Discovery"]  # legend top-down like the stack


def test_funnel_shows_step_and_overall_conversion():
    df = pd.DataFrame({"step": ["Leads", "Opportunities", "Won"], "count": [100, 25, 10]})
    fig = c.funnel(df, "10% of leads became won deals", period_label="Oct 2026")
    ax = fig.axes[0]
    texts = annotations(ax)
    assert texts[0] == "100"
    assert texts[1] == "25   (25% of leads)"  # 25 / 100
    assert texts[2] == "10   (40% of opportunities, 10% of leads)"  # 10/25, 10/100
    assert ax.get_xlabel() == "Count, Oct 2026"


def test_funnel_labels_end_inside_the_chart():
    # EMEA's first quarter: 176 opportunities beside 211 leads carry the longest label,
    # "176   (359% of leads converted, 83% of leads created)", which ran past the chart's
    # right edge when the axis stopped at 1.6 times the largest bar
    df = pd.DataFrame(
        {
            "step": ["Leads created", "Leads converted", "Opportunities created", "Deals won"],
            "count": [211, 49, 176, 47],
        }
    )
    fig = c.funnel(df, "47 deals won from 211 leads created in the last 12 months")
    ax = fig.axes[0]
    renderer = fig.canvas.get_renderer()  # the figure as finish() drew it
    right = ax.get_window_extent(renderer).x1
    labels = [t for t in ax.texts if t.get_text()]
    assert len(labels) == 4
    assert "176   (359% of leads converted, 83% of leads created)" in annotations(ax)
    for label in labels:
        assert label.get_window_extent(renderer).x1 <= right, label.get_text()
    assert ax.get_xlim()[1] > 211 * 1.6  # widened for the long label


def test_stage_durations_median_and_p75():
    df = pd.DataFrame({"stage": ["A", "B"], "median_days": [5, 10], "p75_days": [8, 30]})
    fig = c.stage_durations(df, "Deals stall in B")
    ax = fig.axes[0]
    assert len(bars(ax)) == 4
    assert legend_labels(ax) == ["Median", "75th percentile"]
    assert ax.get_xlabel() == "Days in stage"
    assert "10 d median · 30 d p75" in annotations(ax)


def test_waterfall_floats_changes_and_closes_with_total():
    df = pd.DataFrame(
        {
            "step": ["Open at start", "Created", "Slipped", "Won", "Lost"],
            "value": [5e6, 1.8e6, -0.6e6, -0.9e6, -0.7e6],
            "is_total": [True, False, False, False, False],
        }
    )
    fig = c.waterfall(df, "EUR", "Pipeline down €0.4M", period_label="Oct 2026")
    ax = fig.axes[0]
    rects = sorted(bars(ax), key=lambda r: r.get_x())
    assert len(rects) == 6  # five steps and the closing total
    # Created floats on 5M; Slipped hangs from 6.8M down to 6.2M
    assert rects[1].get_y() == pytest.approx(5e6)
    assert rects[2].get_y() + rects[2].get_height() == pytest.approx(6.2e6)
    # closing total: 5 + 1.8 - 0.6 - 0.9 - 0.7 = 4.6M, from zero
    assert rects[-1].get_y() == 0 and rects[-1].get_height() == pytest.approx(4.6e6)
    assert "+€1.8M" in annotations(ax) and "€4.6M" in annotations(ax)
    assert ax.get_ylabel() == "Pipeline value (EUR), Oct 2026"
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "End of period"


def test_waterfall_reads_open_at_start_and_end_as_levels():
    # analysis.pipeline_waterfall's bridge: no is_total column, signed changes
    df = pd.DataFrame(
        {
            "step": ["Open at start", "Created", "Won", "Lost", "Open at end"],
            "value": [100.0, 40.0, -30.0, -20.0, 91.0],
        }
    )
    rects = sorted(bars(c.waterfall(df, "EUR", "t").axes[0]), key=lambda r: r.get_x())
    assert len(rects) == 5  # the given "Open at end" closes the bridge: no extra bar
    assert (rects[0].get_y(), rects[0].get_height()) == (0, 100.0)
    assert rects[2].get_y() + rects[2].get_height() == pytest.approx(110.0)  # 100 + 40 - 30
    assert (rects[-1].get_y(), rects[-1].get_height()) == (0, 91.0)  # the data's level, as given


def test_waterfall_without_total_starts_at_zero():
    df = pd.DataFrame({"step": ["Created", "Lost"], "value": [3.0, -1.0]})
    fig = c.waterfall(df, "USD", "t", total_label="Net change")
    rects = sorted(bars(fig.axes[0]), key=lambda r: r.get_x())
    assert rects[0].get_y() == 0 and rects[-1].get_height() == pytest.approx(2.0)  # 3 - 1


# ---------------------------------------------------------------- customers


def test_retention_heatmap_annotates_small_matrix():
    matrix = pd.DataFrame(
        [[1.0, 0.4, 0.3], [1.0, 0.35, np.nan], [1.0, np.nan, np.nan]],
        index=["2026-08", "2026-09", "2026-10"],
        columns=[0, 1, 2],
    )
    fig = c.retention_heatmap(matrix, "40% of August's customers bought again")
    ax = fig.axes[0]
    cells = [t for t in annotations(ax) if t.isdigit()]
    assert sorted(cells) == sorted(["100", "40", "30", "100", "35", "100"])  # 6 known cells
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Aug 2026", "Sep 2026", "Oct 2026"]
    assert ax.get_xlabel() == "Months since first purchase"
    assert len(fig.axes) == 2  # the colour bar


def test_retention_heatmap_of_three_cohorts_keeps_its_labels_inside_the_figure():
    # a team's first quarter: three cohorts make a short chart, along which the colour bar's
    # label "Customers buying that month (% of cohort)" ran past the figure's top and bottom
    # (printed as "ustomers buying that month (% of cohor"): drawn, it wraps to fit
    matrix = pd.DataFrame(
        [[1.0, 0.8, 0.8], [1.0, 0.0, np.nan], [1.0, np.nan, np.nan]],
        index=["2022-01", "2022-02", "2022-03"],
        columns=[0, 1, 2],
    )
    fig = c.retention_heatmap(matrix, "t")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for label in (fig.axes[1].yaxis.label, fig.axes[0].yaxis.label):
        shown = label._get_wrapped_text()  # what the draw wrote
        words_kept = shown.replace("\n", " ").split()
        assert words_kept == label.get_text().split()  # wrapped, nothing dropped
        label.set_text(shown)  # measure what is drawn
        box = label.get_window_extent(renderer)
        assert fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1, label.get_text()
    assert "\n" in fig.axes[1].yaxis.label.get_text()


def test_retention_heatmap_36_cohorts_uses_colour_bar_only():
    idx = [str(p) for p in months("2023-11", 36)]
    values = np.tril(np.full((36, 36), 0.3))[:, ::-1][::-1]  # upper-left triangle
    matrix = pd.DataFrame(np.where(values > 0, values, np.nan), index=idx, columns=range(36))
    fig = c.retention_heatmap(matrix, "t")
    ax = fig.axes[0]
    assert not [t for t in annotations(ax) if t.isdigit()]
    assert len(fig.axes) == 2
    assert fig.get_figheight() <= 12.5


def test_retention_heatmap_refuses_segmented_matrix():
    idx = pd.MultiIndex.from_tuples([("smb", "2026-10")], names=["segment", "cohort"])
    with pytest.raises(ValueError, match="one segment at a time"):
        c.retention_heatmap(pd.DataFrame([[1.0]], index=idx, columns=[0]), "t")


def test_revenue_retention_by_year_one_group_per_year_one_colour_per_cohort_year():
    df = pd.DataFrame(
        {
            "cohort_year": [2022, 2023, 2022],
            "year": [2, 2, 3],
            "cohorts": [12, 12, 11],
            "first_year_revenue": [100.0, 50.0, 90.0],
            "revenue": [93.0, 43.0, 81.0],
            "retention": [0.93, 0.86, 0.9],
        }
    )
    fig = c.revenue_retention_by_year(df, "Cohorts kept 91% of their first-year revenue")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2nd year", "3rd year"]
    assert legend_labels(ax) == ["2022 cohorts", "2023 cohorts"]
    heights = {
        (round(r.get_x() + r.get_width() / 2, 2), round(r.get_height(), 2)) for r in bars(ax)
    }
    # two cohort years: bars 0.4 wide, centred 0.2 either side of each year's tick
    assert heights == {(-0.2, 0.93), (0.2, 0.86), (0.8, 0.9)}
    colours = {
        r.get_facecolor()
        for r in bars(ax)
        if round(r.get_x() + r.get_width() / 2, 1) in (-0.2, 0.8)
    }
    assert len(colours) == 1  # 2022 keeps its colour in both groups
    labels = {t.get_text() for t in ax.texts}
    assert {"93%", "86%", "90%"} <= labels
    assert any(ln.get_ydata()[0] == 1.0 for ln in ax.get_lines())  # 100% marked
    assert "%" in ax.get_ylabel() and "first purchase" in ax.get_xlabel()


def test_nrr_grr_trend_two_lines_and_100_percent_mark():
    df = pd.DataFrame({"period": months("2026-01", 3), "nrr": [1.0, 1.02, 1.04], "grr": 0.9})
    fig = c.nrr_grr_trend(df, "Net revenue retention 104%, gross 90%")
    ax = fig.axes[0]
    assert line_labels(ax) == ["Net revenue retention", "Gross revenue retention"]
    assert any(list(ln.get_ydata()) == [1.0, 1.0] for ln in ax.get_lines())  # axhline at 100%
    assert "%" in ax.get_ylabel()
    assert ax.get_xlabel() == "Month"


# ---------------------------------------------------------------- people and goals


def test_a_stage_keeps_its_colour_whichever_stages_a_chart_shows():
    order = ["Prospecting", "Qualification", "Discovery"]
    team = pd.DataFrame({"stage": order, "close_month": "2026-11", "value": [1.0, 2.0, 3.0]})
    rep = team[team["stage"] != "Qualification"]  # one rep has no deal in Qualification
    colour = {}
    for frame in (team, rep):
        fig = c.pipeline_by_stage(frame, "EUR", "t", stage_order=order)
        colour[len(frame)] = {
            b.get_label(): b.patches[0].get_facecolor() for b in fig.axes[0].containers
        }
    assert colour[2]["Discovery"] == colour[3]["Discovery"]  # the third colour both times
    assert colour[2]["Discovery"] != colour[3]["Qualification"]


def test_okr_scorecard_colours_by_status_and_marks_where_each_should_be_by_now():
    df = pd.DataFrame(
        {
            "objective": ["Grow", "Grow", "Grow", "Pipe", "Pipe"],
            "key_result": [None, "Revenue", "Win rate", "Meetings", "Created"],
            "grade": [0.72, 0.81, 0.2, 0.95, 0.5],
            "status": ["green", "amber", "red", "amber", None],
            "due": [0.9, 11 / 12, 1.0, 2 / 3, 1.0],
        }
    )
    fig = c.okr_scorecard(df, "One objective on track")
    ax = fig.axes[0]
    rects = sorted(bars(ax), key=lambda r: -r.get_y())  # top first
    assert len(rects) == 5  # the objective's own grade and four key results
    colours = [to_hex(r.get_facecolor()) for r in rects]
    sc = c.STATUS_COLOURS
    # the status column colours each bar; a key result without a status is grey
    assert colours == [sc["green"], sc["amber"], sc["red"], sc["amber"], "#bbbbbb"]
    assert "0.20 · off track" in annotations(ax) and "0.81 · at risk" in annotations(ax)
    # a tick where the key result is due by now (due < 1): Grow 0.9, Revenue 11/12, Meetings 2/3
    ticks = sorted(round(line.get_xdata()[0], 3) for line in ax.lines)
    assert ticks == [round(2 / 3, 3), 0.9, round(11 / 12, 3)]
    labels = [t.get_text().strip() for t in ax.get_yticklabels()]
    assert labels == ["Grow", "Revenue", "Win rate", "Pipe", "Meetings", "Created"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["On track", "At risk", "Off track", "Where it should be by now"]
    assert "Grade" in ax.get_xlabel()


def test_okr_scorecard_key_result_without_grade_says_no_data():
    df = pd.DataFrame({"objective": ["O", "O"], "key_result": ["a", "b"], "grade": [0.5, np.nan]})
    ax = c.okr_scorecard(df, "t").axes[0]
    assert len(bars(ax)) == 1
    assert "— no data" in annotations(ax)


def test_boolean_columns_read_from_csv_text():
    from salesreport.charts.theme import bool_column

    df = pd.DataFrame({"flag": ["True", "false", None, "1"], "b": [True, None, False, True]})
    assert bool_column(df, "flag").tolist() == [True, False, False, True]
    assert bool_column(df, "b").tolist() == [True, False, False, True]
    assert bool_column(df, "absent").tolist() == [False] * 4


# ---------------------------------------------------------------- empty input


def _empty_calls():
    empty = pd.DataFrame()
    return {
        "revenue_vs_target": lambda: c.revenue_vs_target(
            pd.DataFrame(columns=["period", "value", "target", "prior"]), "EUR", "t"
        ),
        "kpi_trend": lambda: c.kpi_trend(empty, "count", "t"),
        "revenue_by_segment": lambda: c.revenue_by_segment(empty, "EUR", "t"),
        "forecast_fan": lambda: c.forecast_fan(pd.Series(dtype=float), empty, "EUR", "t"),
        "forecast_vs_actual": lambda: c.forecast_vs_actual(empty, "EUR", "t"),
        "accuracy_by_horizon": lambda: c.accuracy_by_horizon(empty, "t"),
        "trend_decomposition": lambda: c.trend_decomposition(empty, "t"),
        "kpi_bars": lambda: c.kpi_bars(empty, "EUR", "t"),
        "pipeline_by_stage": lambda: c.pipeline_by_stage(empty, "EUR", "t"),
        "funnel": lambda: c.funnel(empty, "t"),
        "stage_durations": lambda: c.stage_durations(empty, "t"),
        "waterfall": lambda: c.waterfall(empty, "EUR", "t"),
        "retention_heatmap": lambda: c.retention_heatmap(empty, "t"),
        "revenue_retention_by_year": lambda: c.revenue_retention_by_year(empty, "t"),
        "nrr_grr_trend": lambda: c.nrr_grr_trend(empty, "t"),
        "okr_scorecard": lambda: c.okr_scorecard(empty, "t"),
    }


@pytest.mark.parametrize("chart", sorted(_empty_calls()))
def test_empty_input_raises_no_data(chart):
    with pytest.raises(ValueError, match=f"^no data for {chart}$"):
        _empty_calls()[chart]()


def test_all_missing_values_count_as_no_data():
    df = pd.DataFrame({"period": ["2026-10"], "value": [np.nan]})
    with pytest.raises(ValueError, match="^no data for revenue_vs_target$"):
        c.revenue_vs_target(df, "EUR", "t")
    nn = pd.DataFrame({"period": ["2026-10"], "nrr": [np.nan], "grr": [np.nan]})
    with pytest.raises(ValueError, match="^no data for nrr_grr_trend$"):
        c.nrr_grr_trend(nn, "t")


def test_missing_column_is_named():
    with pytest.raises(ValueError, match=r"funnel: missing columns \['count'\]"):
        c.funnel(pd.DataFrame({"step": ["a"]}), "t")


def test_bad_months_are_reported():
    df = pd.DataFrame({"period": ["October"], "value": [1.0]})
    with pytest.raises(ValueError, match="'YYYY-MM'"):
        c.revenue_vs_target(df, "EUR", "t")


def test_every_chart_renders_to_png():
    """Layout problems surface only when drawing: render a few busy charts for real."""
    figs = [
        c.revenue_vs_target(monthly_frame(24), "EUR", "t"),
        c.forecast_fan(pd.Series(1.0, index=months("2025-01", 22)), forecast_frame(12), "EUR", "t"),
        c.okr_scorecard(
            pd.DataFrame({"objective": ["O"] * 2, "key_result": ["a", "b"], "grade": [0.1, 0.9]}),
            "t",
        ),
    ]
    for fig in figs:
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        assert buf.getvalue()[:4] == b"\x89PNG"


def test_a_figure_is_drawn_once_and_redrawn_only_after_a_change(monkeypatch):
    from salesreport.charts import theme

    fig = c.funnel(pd.DataFrame({"step": ["Leads", "Won"], "count": [10, 2]}), "20% won")
    calls = []
    real = theme._render_png
    monkeypatch.setattr(theme, "_render_png", lambda f, dpi: calls.append(dpi) or real(f, dpi))
    first = theme.png_bytes(fig)
    assert calls == [] and first[:8] == b"\x89PNG\r\n\x1a\n"  # the drawing made by finish()
    fig.axes[0].set_title("changed after finish")
    changed = theme.png_bytes(fig)
    assert calls == [theme.DPI] and changed != first  # a changed figure is drawn again


def test_the_one_pass_png_has_the_same_pixels_as_savefig(monkeypatch):
    """finish() draws the Agg canvas once instead of savefig's two passes: same picture."""
    from PIL import Image

    from salesreport.charts import theme

    def pixels(fig):
        return np.asarray(Image.open(io.BytesIO(theme.png_bytes(fig))).convert("RGB"))

    def draw():
        return c.revenue_vs_target(monthly_frame(24), "EUR", "Revenue 4% above target")

    one_pass = pixels(draw())

    def with_savefig(fig, dpi):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
        return buf.getvalue()

    monkeypatch.setattr(theme, "_render_png", with_savefig)
    reference = pixels(draw())
    assert one_pass.shape == reference.shape
    height, width, _ = one_pass.shape  # 8.2 x 4.4 in at 110 dpi: 902 x 484 px, within rounding
    assert (height, 3) == (round(theme.HEIGHT_IN * theme.DPI), one_pass.shape[2])
    assert abs(width - theme.WIDTH_IN * theme.DPI) < 1
    assert np.array_equal(one_pass, reference)


def test_a_value_label_sits_its_offset_beside_the_point_without_a_clip_test():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from salesreport.charts.theme import new_figure, value_label

    fig, ax = new_figure()
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 1)
    label = value_label(ax, "7", (7, 0.5), (6, 0), va="center")
    assert label.get_annotation_clip() is False  # never asks whether (7, 0.5) is inside
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    x_point = ax.transData.transform((7, 0.5))[0]
    # 6 points to the right: 6 / 72 inch at the figure's 110 dpi = 9.17 px
    assert label.get_window_extent(renderer).x0 == pytest.approx(x_point + 6 * 110 / 72, abs=1)


def test_every_public_chart_name_resolves_to_its_module():
    import importlib

    for name in c.__all__:
        value = getattr(c, name)
        assert value is getattr(
            importlib.import_module(f"salesreport.charts.{c._HOME[name]}"), name
        )
    with pytest.raises(AttributeError, match="no attribute 'no_such_chart'"):
        c.no_such_chart  # noqa: B018


def test_formatting_numbers_and_the_pipeline_load_no_matplotlib():
    """The pipeline's main process writes the index page with the findings' headline and
    tiles and the number formats; it must not pay for matplotlib and seaborn (the kernels
    draw), nor import the pages."""
    from tests.conftest import modules_loaded

    code = (
        "import salesreport.pipeline, salesreport.findings, salesreport.html\n"
        "from salesreport import charts\n"
        "assert charts.fmt_money(1_234_567, 'EUR') == '€1.2M'\n"
        "assert charts.finding_title_count('Deals', 3, 'Oct') == '3 Deals Oct'\n"
    )
    assert modules_loaded(code, ("matplotlib", "seaborn", "salesreport.pages")) == []


def test_one_bar_keeps_the_thickness_of_three():
    df = pd.DataFrame({"label": ["Ann (R1)"], "value": [126.0], "target": [726.0]})
    ax = c.kpi_bars(df, "EUR", "t", metric="Bookings").axes[0]
    low, high = ax.get_ylim()
    # three rows' worth: -0.6 - 1 .. 1 - 0.4 + 1 = -1.6 .. 1.6
    assert (low, high) == pytest.approx((-1.6, 1.6))
    three = pd.DataFrame({"label": ["a", "b", "c"], "value": [1.0, 2.0, 3.0]})
    assert c.kpi_bars(three, "EUR", "t").axes[0].get_ylim() == pytest.approx((-0.6, 2.6))


def test_long_titles_and_the_okr_legend_stay_inside_the_figure():
    """EMEA's executive page cut its OKR chart's title ("... where it should be b") and
    legend at the right edge: long key-result names narrow the plot, and the title was one
    line whatever its length."""
    df = pd.DataFrame(
        {
            "objective": ["A predictable pipeline in every country"] * 3,
            "key_result": [None, "Pipeline coverage of next month 3x", "Win rate this quarter 30%"],
            "grade": [0.5, 0.4, 0.9],
            "status": ["amber", "red", "green"],
            "due": [0.9, 0.9, 0.9],
        }
    )
    title = (
        "Grade of each key result (0 = baseline, 1 = target), the tick where it should be "
        "by now, for every objective of the quarter"
    )
    fig = c.okr_scorecard(df, title)
    fig.canvas.draw()
    right = fig.bbox.x1
    assert fig._suptitle.get_window_extent().x1 <= right  # noqa: SLF001
    assert "\n" in fig._suptitle.get_text()  # noqa: SLF001
    assert fig.axes[0].get_legend().get_window_extent().x1 <= right
