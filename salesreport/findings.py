"""The month's findings as the team's index, ``run.json`` and the executive page state them:
the headline sentence, the headline KPI tiles and the data-quality counts.

The run's main process writes the index and ``run.json`` with these; it never imports the
pages (:mod:`salesreport.pages`), which draw charts in the notebooks' kernels. Words and
formats come from :mod:`salesreport.words`, statuses from the KPI rows (the one rule of
:mod:`salesreport.status`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesreport import words
from salesreport.jobs import DEFINITIONS_PAGE
from salesreport.periods import fiscal_quarter_start, fiscal_year_start

#: the headline KPIs: metric, window, label (the executive page's tiles and the index's)
HEADLINE = (
    ("revenue", "ytd", "Revenue, year to date"),
    ("revenue", "month", "Revenue, month"),
    ("target_attainment", "ytd", "Attainment, year to date"),
    ("win_rate", "qtd", "Win rate, quarter to date"),
    ("pipeline_coverage", "month", "Pipeline coverage, next month"),
    ("new_customers", "month", "New customers, month"),
    ("net_revenue_retention", "month", "Net revenue retention"),
    ("average_deal_size", "qtd", "Average deal size, quarter to date"),
)


@dataclass(frozen=True)
class Tile:
    """A headline KPI as a tile shows it (values already written for readers)."""

    metric: str
    window: str
    label: str
    value: str
    status: str  # green, amber, red, or "" without a target
    details: tuple[str, ...]  # the target, then the changes since last month and last year
    href: str = ""  # the KPI's definition


def definition_href(ctx, metric: str, published: bool | None = None) -> str:
    """Where a KPI's definition is: in a published report, the offline copy beside the page
    (``kpis.html#kpi-<metric>``); in JupyterLab, the repository's ``docs/kpis.md``.
    ``published`` defaults to whether the context was read from a run's folder."""
    if published is None:
        published = getattr(ctx, "folder", None) is not None
    return f"{DEFINITIONS_PAGE}#kpi-{metric}" if published else "../docs/kpis.md"


def _key_result(ctx, metric: str, window: str) -> dict | None:
    """The team's key result on ``metric`` and ``window`` (segment ``all``), if any."""
    okrs = ctx.okrs
    if okrs.empty or "metric" not in okrs:
        return None
    kr = okrs[(okrs["metric"] == metric) & (okrs["window"] == window)]
    kr = kr[kr["segment"].astype(str) == "all"] if "segment" in kr else kr
    return kr.iloc[0].to_dict() if len(kr) else None


def _last_month(ctx, window: str) -> str | None:
    """The month whose value of the same window reads "since last month": the previous
    month, unless the window restarted in between (a new fiscal quarter or year)."""
    p = ctx.period
    fy = ctx.params.fiscal_year_start_month
    if window == "qtd" and fiscal_quarter_start(p, fy) == p:
        return None
    if window == "ytd" and fiscal_year_start(p, fy) == p:
        return None
    return str(p - 1)


def headline_frame(ctx) -> pd.DataFrame:
    """The numbers behind the headline tiles, one row per tile: ``metric``, ``window``,
    ``label``, ``value``, ``target`` and where it comes from (``target_source``:
    ``target`` for the targets of the KPI's window, ``key result`` for an OKR's target when
    the KPI has none), ``status``, ``last_month`` (the same window a month earlier, empty
    when the window restarted) and ``last_year``. KPIs without a value are left out."""
    rows = []
    for metric, window, label in HEADLINE:
        row = ctx.kpi(metric, window)
        value = row.get("value", np.nan)
        if words.is_missing(value):
            continue
        target, source = row.get("target", np.nan), "target"
        status = row.get("status") if isinstance(row.get("status"), str) else ""
        if words.is_missing(target):
            kr = _key_result(ctx, metric, window)
            if kr is not None:
                target, source = kr["target"], "key result"
                status = kr["status"] if isinstance(kr["status"], str) else ""
            else:
                source = ""
        previous = _last_month(ctx, window)
        before = ctx.kpi(metric, window, period=previous)["value"] if previous else np.nan
        if ctx.partial and window == "month":
            label = label.replace(", month", ", month to date")
        rows.append(
            {
                "metric": metric,
                "window": window,
                "label": label,
                "value": float(value),
                "target": float(target),
                "target_source": source,
                "status": status,
                "last_month": float(before),
                "last_year": float(row.get("prior", np.nan)),
            }
        )
    cols = ["metric", "window", "label", "value", "target", "target_source", "status",
            "last_month", "last_year"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def headline_tiles(ctx, published: bool | None = None) -> list[Tile]:
    """The headline KPIs as tiles (see :func:`headline_frame`); ``published``: link the
    definitions as a published page does (:func:`definition_href`)."""
    tiles = []
    for r in headline_frame(ctx).itertuples(index=False):
        fmt = lambda v, m=r.metric: words.kpi_value(v, m, ctx.currency)  # noqa: E731
        if r.target_source == "key result":
            first = f"key result target {fmt(r.target)}"
        elif r.target_source:
            first = f"target {fmt(r.target)}"
        else:
            first = "no target set"
        details = [first]
        for when, ref in (("since last month", r.last_month), ("since last year", r.last_year)):
            moved = words.kpi_change(r.value, ref, r.metric)
            if moved != words.MISSING:
                details.append(f"{moved} {when} ({fmt(ref)})")
        tiles.append(
            Tile(
                metric=r.metric,
                window=r.window,
                label=r.label,
                value=fmt(r.value),
                status=r.status,
                details=tuple(details),
                href=definition_href(ctx, r.metric, published),
            )
        )
    return tiles


def headline_sentence(ctx) -> str:
    """A one-line finding: revenue year to date against target, else against last year."""
    row = ctx.kpi("revenue", "ytd")
    val, target, prior = row.get("value"), row.get("target"), row.get("prior")
    money = lambda v: words.fmt_money(v, ctx.currency)  # noqa: E731
    if words.is_missing(val):
        return "No revenue in the data for this period."
    if words.against(val, target):
        return (
            f"Revenue {words.against(val, target)} year to date "
            f"({money(val)} against {money(target)})."
        )
    if words.change(val, prior):
        return (
            f"Revenue {words.change(val, prior)} on last year, year to date ({money(val)}); "
            "no revenue target is set."
        )
    return f"Revenue year to date: {money(val)}."


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
