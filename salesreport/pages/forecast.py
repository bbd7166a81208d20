"""The forecast page: how good the forecast is, the revenue forecast, the chance of reaching
the targets, what changed since last month, how accurate past forecasts were, trends.

Sections, in the page's order: :func:`headline_accuracy` (the one answer to "how good is
our forecast?"), :func:`forecast_fan` (also on the executive page), :func:`forecast_table`,
:func:`targets`, :func:`changes`, :func:`segment_forecast`, :func:`accuracy`,
:func:`pipeline_forecast`, :func:`submissions` (the team's own calls), :func:`trend`.
The outlook's numbers come from the frames ``forecast_headline``, ``forecast_targets`` and
``forecast_changes`` (:mod:`salesreport.forecast.accuracy`, :mod:`salesreport.forecast.targets`,
:mod:`salesreport.forecast.changes`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport import analysis, charts, words
from salesreport.forecast import accuracy as acc
from salesreport.forecast.core import SHORT_HISTORY, SHORT_MODEL, prepare_series
from salesreport.forecast.models import SEASON
from salesreport.pages.common import notes_section, title_block  # noqa: F401
from salesreport.pages.section import (
    Html,
    Section,
    Table,
    chart,
    drawn,
    missing,
    note,
    section_needs,
    shared,
)


def _selected(ctx) -> pd.DataFrame:
    """The published forecast's rows (``selected``), ``period`` as months."""
    fc = ctx.forecast
    sel = fc[fc["selected"].astype(bool)].copy()
    sel["period"] = pd.PeriodIndex(sel["period"].astype(str), freq="M")
    return sel.reset_index(drop=True)


@shared
def forecast_fan(ctx, heading: bool = True) -> Section:
    """Monthly revenue and the published forecast with its intervals, against target."""
    if ctx.forecast.empty:
        return Section("", parts=[missing("No forecast could be made from this data.")])
    sel = _selected(ctx)
    rev = ctx.revenue
    hist = pd.Series(
        rev["revenue"].to_numpy(), index=pd.PeriodIndex(rev["period"].astype(str), freq="M")
    )
    nxt = sel.head(3)["point"].sum()
    tg = ctx.frames.get("revenue_targets", pd.DataFrame())
    target = (
        pd.Series(tg["target"].to_numpy(float), index=pd.PeriodIndex(tg["period"], freq="M"))
        if len(tg)
        else None
    )
    money = words.fmt_money(nxt, ctx.currency)
    title = f"Next three months forecast at {money}"
    last_year = hist.reindex(sel.head(3)["period"] - 12).to_numpy(float)
    if len(last_year) == 3 and not np.isnan(last_year).any() and last_year.sum() > 0:
        title += f", {words.against(nxt, last_year.sum(), 'the same months last year')}"
    if target is not None:
        t3 = target.reindex(sel.head(3)["period"]).to_numpy()
        if not np.isnan(t3).any() and t3.sum() > 0:
            title = f"Next three months forecast at {money}, {words.against(nxt, t3.sum())}"
    with_target = target is not None and target.notna().any()
    parts = [
        chart(
            charts.forecast_fan,
            hist.tail(36),
            sel,
            ctx.currency,
            f"Monthly revenue ({ctx.currency}): forecast with 80% and 95% intervals"
            + (", and target" if with_target else ""),
            target=target,
        ),
        note(model_note(str(sel["model"].iloc[0]), len(prepare_series(hist)[0]))),
    ]
    return Section(title if heading else "", "forecast", parts, frame=sel)


