"""The executive page: the state of the union against targets and OKRs.

Sections, in the page's order: :func:`commentary`, :func:`headline` (the headline KPIs),
:func:`outlook` (the chance of reaching the target, what changed in the forecast),
:func:`quarter` (quarter to date against the quarter's target), :func:`revenue_trend`,
the forecast (:func:`salesreport.pages.forecast.forecast_fan`), :func:`okrs`,
:func:`changes` (the KPIs that moved most), :func:`win_loss` (why deals were lost).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport import analysis, charts, findings, words
from salesreport import html as H
from salesreport.pages import forecast
from salesreport.pages.common import data_note, notes_section, title_block  # noqa: F401
from salesreport.pages.forecast import forecast_fan  # noqa: F401 - a section of this page
from salesreport.pages.section import (
    Html,
    Section,
    Table,
    chart,
    drawn,
    missing,
    note,
    shared,
)
from salesreport.params import project_root
from salesreport.periods import fiscal_quarter, fiscal_quarter_start, fiscal_year


def commentary(ctx) -> Section:
    """The sales lead's notes for the month, ``params/<team>/notes/<YYYY-MM>.md``, escaped."""
    path = project_root() / "params" / ctx.params.team / "notes" / f"{ctx.month}.md"
    if not path.exists():
        return Section("")
    text = H.markdown_safe(path.read_text(encoding="utf-8"))
    return Section(
        "Commentary from the sales lead",
        "commentary",
        [Html(f'<div class="sr-commentary">{text}</div>')],
    )


def headline(ctx) -> Section:
    """The headline KPIs as tiles: value, status against target, changes since last month
    and last year; ``frame`` is :func:`salesreport.findings.headline_frame`."""
    frame = findings.headline_frame(ctx)
    tiles = findings.headline_tiles(ctx)
    parts = [
        Html(H.tiles(tiles))
        if tiles
        else missing("No headline KPI could be computed from this data.")
    ]
    if any(t.status for t in tiles):
        parts.append(Html(H.status_legend(ctx.params.rag)))
    return Section(findings.headline_sentence(ctx), "headline", parts, frame=frame)


def outlook(ctx) -> Section:
    """One line on the year's (or quarter's) target chance and one on what changed in the
    forecast since last month (the forecast page has both in full)."""
    lines = []
    lead = forecast.lead_target(forecast.frame_of(ctx, "forecast_targets"))
    if lead is not None:
        lines.append(forecast.chance_sentence(ctx, lead) + ".")
    ch = forecast.frame_of(ctx, "forecast_changes")
    moved = forecast.lead_change(ch) if len(ch) else None
    if moved is not None:
        lines.append(forecast.change_sentence(ctx, moved) + ".")
    if not lines:
        return Section("")
    return Section(lines[0], "outlook", [Html(H.paragraph(t)) for t in lines[1:]])


def quarter_label(ctx) -> str:
    """The report month's fiscal quarter: ``Q4 2026`` (calendar years), ``Q3 FY2027``."""
    fy = ctx.params.fiscal_year_start_month
    q, y = fiscal_quarter(ctx.period, fy), fiscal_year(ctx.period, fy)
    return f"Q{q} {y}" if fy == 1 else f"Q{q} FY{y}"


def quarter_frame(ctx) -> pd.DataFrame:
    """The report month's fiscal quarter, month by month: ``month``, ``revenue`` (months
    to come empty), ``target`` (the month's revenue target, :func:`monthly targets
    <salesreport.context.monthly_revenue_targets>`) and ``forecast`` (the published
    forecast, for the months to come only)."""
    start = fiscal_quarter_start(ctx.period, ctx.params.fiscal_year_start_month)
    months = pd.period_range(start, start + 2, freq="M").astype(str)
    rev = ctx.revenue
    actual = (
        pd.Series(rev["revenue"].to_numpy(float), index=rev["period"].astype(str))
        if len(rev)
        else pd.Series(dtype=float)
    )
    tg = ctx.frames.get("revenue_targets", pd.DataFrame())
    target = (
        pd.Series(tg["target"].to_numpy(float), index=tg["period"].astype(str))
        if len(tg)
        else pd.Series(dtype=float)
    )
    fc = ctx.forecast
    ahead = pd.Series(dtype=float)
    if len(fc):
        sel = fc[fc["selected"].astype(bool)]
        ahead = pd.Series(sel["point"].to_numpy(float), index=sel["period"].astype(str))
    done = months <= ctx.month
    return pd.DataFrame(
        {
            "month": months,
            "revenue": np.where(done, actual.reindex(months).to_numpy(float), np.nan),
            "target": target.reindex(months).to_numpy(float),
            "forecast": np.where(done, np.nan, ahead.reindex(months).to_numpy(float)),
        }
    )


