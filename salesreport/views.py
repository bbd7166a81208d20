"""Report sections: what each audience notebook shows, arranged from the context.

A view returns a list of outputs (HTML fragments and matplotlib Figures); a
notebook cell passes it to :func:`show`. Views choose and word things; numbers
come from the package's computations, charts from :mod:`salesreport.charts`.
A section whose data is missing says which table would unlock it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from salesreport import analysis, charts
from salesreport import html as H
from salesreport.context import write_json
from salesreport.forecast import accuracy
from salesreport.params import project_root
from salesreport.tables import TABLES

Output = list[Any]

#: how tables name the contract's activity types (others read capitalised)
ACTIVITY_NAMES: dict[str, str] = {
    "call": "Calls",
    "email": "Emails",
    "linkedin": "LinkedIn requests",
    "meeting": "Meetings",
    "proposal": "Proposals",
}
#: how tables name the contract's roles (others read as in the data)
ROLE_NAMES = {"ae": "AE", "sdr": "SDR", "manager": "Manager"}


def show(outputs: Output) -> None:
    """Display a view's outputs in the notebook (HTML as HTML, figures as embedded PNG)."""
    import matplotlib.pyplot as plt
    from IPython.display import HTML, display

    for item in outputs:
        if isinstance(item, str):
            display(HTML(item))
        else:
            display(item)
            if not isinstance(item, SavedChart):
                plt.close(item)


class SavedChart:
    """A chart another notebook of the same run drew: shown as the same PNG, with the same
    text form, as the figure it was drawn from (see :func:`shared_section`)."""

    def __init__(self, png: bytes, text: str) -> None:
        self.png, self.text = png, text

    def _repr_png_(self) -> bytes:
        return self.png

    def __repr__(self) -> str:
        return self.text


#: where a run's shared sections are kept, inside the saved context's folder
SECTIONS_DIR = "sections"


def shared_section(fn: Callable[..., Output]) -> Callable[..., Output]:
    """A section shown by more than one notebook is built once per run.

    A section depends only on the context and its arguments, so when the context was read
    from a pipeline run's folder (``ctx.folder``), the first notebook to build it saves its
    outputs (HTML text, and each chart's PNG) under ``<folder>/sections/``, and the other
    notebooks show those same outputs instead of computing and drawing them again. A
    context built in memory (JupyterLab without ``run_dir``, the tests) keeps nothing. Two
    notebooks building the same section at the same moment both build it; the file is
    replaced whole (an atomic rename), never read half-written.
    """

    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def section(ctx, *args: Any, **kwargs: Any) -> Output:
        folder = getattr(ctx, "folder", None)
        if folder is None:
            return fn(ctx, *args, **kwargs)
        # the arguments as bound, defaults included: f(ctx) and f(ctx, "") are one section
        bound = signature.bind(ctx, *args, **kwargs)
        bound.apply_defaults()
        named = sorted(list(bound.arguments.items())[1:])
        call = json.dumps([fn.__name__, named], default=str)
        path = Path(folder) / SECTIONS_DIR / f"{hashlib.sha256(call.encode()).hexdigest()}.json"
        if path.exists():
            saved = json.loads(path.read_text(encoding="utf-8"))
            return [
                item["html"]
                if "html" in item
                else SavedChart(base64.b64decode(item["png"]), item["text"])
                for item in saved["outputs"]
            ]
        outputs = fn(ctx, *args, **kwargs)
        _save_section(path, call, outputs)
        return outputs

    return section


def _save_section(path: Path, call: str, outputs: Output) -> None:
    items = []
    for item in outputs:
        if isinstance(item, str):
            items.append({"html": item})
        else:
            png = item.png if isinstance(item, SavedChart) else charts.theme.png_bytes(item)
            items.append({"png": base64.b64encode(png).decode("ascii"), "text": repr(item)})
    path.parent.mkdir(exist_ok=True)
    write_json(path, {"call": call, "outputs": items})


def _try_chart(fn, *args, **kwargs) -> Any:
    """A chart, or a note saying why there is none (charts raise ValueError on empty data;
    their "no data for <chart>" names the chart for developers, so readers get plain words)."""
    try:
        return fn(*args, **kwargs)
    except ValueError as exc:
        text = str(exc)
        if text.startswith("no data for "):
            text = "Nothing to chart: the data has no rows for this view in this period."
        return H.missing(text)


def needs(table: str, what: str) -> str:
    return H.missing(
        f"{what} needs the {table} table ({TABLES[table].unlocks}). "
        f"Add {table}.csv (or .parquet/.xlsx) to the team's data folder to unlock it."
    )


def section_needs(table: str, what: str, anchor: str) -> Output:
    """A section the data cannot fill: a heading saying so (listed in the page's contents
    like every other section) and what table would unlock it."""
    return [H.heading(f"{what}: no {table} table in the data", anchor=anchor), needs(table, what)]


# --------------------------------------------------------------------------- KPI helpers


def _kpi_frame(ctx) -> pd.DataFrame:
    """The KPI rows the sections read: ``kpi_status`` (``kpis`` plus status, benchmark and
    year-on-year change, row for row), else ``kpis``. A notebook reads one of the two saved
    frames, not both."""
    k = ctx.frames.get("kpi_status")
    if k is None or k.empty:
        k = ctx.frames.get("kpis", pd.DataFrame())
    return k


def _kpi_rows(ctx, metrics: str | list[str]) -> pd.DataFrame:
    """The KPI rows of one metric or several, in the frame's order.

    Each metric's row positions are found once per context: the frame has a row per
    metric, window, month and segment (170k for the sample), and comparing all of its
    text keys in every section costs more than the section itself.
    """
    k = _kpi_frame(ctx)
    positions = ctx.__dict__.get("_kpi_positions")
    if positions is None:
        positions = k.groupby("metric", sort=False).indices if len(k) else {}
        ctx.__dict__["_kpi_positions"] = positions
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    parts = [positions[m] for m in names if m in positions]
    rows = np.sort(np.concatenate(parts)) if parts else np.array([], dtype=np.intp)
    return k.iloc[rows]


def kpi(
    ctx, metric: str, window: str = "month", segment: str = "all", period: str | None = None
) -> dict:
    """One KPI row as a dict (value, target, prior, status...), empty values as NaN."""
    rows = _kpi_rows(ctx, metric)
    if len(rows):
        rows = rows[
            (rows["window"] == window)
            & (rows["segment"] == segment)
            & (rows["period"] == (period or ctx.month))
        ]
    if rows.empty:
        return {"value": np.nan, "target": np.nan, "prior": np.nan}
    return rows.iloc[0].to_dict()


#: ratios read as multiples ("3.8×"), not shares ("380%")
MULTIPLES = frozenset({"pipeline_coverage"})


def _fmt(value: float, unit: str, currency: str, metric: str = "") -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "—"
    if metric in MULTIPLES:
        return f"{value:,.1f}×"
    if unit == currency or unit == "currency":
        return charts.fmt_money(value, currency)
    if unit in ("ratio", "share"):
        return charts.fmt_pct(value)
    if unit == "days":
        return f"{value:,.0f} days"
    if unit == "months":
        return f"{value:,.1f} months"
    return charts.fmt_number(value)