def model_note(model: str, history_months: int) -> str:
    """What made the published forecast and why, as the selection rule chose it
    (:func:`salesreport.forecast.core._select`): under
    :data:`~salesreport.forecast.core.SHORT_HISTORY` months of history (leading months
    without revenue left out) the forecast is seasonal naive plus half the average change on
    a year earlier, without a choice; at 12 months plain seasonal naive, and under a year the
    last month carried forward."""
    if model == SHORT_MODEL:
        why = (
            f"a model is chosen by its accuracy on past months from {SHORT_HISTORY} months of "
            f"history on, and this forecast has {words.count(history_months, 'month')}"
        )
        if history_months < SEASON:
            return (
                f"Model: the last month's revenue carried forward, as there is no same month "
                f"last year yet; {why}."
            )
        if history_months == SEASON:  # no change on a year earlier to add yet
            return f"Model: {words.model_label('snaive')}; {why}."
        return f"Model: {words.model_label(model)}; {why}."
    return f"Model: {words.model_label(model)}, chosen by its accuracy on past months."


#: forecast.csv's columns as the forecast table shows them.
FORECAST_COLUMNS = {
    "period": "Month",
    "point": "Forecast",
    "lo80": "80% low",
    "hi80": "80% high",
    "lo95": "95% low",
    "hi95": "95% high",
}


def forecast_table(ctx) -> Section:
    """The published forecast, month by month, with its intervals."""
    if ctx.forecast.empty:
        return Section("")
    sel = _selected(ctx)
    money = lambda v: words.fmt_money(v, ctx.currency)  # noqa: E731
    shown = sel[list(FORECAST_COLUMNS)].rename(columns=FORECAST_COLUMNS)
    shown["Month"] = [words.month_label(p, "short") for p in sel["period"]]
    months = words.count(len(sel), "month")
    return Section(
        f"Forecast by month: {money(sel['point'].sum())} over the next {months}",
        "forecast-by-month",
        [Table(shown, formats={c: money for c in shown.columns if c != "Month"})],
        frame=sel,
        level=3,
    )


#: segment columns the segment forecast table shows before summing the smallest as "Others"
MAX_SEGMENT_COLUMNS = 8


def segment_forecast(ctx) -> Section:
    """Segment forecasts reconciled to the team's (top-down, proportional to their own
    forecasts)."""
    sf = ctx.frames.get("segment_forecasts", pd.DataFrame())
    if sf.empty:
        return Section(
            "",
            parts=[
                note(
                    "No segment forecasts: name segment columns under forecast.segments in the "
                    "team's YAML."
                )
            ],
        )
    wide = sf.pivot_table(index="period", columns="segment", values="point", aggfunc="sum")
    wide.index = wide.index.astype(str)
    # "region=DE" -> "DE" when every segment is a region; "region: DE" when they mix
    keys = {str(c).split("=", 1)[0] for c in wide.columns if "=" in str(c)}
    one_key = len(keys) == 1 and all("=" in str(c) for c in wide.columns)
    wide.columns = [
        str(c).split("=", 1)[1] if one_key else str(c).replace("=", ": ", 1) for c in wide.columns
    ]
    total = wide.sum(axis=1)
    shown = ""
    if wide.shape[1] > MAX_SEGMENT_COLUMNS:  # a readable table: the largest, then the rest
        order = wide.sum().sort_values(ascending=False, kind="stable").index
        wide = analysis.fold_columns(wide, order, MAX_SEGMENT_COLUMNS, "Others")
        shown = (
            f" The {MAX_SEGMENT_COLUMNS - 1} largest of {len(order)} segments, the others summed."
        )
    wide["Total"] = total
    money = lambda v: words.fmt_money(v, ctx.currency)  # noqa: E731
    t = wide.rename_axis("Month").reset_index()
    t["Month"] = [words.month_label(m, "short") for m in t["Month"]]
    method = sf["method"].iloc[0] if "method" in sf.columns else "proportional"
    by = f" by {keys.pop()}" if one_key else " by segment"
    return Section(
        f"Forecast{by}, adding up to the team forecast",
        "segment-forecast",
        [
            note(f"Revenue forecast ({ctx.currency}); reconciliation: {method}.{shown}"),
            Table(t, formats={c: money for c in t.columns if c != "Month"}, max_rows=12),
        ],
        frame=sf,
    )