def quarter(ctx) -> Section:
    """Quarter to date against the quarter's revenue target: the months so far, the
    target of the whole quarter, and where the forecast puts the quarter's end."""
    q = quarter_frame(ctx)
    label = quarter_label(ctx)
    money = lambda v: words.fmt_money(v, ctx.currency)  # noqa: E731
    so_far = float(np.nansum(q["revenue"]))
    whole = float(q["target"].sum()) if q["target"].notna().all() else np.nan
    left = int((q["month"] > ctx.month).sum())
    to_go = f"with {words.count(left, 'month')} to go" if left else "at the quarter's end"
    if ctx.partial:
        to_go = "with this month not over" + (
            f" and {words.count(left, 'more month')}" if left else ""
        )
    if not np.isnan(whole) and whole > 0:
        title = (
            f"{label} to date: {money(so_far)} of revenue, {words.fmt_pct(so_far / whole)} of "
            f"the quarter's {money(whole)} target {to_go}"
        )
    else:
        title = f"{label} to date: {money(so_far)} of revenue (no quarterly target set) {to_go}"
    parts = []
    landing = so_far + float(np.nansum(q["forecast"]))
    if left and q["forecast"].notna().any():
        versus = words.against(landing, whole)
        parts.append(
            Html(
                H.paragraph(
                    f"With the forecast for the months to come, the quarter ends at "
                    f"{money(landing)}" + (f", {versus}." if versus else ".")
                )
            )
        )
    row = ctx.kpi("revenue", "qtd")
    if words.against(row.get("value"), row.get("target")):
        state = words.STATUS_WORDS.get(row.get("status"), "")
        parts.append(
            note(
                f"Revenue quarter to date is {words.against(row['value'], row['target'])} to date "
                f"({money(row['value'])} against {money(row['target'])})"
                + (f": {state}." if state else ".")
            )
        )
    shown = q.assign(month=[words.month_label(m) for m in q["month"]])
    parts.append(
        Table(
            shown.rename(
                columns={
                    "month": "Month",
                    "revenue": "Revenue",
                    "target": "Target",
                    "forecast": "Forecast",
                }
            ),
            formats={c: money for c in ("Revenue", "Target", "Forecast")},
            numeric=["Revenue", "Target", "Forecast"],
        )
    )
    return Section(title, "quarter", parts, frame=q)


def monthly_kpi_frame(
    ctx, metric: str, window: str = "month", segment: str = "all", months: int = 24
) -> pd.DataFrame:
    """``period, value, target, prior`` of one KPI, month by month, the last ``months``
    from the first that has a value, a target or last year's value (a chart of a team whose
    data begins within the last ``months`` starts where its data does)."""
    f = ctx.kpi_rows(metric, window=window, segment=segment)
    if f.empty:  # no such KPI (or no KPI at all) in this run
        return pd.DataFrame(columns=["period", "value", "target", "prior"])
    f = f[["period", "value", "target", "prior"]].tail(months)
    known = f[["value", "target", "prior"]].notna().any(axis=1).to_numpy()
    return f.iloc[int(np.argmax(known)) if known.any() else len(f) :].reset_index(drop=True)