def segment_label(ctx, segment: str) -> str:
    """A KPI segment as readers say it: ``all`` -> ``the team``, ``region=DE`` ->
    ``region DE``, ``owner_id=R0268`` -> ``rep Kira Martin`` (the reps table's name; the
    id without one), ``account_id=A1`` -> ``account Acme GmbH``."""
    segment = str(segment)
    if segment == "all" or "=" not in segment:
        return "the team" if segment == "all" else segment
    key, value = segment.split("=", 1)
    if key in ("owner_id", "rep_id"):
        return "rep " + str(analysis.rep_names(ctx.tables).get(value, value))
    if key == "account_id":
        return "account " + str(analysis.account_names(ctx.tables).get(value, value))
    return f"{key.replace('_', ' ')} {value}"


def _catalogue() -> pd.DataFrame:
    from salesreport.kpis import catalogue_frame

    return catalogue_frame().set_index("name")


def _tile(ctx, metric: str, window: str, label: str) -> dict:
    row = kpi(ctx, metric, window)
    unit = row.get("unit", "")
    val = row.get("value", np.nan)
    target = row.get("target", np.nan)
    prior = row.get("prior", np.nan)
    bits = []
    if pd.notna(target):
        bits.append(f"target {_fmt(target, unit, ctx.currency, metric)}")
    if pd.notna(prior):
        bits.append(f"last year {_fmt(prior, unit, ctx.currency, metric)}")
    return {
        "label": label,
        "value": _fmt(val, unit, ctx.currency, metric),
        "detail": " · ".join(bits) or "no target set",
        "status": row.get("status", "") if isinstance(row.get("status", ""), str) else "",
    }


HEADLINE = [
    ("revenue", "ytd", "Revenue, year to date"),
    ("revenue", "month", "Revenue, month"),
    ("target_attainment", "ytd", "Attainment, year to date"),
    ("win_rate", "qtd", "Win rate, quarter to date"),
    ("pipeline_coverage", "month", "Pipeline coverage, next month"),
    ("new_customers", "month", "New customers, month"),
    ("net_revenue_retention", "month", "Net revenue retention"),
    ("average_deal_size", "qtd", "Average deal size, quarter to date"),
]


def headline_tiles(ctx) -> list[dict]:
    tiles = []
    for metric, window, label in HEADLINE:
        row = kpi(ctx, metric, window)
        if pd.notna(row.get("value", np.nan)):
            tiles.append(_tile(ctx, metric, window, label))
    return tiles


def headline_sentence(ctx) -> str:
    """A one-line finding: revenue year to date against target, else against last year."""
    row = kpi(ctx, "revenue", "ytd")
    val, target, prior = row.get("value"), row.get("target"), row.get("prior")
    money = _fmt(val, ctx.currency, ctx.currency)
    if pd.notna(val) and pd.notna(target) and target:
        gap = val / target - 1
        word = "above" if gap >= 0 else "below"
        return f"Revenue {abs(gap):.0%} {word} target year to date ({money} against {_fmt(target, ctx.currency, ctx.currency)})."
    if pd.notna(val) and pd.notna(prior) and prior:
        gap = val / prior - 1
        word = "up" if gap >= 0 else "down"
        return f"Revenue {word} {abs(gap):.0%} on last year, year to date ({money}); no revenue target is set."
    if pd.notna(val):
        return f"Revenue year to date: {money}."
    return "No revenue in the data for this period."


def title_block(ctx, audience: str, rep_id: str = "") -> Output:
    title, what = H.AUDIENCE_TITLES[audience]
    what = H.REP_PAGE_SUBTITLE if rep_id else what
    label = pd.Period(ctx.month, "M").strftime("%B %Y")
    sub = f"{what}. Data up to the end of {label}; amounts in {ctx.currency}."
    extra = f" · {analysis.rep_label(ctx.tables, rep_id)}" if rep_id else ""
    return [
        f'<h1 class="sr-title">{H.esc(ctx.params.title)} · {H.esc(title)}{H.esc(extra)} · {H.esc(label)}</h1>'
        f'<p class="sr-subtitle">{H.esc(sub)}</p>' + H.toc_placeholder()
    ]


# --------------------------------------------------------------------------- executive


def commentary(ctx) -> Output:
    """The sales lead's notes for the month, ``params/<team>/notes/<YYYY-MM>.md``, escaped."""
    path = project_root() / "params" / ctx.params.team / "notes" / f"{ctx.month}.md"
    if not path.exists():
        return []
    return [
        H.heading("Commentary from the sales lead"),
        f'<div class="sr-commentary">{H.markdown_safe(path.read_text(encoding="utf-8"))}</div>',
    ]


def executive_headline(ctx) -> Output:
    out = [H.heading(headline_sentence(ctx), anchor="headline")]
    tiles = headline_tiles(ctx)
    out.append(
        H.tiles(tiles) if tiles else H.missing("No headline KPI could be computed from this data.")
    )
    if any(t.get("status") in ("green", "amber", "red") for t in tiles):
        out.append(
            H.paragraph(
                "Colours compare each value with its target: green at or above target, amber "
                f"within {1 - ctx.params.rag.amber:.0%}, red below that.",
                "sr-note",
            )
        )
    return out


def monthly_kpi_frame(
    ctx, metric: str, window: str = "month", segment: str = "all", months: int = 24
) -> pd.DataFrame:
    k = _kpi_rows(ctx, metric)
    if k.empty:  # no such KPI (or no KPI at all) in this run
        return pd.DataFrame(columns=["period", "value", "target", "prior"])
    f = k[(k["window"] == window) & (k["segment"] == segment)]
    return f[["period", "value", "target", "prior"]].tail(months).reset_index(drop=True)


def revenue_trend(ctx) -> Output:
    frame = monthly_kpi_frame(ctx, "revenue")
    if frame.empty:
        return [H.missing("No monthly revenue to chart.")]
    last = frame.iloc[-1]
    if pd.notna(last["target"]):
        word = "above" if last["value"] >= last["target"] else "below"
        title = (
            f"Revenue in {pd.Period(ctx.month, 'M').strftime('%b %Y')} {word} its monthly target"
        )
    else:
        title = "Monthly revenue against last year"
    return [
        H.heading(title, anchor="revenue-trend"),
        _try_chart(
            charts.revenue_vs_target,
            frame,
            ctx.currency,
            f"Monthly revenue ({ctx.currency}): actual, target and the same month last year"
            if frame["target"].notna().any()
            else f"Monthly revenue ({ctx.currency}): actual and the same month last year",
        ),
    ]


@shared_section
def forecast_section(ctx, heading: bool = True) -> Output:
    fc = ctx.frames.get("forecast", pd.DataFrame())
    if fc.empty:
        return [H.missing("No forecast could be made from this data.")]
    sel = fc[fc["selected"].astype(bool)].copy()
    sel["period"] = pd.PeriodIndex(sel["period"].astype(str), freq="M")
    rev = ctx.frames["revenue"].copy()
    hist = pd.Series(
        rev["revenue"].to_numpy(), index=pd.PeriodIndex(rev["period"].astype(str), freq="M")
    )
    nxt = sel.head(3)["point"].sum()
    model = sel["model"].iloc[0]
    tg = ctx.frames.get("revenue_targets", pd.DataFrame())
    target = (
        pd.Series(tg["target"].to_numpy(float), index=pd.PeriodIndex(tg["period"], freq="M"))
        if len(tg)
        else None
    )
    title = f"Next three months forecast at {charts.fmt_money(nxt, ctx.currency)}"
    last_year = hist.reindex(sel.head(3)["period"] - 12).to_numpy(float)
    if len(last_year) == 3 and not np.isnan(last_year).any() and last_year.sum() > 0:
        gap = nxt / last_year.sum() - 1
        word = "above" if gap >= 0 else "below"
        title += f", {abs(gap):.0%} {word} the same months last year"
    if target is not None:
        t3 = target.reindex(sel.head(3)["period"]).to_numpy()
        if not np.isnan(t3).any() and t3.sum() > 0:
            gap = nxt / t3.sum() - 1
            word = "above" if gap >= 0 else "below"
            title = (
                f"Next three months forecast at {charts.fmt_money(nxt, ctx.currency)}, "
                f"{abs(gap):.0%} {word} target"
            )
    out = [H.heading(title, anchor="forecast")] if heading else []
    out.append(
        _try_chart(
            charts.forecast_fan,
            hist.tail(36),
            sel,
            ctx.currency,
            f"Monthly revenue ({ctx.currency}): forecast with 80% and 95% intervals"
            + (", and target" if target is not None and target.notna().any() else ""),
            target=target,
        )
    )
    out.append(
        H.paragraph(
            f"Model: {model_label(model)}, chosen by its accuracy on past months.", "sr-note"
        )
    )
    return out


