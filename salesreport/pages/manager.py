"""The sales manager's page: pipeline, deals needing attention, attainment, activity.

Sections, in the page's order: :func:`pipeline`, :func:`attention`, :func:`attainment`,
:func:`activity` (the rep page shows the same three team sections), and why deals were
lost (:func:`salesreport.pages.executive.win_loss`).
"""

from __future__ import annotations

import pandas as pd

from salesreport import analysis, charts, words
from salesreport.pages.common import title_block  # noqa: F401
from salesreport.pages.executive import win_loss  # noqa: F401 - a section of this page
from salesreport.pages.section import (
    Section,
    Table,
    chart,
    drawn,
    note,
    section_needs,
    shared,
    table,
)

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

#: rows of the deals-needing-attention table on the page; every deal is in its CSV
ATTENTION_ROWS = 25


def pipeline_chart(ctx, pb: pd.DataFrame):
    """Open pipeline by expected close month, stacked in the team's ``stage_order``."""
    return chart(
        charts.pipeline_by_stage,
        pb,
        ctx.currency,
        f"Open pipeline ({ctx.currency}) by stage and expected close month",
        stage_order=ctx.params.stage_order,
    )


@shared
def pipeline(ctx) -> Section:
    """Open pipeline at the end of the month by stage and expected close month, and the
    coverage of next month's target."""
    if not ctx.tables.has("opportunities"):
        return section_needs("opportunities", "Pipeline", "pipeline")
    pb = ctx.pipeline
    cov = ctx.kpi("pipeline_coverage", "month")
    covtxt = (
        f"; coverage of next month's target "
        f"{words.kpi_value(cov['value'], 'pipeline_coverage', ctx.currency)}"
        if pd.notna(cov.get("value"))
        else ""
    )
    title = (
        f"Open pipeline {words.fmt_money(pb['value'].sum(), ctx.currency)} across "
        f"{words.count(pb['count'].sum(), 'deal')}{covtxt}"
    )
    return Section(title, "pipeline", [pipeline_chart(ctx, pb)], frame=pb)


def attention(ctx) -> Section:
    """Open deals a manager should look at: close date passed, stalled, no recent activity;
    the largest first, every one of them in ``deals-needing-attention.csv``."""
    if not ctx.tables.has("opportunities"):
        return section_needs("opportunities", "Deals needing attention", "attention")
    t = ctx.params.thresholds
    d = ctx.deals_needing_attention
    d.insert(3, "owner", d["owner_id"].map(analysis.rep_names(ctx.tables)).fillna(d["owner_id"]))
    account = d["account_id"].map(analysis.account_names(ctx.tables)).fillna(d["account_id"])
    d.insert(2, "account", account)
    need = "needs" if len(d) == 1 else "need"
    title = (
        f"{words.count(len(d), 'open deal')} {need} attention, worth "
        f"{words.fmt_money(d['amount'].sum(), ctx.currency)}"
    )
    cols = ["opportunity_id", "account", "owner", "stage", "amount", "close_date", "reasons"]
    return Section(
        title,
        "attention",
        [
            note(
                f"Close date passed, more than {t.stalled_days} days in one stage, or no "
                f"activity in {t.no_activity_days} days. Largest first."
            ),
            table(
                ctx,
                d[cols],
                "deals-needing-attention",
                max_rows=ATTENTION_ROWS,
                formats={
                    "amount": lambda v: words.fmt_money(v, ctx.currency),
                    "close_date": lambda v: f"{v:%Y-%m-%d}",
                },
            ),
        ],
        frame=d,
    )