def one_month_ahead(ctx) -> pd.DataFrame:
    """The published forecast one month ahead against what happened, for the months of the
    last ``history_months`` months that were scored: ``period`` (the month forecast),
    ``actual``, ``forecast``, ``kind`` (``realised``: the forecast the report recorded in
    its ledger; ``backtest``: what the method would have forecast before the ledger began)."""
    a = ctx.forecast_accuracy
    if a.empty:
        return pd.DataFrame(columns=["period", "actual", "forecast", "kind"])
    h1 = a[a["kind"].isin(["realised", "backtest"]) & (a["horizon"] == 1)]
    h1 = h1[h1["model"] == "selected"]  # the selection method, scored as it would have chosen
    target = pd.PeriodIndex(h1["origin"].astype(str), freq="M") + 1
    recent = target > ctx.period - ctx.params.history_months
    out = h1[recent].assign(period=target[recent].astype(str))
    return (
        out[["period", "actual", "forecast", "kind"]].sort_values("period").reset_index(drop=True)
    )


def accuracy(ctx) -> Section:
    """How far past forecasts were from what happened: one month ahead (chart), by horizon
    and by model."""
    a = ctx.forecast_accuracy
    if a.empty:
        return Section(
            "Forecast accuracy: not enough history yet",
            "accuracy",
            [missing("Not enough history to score past forecasts.")],
        )
    parts = []
    h1 = one_month_ahead(ctx)
    title = "Accuracy of past forecasts"
    if len(h1):
        wape = acc.wape(h1["actual"], h1["forecast"])
        first, last = (
            words.month_label(h1["period"].iloc[0], "short"),
            words.month_label(h1["period"].iloc[-1], "short"),
        )
        span = words.count(len(h1), "month")
        title = (
            f"One-month-ahead forecasts were off by {words.fmt_pct(wape)} on average over the "
            f"{span} scored, {first} to {last}"
        )
        kinds = set(h1["kind"])
        parts += [
            chart(
                charts.forecast_vs_actual,
                h1[["period", "actual", "forecast"]],
                ctx.currency,
                f"Revenue ({ctx.currency}) and the forecast a month before, {first} to {last}",
            ),
            note(
                "Off by: the months' misses added up, over their revenue added up (WAPE). "
                + (
                    "Realised months score the forecast the report published; backtest months "
                    "score what the method would have forecast before the report kept its "
                    "forecasts. "
                    if len(kinds) > 1
                    else ""
                )
                + f"Months of the last {ctx.params.history_months} with a score."
            ),
        ]
    detail = a[a["kind"].isin(["realised", "backtest"])]
    byh = detail.groupby(["model", "horizon"], as_index=False).apply(
        lambda g: pd.Series({"mape": g["ape"].mean()}), include_groups=False
    )
    if len(byh):
        byh["selected"] = byh["model"] == "selected"  # the published forecast, drawn thicker
        byh["model"] = byh["model"].map(words.model_name)
        parts.append(
            chart(charts.accuracy_by_horizon, byh, "Mean absolute percentage error by horizon")
        )
    summary = a[(a["kind"] == "summary") & a["horizon"].isna() & (a["model"] != acc.CHANCE_MODEL)]
    frame = h1
    if len(summary):
        wide = summary.pivot_table(index="model", columns="metric", values="value", aggfunc="first")
        cols = [c for c in ["mape", "wape", "mase", "bias", "n"] if c in wide.columns]
        wide = wide[cols].sort_values("mase" if "mase" in cols else cols[0]).reset_index()
        heading = "Accuracy by model, all horizons (realised and backtest)"
        if "mase" in cols and wide["mase"].notna().any():
            best = wide.iloc[0]
            heading = (
                f"{words.model_name(best['model'])} was the most accurate over all horizons "
                f"(MASE {best['mase']:.2f})"
            )
            published = wide.loc[wide["model"] == "selected", "mase"]
            if best["model"] != "selected" and len(published) and pd.notna(published.iloc[0]):
                heading += f"; the published forecast {published.iloc[0]:.2f}"
        parts += [
            _sub(heading),
            Table(
                wide,
                formats={
                    "model": words.model_name,
                    "mape": words.fmt_pct,
                    "wape": words.fmt_pct,
                    "bias": lambda v: words.fmt_pct(v, signed=True),
                    "mase": lambda v: f"{v:.2f}",
                    "n": lambda v: f"{v:.0f}",
                },
            ),
            note(
                "Published forecast: the forecast the report published at each origin, from "
                "the model chosen then. MAPE and WAPE: mean and weighted absolute percentage "
                "error; MASE: the error over the typical year-on-year change of the history "
                "before each forecast (the in-sample seasonal naive error), lower is better "
                "and comparable across models; bias: (forecast − actual) / actual. "
                "Per-horizon figures are in forecast_accuracy.csv."
            ),
        ]
    return Section(title, "accuracy", parts, frame=frame)