MODEL_LABELS = {
    "snaive": "seasonal naive (the same month last year)",
    "ets": "exponential smoothing (ETS)",
    "theta": "Theta",
    "arima": "ARIMA",
    "ml": "ridge regression on past months",
    "pipeline": "open pipeline weighted by stage win rates",
}


def _ensemble_members(model: str) -> list[str] | None:
    """``ensemble(ml,arima)`` -> ``["ml", "arima"]``; ``None`` for a single model."""
    if model.startswith("ensemble(") and model.endswith(")"):
        return [m for m in model[9:-1].split(",") if m]
    return None


def model_label(model: str) -> str:
    """A forecast model's name for readers: ``ensemble(ml,arima)`` -> ``the average of
    ridge regression on past months and ARIMA``."""
    model = str(model)
    members = _ensemble_members(model)
    if members:
        parts = [MODEL_LABELS.get(m, m) for m in members]
        listed = ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else parts[0]
        return f"the average of {listed}"
    return MODEL_LABELS.get(model, model)


#: Short model names for table rows and chart legends.
MODEL_NAMES = {
    "snaive": "Seasonal naive",
    "ets": "Exponential smoothing",
    "theta": "Theta",
    "arima": "ARIMA",
    "ml": "Ridge regression",
    "pipeline": "Weighted pipeline",
    "selected": "Published forecast",
}


def model_name(model: str) -> str:
    """A forecast model's short name: ``ml`` -> ``Ridge regression``, ``ensemble(ml,arima)``
    -> ``Average of Ridge regression, ARIMA``; ``selected`` is the forecast the report
    published each month (the model chosen then)."""
    model = str(model)
    members = _ensemble_members(model)
    if members:
        return "Average of " + ", ".join(MODEL_NAMES.get(m, m) for m in members)
    return MODEL_NAMES.get(model, model)


def segment_forecast_section(ctx) -> Output:
    """Segment forecasts reconciled to the team's (top-down, proportional to their own forecasts)."""
    sf = ctx.frames.get("segment_forecasts", pd.DataFrame())
    if sf.empty:
        return [
            H.paragraph(
                "No segment forecasts: name segment columns under forecast.segments in the team's YAML.",
                "sr-note",
            )
        ]
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
    money = lambda v: charts.fmt_money(v, ctx.currency)  # noqa: E731
    t = wide.rename_axis("Month").reset_index()
    method = sf["method"].iloc[0] if "method" in sf.columns else "proportional"
    by = f" by {keys.pop()}" if one_key else " by segment"
    return [
        H.heading(f"Forecast{by}, adding up to the team forecast", anchor="segment-forecast"),
        H.paragraph(
            f"Revenue forecast ({ctx.currency}); reconciliation: {method}.{shown}", "sr-note"
        ),
        H.table(t, formats={c: money for c in t.columns if c != "Month"}, max_rows=12),
    ]


#: segment columns the segment forecast table shows before summing the smallest as "Others"
MAX_SEGMENT_COLUMNS = 8


def okr_section(ctx) -> Output:
    okrs = ctx.frames.get("okrs", pd.DataFrame())
    if okrs.empty:
        return [
            H.heading("No OKRs are set for this team", anchor="okrs"),
            H.missing("Add an `okrs:` block to the team's YAML to grade key results here."),
        ]
    objs = okrs[okrs["key_result"].isna() | (okrs["key_result"] == "")]
    level = objs["segment"].astype(str) if "segment" in objs else pd.Series("all", objs.index)
    team, spokes = objs[level == "all"], objs[level != "all"]
    title = f"{int((team['status'] == 'green').sum())} of {len(team)} objectives on track"
    if len(spokes):  # hub and spoke: the same objective graded per segment value
        col = str(spokes["segment"].iloc[0]).split("=", 1)[0]
        green = int((spokes["status"] == "green").sum())
        title += f"; by {col}, {green} of {len(spokes)} on track"
    krs = okrs[~(okrs["key_result"].isna() | (okrs["key_result"] == ""))].copy()
    # hub and spoke: the same key result once per segment value, so name the segment
    seg = krs["segment"].astype(str) if "segment" in krs else pd.Series("all", index=krs.index)
    spoke = seg.str.split("=", n=1).str[-1]
    krs["key_result"] = krs["key_result"].where(seg == "all", spoke + ": " + krs["key_result"])
    units = _catalogue()["unit"] if "metric" in krs else pd.Series(dtype=object)
    for col in ("baseline", "target", "value"):
        if col in krs:
            krs[col] = [
                _fmt(v, units.get(m, ""), ctx.currency, m)
                for v, m in zip(krs[col], krs.get("metric", [""] * len(krs)), strict=True)
            ]
    cols = [
        c
        for c in [
            "objective",
            "key_result",
            "segment",
            "window",
            "baseline",
            "target",
            "value",
            "grade",
            "status",
        ]
        if c in krs.columns
    ]
    return [
        H.heading(title, anchor="okrs"),
        _try_chart(
            charts.okr_scorecard, krs, "Grade of each key result (0 = baseline, 1 = target)"
        ),
        H.table(
            krs[cols],
            formats={
                "grade": lambda v: charts.fmt_grade(v, percent=True),
                "segment": lambda v: H.sentence(segment_label(ctx, v)),
                "window": lambda v: H.sentence(charts.titles.WINDOW_PHRASES.get(v, v)),
            },
            numeric=["baseline", "target", "value", "grade"],
            badges=["status"],
        ),
    ]


def biggest_changes(ctx, n: int = 3) -> Output:
    """The ``n`` team KPIs that moved most against last year this month, and the segment behind each."""
    cat = _catalogue()
    k = _kpi_rows(ctx, [*cat.index[cat["additive"]], "win_rate", "average_deal_size"])
    m = k[(k["window"] == "month") & (k["period"] == ctx.month) & (k["segment"] == "all")].copy()
    m = m[m["value"].notna() & m["prior"].notna() & (m["prior"] != 0)]
    if m.empty:
        return [
            H.heading("No KPI has a value a year earlier to compare with", anchor="changes"),
            H.missing("The changes against last year need a year of history."),
        ]
    m["change"] = m["value"] / m["prior"] - 1
    m = m.reindex(m["change"].abs().sort_values(ascending=False).index).head(n)
    items, first = [], ""
    for _, r in m.iterrows():
        title = cat.loc[r["metric"], "title"] if r["metric"] in cat.index else r["metric"]
        word = "up" if r["change"] > 0 else "down"
        why = _driver(ctx, _kpi_rows(ctx, r["metric"]), r["metric"], r["unit"])
        first = first or f"{title} {word} {abs(r['change']):.0%} on last year, the largest change"
        items.append(
            f"<li><strong>{H.esc(title)}</strong> {word} {abs(r['change']):.0%} on last year "
            f"({H.esc(_fmt(r['value'], r['unit'], ctx.currency, r['metric']))} against {H.esc(_fmt(r['prior'], r['unit'], ctx.currency, r['metric']))})"
            f"{H.esc(why)}</li>"
        )
    return [
        H.heading(first, anchor="changes"),
        "<ol>" + "".join(items) + "</ol>",
    ]


