"""Customer charts: cohort retention heatmap, revenue kept year after year, NRR/GRR trend."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from salesreport.charts.formatting import fmt_pct, pct_formatter
from salesreport.charts.theme import (
    ACTUAL,
    FORECAST,
    SERIES,
    TARGET,
    WIDTH_IN,
    finish,
    legend_above,
    month_axis,
    month_label,
    new_figure,
    optional_column,
    require,
    require_values,
    themed,
    to_periods,
    value_label,
)

HEATMAP_CMAP = "YlGnBu"  # ColorBrewer sequential, colour-blind safe


def _cohort_labels(index: pd.Index, chart: str) -> list[str]:
    try:
        return [month_label(p) for p in to_periods(index, chart)]
    except ValueError:
        return [str(v) for v in index]


def retention_heatmap(
    matrix: pd.DataFrame,
    title: str = "Customer retention by cohort",
    value_label: str = "Customers buying that month (% of cohort)",
) -> Figure:
    """Share of each cohort buying in each month since its first purchase.

    Parameters
    ----------
    matrix : DataFrame
        Rows: cohorts (first-purchase month, oldest first); columns:
        ``months_since`` (0, 1, 2 ...); values: retention 0-1, missing where the
        cohort has not reached that month yet (left blank). A segmented matrix
        (MultiIndex) is refused: draw one segment at a time.
    value_label : str
        Colour bar label; e.g. "Revenue vs month 0 (%)" for a ``revenue_retention`` matrix.

    Cells are annotated with whole percentages when they are large enough to
    read (up to 25 months across and about 50 cohorts down); otherwise the colour bar
    alone gives the scale. The colour scale runs from 0 to 100%, or to the
    highest value after month 0 (rounded up to 10%) when that is below 60%,
    so that typical 10-40% retention is not washed out, or above 100% (revenue
    retention, capped at 200%); values beyond the scale saturate and the colour
    bar shows the clip.
    """
    chart = "retention_heatmap"
    require(matrix, chart)
    if isinstance(matrix.index, pd.MultiIndex):
        raise ValueError(
            f"{chart}: the matrix has one block per segment ({matrix.index.names}); "
            "draw one segment at a time, e.g. matrix.xs(value, level='segment')"
        )
    data = matrix.apply(pd.to_numeric, errors="coerce").astype(float)
    require_values(data, chart)
    data = data.reindex(sorted(data.columns, key=lambda c: float(c)), axis=1)
    values = data.to_numpy()
    n_rows, n_cols = values.shape
    later = values[:, 1:] if n_cols > 1 else values
    top = np.nanmax(later) if np.isfinite(later).any() else 1.0
    if top > 1.0:
        vmax = min(math.ceil(top * 10) / 10, 2.0)
    else:
        vmax = 1.0 if top > 0.6 else max(0.1, math.ceil(top * 10) / 10)
    row_in = min(0.32, max(0.17, 9.0 / max(n_rows, 1)))
    height = min(max(3.0, n_rows * row_in + 1.6), 12.5)
    plot_w = WIDTH_IN - 2.2
    cell_w, cell_h = plot_w / n_cols, (height - 1.6) / n_rows
    annotate = cell_w >= 0.24 and cell_h >= 0.17  # up to 25 months across
    font = 8 if cell_w >= 0.45 and cell_h >= 0.24 else 7 if cell_w >= 0.3 else 6.5
    with themed():
        fig, ax = new_figure(height=height)
        image = ax.imshow(
            np.ma.masked_invalid(values),
            aspect="auto",
            cmap=HEATMAP_CMAP,
            vmin=0,
            vmax=vmax,
            interpolation="nearest",
        )
        cbar = fig.colorbar(
            image,
            ax=ax,
            shrink=min(1.0, 4.0 / height + 0.3),
            pad=0.02,
            extend="max" if np.nanmax(values) > vmax else "neither",
        )
        cbar.ax.yaxis.set_major_formatter(pct_formatter())
        cbar.set_label(value_label, wrap=True)  # a short chart (few cohorts) gets two lines
        cbar.outline.set_visible(False)
        if annotate:
            cmap = image.get_cmap()
            for (r, c), v in np.ndenumerate(values):
                if np.isnan(v):
                    continue
                red, green, blue = to_rgb(cmap(min(v / vmax, 1.0)))
                dark = 0.2126 * red + 0.7152 * green + 0.0722 * blue < 0.5
                ax.text(
                    c,
                    r,
                    f"{v * 100:.0f}",
                    ha="center",
                    va="center",
                    fontsize=font,
                    color="white" if dark else "#222222",
                )
        col_step = max(1, math.ceil(n_cols / 18))
        ax.set_xticks(np.arange(0, n_cols, col_step), [str(c) for c in data.columns[::col_step]])
        row_step = 1 if cell_h >= 0.17 else math.ceil(0.17 / cell_h)
        labels = _cohort_labels(data.index, chart)
        ax.set_yticks(np.arange(0, n_rows, row_step), labels[::row_step])
        ax.tick_params(axis="y", labelsize=8 if n_rows > 18 else 9)
        ax.tick_params(axis="x", labelsize=8 if n_cols > 18 else 9)
        ax.set_xlabel("Months since first purchase")
        ax.set_ylabel("Cohort (month of first purchase)", wrap=True)
        ax.grid(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        if annotate:
            ax.annotate(
                "Numbers in cells are %",
                (1.0, 1.0),
                xycoords="axes fraction",
                xytext=(0, 4),
                textcoords="offset points",
                ha="right",
                va="bottom",
                fontsize=8.5,
                color="#555555",
            )
        return finish(fig, title)


def _ordinal(n: int) -> str:
    """``2`` -> ``"2nd"``, ``11`` -> ``"11th"``, ``23`` -> ``"23rd"``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def revenue_retention_by_year(
    frame: pd.DataFrame, title: str = "Revenue kept year after year, by cohort year"
) -> Figure:
    """Each cohort year's revenue in its 2nd, 3rd ... year as a share of its first year's.

    ``frame``: :func:`salesreport.cohorts.yearly_revenue_retention`'s output (the chart
    reads ``cohort_year``, ``year`` and ``retention``). One group of bars per
    year since first purchase, one bar per cohort year (the same colour in every group),
    each labelled with its percentage; 100% (the first year's revenue kept in full) is
    marked.
    """
    chart = "revenue_retention_by_year"
    require(frame, chart, ["cohort_year", "year", "retention"])
    df = pd.DataFrame(
        {
            "cohort_year": pd.to_numeric(frame["cohort_year"]).astype(int).to_numpy(),
            "year": pd.to_numeric(frame["year"]).astype(int).to_numpy(),
            "retention": pd.to_numeric(frame["retention"], errors="coerce").to_numpy(float),
        }
    )
    require_values(df["retention"], chart)
    years = sorted(df["year"].unique())
    cohort_years = sorted(df["cohort_year"].unique())
    width = 0.8 / len(cohort_years)
    with themed():
        fig, ax = new_figure(height=3.9)
        for i, cy in enumerate(cohort_years):
            part = df[df["cohort_year"] == cy]
            x = (
                np.array([years.index(y) for y in part["year"]])
                + (i - (len(cohort_years) - 1) / 2) * width
            )
            ax.bar(
                x,
                part["retention"],
                width=width * 0.92,
                color=SERIES[i % len(SERIES)],
                label=f"{cy} cohorts",
                zorder=2,
            )
            for xi, v in zip(x, part["retention"], strict=True):
                if np.isfinite(v):
                    value_label(ax, fmt_pct(v), (xi, v), (0, 3), ha="center", fontsize=8.5)
        ax.axhline(1.0, color=TARGET, lw=1, ls=":", zorder=1)
        ax.set_xticks(range(len(years)), [f"{_ordinal(y)} year" for y in years])
        ax.set_xlim(-0.6, len(years) - 0.4)
        top = float(np.nanmax(df["retention"]))
        ax.set_ylim(0, max(1.1, top * 1.15))
        ax.yaxis.set_major_formatter(pct_formatter())
        ax.set_ylabel("Revenue vs their first year (%)")
        ax.set_xlabel("Year since the cohort's first purchase (its first year = 100%)")
        ax.grid(axis="x", visible=False)
        legend_above(ax, ncol=min(4, len(cohort_years)), force=True)
        return finish(fig, title)