def revenue_trend(ctx) -> Section:
    """Monthly revenue against its target and the same month last year, two years."""
    frame = monthly_kpi_frame(ctx, "revenue")
    if frame.empty:
        return Section("", parts=[missing("No monthly revenue to chart.")])
    last = frame.iloc[-1]
    month = words.month_label(ctx.month, "short")
    if words.against(last["value"], last["target"]):
        title = f"Revenue in {month} {words.against(last['value'], last['target'])}"
        title = title.replace("target", "its monthly target")
    elif frame["prior"].notna().any():
        title = "Monthly revenue against last year"
    else:
        title = f"Revenue in {month}: {words.fmt_money(last['value'], ctx.currency)}"
    what = words.listing(
        ["actual", *drawn(frame, {"target": "target", "prior": "the same month last year"})]
    )
    return Section(
        title,
        "revenue-trend",
        [
            chart(
                charts.revenue_vs_target,
                frame,
                ctx.currency,
                f"Monthly revenue ({ctx.currency}): {what}",
            )
        ],
        frame=frame,
    )


def okrs(ctx) -> Section:
    """OKR objectives and key results: grade, where each should be by now, status."""
    o = ctx.okrs
    if o.empty:
        return Section(
            "No OKRs are set for this team",
            "okrs",
            [missing("Add an `okrs:` block to the team's YAML to grade key results here.")],
        )
    is_kr = ~(o["key_result"].isna() | (o["key_result"] == ""))
    objs = o[~is_kr]
    level = objs["segment"].astype(str) if "segment" in objs else pd.Series("all", objs.index)
    team, spokes = objs[level == "all"], objs[level != "all"]
    title = f"{int((team['status'] == 'green').sum())} of {len(team)} objectives on track"
    if len(spokes):  # hub and spoke: the same objective graded per segment value
        col = str(spokes["segment"].iloc[0]).split("=", 1)[0]
        green = int((spokes["status"] == "green").sum())
        title += f"; by {col}, {green} of {len(spokes)} on track"
    krs = o[is_kr].copy()
    # hub and spoke: the same key result once per segment value, so name the segment
    seg = krs["segment"].astype(str) if "segment" in krs else pd.Series("all", index=krs.index)
    spoke = seg.str.split("=", n=1).str[-1]
    krs["key_result"] = krs["key_result"].where(seg == "all", spoke + ": " + krs["key_result"])
    if "due" in krs:  # where the key result should be by now
        krs["due_value"] = krs["baseline"] + (krs["target"] - krs["baseline"]) * krs["due"]
    shown = krs.copy()
    for col in ("baseline", "target", "due_value", "value"):
        if col in shown:
            shown[col] = [
                words.kpi_value(v, m, ctx.currency)
                for v, m in zip(shown[col], shown["metric"], strict=True)
            ]
    # each objective named once, above its key results; a key result's segment is in its
    # name ("DE: Win rate"), so the table fits a printed page
    first = shown["objective"].ne(shown["objective"].shift())
    shown["objective"] = shown["objective"].where(first, "")
    cols = ["objective", "key_result", "window", "baseline", "target", "due_value", "value",
            "grade", "status"]  # fmt: skip
    shown = shown[[c for c in cols if c in shown.columns]].rename(
        columns={"due_value": "Due by now"}
    )
    legend = Html(H.status_legend(ctx.params.rag))
    return Section(
        title,
        "okrs",
        [
            chart(
                charts.okr_scorecard,
                krs,
                "Grade of each key result (0 = baseline, 1 = target), the tick where it "
                "should be by now",
            ),
            legend,
            Table(
                shown,
                formats={
                    "grade": lambda v: words.fmt_grade(v, percent=True),
                    "window": lambda v: words.sentence(words.WINDOW_PHRASES.get(v, v)),
                    "status": lambda v: (
                        words.STATUS_WORDS.get(v, "—") if isinstance(v, str) else "—"
                    ),
                },
                numeric=["baseline", "target", "Due by now", "value", "grade"],
                badges=["status"],
            ),
        ],
        frame=o,
    )