def _driver(ctx, k: pd.DataFrame, metric: str, unit: str) -> str:
    """'; largest move in region DE (+€120k)': the segment whose value moved most against
    last year this month (rates move in percentage points)."""
    s = k[
        (k["metric"] == metric)
        & (k["window"] == "month")
        & (k["period"] == ctx.month)
        & (k["segment"] != "all")
    ]
    s = s[~s["segment"].str.startswith("stage=")]
    s = s[s["value"].notna()].copy()
    if s.empty:
        return ""
    s["delta"] = s["value"] - s["prior"].fillna(0)
    top = s.reindex(s["delta"].abs().sort_values(ascending=False).index).iloc[0]
    sign = "+" if top["delta"] >= 0 else "−"
    size = abs(top["delta"])
    moved = (
        f"{size * 100:,.0f} pts"
        if unit in ("ratio", "share") and metric not in MULTIPLES
        else _fmt(size, unit, ctx.currency, metric)
    )
    return f"; largest move in {segment_label(ctx, top['segment'])} ({sign}{moved})"


@shared_section
def win_loss(ctx) -> Output:
    if ctx.tables.opportunities is None or "lost_reason" not in ctx.tables.opportunities.columns:
        return [
            H.heading("Why deals were lost: no lost_reason in the data", anchor="win-loss"),
            H.missing("Win/loss reasons need the opportunities table with a lost_reason column."),
        ]
    lr = analysis.lost_reasons(ctx.tables, ctx.month)
    if lr.empty:
        return [
            H.heading("No deal was lost in the last 12 months", anchor="win-loss"),
        ]
    top = lr.iloc[0]
    title = f"“{top['lost_reason']}” behind {top['share']:.0%} of lost deals in the last 12 months"
    # one table, deals and value drawn as data bars: a chart beside it repeated its first column
    return [
        H.heading(title, anchor="win-loss"),
        H.table(
            lr,
            formats={"value": lambda v: charts.fmt_money(v, ctx.currency), "share": charts.fmt_pct},
            bars=["deals", "value"],
            max_rows=len(lr),
        ),
        H.paragraph(
            "Deals lost in the 12 months to the end of "
            f"{pd.Period(ctx.month, 'M').strftime('%B %Y')} (by close date), by the reason "
            "recorded; each bar compares the reason with the largest in its column. Share: of "
            "the lost deals.",
            "sr-note",
        ),
    ]


# --------------------------------------------------------------------------- manager


@shared_section
def pipeline_section(ctx) -> Output:
    if ctx.tables.opportunities is None:
        return section_needs("opportunities", "Pipeline", "pipeline")
    pb = analysis.pipeline_by_stage(ctx.tables, ctx.month, ctx.params.stage_order)
    total = pb["value"].sum()
    cov = kpi(ctx, "pipeline_coverage", "month")
    covtxt = (
        f"; coverage of next month's target {cov['value']:.1f}×"
        if pd.notna(cov.get("value"))
        else ""
    )
    title = f"Open pipeline {charts.fmt_money(total, ctx.currency)} across {H.count(pb['count'].sum(), 'deal')}{covtxt}"
    return [
        H.heading(title, anchor="pipeline"),
        _pipeline_chart(ctx, pb),
    ]


def _pipeline_chart(ctx, pb: pd.DataFrame):
    """Open pipeline by expected close month, stacked in the team's ``stage_order``."""
    return _try_chart(
        charts.pipeline_by_stage,
        pb,
        ctx.currency,
        f"Open pipeline ({ctx.currency}) by stage and expected close month",
        stage_order=ctx.params.stage_order,
    )


def attention_section(ctx) -> Output:
    if ctx.tables.opportunities is None:
        return section_needs("opportunities", "Deals needing attention", "attention")
    t = ctx.params.thresholds
    d = analysis.deals_needing_attention(ctx.tables, ctx.month, t.stalled_days, t.no_activity_days)
    names = analysis.rep_names(ctx.tables)
    d["owner"] = d["owner_id"].map(names).fillna(d["owner_id"])
    d["account"] = d["account_id"].map(analysis.account_names(ctx.tables)).fillna(d["account_id"])
    need = "needs" if len(d) == 1 else "need"
    title = f"{H.count(len(d), 'open deal')} {need} attention, worth {charts.fmt_money(d['amount'].sum(), ctx.currency)}"
    out = [H.heading(title, anchor="attention")]
    out.append(
        H.paragraph(
            f"Close date passed, more than {t.stalled_days} days in one stage, or no activity in {t.no_activity_days} days. Largest first.",
            "sr-note",
        )
    )
    cols = ["opportunity_id", "account", "owner", "stage", "amount", "close_date", "reasons"]
    out.append(
        H.table(
            d[cols],
            formats={
                "amount": lambda v: charts.fmt_money(v, ctx.currency),
                "close_date": lambda v: f"{v:%Y-%m-%d}",
            },
            max_rows=25,
        )
    )
    return out


@shared_section
def activity_section(ctx) -> Output:
    if ctx.tables.activities is None:
        return section_needs("activities", "Team activity", "activity")
    t = analysis.team_activity(ctx.tables, ctx.month)
    month = pd.Period(ctx.month, "M")
    total = int(t["total"].sum())
    meetings = int(t["meeting"].sum()) if "meeting" in t.columns else 0
    title = f"{H.count(total, 'activity', 'activities')} logged in {month.strftime('%B')}, {meetings:,} of them meetings"
    if not total:
        title = f"No activity logged in {month.strftime('%B')}"
    quiet = int((t["total"] == 0).sum())
    if quiet:
        title += f"; {H.count(quiet, 'rep')} logged none"
    if t.empty:
        return [H.heading(title, anchor="activity")]
    types = [c for c in t.columns if c not in ("rep_id", "rep", "role", "total")]
    names = {c: ACTIVITY_NAMES.get(c, c.capitalize()) for c in types}
    shown = t.drop(columns=["rep_id"]).rename(columns={"rep": "Rep", "role": "Role", **names})
    shown = shown.rename(columns={"total": "Total"})
    # one table, each type drawn as data bars: every rep is listed, the quiet ones too
    return [
        H.heading(title, anchor="activity"),
        H.table(
            shown,
            formats={"Role": lambda r: ROLE_NAMES.get(str(r).lower(), r)},
            bars=[names[c] for c in types],
            max_rows=len(shown),
        ),
        H.paragraph(
            f"Activities logged in {month.strftime('%B %Y')} (by their timestamp), busiest rep "
            "first; each bar compares the rep with the busiest rep in that column. "
            + (
                "Account executives and SDRs employed in the month who logged nothing are "
                "listed with zeros."
                if ctx.tables.reps is not None
                else "Without a reps table, only reps who logged an activity are listed."
            ),
            "sr-note",
        ),
    ]