def _sub(text: str):
    from salesreport import html as H
    from salesreport.pages.section import Html

    return Html(H.heading(text, level=3))


def anomalies(ctx) -> pd.DataFrame:
    """The months the trend analysis flags as unusual: ``period``, ``actual``, ``expected``
    (trend and season), ``low`` and ``high`` (the range months fall in when nothing unusual
    happens; revenue is never below 0, so neither is ``low``), ``times_expected``."""
    tr = ctx.trend
    cols = ["period", "actual", "expected", "low", "high", "times_expected"]
    if tr.empty or "anomaly" not in tr.columns:
        return pd.DataFrame(columns=cols)
    tr = tr.rename(columns={tr.columns[0]: "period"})
    flagged = tr[tr["anomaly"].fillna(False).astype(bool)]
    expected = flagged["expected"].astype(float)
    return pd.DataFrame(
        {
            "period": flagged["period"].astype(str),
            "actual": flagged["actual"].astype(float),
            "expected": expected,
            "low": flagged["lower"].astype(float).clip(lower=0),
            "high": flagged["upper"].astype(float).clip(lower=0),
            "times_expected": (flagged["actual"] / expected.where(expected > 0)).astype(float),
        },
    ).reset_index(drop=True)


#: The trend frame's lines drawn beside the revenue, as the chart's title names them.
TREND_LINES = {"ma3": "3-month average", "ma12": "12-month average", "trend": "trend"}


def trend(ctx) -> Section:
    """Monthly revenue with its moving averages, and the months that were unusual."""
    tr = ctx.trend
    if tr.empty:
        return Section("", parts=[missing("Not enough months for a trend analysis.")])
    flagged = anomalies(ctx)
    yoy = tr["yoy_growth"].iloc[-1] if "yoy_growth" in tr else np.nan
    unusual = words.count(len(flagged), "unusual month") if len(flagged) else "no unusual months"
    moved = words.change(1 + yoy, 1) if pd.notna(yoy) else ""
    title = (
        f"Revenue {moved} on the same month last year; {unusual}"
        if moved
        else f"Revenue trend; {unusual}"
    )
    beside = drawn(tr, TREND_LINES)
    parts = [
        chart(
            charts.trend_decomposition,
            tr.set_index(tr.columns[0]),
            f"Monthly revenue ({ctx.currency})"
            + (f" with its {words.listing(beside)}" if beside else ""),
            currency=ctx.currency,
        )
    ]
    if len(flagged):
        money = lambda v: words.fmt_money(v, ctx.currency)  # noqa: E731
        shown = pd.DataFrame(
            {
                "Month": [words.month_label(p, "short") for p in flagged["period"]],
                "Revenue": flagged["actual"],
                "Expected": flagged["expected"],
                "Usual range": [
                    f"{money(lo)} to {money(hi)}"
                    for lo, hi in zip(flagged["low"], flagged["high"], strict=True)
                ],
                "How unusual": [_how_unusual(r) for r in flagged.itertuples()],
            }
        )
        parts += [
            Table(shown, formats={"Revenue": money, "Expected": money}),
            note(
                "Expected: the month's revenue from the trend and the seasonal pattern of the "
                "other months. Usual range: where a month's revenue falls when nothing unusual "
                f"happens ({ctx.params.thresholds.anomaly_z:g} times the typical distance from "
                "the expected); a month outside it is unusual."
            ),
        ]
    return Section(title, "trend", parts, frame=flagged)