def nrr_grr_trend(frame: pd.DataFrame, title: str = "Net and gross revenue retention") -> Figure:
    """Net (NRR) and gross (GRR) revenue retention month by month, 100% marked.

    ``frame``: ``period`` and ratios ``nrr``, ``grr`` (1.04 = 104%); each is
    trailing-12-month as defined in ``kpis.md``. GRR can never exceed 100%;
    NRR above 100% means existing customers grew.
    """
    chart = "nrr_grr_trend"
    require(frame, chart, ["period"])
    nrr, grr = optional_column(frame, "nrr"), optional_column(frame, "grr")
    if nrr is None and grr is None:
        raise ValueError(f"no data for {chart}")
    x = to_periods(frame["period"], chart).asi8
    order = np.argsort(x)
    with themed():
        fig, ax = new_figure(height=3.9)
        if nrr is not None:
            ax.plot(
                x[order],
                nrr.to_numpy()[order],
                color=ACTUAL,
                marker="o",
                ms=3,
                label="Net revenue retention",
            )
        if grr is not None:
            ax.plot(
                x[order],
                grr.to_numpy()[order],
                color=FORECAST,
                marker="s",
                ms=3,
                label="Gross revenue retention",
            )
        ax.axhline(1.0, color=TARGET, lw=1, ls=":")
        ax.yaxis.set_major_formatter(pct_formatter())
        low = float(np.nanmin(np.concatenate([s.to_numpy() for s in (nrr, grr) if s is not None])))
        ax.set_ylim(min(0.5, math.floor(low * 10) / 10), None)
        ax.set_ylabel("Retention, trailing 12 months (%)")
        month_axis(ax, x)
        legend_above(ax, force=True)
        return finish(fig, title)