@shared_section
def attainment_section(ctx, rep_id: str = "") -> Output:
    if ctx.tables.opportunities is None:
        return section_needs("opportunities", "Attainment", "attainment")
    lb = analysis.bookings_leaderboard(ctx.tables, ctx.month, ctx.params.fiscal_year_start_month)
    if rep_id:
        lb = lb[lb["owner_id"] == rep_id]
    if lb.empty and rep_id:
        who = analysis.rep_label(ctx.tables, rep_id)
        return [
            H.heading(
                f"{who}: no bookings, quota or open pipeline this fiscal year", anchor="attainment"
            )
        ]
    if lb.empty:
        return [
            H.heading(
                "No account executive has bookings or quota this fiscal year", anchor="attainment"
            )
        ]
    on = int((lb["attainment"] >= 1).sum())
    with_quota = int(lb["attainment"].notna().sum())
    title = (
        f"{on} of {with_quota} account executives at or above quota year to date"
        if with_quota
        else "Bookings year to date by account executive (no quotas set)"
    )
    if rep_id:
        title = _one_rep_attainment(ctx, lb.iloc[0], rep_id)
    chart = lb.head(30).rename(
        columns={"rep": "label", "bookings_ytd": "value", "quota_ytd": "target"}
    )
    money = lambda v: charts.fmt_money(v, ctx.currency)  # noqa: E731
    return [
        H.heading(title, anchor="attainment"),
        _try_chart(
            charts.kpi_bars,
            chart[["label", "value", "target"]],
            ctx.currency,
            f"Bookings year to date against quota ({ctx.currency})"
            + (f", the {len(chart)} largest of {len(lb)} AEs" if len(lb) > len(chart) else ""),
            metric="Bookings",
        ),
        H.table(
            lb[
                [
                    "rep",
                    "bookings_month",
                    "bookings_ytd",
                    "quota_ytd",
                    "attainment",
                    "deals_won_ytd",
                    "win_rate_ytd",
                    "pipeline_open",
                ]
            ],
            formats={
                "bookings_month": money,
                "bookings_ytd": money,
                "quota_ytd": money,
                "pipeline_open": money,
                "attainment": charts.fmt_pct,
                "win_rate_ytd": charts.fmt_pct,
                "deals_won_ytd": charts.fmt_number,
            },
        ),
    ]


def _one_rep_attainment(ctx, row: pd.Series, rep_id: str) -> str:
    """The finding for one AE's page: attainment against quota year to date."""
    who = analysis.rep_label(ctx.tables, rep_id)
    money = lambda v: charts.fmt_money(v, ctx.currency)  # noqa: E731
    if pd.isna(row["attainment"]):
        return f"{who}: {money(row['bookings_ytd'])} booked year to date (no quota set)"
    return (
        f"{who}: {row['attainment']:.0%} of quota year to date "
        f"({money(row['bookings_ytd'])} against {money(row['quota_ytd'])})"
    )


# --------------------------------------------------------------------------- operations


def funnel_section(ctx) -> Output:
    f = analysis.funnel(ctx.tables, ctx.month)
    if f.empty:
        return [H.missing("The funnel needs leads or opportunities.")]
    won = f.loc[f["step"] == "Deals won", "count"]
    first = f.iloc[0]
    title = (
        f"{H.count(won.iloc[0], 'deal')} won from {int(first['count']):,} {first['step'].lower()} in the last 12 months"
        if len(won)
        else "Funnel over the last 12 months"
    )
    out = [
        H.heading(title, anchor="funnel"),
        _try_chart(charts.funnel, f, "From lead to won deal, last 12 months"),
    ]
    if ctx.tables.leads is None:
        out.append(needs("leads", "The lead steps of the funnel"))
    steps = f.set_index("step")["count"]
    conv, opps = steps.get("Leads converted"), steps.get("Opportunities created")
    if conv is not None and opps is not None and opps > conv:
        out.append(
            H.paragraph(
                f"Not every opportunity starts as a lead: {int(opps):,} opportunities "
                f"were created against {int(conv):,} converted leads; the rest were opened "
                "directly (by account executives, partners or renewals).",
                "sr-note",
            )
        )
    return out


def stages_section(ctx) -> Output:
    if ctx.tables.stage_history is None:
        return section_needs("stage_history", "Stage conversion and bottlenecks", "stages")
    sc = analysis.stage_conversion(ctx.tables, ctx.month, stage_order=ctx.params.stage_order)
    if sc.empty:
        return [H.missing("No stage was entered in the last 12 months.")]
    slow = sc.sort_values("median_days", ascending=False).iloc[0]
    title = f"Deals wait longest in {slow['stage']}: median {slow['median_days']:.0f} days"
    return [
        H.heading(title, anchor="stages"),
        _try_chart(
            charts.stage_durations,
            sc[["stage", "median_days", "p75_days"]],
            "Days in each stage (median and 75th percentile), last 12 months",
        ),
        H.table(
            sc,
            formats={
                "conversion": charts.fmt_pct,
                "median_days": lambda v: f"{v:.0f}",
                "p75_days": lambda v: f"{v:.0f}",
            },
        ),
    ]


def waterfall_section(ctx) -> Output:
    if ctx.tables.opportunities is None:
        return section_needs("opportunities", "Pipeline bridge", "waterfall")
    w = analysis.pipeline_waterfall(ctx.tables, ctx.month)
    vals = dict(zip(w["step"], w["value"], strict=True))
    change = vals["Open at end"] - vals["Open at start"]
    word = "grew" if change >= 0 else "shrank"
    title = f"Open pipeline {word} by {charts.fmt_money(abs(change), ctx.currency)} in {pd.Period(ctx.month, 'M').strftime('%B')}"
    bridge = w[w["step"].isin(["Open at start", "Created", "Won", "Lost", "Open at end"])]
    side = w[~w["step"].isin(bridge["step"])]
    out = [
        H.heading(title, anchor="waterfall"),
        _try_chart(
            charts.waterfall,
            bridge,
            ctx.currency,
            f"Open pipeline bridge for {pd.Period(ctx.month, 'M').strftime('%B %Y')} ({ctx.currency})",
        ),
    ]
    if len(side):
        out.append(
            H.paragraph(
                "Beside the bridge: "
                + "; ".join(
                    f"{s} {charts.fmt_money(v, ctx.currency)}"
                    for s, v in zip(side["step"], side["value"], strict=True)
                )
                + " (slipped: expected to close this month but still open; advanced: moved to a later stage this month).",
                "sr-note",
            )
        )
    return out


