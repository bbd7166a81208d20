"""Revenue and KPI charts: monthly revenue against target, KPI trends, leaderboards."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from salesreport.charts.formatting import (
    fmt_money,
    fmt_pct,
    is_currency,
    money_formatter,
    unit_formatters,
)
from salesreport.charts.theme import (
    ACTUAL,
    FORECAST,
    PRIOR,
    SERIES,
    TARGET,
    finish,
    legend_above,
    month_axis,
    new_figure,
    optional_column,
    require,
    require_values,
    themed,
    to_periods,
    value_label,
    with_period,
)


def revenue_vs_target(
    monthly: pd.DataFrame,
    currency: str = "EUR",
    title: str = "Monthly revenue",
    metric: str | None = None,
) -> Figure:
    """Monthly revenue as bars, the month's target as dark dashes, last year as a faint line.

    Parameters
    ----------
    monthly : DataFrame
        One row per month: ``period`` (Period or ``'YYYY-MM'``), ``value`` (revenue),
        and optionally ``target`` and ``prior`` (same month a year earlier), empty where unknown.
    currency : str
        ISO code of the amounts (axis "Revenue (EUR)", ticks "€1.2M"). Any other
        KPI can be drawn the same way by giving its ``kpis.csv`` unit instead
        (``ratio`` -> "%", ``count`` ...; see :func:`unit_formatters`).
    title : str
        The finding, e.g. from :func:`finding_title_revenue`.
    metric : str, optional
        Axis name; default "Revenue" for money, "Value" for other units.

    Raises
    ------
    ValueError
        ``"no data for revenue_vs_target"`` when there is no row or no value.
    """
    chart = "revenue_vs_target"
    require(monthly, chart, ["period", "value"])
    value = pd.to_numeric(monthly["value"], errors="coerce").astype(float)
    require_values(value, chart)
    x = to_periods(monthly["period"], chart).asi8
    order = np.argsort(x)
    x, value = x[order], value.to_numpy()[order]
    target, prior = optional_column(monthly, "target"), optional_column(monthly, "prior")
    with themed():
        fig, ax = new_figure()
        ax.bar(x, value, width=0.72, color=ACTUAL, label="Actual", zorder=2)
        if prior is not None:
            ax.plot(
                x,
                prior.to_numpy()[order],
                color=PRIOR,
                lw=1.6,
                alpha=0.9,
                marker="o",
                ms=3,
                label="Same month last year",
                zorder=3,
            )
        if target is not None:
            ax.plot(
                x,
                target.to_numpy()[order],
                color=TARGET,
                lw=1.2,
                ls=(0, (3, 2)),
                marker="_",
                ms=16,
                mew=2.6,
                label="Target",
                zorder=4,
            )
        tick_fmt, _fmt, unit_text = unit_formatters(currency)
        ax.yaxis.set_major_formatter(tick_fmt)
        ax.set_ylabel(
            f"{metric or ('Revenue' if is_currency(currency) else 'Value')} ({unit_text})"
        )
        ax.set_ylim(bottom=min(0.0, float(np.nanmin(value))))
        month_axis(ax, x)
        legend_above(ax)
        return finish(fig, title)


def kpi_trend(frame: pd.DataFrame, unit: str, title: str, metric: str = "Value") -> Figure:
    """One KPI month by month: a line for the value, dashes for its target, grey for last year.

    Parameters
    ----------
    frame : DataFrame
        ``period``, ``value`` and optionally ``target``, ``prior`` (as in ``kpis.csv``).
    unit : str
        ``kpis.csv`` unit: a currency code, ``ratio`` (shown as %), ``count``, ``days`` ...
    metric : str
        Axis name, e.g. "Win rate", "Meetings booked": the axis reads "Win rate (%)".
    """
    chart = "kpi_trend"
    require(frame, chart, ["period", "value"])
    value = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    require_values(value, chart)
    x = to_periods(frame["period"], chart).asi8
    order = np.argsort(x)
    tick_fmt, _fmt, unit_text = unit_formatters(unit)
    with themed():
        fig, ax = new_figure(height=3.8)
        ax.plot(x[order], value.to_numpy()[order], color=ACTUAL, marker="o", ms=4, label="Actual")
        prior = optional_column(frame, "prior")
        if prior is not None:
            ax.plot(
                x[order], prior.to_numpy()[order], color=PRIOR, lw=1.5, label="Same month last year"
            )
        target = optional_column(frame, "target")
        if target is not None:
            ax.plot(
                x[order],
                target.to_numpy()[order],
                color=TARGET,
                lw=1.2,
                ls=(0, (3, 2)),
                label="Target",
            )
        ax.yaxis.set_major_formatter(tick_fmt)
        ax.set_ylabel(f"{metric} ({unit_text})")
        month_axis(ax, x)
        legend_above(ax)
        return finish(fig, title)


def stacked_month_bars(
    frame: pd.DataFrame,
    group: str,
    chart: str,
    currency: str,
    title: str,
    ylabel: str,
    xlabel: str,
    month_col: str,
    order: list[str] | None = None,
    legend_title: str | None = None,
    anchor_first: bool = False,
) -> Figure:
    """Bars per month stacked by ``group`` (shared by pipeline and revenue-by-segment charts).

    Groups stack in ``order`` (bottom first), then the others by total value,
    largest lowest. A group in ``order`` keeps the colour of its place there, present or
    not, so a stage has one colour on every chart (the team's and each rep's). Month
    labels count from the first month (``anchor_first``, for forward-looking charts) or
    back from the last.
    """
    require(frame, chart, [group, month_col, "value"])
    value = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    require_values(value, chart)
    data = pd.DataFrame(
        {
            "m": to_periods(frame[month_col], chart).asi8,
            "g": frame[group].astype(str).to_numpy(),
            "v": value.to_numpy(),
        }
    )
    table = data.pivot_table(index="m", columns="g", values="v", aggfunc="sum", fill_value=0.0)
    order = list(order or [])
    known = [g for g in order if g in table.columns]
    rest = table.drop(columns=known).sum().sort_values(ascending=False, kind="stable")
    table = table[known + rest.index.tolist()]
    table = table.reindex(range(table.index.min(), table.index.max() + 1), fill_value=0.0)
    slots = [order.index(g) for g in known] + [len(order) + i for i in range(len(rest))]
    colours = [SERIES[slot % len(SERIES)] for slot in slots]
    with themed():
        fig, ax = new_figure()
        bottom = np.zeros(len(table))
        for colour, name in zip(colours, table.columns, strict=True):
            ax.bar(table.index, table[name], bottom=bottom, width=0.72, color=colour, label=name)
            bottom += table[name].to_numpy()
        fmt = money_formatter(currency)
        for xi, total in zip(table.index, bottom, strict=True):
            if total > 0:
                value_label(
                    ax,
                    fmt_money(total, currency),
                    (xi, total),
                    (0, 2),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    color="#444444",
                )
        ax.yaxis.set_major_formatter(fmt)
        ax.set_ylabel(ylabel)
        ax.set_ylim(0, bottom.max() * 1.1 if bottom.max() > 0 else 1)
        anchor = int(table.index.min() if anchor_first else table.index.max())
        month_axis(ax, table.index, anchor=anchor, label=xlabel)
        handles, labels = ax.get_legend_handles_labels()
        if len(handles) > 1:
            ax.legend(
                handles[::-1],
                labels[::-1],
                title=legend_title,
                loc="upper left",
                bbox_to_anchor=(1.01, 1.0),
                fontsize=9,
            )
        return finish(fig, title)


def revenue_by_segment(
    frame: pd.DataFrame,
    currency: str = "EUR",
    title: str = "Revenue by segment",
    segment_name: str = "Segment",
) -> Figure:
    """Monthly revenue stacked by segment (channel, product, region ...).

    ``frame``: ``period``, ``segment``, ``value`` (summed per month and
    segment). The largest segment over the whole period stacks lowest; totals on top.
    """
    return stacked_month_bars(
        frame,
        "segment",
        "revenue_by_segment",
        currency,
        title,
        ylabel=f"Revenue ({currency})",
        xlabel="Month",
        month_col="period",
        legend_title=segment_name,
    )


def kpi_bars(
    frame: pd.DataFrame,
    unit: str,
    title: str,
    metric: str = "Value",
    period_label: str | None = None,
    higher_is_better: bool = True,
    sort: bool = True,
    target_name: str = "target",
) -> Figure:
    """Horizontal bars per rep or segment with each one's target as a dark tick (leaderboards).

    Bars meeting their target (``value >= target``, ``<=`` when lower is better)
    are blue, the others orange; rows without a target are grey (when others have one: "no
    target" in the legend), never taken for met. Each bar is
    labelled with its value and, with a target, its attainment ``value / target``.

    Parameters
    ----------
    frame : DataFrame
        ``label``, ``value`` and optionally ``target``.
    unit : str
        Currency code, ``ratio``/``%``, ``count``, ``days`` ... (see :func:`unit_formatters`).
    metric : str
        Axis name: "Revenue" gives "Revenue (EUR)".
    period_label : str, optional
        Appended to the axis label ("Revenue (EUR), year to date").
    sort : bool
        Best first (top) when ``True``; else the frame's order.
    target_name : str
        What the target is called in the labels and legend ("quota": "164% of quota",
        "At or above quota").
    """
    chart = "kpi_bars"
    require(frame, chart, ["label", "value"])
    df = pd.DataFrame(
        {
            "label": frame["label"].astype(str).to_numpy(),
            "value": pd.to_numeric(frame["value"], errors="coerce").astype(float).to_numpy(),
        }
    )
    target = optional_column(frame, "target")
    df["target"] = target.to_numpy() if target is not None else np.nan
    require_values(df["value"], chart)
    if sort:
        df = df.sort_values("value", ascending=not higher_is_better, na_position="last")
    df = df.iloc[::-1].reset_index(drop=True)  # first row drawn on top
    tick_fmt, value_fmt, unit_text = unit_formatters(unit)
    met = (df["value"] >= df["target"]) if higher_is_better else (df["value"] <= df["target"])
    below = df["target"].notna() & ~met
    untargeted = df["target"].isna() & (target is not None) & df["target"].notna().any()
    colours = np.where(below, FORECAST, np.where(untargeted, PRIOR, ACTUAL))
    n = len(df)
    with themed():
        fig, ax = new_figure(height=min(max(2.6, 0.34 * n + 1.5), 12))
        y = np.arange(n)
        ax.barh(y, df["value"].fillna(0), height=0.66, color=colours, zorder=2)
        if target is not None:
            ax.scatter(df["target"], y, marker="|", s=420, linewidths=2.6, color=TARGET, zorder=4)
        span = np.nanmax(np.abs(np.r_[df["value"].to_numpy(), df["target"].to_numpy()]))
        for yi, (v, t) in enumerate(zip(df["value"], df["target"], strict=True)):
            text = value_fmt(v)
            if pd.notna(t) and t != 0 and pd.notna(v):
                text += f"  ({fmt_pct(v / t)} of {target_name})"
            value_label(
                ax,
                text,
                (max(v if pd.notna(v) else 0, t if pd.notna(t) else 0), yi),
                (6, 0),
                va="center",
                fontsize=8.5,
                color="#333333",
            )
        ax.set_yticks(y, [textwrap.shorten(lbl, 28, placeholder="…") for lbl in df["label"]])
        ax.set_xlim(min(0, np.nanmin(df["value"]) * 1.1), span * 1.32 if span > 0 else 1)
        ax.xaxis.set_major_formatter(tick_fmt)
        ax.set_xlabel(with_period(f"{metric} ({unit_text})", period_label))
        ax.grid(axis="y", visible=False)
        pad = max(0.0, (3 - n) / 2)  # one or two bars keep the thickness of three
        ax.set_ylim(-0.6 - pad, n - 0.4 + pad)
        if target is not None:
            met_word, missed_word = ("above", "Below") if higher_is_better else ("below", "Above")
            shown = (  # the colours some bar has (one AE who met quota: no "Below quota")
                (ACTUAL, f"At or {met_word} {target_name}", (met & df["target"].notna()).any()),
                (FORECAST, f"{missed_word} {target_name}", below.any()),
                (PRIOR, f"No {target_name}", untargeted.any()),
            )
            handles = [Patch(color=c, label=name) for c, name, drawn in shown if drawn] + [
                Line2D([], [], color=TARGET, marker="|", ls="", ms=12, mew=2.4,
                       label=target_name[:1].upper() + target_name[1:]),
            ]  # fmt: skip
            ax.legend(
                handles=handles,
                loc="lower left",
                bbox_to_anchor=(0, 1.0),
                ncol=len(handles),
                borderaxespad=0.3,
            )
        return finish(fig, title)
