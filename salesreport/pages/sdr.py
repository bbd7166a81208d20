"""The SDRs' page: activity and meetings per SDR, their funnel, lead trends.

Sections, in the page's order: :func:`sdrs`, :func:`funnel`, :func:`trends`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport import analysis, charts, words
from salesreport.pages.common import title_block  # noqa: F401
from salesreport.pages.executive import monthly_kpi_frame
from salesreport.pages.section import (
    Section,
    Sections,
    Table,
    chart,
    drawn,
    missing,
    needs,
    note,
    section_needs,
)

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


def sdrs(ctx) -> Section:
    """Every SDR's calls, emails, LinkedIn requests and meetings, ranked by meetings."""
    if not ctx.tables.has("activities") and not ctx.tables.has("leads"):
        return section_needs("activities", "SDR activity", "sdr")
    t = analysis.sdr_table(ctx.tables, ctx.month)
    if t.empty:
        return Section("", parts=[missing("No SDR activity or leads this month.")], frame=t)
    meetings = int(t["meeting"].sum()) if "meeting" in t.columns else 0
    name = words.month_label(ctx.month, "name")
    title = f"SDRs booked {words.count(meetings, 'meeting')} in {name}"
    if ctx.tables.has("activities"):
        a = analysis.activity_by_rep(ctx.tables, ctx.month)
        team = int(a.loc[a["type"] == "meeting", "count"].sum())
        if team > meetings:
            title = f"SDRs booked {meetings:,} of the team's {team:,} meetings in {name}"
    types = [c for c in ["call", "email", "linkedin", "meeting"] if c in t.columns]
    if "meeting" in t.columns:  # most meetings first, then most activity
        t = t.iloc[np.lexsort((-t[types].sum(axis=1).to_numpy(), -t["meeting"].to_numpy()))]
    t = t.reset_index(drop=True)
    # one table, the activity columns drawn as data bars: a chart beside it would repeat
    # the same four numbers per SDR
    return Section(
        title,
        "sdr",
        [
            Table(
                t.drop(columns=["rep_id"]).rename(columns=SDR_COLUMNS),
                formats={
                    SDR_COLUMNS["meeting_rate"]: words.fmt_pct,
                    SDR_COLUMNS["lead_age_days"]: lambda v: words.fmt_number(v, decimals=0),
                },
                bars=[SDR_COLUMNS[c] for c in types],
            ),
            note(
                f"Counts for {words.month_label(ctx.month)}; each bar compares the SDR with "
                "the busiest SDR in that column. Meetings per touch: meetings booked over "
                "calls, emails and LinkedIn requests. Open lead age: the mean age at month end "
                "of the SDR's open leads (the rule of the open-lead age KPI: not converted by "
                "then, and no closed status such as disqualified, lost or junk)."
            ),
        ],
        frame=t,
    )


def funnel(ctx) -> Section:
    """Touches -> meetings -> opportunities for the SDR team this month."""
    if not ctx.tables.has("activities") and not ctx.tables.has("leads"):
        return section_needs("activities", "SDR funnel", "sdr-funnel")
    f = analysis.sdr_funnel(ctx.tables, ctx.month)
    month = words.month_label(ctx.month)
    steps = f.set_index("step")["count"]
    touches, meetings = steps.get("Touches"), steps.get("Meetings booked")
    opps = steps.get("Opportunities from their leads")
    bits = []
    if touches and meetings:
        per = round(touches / meetings)
        bits.append(
            f"One meeting booked per {words.count(per, 'touch', 'touches')}"
            if per >= 1
            else f"{meetings / touches:.1f} meetings booked per touch"
        )
    elif touches and meetings is not None:
        bits.append(f"No meeting booked from {words.count(touches, 'touch', 'touches')}")
    if opps is not None:
        bits.append(f"{words.count(opps, 'new opportunity', 'new opportunities')} from SDR leads")
    title = f"{', '.join(bits)} in {month}" if bits else f"SDR funnel, {month}"
    parts = [
        chart(charts.funnel, f, f"From SDR touches to opportunities, {month}"),
        note(
            "Touches: calls, emails and LinkedIn requests by SDRs. Opportunities from their "
            "leads: opportunities created this month from a lead an SDR owns."
        ),
    ]
    if not ctx.tables.has("activities"):
        parts.append(needs("activities", "Touches and meetings"))
    return Section(title, "sdr-funnel", parts, frame=f)


#: the SDR trends: metric and how the page names it
TRENDS = (
    ("meetings", "Meetings booked"),
    ("leads_created", "Leads created"),
    ("lead_conversion_rate", "Lead conversion rate"),
)


def _beside(f: pd.DataFrame) -> str:
    """What a KPI's trend chart draws beside the value: ``, with last year and target``."""
    beside = drawn(f, {"prior": "last year", "target": "target"})
    return f", with {words.listing(beside)}" if beside else ""


def trends(ctx) -> Sections:
    """Meetings booked, leads created and lead conversion, month by month with last year:
    one section each."""
    out = []
    for metric, label in TRENDS:
        f = monthly_kpi_frame(ctx, metric)
        if f.empty or f["value"].isna().all():
            continue
        last, prev = f["value"].iloc[-1], f["prior"].iloc[-1]
        unit = words.kpi_unit(metric)
        value = words.kpi_value(last, metric, ctx.currency)
        notes = []
        if metric == "lead_conversion_rate":
            # each month's leads converted by the end of the report month (shared/spec/kpis.md):
            # this month's leads have had weeks, last year's a year, so no "% on last year"
            then = (
                f" ({words.month_label(ctx.period - 12)}'s: "
                f"{words.kpi_value(prev, metric, ctx.currency)}, with a year longer to convert)"
                if words.as_float(prev) is not None
                else ""
            )
            name = words.month_label(ctx.month, "name")
            title = f"{label}: {value} of {name}'s leads converted so far{then}"
            notes = [
                note(
                    "Each month: the share of the leads created in it that converted by the "
                    f"end of {words.month_label(ctx.month)}. Recent months have had less time "
                    "to convert, so the line falls at its end and this month reads lower than "
                    "the same month last year."
                )
            ]
        else:
            moved = words.kpi_change(last, prev, metric)
            change = f" ({moved} on last year)" if moved != words.MISSING else ""
            title = f"{label}: {value} this month{change}"
        out.append(
            Section(
                title,
                f"trend-{metric}",
                [
                    chart(
                        charts.kpi_trend,
                        f,
                        "ratio" if unit == "ratio" else "count",
                        f"{label} by month" + _beside(f),
                        metric=label,
                    ),
                    *notes,
                ],
                frame=f,
            )
        )
    if not out:
        return Sections([section_needs("leads", "SDR trends", "sdr-trends")])
    return Sections(out)