def cohort_section(ctx) -> Output:
    from salesreport.cohorts import retention_matrix, yearly_revenue_retention

    co = ctx.frames.get("cohorts", pd.DataFrame())
    if co.empty:
        return [
            H.heading("No purchases to build customer cohorts from", anchor="cohorts"),
            H.missing("Cohorts need orders (or won opportunities) with an account_id."),
        ]
    m = co[co["months_since"] == 12]
    avg12 = (
        (m["active"].sum() / m["customers"].sum()) if len(m) and m["customers"].sum() else np.nan
    )
    title = (
        f"{avg12:.0%} of customers bought again in month 12 after their first purchase"
        if pd.notna(avg12)
        else "Customer retention by cohort"
    )
    recent = co[co["cohort"] >= str(pd.Period(ctx.month, "M") - 35)]
    out = [
        H.heading(title, anchor="cohorts"),
        _try_chart(
            charts.retention_heatmap,
            retention_matrix(recent),
            "Share of each monthly cohort buying in each month after its first purchase",
        ),
    ]
    yearly = yearly_revenue_retention(co)
    second = yearly[yearly["year"] == 2]
    if len(second):
        kept = second["revenue"].sum() / second["first_year_revenue"].sum()
        n = int(second["cohorts"].sum())
        out.append(
            _try_chart(
                charts.revenue_retention_by_year,
                yearly,
                f"Cohorts kept {charts.fmt_pct(kept)} of their first-year revenue in year two",
            )
        )
        out.append(
            H.paragraph(
                "Revenue in each year after a cohort's first purchase (months 0-11 are its "
                "first year, 12-23 its second) over the same cohorts' first-year revenue; "
                "only cohorts whose year is over by the end of the month count "
                f"({H.count(n, 'monthly cohort')} have had a full second year).",
                "sr-note",
            )
        )
    k = _kpi_rows(ctx, ["net_revenue_retention", "gross_revenue_retention"])
    nrr = k[(k["window"] == "month") & (k["segment"] == "all")]
    if len(nrr):
        wide = (
            nrr.pivot(index="period", columns="metric", values="value")
            .rename(columns={"net_revenue_retention": "nrr", "gross_revenue_retention": "grr"})
            .reset_index()
        )
        out.append(
            _try_chart(
                charts.nrr_grr_trend, wide, "Net and gross revenue retention, trailing 12 months"
            )
        )
    return out


def _whole_number(v) -> str:
    """A row count with thousands separators (``9,554``); empty as "—"."""
    return "—" if pd.isna(v) else f"{int(v):,}"


#: data-quality actions that change or question a row (filtered and converted rows are
#: the team's scope and currency, not problems)
PROBLEMS = ("dropped", "repaired", "flagged")