def _how_unusual(row) -> str:
    """``2.4× the expected``, ``far below the usual range`` (no expected level above 0)."""
    side = "above" if row.actual > row.high else "below"
    if pd.notna(row.times_expected) and row.times_expected > 0:
        return f"{row.times_expected:.1f}× the expected, {side} the usual range"
    return f"{side} the usual range"


def pipeline_forecast(ctx) -> Section:
    """Bookings the open pipeline points to over the next months, beside the forecast."""
    pf = ctx.frames.get("pipeline_forecast", pd.DataFrame())
    if pf.empty:
        if not ctx.tables.has("opportunities"):
            return section_needs("opportunities", "Pipeline-based forecast", "pipeline-forecast")
        why = (ctx.notes or {}).get("unavailable", {}).get("pipeline_forecast", "")
        return Section(
            "No pipeline-based forecast this month",
            "pipeline-forecast",
            [missing(words.sentence(why) + "." if why else "The open pipeline gave no forecast.")],
        )
    wide = pf.pivot_table(index="period", columns="component", values="value", aggfunc="sum")
    sel = _selected(ctx)
    wide.index = wide.index.astype(str)
    money = lambda v: words.fmt_money(v, ctx.currency)  # noqa: E731
    bookings_are_revenue = not ctx.tables.has("orders")
    stat = "Revenue forecast (statistical)" if bookings_are_revenue else "Revenue forecast (orders)"
    wide[stat] = pd.Series(sel["point"].to_numpy(), index=sel["period"].astype(str)).reindex(
        wide.index
    )
    total = float(wide["total"].sum()) if "total" in wide else float("nan")
    n = len(wide)
    title = f"The open pipeline points to {money(total)} of bookings over the next {n} months"
    t = wide.reset_index().rename(
        columns={
            "period": "Month",
            "open pipeline": "From open deals (weighted)",
            "run rate": "From deals not yet created",
            "total": "Bookings expected",
        }
    )
    t["Month"] = [words.month_label(m, "short") for m in t["Month"]]
    text = (
        "Bookings: the value of deals expected to be won. Each open deal counts at the win "
        "rate of its current stage, in the month of its expected close date (overdue deals "
        "in the next month); deals created and won within a month come at the rate of the "
        "last six months. "
    )
    text += (
        "With no orders table, revenue is bookings, so the two forecasts measure the same thing."
        if bookings_are_revenue
        else "Revenue comes from the orders table, so it differs from bookings when contracts "
        "are invoiced over time or orders lag the deal: compare the trend, not the level."
    )
    return Section(
        title,
        "pipeline-forecast",
        [Table(t, formats={c: money for c in t.columns if c != "Month"}), note(text)],
        frame=pf,
    )


def _call_period(period: str, ctx) -> str:
    """A forecast call's period as the pages write it (a month, or a quarter as the targets
    label it: ``2026-10`` -> ``October 2026``, ``2026-Q4`` -> ``Q4 2026``)."""
    quarter = "-Q" in period.upper()
    kind = "quarter" if quarter else "year" if len(period) == 4 else "month"
    return period_label(
        period.upper() if quarter else period, kind, ctx.params.fiscal_year_start_month
    )