def changes(ctx, n: int = 3) -> Section:
    """The ``n`` team KPIs that moved most against last year this month, and the segment
    behind each."""
    from salesreport.kpis import catalogue_frame

    cat = catalogue_frame().set_index("name")
    names = [*cat.index[cat["additive"]], "win_rate", "average_deal_size"]
    m = ctx.kpi_rows(names, window="month", period=ctx.month, segment="all")
    m = m[m["value"].notna() & m["prior"].notna() & (m["prior"] != 0)].copy()
    if m.empty:
        return Section(
            "No KPI has a value a year earlier to compare with",
            "changes",
            [missing("The changes against last year need a year of history.")],
        )
    m["change"] = m["value"] / m["prior"] - 1
    m = m.reindex(m["change"].abs().sort_values(ascending=False).index).head(n)
    items, first = [], ""
    for _, r in m.iterrows():
        title = words.kpi_title(r["metric"])
        moved = words.change(r["value"], r["prior"])
        why = _driver(ctx, r["metric"])
        first = first or f"{title} {moved} on last year, the largest change"
        value = words.kpi_value(r["value"], r["metric"], ctx.currency)
        prior = words.kpi_value(r["prior"], r["metric"], ctx.currency)
        items.append(
            f"<li><strong>{H.esc(title)}</strong> {H.esc(moved)} on last year "
            f"({H.esc(value)} against {H.esc(prior)}){H.esc(why)}</li>"
        )
    frame = m[["metric", "value", "prior", "change"]].reset_index(drop=True)
    return Section(first, "changes", [Html("<ol>" + "".join(items) + "</ol>")], frame=frame)


def _driver(ctx, metric: str) -> str:
    """'; largest move in region DE (+€120k)': the segment whose value moved most against
    last year this month (rates move in percentage points)."""
    s = ctx.kpi_rows(metric, window="month", period=ctx.month)
    s = s[(s["segment"] != "all") & ~s["segment"].str.startswith("stage=")]
    s = s[s["value"].notna()].copy()
    if s.empty:
        return ""
    s["delta"] = s["value"] - s["prior"].fillna(0)
    top = s.reindex(s["delta"].abs().sort_values(ascending=False).index).iloc[0]
    if words.kpi_unit(metric) == "ratio" and metric not in words.MULTIPLES:  # in points
        moved = words.kpi_change(
            top["value"], top["prior"] if pd.notna(top["prior"]) else 0, metric
        )
    else:  # the segment's share of the team's move, in the metric's unit
        sign = "+" if top["delta"] >= 0 else "−"
        moved = sign + words.kpi_value(abs(top["delta"]), metric, ctx.currency)
    return f"; largest move in {words.segment_label(ctx.tables, top['segment'])} ({moved})"


@shared
def win_loss(ctx) -> Section:
    """Lost deals and their value by reason over the last 12 months."""
    opps = ctx.tables.peek("opportunities", ["lost_reason"])
    if opps is None or "lost_reason" not in opps.columns:
        return Section(
            "Why deals were lost: no lost_reason in the data",
            "win-loss",
            [missing("Win/loss reasons need the opportunities table with a lost_reason column.")],
        )
    lr = analysis.lost_reasons(ctx.tables, ctx.month)
    if lr.empty:
        return Section("No deal was lost in the last 12 months", "win-loss", frame=lr)
    top = lr.iloc[0]
    title = f"“{top['lost_reason']}” behind {top['share']:.0%} of lost deals in the last 12 months"
    # one table, deals and value drawn as data bars: a chart beside it repeated its first column
    return Section(
        title,
        "win-loss",
        [
            Table(
                lr,
                formats={
                    "value": lambda v: words.fmt_money(v, ctx.currency),
                    "share": words.fmt_pct,
                },
                bars=["deals", "value"],
                max_rows=len(lr),
            ),
            note(
                f"Deals lost in the 12 months to the end of {words.month_label(ctx.month)} (by "
                "close date), by the reason recorded; each bar compares the reason with the "
                "largest in its column. Share: of the lost deals."
            ),
        ],
        frame=lr,
    )