def quality_problems(q: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """The data-quality rows that are problems (:data:`PROBLEMS`) and their row counts by
    action; the operations report and the team's index say the same numbers."""
    bad = q[q["action"].isin(PROBLEMS)] if len(q) else q
    counts = {
        a: int(bad.loc[bad["action"] == a, "count"].sum()) if len(bad) else 0 for a in PROBLEMS
    }
    return bad, counts


def quality_section(ctx) -> Output:
    q = ctx.frames.get("quality", pd.DataFrame())
    rows = ctx.frames.get("quality_rows", pd.DataFrame())
    bad, n = quality_problems(q)
    title = (
        f"Data quality: {H.count(n['dropped'], 'row')} dropped and {n['repaired']:,} repaired"
        if len(bad)
        else "Data quality: every row passed its checks"
    )
    out = [H.heading(title, anchor="data-quality")]
    counts = {c: _whole_number for c in ("rows_read", "rows_kept", "count")}
    if len(rows):
        out.append(H.table(rows, formats=counts, max_rows=20))
    if len(q):
        cols = [
            c
            for c in ["table", "file", "action", "reason", "count", "example_rows"]
            if c in q.columns
        ]
        out.append(H.table(q[cols], formats=counts, max_rows=60))
    missing = ctx.frames.get("missing_metrics", pd.DataFrame())
    if len(missing):
        out.append(H.heading("Metrics turned off by missing tables", level=3))
        out.append(H.table(missing))
    return out


# --------------------------------------------------------------------------- reps and SDRs


def rep_pipeline_section(ctx, rep_id: str) -> Output:
    o = ctx.tables.opportunities
    tb = ctx.tables.replace(opportunities=o[o["owner_id"] == rep_id])
    pb = analysis.pipeline_by_stage(tb, ctx.month, ctx.params.stage_order)
    who = analysis.rep_label(ctx.tables, rep_id)
    if pb.empty:
        month = pd.Period(ctx.month, "M").strftime("%B %Y")
        return [H.heading(f"{who}: no open deals at the end of {month}", anchor="rep-pipeline")]
    title = f"{who}: open pipeline {charts.fmt_money(pb['value'].sum(), ctx.currency)} in {H.count(pb['count'].sum(), 'deal')}"
    return [
        H.heading(title, anchor="rep-pipeline"),
        _pipeline_chart(ctx, pb),
    ]


def rep_activity_section(ctx, rep_id: str) -> Output:
    """One AE's activities in the month by type, beside the team's per-rep median."""
    if ctx.tables.activities is None:
        return section_needs("activities", "Activity", "activity")
    t = analysis.rep_activity(ctx.tables, ctx.month, rep_id)
    who = analysis.rep_label(ctx.tables, rep_id)
    label = pd.Period(ctx.month, "M").strftime("%B")
    if t.empty:
        return [H.heading("Activity", anchor="activity"), H.missing(f"No activity in {label}.")]
    total, median = int(t["count"].sum()), float(t["team_median"].sum())
    title = f"{who}: {H.count(total, 'activity', 'activities')} logged in {label} (a typical rep: {median:,.0f})"
    shown = t.assign(type=t["type"].map(ACTIVITY_NAMES).fillna(t["type"].str.capitalize()))
    shown = shown.rename(
        columns={
            "type": "Activity",
            "count": who,
            "team_median": f"Median rep ({H.count(t['reps'].iloc[0], 'rep')})",
        }
    ).drop(columns=["reps"])
    return [
        H.heading(title, anchor="activity"),
        H.table(shown, formats={c: charts.fmt_number for c in shown.columns[1:]}),
    ]


def sdr_section(ctx) -> Output:
    if ctx.tables.activities is None and ctx.tables.leads is None:
        return section_needs("activities", "SDR activity", "sdr")
    t = analysis.sdr_table(ctx.tables, ctx.month)
    if t.empty:
        return [H.missing("No SDR activity or leads this month.")]
    meetings = int(t["meeting"].sum()) if "meeting" in t.columns else 0
    month_name = pd.Period(ctx.month, "M").strftime("%B")
    title = f"SDRs booked {H.count(meetings, 'meeting')} in {month_name}"
    if ctx.tables.activities is not None:
        a = analysis.activity_by_rep(ctx.tables, ctx.month)
        team = int(a.loc[a["type"] == "meeting", "count"].sum())
        if team > meetings:
            title = f"SDRs booked {meetings:,} of the team's {team:,} meetings in {month_name}"
    out = [H.heading(title, anchor="sdr")]
    types = [c for c in ["call", "email", "linkedin", "meeting"] if c in t.columns]
    if "meeting" in t.columns:  # most meetings first, then most activity
        t = t.iloc[np.lexsort((-t[types].sum(axis=1).to_numpy(), -t["meeting"].to_numpy()))]
    # one table, the activity columns drawn as data bars: a chart beside it would repeat
    # the same four numbers per SDR
    out.append(
        H.table(
            t.drop(columns=["rep_id"]).rename(columns=SDR_COLUMNS),
            formats={
                SDR_COLUMNS["meeting_rate"]: charts.fmt_pct,
                SDR_COLUMNS["lead_age_days"]: lambda v: f"{v:.0f}" if pd.notna(v) else "—",
            },
            bars=[SDR_COLUMNS[c] for c in types],
        )
    )
    out.append(
        H.paragraph(
            f"Counts for {pd.Period(ctx.month, 'M').strftime('%B %Y')}; each bar compares the "
            "SDR with the busiest SDR in that column. "
            "Meetings per touch: meetings booked over calls, emails and LinkedIn requests. "
            "Open lead age: the mean age at month end of the SDR's open leads (the rule of "
            "the open-lead age KPI: not converted by then, and no closed status such as "
            "disqualified, lost or junk).",
            "sr-note",
        )
    )
    return out


def sdr_funnel_section(ctx) -> Output:
    """Touches -> meetings -> opportunities for the SDR team this month."""
    if ctx.tables.activities is None and ctx.tables.leads is None:
        return section_needs("activities", "SDR funnel", "sdr-funnel")
    f = analysis.sdr_funnel(ctx.tables, ctx.month)
    month = pd.Period(ctx.month, "M").strftime("%B %Y")
    steps = f.set_index("step")["count"]
    touches, meetings = steps.get("Touches"), steps.get("Meetings booked")
    opps = steps.get("Opportunities from their leads")
    parts = []
    if touches and meetings:
        per = round(touches / meetings)
        parts.append(
            f"One meeting booked per {H.count(per, 'touch', 'touches')}"
            if per >= 1
            else f"{meetings / touches:.1f} meetings booked per touch"
        )
    elif touches and meetings is not None:
        parts.append(f"No meeting booked from {H.count(touches, 'touch', 'touches')}")
    if opps is not None:
        parts.append(f"{H.count(opps, 'new opportunity', 'new opportunities')} from SDR leads")
    title = f"{', '.join(parts)} in {month}" if parts else f"SDR funnel, {month}"
    out = [
        H.heading(title, anchor="sdr-funnel"),
        _try_chart(charts.funnel, f, f"From SDR touches to opportunities, {month}"),
        H.paragraph(
            "Touches: calls, emails and LinkedIn requests by SDRs. Opportunities from their "
            "leads: opportunities created this month from a lead an SDR owns.",
            "sr-note",
        ),
    ]
    if ctx.tables.activities is None:
        out.append(needs("activities", "Touches and meetings"))
    return out


#: The SDR table's columns as the page shows them.
SDR_COLUMNS = {
    "rep": "SDR",
    "call": "Calls",
    "email": "Emails",
    "linkedin": "LinkedIn requests",
    "meeting": "Meetings booked",
    "leads_created": "Leads created",
    "leads_converted": "Leads converted",
    "lead_age_days": "Open lead age (days)",
    "meeting_rate": "Meetings per touch",
}


def sdr_trend_section(ctx) -> Output:
    out = []
    for metric, label in [
        ("meetings", "Meetings booked"),
        ("leads_created", "Leads created"),
        ("lead_conversion_rate", "Lead conversion rate"),
    ]:
        f = monthly_kpi_frame(ctx, metric)
        if f.empty or f["value"].isna().all():
            continue
        last, prev = f["value"].iloc[-1], f["prior"].iloc[-1]
        unit = "ratio" if "rate" in metric else "count"
        note = []
        if metric == "lead_conversion_rate":
            # each month's leads converted by the end of the report month (shared/spec/kpis.md):
            # this month's leads have had weeks, last year's a year, so no "% on last year"
            month = pd.Period(ctx.month, "M")
            then = (
                f" ({(month - 12).strftime('%B %Y')}'s: {_fmt(prev, unit, ctx.currency)}, "
                "with a year longer to convert)"
                if pd.notna(prev)
                else ""
            )
            title = f"{label}: {_fmt(last, unit, ctx.currency)} of {month.strftime('%B')}'s leads converted so far{then}"
            note = [
                H.paragraph(
                    "Each month: the share of the leads created in it that converted by the end "
                    f"of {month.strftime('%B %Y')}. Recent months have had less time to "
                    "convert, so the line falls at its end and this month reads lower than "
                    "the same month last year.",
                    "sr-note",
                )
            ]
        else:
            change = f" ({last / prev - 1:+.0%} on last year)" if pd.notna(prev) and prev else ""
            title = f"{label}: {_fmt(last, unit, ctx.currency)} this month{change}"
        out += [
            H.heading(title, anchor=f"trend-{metric}"),
            _try_chart(
                charts.kpi_trend,
                f,
                unit,
                f"{label} by month, with last year",
                metric=label,
            ),
            *note,
        ]
    if not out:
        return section_needs("leads", "SDR trends", "sdr-trends")
    return out


# --------------------------------------------------------------------------- forecast page


def accuracy_section(ctx) -> Output:
    acc = ctx.frames.get("forecast_accuracy", pd.DataFrame())
    if acc.empty:
        return [
            H.heading("Forecast accuracy: not enough history yet", anchor="accuracy"),
            H.missing("Not enough history to score past forecasts."),
        ]
    detail = acc[acc["kind"].isin(["realised", "backtest"])].copy()
    out = []
    h1 = detail[(detail["horizon"] == 1)]
    h1s = h1[
        h1["model"] == "selected"
    ].copy()  # the selection method, scored as it would have chosen
    # the month each forecast was for; the record shown is the last history_months months
    target = pd.PeriodIndex(h1s["origin"].astype(str), freq="M") + 1
    recent = target > pd.Period(ctx.month, "M") - ctx.params.history_months
    h1s = h1s[recent].assign(period=target[recent].astype(str))
    if len(h1s):
        wape = accuracy.wape(h1s["actual"], h1s["forecast"])
        kinds = ", ".join(sorted(h1s["kind"].unique()))
        title = (
            f"One-month-ahead forecasts were off by {wape:.0%} on average in the last "
            f"{ctx.params.history_months} months (WAPE, {kinds})"
        )
        out += [
            H.heading(title, anchor="accuracy"),
            _try_chart(
                charts.forecast_vs_actual,
                h1s[["period", "actual", "forecast"]],
                ctx.currency,
                f"Revenue ({ctx.currency}) against the forecast made one month earlier",
            ),
        ]
    byh = detail.groupby(["model", "horizon"], as_index=False).apply(
        lambda g: pd.Series({"mape": g["ape"].mean()}), include_groups=False
    )
    if len(byh):
        byh["selected"] = byh["model"] == "selected"  # the published forecast, drawn thicker
        byh["model"] = byh["model"].map(model_name)
        out.append(
            _try_chart(charts.accuracy_by_horizon, byh, "Mean absolute percentage error by horizon")
        )
    summary = acc[
        (acc["kind"] == "summary") & acc["horizon"].isna() & (acc["model"] != accuracy.CHANCE_MODEL)
    ]
    if len(summary):
        wide = summary.pivot_table(index="model", columns="metric", values="value", aggfunc="first")
        cols = [c for c in ["mape", "wape", "mase", "bias", "n"] if c in wide.columns]
        wide = wide[cols].sort_values("mase" if "mase" in cols else cols[0]).reset_index()
        heading = "Accuracy by model, all horizons (realised and backtest)"
        if "mase" in cols and wide["mase"].notna().any():
            best = wide.iloc[0]
            heading = (
                f"{model_name(best['model'])} was the most accurate over all horizons "
                f"(MASE {best['mase']:.2f})"
            )
            published = wide.loc[wide["model"] == "selected", "mase"]
            if best["model"] != "selected" and len(published) and pd.notna(published.iloc[0]):
                heading += f"; the published forecast {published.iloc[0]:.2f}"
        out.append(H.heading(heading, level=3))
        out.append(
            H.table(
                wide,
                formats={
                    "model": model_name,
                    "mape": charts.fmt_pct,
                    "wape": charts.fmt_pct,
                    "bias": lambda v: charts.fmt_pct(v, signed=True),
                    "mase": lambda v: f"{v:.2f}",
                    "n": lambda v: f"{v:.0f}",
                },
            )
        )
        out.append(
            H.paragraph(
                "Published forecast: the forecast the report published at each origin, from the "
                "model chosen then. "
                "MAPE and WAPE: mean and weighted absolute percentage error; MASE: the error "
                "over the typical year-on-year change of the history before each forecast "
                "(the in-sample seasonal naive error), lower is better and comparable across "
                "models; bias: (forecast − actual) / actual. Per-horizon figures are in "
                "forecast_accuracy.csv.",
                "sr-note",
            )
        )
    return out


def trend_section(ctx) -> Output:
    tr = ctx.frames.get("trend", pd.DataFrame())
    if tr.empty:
        return [H.missing("Not enough months for a trend analysis.")]
    tr = tr.set_index(tr.columns[0])
    flagged = (
        tr[tr.get("anomaly", pd.Series(False, index=tr.index)).fillna(False).astype(bool)]
        if "anomaly" in tr.columns
        else tr.iloc[0:0]
    )
    last = tr.iloc[-1]
    yoy = last.get("yoy_growth")
    unusual = H.count(len(flagged), "unusual month") if len(flagged) else "no unusual months"
    title = (
        f"Revenue {'up' if yoy >= 0 else 'down'} {abs(yoy):.0%} on the same month last year; {unusual}"
        if pd.notna(yoy)
        else f"Revenue trend; {unusual}"
    )
    out = [
        H.heading(title, anchor="trend"),
        _try_chart(
            charts.trend_decomposition,
            tr,
            f"Monthly revenue ({ctx.currency}), moving averages and trend",
            currency=ctx.currency,
        ),
    ]
    if len(flagged) and "reason" in flagged.columns:
        out.append(
            H.table(
                flagged.reset_index()[[tr.index.name or "period", "actual", "reason"]],
                formats={"actual": lambda v: charts.fmt_money(v, ctx.currency)},
            )
        )
    return out


def pipeline_forecast_section(ctx) -> Output:
    pf = ctx.frames.get("pipeline_forecast", pd.DataFrame())
    if pf.empty:
        if ctx.tables.opportunities is None:
            return section_needs("opportunities", "Pipeline-based forecast", "pipeline-forecast")
        why = (ctx.notes or {}).get("unavailable", {}).get("pipeline_forecast", "")
        return [
            H.heading("No pipeline-based forecast this month", anchor="pipeline-forecast"),
            H.missing(H.sentence(why) + "." if why else "The open pipeline gave no forecast."),
        ]
    wide = pf.pivot_table(index="period", columns="component", values="value", aggfunc="sum")
    fc = ctx.frames["forecast"]
    sel = fc[fc["selected"].astype(bool)].set_index(
        fc.loc[fc["selected"].astype(bool), "period"].astype(str)
    )["point"]
    wide.index = wide.index.astype(str)
    money = lambda v: charts.fmt_money(v, ctx.currency)  # noqa: E731
    bookings_are_revenue = ctx.tables.orders is None
    stat = "Revenue forecast (statistical)" if bookings_are_revenue else "Revenue forecast (orders)"
    wide[stat] = sel.reindex(wide.index)
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
    note = (
        "Bookings: the value of deals expected to be won. Each open deal counts at the win "
        "rate of its current stage, in the month of its expected close date (overdue deals "
        "in the next month); deals created and won within a month come at the rate of the "
        "last six months. "
    )
    note += (
        "With no orders table, revenue is bookings, so the two forecasts measure the same thing."
        if bookings_are_revenue
        else "Revenue comes from the orders table, so it differs from bookings when contracts "
        "are invoiced over time or orders lag the deal: compare the trend, not the level."
    )
    return [
        H.heading(title, anchor="pipeline-forecast"),
        H.table(t, formats={c: money for c in t.columns if c != "Month"}),
        H.paragraph(note, "sr-note"),
    ]


def submissions_section(ctx) -> Output:
    s = ctx.frames.get("submissions", pd.DataFrame())
    if s.empty:
        if ctx.tables.forecast_submissions is None:
            return section_needs(
                "forecast_submissions", "The team's own forecast calls", "submissions"
            )
        month = pd.Period(ctx.month, "M").strftime("%B %Y")
        return [
            H.heading(f"No forecast call submitted by the end of {month}", anchor="submissions")
        ]
    done = s[s["complete"].astype(bool)] if "complete" in s.columns else s
    commit = done[done["category"] == "commit"] if "category" in done.columns else done
    title = "The team's own forecast calls against what happened"
    wape = accuracy.wape(commit["actual"], commit["submitted"]) if len(commit) else np.nan
    if pd.notna(wape):
        title = f"The team's commit calls were off by {wape:.0%} on average (WAPE)"
    money = lambda v: charts.fmt_money(v, ctx.currency)  # noqa: E731
    from salesreport.forecast.accuracy import SUBMISSION_COLUMNS

    cols = [c for c in SUBMISSION_COLUMNS if c in s.columns and c != "complete"]
    words = lambda v: H.header(v) if pd.notna(v) else "—"  # noqa: E731 - best_case -> Best case
    return [
        H.heading(title, anchor="submissions"),
        H.table(
            s[cols].tail(24),
            formats={
                "category": words,
                "level": words,
                "submitted": money,
                "actual": money,
                "error": money,
                "ape": charts.fmt_pct,
                "submitted_date": lambda v: f"{v:%Y-%m-%d}" if pd.notna(v) else "—",
            },
        ),
        H.paragraph(
            "Error: the call minus the actual revenue (positive: the call was too high); APE: "
            "the error's size as a share of the actual revenue. Calls for months not yet over "
            "have no actual.",
            "sr-note",
        ),
    ]


def forecast_table(ctx) -> Output:
    fc = ctx.frames["forecast"]
    sel = fc[fc["selected"].astype(bool)]
    money = lambda v: charts.fmt_money(v, ctx.currency)  # noqa: E731
    t = sel[list(FORECAST_COLUMNS)].rename(columns=FORECAST_COLUMNS)  # the model: in the note above
    months = H.count(len(sel), "month")
    return [
        H.heading(
            f"Forecast by month: {money(sel['point'].sum())} over the next {months}", level=3
        ),
        H.table(t, formats={c: money for c in t.columns if c != "Month"}),
    ]


#: forecast.csv's columns as the forecast table shows them.
FORECAST_COLUMNS = {
    "period": "Month",
    "point": "Forecast",
    "lo80": "80% low",
    "hi80": "80% high",
    "lo95": "95% low",
    "hi95": "95% high",
}


def notes_section(ctx) -> Output:
    """What a section could not compute, and why (never hidden)."""
    un = (ctx.notes or {}).get("unavailable", {})
    if not un:
        return []
    return [H.heading("Sections with no result", level=3)] + [
        H.paragraph(f"{k}: {v}", "sr-note") for k, v in un.items()
    ]


def data_note(ctx) -> Output:
    from salesreport.revenue import revenue_source

    src = revenue_source(ctx.tables)
    return [
        H.paragraph(
            f"Revenue is taken from {src}. Definitions of every metric: docs/kpis.md.", "sr-note"
        )
    ]


def report_path_note(ctx) -> Output:
    return (
        [H.paragraph(f"Team parameters: params/{ctx.params.team}.yaml", "sr-note")]
        if Path(project_root() / "params" / f"{ctx.params.team}.yaml").exists()
        else []
    )