def submissions(ctx) -> Section:
    """The team's own forecast calls against what happened."""
    s = ctx.frames.get("submissions", pd.DataFrame())
    if s.empty:
        if not ctx.tables.has("forecast_submissions"):
            return section_needs(
                "forecast_submissions", "The team's own forecast calls", "submissions"
            )
        return Section(
            f"No forecast call submitted by the end of {words.month_label(ctx.month)}",
            "submissions",
        )
    done = s[s["complete"].astype(bool)] if "complete" in s.columns else s
    commit = done[done["category"] == "commit"] if "category" in done.columns else done
    title = "The team's own forecast calls against what happened"
    wape = acc.wape(commit["actual"], commit["submitted"]) if len(commit) else np.nan
    if pd.notna(wape):
        title = f"The team's commit calls were off by {words.fmt_pct(wape)} on average"
    money = lambda v: words.fmt_money(v, ctx.currency)  # noqa: E731
    cols = [c for c in acc.SUBMISSION_COLUMNS if c in s.columns and c not in ("complete", "keys")]
    shown = s[cols].tail(24).copy()
    if "level" in shown:  # whose calls make the team's: "Regions DE, FR and UK added up"
        keys = s["keys"].tail(24) if "keys" in s else pd.Series("", index=shown.index)
        shown["level"] = [
            _call_level(ctx, level, k) for level, k in zip(shown["level"], keys, strict=True)
        ]
    return Section(
        title,
        "submissions",
        [
            Table(
                shown.rename(columns={"level": "Call made by"}),
                formats={
                    "period": lambda v: _call_period(str(v), ctx) if pd.notna(v) else "—",
                    "category": lambda v: (
                        words.sentence(str(v).replace("_", " ")) if pd.notna(v) else "—"
                    ),
                    "submitted": money,
                    "actual": money,
                    "error": money,
                    "ape": words.fmt_pct,
                    "submitted_date": lambda v: f"{v:%Y-%m-%d}" if pd.notna(v) else "—",
                },
            ),
            note(
                "Error: the call minus the actual revenue (positive: the call was too high); "
                "APE: the error's size as a share of the actual revenue. Calls for months not "
                "yet over have no actual. A team's call is its own when it made one, else its "
                "regions' calls added up, else its reps'."
            ),
        ],
        frame=s,
    )


def _call_level(ctx, level: str, keys: str) -> str:
    """``team`` -> ``The team``; ``region`` with keys ``DE,UK`` -> ``Regions DE and UK
    added up`` (one region: ``Region DE``); reps the same, by name."""
    if not isinstance(level, str) or level == "team":
        return "The team"
    names = [k for k in str(keys if isinstance(keys, str) else "").split(",") if k]
    noun = "Region" if level == "region" else "Rep"
    if level == "rep":
        known = analysis.rep_names(ctx.tables)
        names = [str(known.get(k, k)) for k in names]
    if len(names) == 1:
        return f"{noun} {names[0]}"
    if names:
        return f"{noun}s {words.listing(names)} added up"
    return f"{noun}s added up"


# --------------------------------------------------------------------------- the outlook


def _outlook_money(ctx, value: float, signed: bool = False) -> str:
    """An amount of the outlook: below a cent's worth of rounding is 0; ``signed`` writes a
    ``+`` before a rise."""
    if value is None or not np.isfinite(value):
        return words.MISSING
    value = 0.0 if abs(value) < 0.5 else float(value)
    text = words.fmt_money(value, ctx.currency)
    return f"+{text}" if signed and value > 0 else text


def period_label(period: str, kind: str, fy_start: int) -> str:
    """``2026-Q4`` -> ``Q4 2026`` (``FY2026 Q4`` with a fiscal year not starting in January);
    ``2026`` -> ``2026`` (``FY2026``); a month ``2026-10`` -> ``October 2026``."""
    fy = "FY" if fy_start != 1 else ""
    if kind == "quarter":
        year, q = period.split("-")
        return f"{fy}{year} {q}" if fy else f"{q} {year}"
    if kind == "year":
        return f"{fy}{period}"
    return words.month_label(period)


