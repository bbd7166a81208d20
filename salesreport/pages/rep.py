"""The account executives' page: the team leaderboard, or one AE's page (``rep_id``).

Sections, in the page's order: :func:`attainment`, :func:`pipeline` and :func:`activity`.
The team page shows the manager's sections (built once per run); an AE's page shows the
same three for that AE only.
"""

from __future__ import annotations

from salesreport import analysis, words
from salesreport.forecast.pipeline_forecast import COLUMNS
from salesreport.pages import manager
from salesreport.pages.common import title_block  # noqa: F401
from salesreport.pages.section import Section, Table, missing, section_needs
from salesreport.tables import Tables


def attainment(ctx, rep_id: str = "") -> Section:
    """Bookings against quota: every AE, or the one of ``rep_id``."""
    return manager.attainment(ctx, rep_id)


def pipeline(ctx, rep_id: str = "") -> Section:
    """Open pipeline by stage and close month: the team's, or the one of ``rep_id``."""
    if not rep_id:
        return manager.pipeline(ctx)
    if not ctx.tables.has("opportunities"):
        return section_needs("opportunities", "Pipeline", "rep-pipeline")
    # the two tables the pipeline reads, with its columns, the AE's deals only
    o = ctx.tables.peek("opportunities", [*COLUMNS["opportunities"], "owner_id"])
    mine = o[o["owner_id"] == rep_id]
    history = ctx.tables.rows_with(
        "stage_history", "opportunity_id", mine["opportunity_id"], COLUMNS["stage_history"]
    )
    tb = Tables(opportunities=mine, stage_history=history)
    pb = analysis.pipeline_by_stage(tb, ctx.month, ctx.params.stage_order)
    who = analysis.rep_label(ctx.tables, rep_id)
    if pb.empty:
        return Section(
            f"{who}: no open deals at the end of {words.month_label(ctx.month)}",
            "rep-pipeline",
            frame=pb,
        )
    title = (
        f"{who}: open pipeline {words.fmt_money(pb['value'].sum(), ctx.currency)} in "
        f"{words.count(pb['count'].sum(), 'deal')}"
    )
    return Section(title, "rep-pipeline", [manager.pipeline_chart(ctx, pb)], frame=pb)


def activity(ctx, rep_id: str = "") -> Section:
    """Activities in the month: every rep's, or one AE's by type beside the median rep of
    the same role."""
    if not rep_id:
        return manager.activity(ctx)
    if not ctx.tables.has("activities"):
        return section_needs("activities", "Activity", "activity")
    t = analysis.rep_activity(ctx.tables, ctx.month, rep_id)
    who = analysis.rep_label(ctx.tables, rep_id)
    name = words.month_label(ctx.month, "name")
    if t.empty:
        return Section("Activity", "activity", [missing(f"No activity in {name}.")], frame=t)
    total, median = int(t["count"].sum()), float(t["team_median"].sum())
    title = (
        f"{who}: {words.count(total, 'activity', 'activities')} logged in {name} "
        f"(a typical rep: {median:,.0f})"
    )
    shown = t.assign(type=t["type"].map(manager.ACTIVITY_NAMES).fillna(t["type"].str.capitalize()))
    shown = shown.rename(
        columns={
            "type": "Activity",
            "count": who,
            "team_median": f"Median rep ({words.count(t['reps'].iloc[0], 'rep')})",
        }
    ).drop(columns=["reps"])
    return Section(
        title,
        "activity",
        [Table(shown, formats={c: words.fmt_number for c in shown.columns[1:]})],
        frame=t,
    )