@shared
def activity(ctx) -> Section:
    """Every rep's activities in the month, one table with data bars, the quiet reps too."""
    if not ctx.tables.has("activities"):
        return section_needs("activities", "Team activity", "activity")
    t = analysis.team_activity(ctx.tables, ctx.month)
    name = words.month_label(ctx.month, "name")
    total = int(t["total"].sum())
    meetings = int(t["meeting"].sum()) if "meeting" in t.columns else 0
    title = (
        f"{words.count(total, 'activity', 'activities')} logged in {name}, {meetings:,} of them "
        "meetings"
    )
    if not total:
        title = f"No activity logged in {name}"
    quiet = int((t["total"] == 0).sum())
    if quiet:
        title += f"; {words.count(quiet, 'rep')} logged none"
    if t.empty:
        return Section(title, "activity", frame=t)
    types = [c for c in t.columns if c not in ("rep_id", "rep", "role", "total")]
    names = {c: ACTIVITY_NAMES.get(c, c.capitalize()) for c in types}
    shown = t.drop(columns=["rep_id"]).rename(columns={"rep": "Rep", "role": "Role", **names})
    shown = shown.rename(columns={"total": "Total"})
    # one table, each type drawn as data bars: every rep is listed, the quiet ones too
    return Section(
        title,
        "activity",
        [
            Table(
                shown,
                formats={"Role": lambda r: ROLE_NAMES.get(str(r).lower(), r)},
                bars=[names[c] for c in types],
                max_rows=len(shown),
            ),
            note(
                f"Activities logged in {words.month_label(ctx.month)} (by their timestamp), "
                "busiest rep first; each bar compares the rep with the busiest rep in that "
                "column. "
                + (
                    "Account executives and SDRs employed in the month who logged nothing are "
                    "listed with zeros."
                    if ctx.tables.reps is not None
                    else "Without a reps table, only reps who logged an activity are listed."
                )
            ),
        ],
        frame=t,
    )


#: the attainment table's columns
ATTAINMENT_COLUMNS = [
    "rep",
    "bookings_month",
    "bookings_ytd",
    "quota_ytd",
    "attainment",
    "deals_won_ytd",
    "win_rate_ytd",
    "pipeline_open",
]


@shared
def attainment(ctx, rep_id: str = "") -> Section:
    """Bookings year to date against quota per account executive (one AE with ``rep_id``)."""
    if not ctx.tables.has("opportunities"):
        return section_needs("opportunities", "Attainment", "attainment")
    lb = analysis.bookings_leaderboard(ctx.tables, ctx.month, ctx.params)
    if rep_id:
        lb = lb[lb["owner_id"] == rep_id]
    if lb.empty:
        title = (
            f"{analysis.rep_label(ctx.tables, rep_id)}: no bookings, quota or open pipeline "
            "this fiscal year"
            if rep_id
            else "No account executive has bookings or quota this fiscal year"
        )
        return Section(title, "attainment", frame=lb)
    on = int((lb["attainment"] >= 1).sum())
    with_quota = int(lb["attainment"].notna().sum())
    title = (
        f"{on} of {with_quota} account executives at or above quota year to date"
        if with_quota
        else "Bookings year to date by account executive (no quotas set)"
    )
    if rep_id:
        title = _one_rep_attainment(ctx, lb.iloc[0], rep_id)
    top = lb.head(30).rename(
        columns={"rep": "label", "bookings_ytd": "value", "quota_ytd": "target"}
    )
    money = lambda v: words.fmt_money(v, ctx.currency)  # noqa: E731
    return Section(
        title,
        "attainment",
        [
            chart(
                charts.kpi_bars,
                top[["label", "value", "target"]],
                ctx.currency,
                "Bookings year to date"
                + (" against quota" if drawn(top, {"target": "quota"}) else "")
                + f" ({ctx.currency})"
                + (f", the {len(top)} largest of {len(lb)} AEs" if len(lb) > len(top) else ""),
                metric="Bookings",
                target_name="quota",
            ),
            Table(
                lb[ATTAINMENT_COLUMNS],
                formats={
                    "bookings_month": money,
                    "bookings_ytd": money,
                    "quota_ytd": money,
                    "pipeline_open": money,
                    "attainment": words.fmt_pct,
                    "win_rate_ytd": words.fmt_pct,
                    "deals_won_ytd": words.fmt_number,
                },
            ),
        ],
        frame=lb,
    )


def _one_rep_attainment(ctx, row: pd.Series, rep_id: str) -> str:
    """The finding for one AE's page: attainment against quota year to date."""
    who = analysis.rep_label(ctx.tables, rep_id)
    money = lambda v: words.fmt_money(v, ctx.currency)  # noqa: E731
    if pd.isna(row["attainment"]):
        return f"{who}: {money(row['bookings_ytd'])} booked year to date (no quota set)"
    return (
        f"{who}: {words.fmt_pct(row['attainment'])} of quota year to date "
        f"({money(row['bookings_ytd'])} against {money(row['quota_ytd'])})"
    )