def _labels(frame: pd.DataFrame, ctx) -> list[str]:
    """:func:`period_label` of each row's ``period`` and ``kind``."""
    fy = ctx.params.fiscal_year_start_month
    return [period_label(p, k, fy) for p, k in zip(frame["period"], frame["kind"], strict=True)]


def frame_of(ctx, name: str) -> pd.DataFrame:
    frame = ctx.frames.get(name)
    return frame if frame is not None else pd.DataFrame()


def headline_accuracy(ctx) -> Section:
    """The one answer to "how good is our forecast?", at the top of the forecast page."""
    f = frame_of(ctx, "forecast_headline")
    row = f.iloc[0] if len(f) else None
    if row is None or pd.isna(row.get("value")):
        return Section(
            "How good is our forecast? Not enough months scored yet",
            "how-good",
            [
                missing(
                    "The headline accuracy needs at least 6 of the last 12 months with a "
                    "forecast made one month earlier."
                )
            ],
            frame=f,
        )
    first = words.month_label(str(row["first"]), "short")
    last = words.month_label(str(row["last"]), "short")
    source = {
        "ledger": "the forecasts the reports published",
        "backtest": "the forecasts the method would have made (backtest: no published forecast yet)",
    }.get(str(row["source"]), "published forecasts, and backtests for months before the ledger")
    from salesreport import html as H

    return Section(
        f"Our forecasts are {words.fmt_pct(row['value'])} accurate one month ahead "
        f"(last {int(row['months'])} months)",
        "how-good",
        [
            Html(
                H.paragraph(
                    f"Accuracy = 1 − the sum of the monthly misses over the sum of actual revenue, "
                    f"{first}–{last}, each month's forecast made the month before ({source}). "
                    "The other measures (by model, by horizon) are under “Forecast accuracy” below."
                )
            )
        ],
        frame=f,
    )


def chance_text(p: float) -> str:
    """A chance in whole percent, never rounding to a certainty it is not: ``>99%``, ``<1%``."""
    if pd.isna(p):
        return words.MISSING
    if 0.99 < p < 1:
        return ">99%"
    if 0 < p < 0.01:
        return "<1%"
    return words.fmt_pct(p)


def chance_sentence(ctx, row: pd.Series) -> str:
    """``62% chance of reaching the €14M 2026 target; likely range €13.1M–€14.6M``."""
    label = period_label(str(row["period"]), str(row["kind"]), ctx.params.fiscal_year_start_month)
    money = lambda v: _outlook_money(ctx, v)  # noqa: E731
    rng = f"likely range {money(row['lo80'])}–{money(row['hi80'])}"
    if pd.isna(row["chance"]):
        return f"{label} revenue: expected {money(row['expected'])}, {rng} (no target set)"
    return (
        f"{chance_text(row['chance'])} chance of reaching the {money(row['target'])} "
        f"{label} target; {rng}"
    )


def lead_target(chances: pd.DataFrame) -> pd.Series | None:
    """The year's row when it has a target, else the first row with a target, else the first."""
    if chances.empty:
        return None
    with_target = chances[chances["target"].notna()]
    for frame in (with_target[with_target["kind"] == "year"], with_target, chances):
        if len(frame):
            return frame.iloc[0]
    return None


