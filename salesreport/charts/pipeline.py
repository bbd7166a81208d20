"""Pipeline charts: open pipeline by stage and close month, funnel, stage durations, waterfall."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from salesreport.charts.formatting import fmt_money, fmt_number, fmt_pct, money_formatter
from salesreport.charts.revenue import stacked_month_bars
from salesreport.charts.theme import (
    ACTUAL,
    BAD,
    GOOD,
    LIGHT,
    PRIOR,
    bool_column,
    finish,
    keep_labels_inside,
    new_figure,
    require,
    require_values,
    themed,
    value_label,
    with_period,
)


def pipeline_by_stage(
    frame: pd.DataFrame,
    currency: str = "EUR",
    title: str = "Open pipeline by expected close month",
    stage_order: list[str] | None = None,
) -> Figure:
    """Open pipeline value per expected close month, stacked by stage, totals on top.

    ``frame``: ``stage``, ``close_month`` (Period or ``'YYYY-MM'``), ``value``
    (summed per month and stage). Stages stack in ``stage_order`` (earliest at
    the bottom; the team's ``stage_order`` parameter), stages not in it above,
    largest first. Month labels start from the first close month.
    """
    require(frame, "pipeline_by_stage", ["stage", "close_month", "value"])
    return stacked_month_bars(
        frame,
        "stage",
        "pipeline_by_stage",
        currency,
        title,
        ylabel=f"Open pipeline ({currency})",
        xlabel="Expected close month",
        month_col="close_month",
        anchor_first=True,
        order=stage_order,
        legend_title="Stage",
    )


def _wrap(label: str, width: int = 24) -> str:
    return "\n".join(textwrap.wrap(str(label), width)) or str(label)


def _rate(share: float) -> str:
    """Whole per cent, one decimal below 10% (3.4% of leads)."""
    return fmt_pct(share, decimals=1 if 0 < share < 0.1 else 0)


def funnel(frame: pd.DataFrame, title: str = "Funnel", period_label: str | None = None) -> Figure:
    """Steps of a funnel (lead -> opportunity -> won) as bars, with conversion between steps.

    ``frame``: ``step``, ``count`` in funnel order. Next to each step after the
    first: its count as a share of the previous step (``count_i / count_{i-1}``)
    and, from the third step, of the first step (``count_i / count_0``); shares
    below 10% get one decimal.
    """
    chart = "funnel"
    require(frame, chart, ["step", "count"])
    counts = pd.to_numeric(frame["count"], errors="coerce").astype(float).to_numpy()
    require_values(pd.Series(counts), chart)
    steps = frame["step"].astype(str).tolist()
    n = len(steps)
    with themed():
        fig, ax = new_figure(height=max(2.6, 0.75 * n + 1.2))
        y = np.arange(n)[::-1]
        ax.barh(y, np.nan_to_num(counts), height=0.62, color=ACTUAL, zorder=2)
        top = np.nanmax(counts)
        labels = []
        for i in range(n):
            text = fmt_number(counts[i])
            if i > 0:
                prev, first = counts[i - 1], counts[0]
                step_rate = counts[i] / prev if prev else np.nan
                text += f"   ({_rate(step_rate)} of {steps[i - 1].lower()}"
                if i > 1:
                    text += (
                        f", {_rate(counts[i] / first if first else np.nan)} of {steps[0].lower()}"
                    )
                text += ")"
            labels.append(
                value_label(
                    ax,
                    text,
                    (np.nan_to_num(counts[i]), y[i]),
                    (6, 0),
                    va="center",
                    fontsize=9,
                    color="#333333",
                )
            )
        ax.set_yticks(y, [_wrap(s) for s in steps])
        ax.set_xlim(0, top * 1.6 if top > 0 else 1)
        ax.xaxis.set_major_formatter(lambda v, _p: fmt_number(v))
        ax.set_xlabel(with_period("Count", period_label))
        keep_labels_inside(ax, labels)  # a long share beside a long bar ran off the chart
        ax.grid(axis="y", visible=False)
        return finish(fig, title)


def stage_durations(
    frame: pd.DataFrame, title: str = "Time spent in each stage", period_label: str | None = None
) -> Figure:
    """Days deals spend in each stage: median as a solid bar, 75th percentile as a pale one.

    ``frame``: ``stage``, ``median_days``, ``p75_days``, in stage order (top to bottom).
    A long pale bar beyond the median shows a stage where some deals stall.
    """
    chart = "stage_durations"
    require(frame, chart, ["stage", "median_days", "p75_days"])
    med = pd.to_numeric(frame["median_days"], errors="coerce").astype(float).to_numpy()
    p75 = pd.to_numeric(frame["p75_days"], errors="coerce").astype(float).to_numpy()
    require_values(pd.Series(np.r_[med, p75]), chart)
    stages = frame["stage"].astype(str).tolist()
    n = len(stages)
    with themed():
        fig, ax = new_figure(height=max(2.6, 0.5 * n + 1.4))
        y = np.arange(n)[::-1]
        ax.barh(
            y, np.nan_to_num(p75), height=0.62, color=LIGHT, alpha=0.45, label="75th percentile"
        )
        ax.barh(y, np.nan_to_num(med), height=0.62, color=ACTUAL, label="Median")
        for yi, m, q in zip(y, med, p75, strict=True):
            value_label(
                ax,
                f"{fmt_number(m)} d median · {fmt_number(q)} d p75",
                (np.nanmax([m, q, 0]), yi),
                (6, 0),
                va="center",
                fontsize=8.5,
                color="#333333",
            )
        ax.set_yticks(y, [_wrap(s) for s in stages])
        ax.set_xlim(0, np.nanmax(np.r_[med, p75]) * 1.45)
        ax.set_xlabel(with_period("Days in stage", period_label))
        ax.grid(axis="y", visible=False)
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(handles[::-1], labels[::-1], loc="lower left", bbox_to_anchor=(0, 1.0), ncol=2)
        return finish(fig, title)


#: step names read as levels (not changes) when a waterfall frame has no ``is_total`` column
LEVEL_STEPS = r"(?i)^\s*(open|opening|start|beginning|end|closing|total)\b"


def waterfall(
    frame: pd.DataFrame,
    currency: str = "EUR",
    title: str = "Pipeline movement",
    period_label: str | None = None,
    total_label: str | None = "End of period",
    metric: str = "Pipeline value",
) -> Figure:
    """How a total moved from start to end: each step floats from the running total.

    ``frame``: ``step``, ``value`` (signed: created +, won/lost −) in order, and
    optionally a boolean ``is_total`` marking rows that are levels, drawn from
    zero in grey; a level resets the running total to its own value (so a given
    "Open at end" shows the data's figure, not a recomputed one). Without an
    ``is_total`` column, rows whose step starts with "Open", "Opening", "Start",
    "Beginning", "End", "Closing" or "Total" are levels ("Open at start", "Open
    at end", "End of period"). Without a level first, the running total starts
    at 0. When the last row is not a level and ``total_label`` is set, a closing
    level (running total) is added. ``metric`` names the axis ("Pipeline value
    (EUR)"; "Revenue" for a revenue bridge).
    """
    chart = "waterfall"
    require(frame, chart, ["step", "value"])
    values = pd.to_numeric(frame["value"], errors="coerce").astype(float).to_numpy()
    require_values(pd.Series(values), chart)
    steps = frame["step"].astype(str).tolist()
    if "is_total" in frame.columns:
        is_total = bool_column(frame, "is_total")
    else:
        is_total = frame["step"].astype(str).str.match(LEVEL_STEPS).to_numpy(dtype=bool)
    values = np.nan_to_num(values)
    bottoms, heights, kinds = [], [], []
    running = 0.0
    for v, total in zip(values, is_total, strict=True):
        if total:
            bottoms.append(0.0)
            heights.append(v)
            running = v
            kinds.append("total")
        else:
            bottoms.append(running)
            heights.append(v)
            running += v
            kinds.append("up" if v >= 0 else "down")
    if total_label and not is_total[-1]:
        steps.append(total_label)
        bottoms.append(0.0)
        heights.append(running)
        kinds.append("total")
    colour = {"total": PRIOR, "up": GOOD, "down": BAD}
    n = len(steps)
    with themed():
        fig, ax = new_figure(height=4.2)
        x = np.arange(n)
        ax.bar(x, heights, bottom=bottoms, width=0.62, color=[colour[k] for k in kinds], zorder=2)
        ends = np.array(bottoms) + np.array(heights)
        for i in range(n - 1):  # connectors between consecutive bars
            ax.plot([x[i] + 0.31, x[i + 1] - 0.31], [ends[i], ends[i]], color="#999999", lw=0.8)
        for xi, b, h, k in zip(x, bottoms, heights, kinds, strict=True):
            text = fmt_money(h, currency)
            if k == "up":
                text = "+" + text
            value_label(
                ax,
                text,
                (xi, max(b, b + h)),
                (0, 3),
                ha="center",
                va="bottom",
                fontsize=9,
                color="#333333",
            )
        ax.axhline(0, color="#555555", lw=0.8)
        ax.set_xticks(x, [_wrap(s, 14) for s in steps])
        ax.yaxis.set_major_formatter(money_formatter(currency))
        ax.set_ylabel(with_period(f"{metric} ({currency})", period_label))
        ax.set_xlabel("")
        ax.grid(axis="x", visible=False)
        top = max(np.max(ends), np.max(bottoms), 0)
        ax.set_ylim(min(0, np.min(ends) * 1.1), top * 1.12 if top > 0 else 1)
        handles = [
            Patch(color=PRIOR, label="Level"),
            Patch(color=GOOD, label="Increase"),
            Patch(color=BAD, label="Decrease"),
        ]
        ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3)
        return finish(fig, title)
