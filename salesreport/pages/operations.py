"""The sales operations page: funnel, stage conversion, pipeline movement, cohorts, data.

Sections, in the page's order: :func:`funnel`, :func:`stages`, :func:`waterfall`,
:func:`cohorts`, :func:`quality`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport import analysis, charts, findings, words
from salesreport import html as H
from salesreport.pages.common import notes_section, title_block  # noqa: F401
from salesreport.pages.section import (
    Html,
    Section,
    Table,
    chart,
    missing,
    needs,
    note,
    section_needs,
    table,
)


def funnel(ctx) -> Section:
    """Leads to won deals over the last 12 months."""
    f = analysis.funnel(ctx.tables, ctx.month)
    if f.empty:
        return Section("", parts=[missing("The funnel needs leads or opportunities.")], frame=f)
    won = f.loc[f["step"] == "Deals won", "count"]
    first = f.iloc[0]
    title = (
        f"{words.count(won.iloc[0], 'deal')} won from {int(first['count']):,} "
        f"{first['step'].lower()} in the last 12 months"
        if len(won)
        else "Funnel over the last 12 months"
    )
    parts = [chart(charts.funnel, f, "From lead to won deal, last 12 months")]
    if not ctx.tables.has("leads"):
        parts.append(needs("leads", "The lead steps of the funnel"))
    steps = f.set_index("step")["count"]
    conv, opps = steps.get("Leads converted"), steps.get("Opportunities created")
    if conv is not None and opps is not None and opps > conv:
        parts.append(
            note(
                f"Not every opportunity starts as a lead: {int(opps):,} opportunities were "
                f"created against {int(conv):,} converted leads; the rest were opened directly "
                "(by account executives, partners or renewals)."
            )
        )
    return Section(title, "funnel", parts, frame=f)


#: the stage table's columns as the page shows them
STAGE_COLUMNS = {
    "stage": "Stage",
    "entered": "Entered",
    "moved_on": "Moved on",
    "moved_back": "Moved back",
    "won": "Won",
    "lost": "Lost",
    "conversion": "Conversion",
    "median_days": "Median days",
    "p75_days": "75th percentile days",
}


def stages(ctx) -> Section:
    """Stage by stage over the last 12 months: entered, moved on, won, lost, conversion
    and days in stage (:func:`salesreport.analysis.stage_conversion`)."""
    if not ctx.tables.has("stage_history"):
        return section_needs("stage_history", "Stage conversion and bottlenecks", "stages")
    sc = analysis.stage_conversion(ctx.tables, ctx.month, stage_order=ctx.params.stage_order)
    if sc.empty or not sc[["entered", "moved_on", "won", "lost"]].to_numpy().any():
        return Section(
            "", parts=[missing("No stage was entered, left or closed in the last 12 months.")]
        )
    scored = sc[sc["conversion"].notna() & (sc["stage"] != analysis.NO_STAGE)]
    if len(scored):
        low = scored.loc[scored["conversion"].idxmin()]
        title = (
            f"{low['stage']} converts least: {words.fmt_pct(low['conversion'])} of the deals "
            f"leaving it moved on or were won, {words.count(low['lost'], 'deal')} lost"
        )
    else:
        title = "Stage conversion over the last 12 months"
    won, lost = int(sc["won"].sum()), int(sc["lost"].sum())
    rate = won / (won + lost) if won + lost else np.nan
    timed = sc[sc["median_days"].notna()]
    parts = []
    if len(timed):
        slow = timed.loc[timed["median_days"].idxmax()]
        parts.append(
            chart(
                charts.stage_durations,
                timed[["stage", "median_days", "p75_days"]],
                f"Deals wait longest in {slow['stage']}: median {slow['median_days']:.0f} days "
                "(last 12 months)",
            )
        )
    shown = sc if sc["moved_back"].any() else sc.drop(columns="moved_back")
    days = lambda v: words.fmt_number(v, decimals=0)  # noqa: E731
    parts += [
        Table(
            shown.rename(columns=STAGE_COLUMNS),
            formats={
                **{
                    STAGE_COLUMNS[c]: words.fmt_number
                    for c in ("entered", "moved_on", "moved_back", "won", "lost")
                },
                "Conversion": words.fmt_pct,
                "Median days": days,
                "75th percentile days": days,
            },
            numeric=[v for k, v in STAGE_COLUMNS.items() if k != "stage"],
        ),
        note(
            "Last 12 months. Entered: deals that entered the stage. Moved on: deals that moved "
            "from it to a later stage; won and lost: deals won or lost while in it (at their "
            "last stage before closing). Conversion: moved on and won over moved on, won and "
            f"lost. The won and lost columns add up to the {words.count(won + lost, 'deal')} "
            f"closed in the 12 months, {won:,} won: a win rate of {words.fmt_pct(rate)}, the "
            "win-rate KPI over the last 12 months."
        ),
    ]
    return Section(title, "stages", parts, frame=sc)


def waterfall(ctx) -> Section:
    """How open pipeline moved during the month: start, created, won, lost, end."""
    if not ctx.tables.has("opportunities"):
        return section_needs("opportunities", "Pipeline bridge", "waterfall")
    w = analysis.pipeline_waterfall(ctx.tables, ctx.month)
    vals = dict(zip(w["step"], w["value"], strict=True))
    change = vals["Open at end"] - vals["Open at start"]
    word = "grew" if change >= 0 else "shrank"
    money = lambda v: words.fmt_money(v, ctx.currency)  # noqa: E731
    title = (
        f"Open pipeline {word} by {money(abs(change))} in {words.month_label(ctx.month, 'name')}"
    )
    bridge = w[w["step"].isin(["Open at start", "Created", "Won", "Lost", "Open at end"])]
    side = w[~w["step"].isin(bridge["step"])]
    parts = [
        chart(
            charts.waterfall,
            bridge,
            ctx.currency,
            f"Open pipeline bridge for {words.month_label(ctx.month)} ({ctx.currency})",
        )
    ]
    if len(side):
        parts.append(
            note(
                "Beside the bridge: "
                + "; ".join(
                    f"{s} {money(v)}" for s, v in zip(side["step"], side["value"], strict=True)
                )
                + " (slipped: expected to close this month but still open; advanced: moved to "
                "a later stage this month)."
            )
        )
    return Section(title, "waterfall", parts, frame=w)


def cohorts(ctx) -> Section:
    """Who buys again, month by month, and revenue kept year after year; NRR and GRR."""
    from salesreport.cohorts import retention_matrix, yearly_revenue_retention

    co = ctx.cohorts
    if co.empty:
        return Section(
            "No purchases to build customer cohorts from",
            "cohorts",
            [missing("Cohorts need orders (or won opportunities) with an account_id.")],
        )
    m = co[co["months_since"] == 12]
    avg12 = (
        (m["active"].sum() / m["customers"].sum()) if len(m) and m["customers"].sum() else np.nan
    )
    title = (
        f"{words.fmt_pct(avg12)} of customers bought again in month 12 after their first purchase"
        if pd.notna(avg12)
        else "Customer retention by cohort"
    )
    recent = co[co["cohort"] >= str(ctx.period - 35)]
    parts = [
        chart(
            charts.retention_heatmap,
            retention_matrix(recent),
            "Share of each monthly cohort buying in each month after its first purchase",
        )
    ]
    yearly = yearly_revenue_retention(co)
    second = yearly[yearly["year"] == 2]
    if len(second):
        kept = second["revenue"].sum() / second["first_year_revenue"].sum()
        n = int(second["cohorts"].sum())
        parts += [
            chart(
                charts.revenue_retention_by_year,
                yearly,
                f"Cohorts kept {words.fmt_pct(kept)} of their first-year revenue in year two",
            ),
            note(
                "Revenue in each year after a cohort's first purchase (months 0-11 are its "
                "first year, 12-23 its second) over the same cohorts' first-year revenue; only "
                "cohorts whose year is over by the end of the month count "
                f"({words.count(n, 'monthly cohort')} have had a full second year)."
            ),
        ]
    nrr = ctx.kpi_rows(
        ["net_revenue_retention", "gross_revenue_retention"], window="month", segment="all"
    )
    if len(nrr):
        wide = (
            nrr.pivot(index="period", columns="metric", values="value")
            .rename(columns={"net_revenue_retention": "nrr", "gross_revenue_retention": "grr"})
            .reset_index()
        )
        parts.append(
            chart(charts.nrr_grr_trend, wide, "Net and gross revenue retention, trailing 12 months")
        )
    return Section(title, "cohorts", parts, frame=co)


def _whole_number(v) -> str:
    """A row count with thousands separators (``9,554``); empty as "—"."""
    return words.MISSING if pd.isna(v) else f"{int(v):,}"


def quality(ctx) -> Section:
    """Rows read, kept, dropped and repaired per table, with the reasons."""
    q = ctx.quality
    rows = ctx.frames.get("quality_rows", pd.DataFrame())
    bad, n = findings.quality_problems(q)
    title = (
        f"Data quality: {words.count(n['dropped'], 'row')} dropped and {n['repaired']:,} repaired"
        if len(bad)
        else "Data quality: every row passed its checks"
    )
    counts = {c: _whole_number for c in ("rows_read", "rows_kept", "count")}
    parts = []
    if len(rows):
        parts.append(table(ctx, rows, "data-quality-tables", max_rows=20, formats=counts))
    if len(q):
        cols = [
            c
            for c in ["table", "file", "action", "reason", "count", "example_rows"]
            if c in q.columns
        ]
        parts.append(table(ctx, q[cols], "data-quality", max_rows=60, formats=counts))
    missing_metrics = ctx.frames.get("missing_metrics", pd.DataFrame())
    if len(missing_metrics):
        parts += [
            Html(H.heading("Metrics turned off by missing tables", level=3)),
            Table(missing_metrics),
        ]
    return Section(title, "data-quality", parts, frame=q)