def targets(ctx) -> Section:
    """The chance of reaching each open quarter's and year's target, with the likely range."""
    ch = frame_of(ctx, "forecast_targets")
    lead = lead_target(ch)
    if lead is None:
        return Section(
            "Chance of reaching the targets: no open quarter or year",
            "targets",
            [missing("The forecast horizon covers no complete fiscal quarter or year.")],
            frame=ch,
        )
    shown = pd.DataFrame(
        {
            "Period": _labels(ch, ctx),
            "Target": ch["target"],
            "Actual so far": ch["actual_to_date"],
            "Expected": ch["expected"],
            "Likely range (8 in 10)": [
                f"{_outlook_money(ctx, lo)}–{_outlook_money(ctx, hi)}"
                for lo, hi in zip(ch["lo80"], ch["hi80"], strict=True)
            ],
            "Chance of reaching the target": ch["chance"],
        }
    )
    money = lambda v: _outlook_money(ctx, v)  # noqa: E731
    return Section(
        chance_sentence(ctx, lead),
        "targets",
        [
            Table(
                shown,
                formats={
                    "Target": money,
                    "Actual so far": money,
                    "Expected": money,
                    "Chance of reaching the target": chance_text,
                },
            ),
            note(
                "From 4,000 possible paths of the coming months drawn from the forecast, its "
                "errors correlated from one month to the next as in its backtest (a month that "
                "comes in low makes the next ones likelier low too): the chance is the share of "
                "paths whose total, with the revenue already booked, reaches the target; the "
                "likely range holds 8 paths in 10. Targets are the sum of the period's monthly "
                "revenue targets. Chances stated in past months are scored in "
                "forecast_accuracy.csv (Brier score) once the period is over."
            ),
        ],
        frame=ch,
    )


def change_sentence(ctx, row: pd.Series) -> str:
    """``The Q4 2026 forecast rose €11k since last month, to €341k: +€25k from October's
    actual revenue, -€14k from the model's revision``."""
    label = period_label(str(row["period"]), str(row["kind"]), ctx.params.fiscal_year_start_month)
    money = lambda v, signed=False: _outlook_money(ctx, v, signed)  # noqa: E731
    moved = float(row["change"])
    if abs(moved) < 0.5:
        text = f"The {label} forecast is unchanged since last month ({money(row['this_month'])})"
    else:
        verb = "rose" if moved > 0 else "fell"
        text = (
            f"The {label} forecast {verb} {money(abs(moved))} since last month, to "
            f"{money(row['this_month'])}"
        )
    if pd.notna(row["from_actuals"]):
        month = words.month_label(ctx.month, "name")
        text += (
            f": {money(row['from_actuals'], True)} from {month}'s actual revenue, "
            f"{money(row['from_model'], True)} from the model's revision"
        )
    return text


def lead_change(frame: pd.DataFrame) -> pd.Series | None:
    """The first quarter's change, else the first row's."""
    quarters = frame[frame["kind"] == "quarter"]
    if len(quarters):
        return quarters.iloc[0]
    return frame.iloc[0] if len(frame) else None


def changes(ctx) -> Section:
    """This month's forecast beside last month's, and why it changed."""
    ch = frame_of(ctx, "forecast_changes")
    lead = lead_change(ch) if len(ch) else None
    if lead is None:
        return Section(
            "What changed since last month: no earlier forecast to compare",
            "changes",
            [
                missing(
                    "The forecast ledger has no forecast from last month's report; the "
                    "comparison starts next month."
                )
            ],
            frame=ch,
        )
    money = lambda v: _outlook_money(ctx, v)  # noqa: E731
    signed = lambda v: _outlook_money(ctx, v, signed=True)  # noqa: E731
    shown = pd.DataFrame(
        {
            "Period": _labels(ch, ctx),
            "Last month's forecast": ch["last_month"],
            "This month's forecast": ch["this_month"],
            "Change": ch["change"],
            "From the new actuals": ch["from_actuals"],
            "From the model's revision": ch["from_model"],
        }
    )
    return Section(
        change_sentence(ctx, lead),
        "changes",
        [
            Table(
                shown,
                formats={
                    "Last month's forecast": money,
                    "This month's forecast": money,
                    "Change": signed,
                    "From the new actuals": signed,
                    "From the model's revision": signed,
                },
            ),
            note(
                "A month already known counts at its actual revenue. “From the new actuals”: "
                f"what last month's method ({ch['last_method'].iloc[0]}) forecasts now that it "
                "has seen this month's revenue, against what it said a month ago. “From the "
                f"model's revision”: the rest, this month's choice of models "
                f"({ch['this_method'].iloc[0]}) against that."
            ),
        ],
        frame=ch,
    )
