"""Forecast charts: the fan, forecasts against actuals, accuracy by horizon, trend decomposition."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from salesreport.charts.formatting import money_formatter, pct_formatter
from salesreport.charts.theme import (
    ACTUAL,
    BAD,
    FORECAST,
    PRIOR,
    SERIES,
    TARGET,
    bool_column,
    finish,
    legend_above,
    month_axis,
    new_figure,
    optional_column,
    require,
    require_values,
    themed,
    to_periods,
)


def _levels(fc: pd.DataFrame) -> list[int]:
    """Interval levels present as ``loNN``/``hiNN`` column pairs, widest first."""
    levels = {int(m.group(1)) for c in fc.columns if (m := re.fullmatch(r"lo(\d+)", str(c)))}
    return sorted((lv for lv in levels if f"hi{lv}" in fc.columns), reverse=True)


def forecast_fan(
    history: pd.Series,
    fc: pd.DataFrame,
    currency: str = "EUR",
    title: str = "Revenue forecast",
    target: pd.Series | None = None,
) -> Figure:
    """Actual monthly revenue, then the forecast with its prediction intervals as bands.

    Parameters
    ----------
    history : Series
        Actual monthly revenue on a monthly ``PeriodIndex`` (or ``'YYYY-MM'`` index).
    fc : DataFrame
        One row per forecast month: ``period``, ``point`` and interval bounds
        ``loNN``/``hiNN`` (e.g. ``lo80, hi80, lo95, hi95``); every pair present is
        drawn, the wider one fainter. One model only: when months repeat and a
        boolean ``selected`` column is present (as in ``forecast.csv``), the
        selected rows are drawn; without it, repeated months are refused.
    target : Series, optional
        Monthly revenue target on a monthly index; drawn as dark dashes where known.

    Raises
    ------
    ValueError
        ``"no data for forecast_fan"`` when both history and forecast are empty;
        when ``fc`` holds the same month twice (several models).
    """
    chart = "forecast_fan"
    has_hist = history is not None and len(history) > 0 and not history.isna().all()
    has_fc = fc is not None and len(fc) > 0
    if not has_hist and not has_fc:
        raise ValueError(f"no data for {chart}")
    if has_fc:
        require(fc, chart, ["period", "point"])
        if "selected" in fc.columns and fc["period"].astype(str).duplicated().any():
            fc = fc[bool_column(fc, "selected")]
            require(fc, chart)
        fx = to_periods(fc["period"], chart).asi8
        if len(set(fx.tolist())) != len(fx):
            raise ValueError(
                f"{chart}: the forecast holds some months more than once (several models?); "
                "pass one model's rows, e.g. forecast[forecast['selected']]"
            )
        order = np.argsort(fx)
        fx = fx[order]
        fc = fc.iloc[order]
    with themed():
        fig, ax = new_figure()
        xs: list[int] = []
        anchor = None
        if has_hist:
            hx = to_periods(history.index, chart).asi8
            horder = np.argsort(hx)
            hx, hy = hx[horder], history.to_numpy(float)[horder]
            ax.plot(hx, hy, color=ACTUAL, marker="o", ms=3, label="Actual")
            xs += hx.tolist()
            anchor = int(hx[-1])
        if has_fc:
            point = pd.to_numeric(fc["point"], errors="coerce").to_numpy(float)
            for i, level in enumerate(_levels(fc)):
                lo = pd.to_numeric(fc[f"lo{level}"], errors="coerce").to_numpy(float)
                hi = pd.to_numeric(fc[f"hi{level}"], errors="coerce").to_numpy(float)
                ax.fill_between(
                    fx,
                    lo,
                    hi,
                    color=FORECAST,
                    alpha=0.16 + 0.16 * i,
                    lw=0,
                    label=f"{level}% interval",
                )
            lx, ly = fx, point
            if has_hist and fx[0] == anchor + 1:  # join the forecast to the last actual
                lx, ly = np.r_[anchor, fx], np.r_[hy[-1], point]
            ax.plot(lx, ly, color=FORECAST, ls="--", marker="o", ms=3, label="Forecast")
            xs += fx.tolist()
            if anchor is not None:
                ax.axvline(anchor + 0.5, color="#999999", lw=0.8, ls=":")
                ax.annotate(
                    "forecast →",
                    (anchor + 0.5, 1.0),
                    xycoords=("data", "axes fraction"),
                    xytext=(4, -4),
                    textcoords="offset points",
                    ha="left",
                    va="top",
                    fontsize=8.5,
                    color="#666666",
                )
        if target is not None and len(target) > 0 and not target.isna().all():
            tx = to_periods(target.index, chart).asi8
            torder = np.argsort(tx)
            ax.plot(
                tx[torder],
                target.to_numpy(float)[torder],
                color=TARGET,
                lw=1.2,
                ls=(0, (3, 2)),
                marker="_",
                ms=10,
                mew=2,
                label="Target",
            )
            xs += tx.tolist()
        ax.yaxis.set_major_formatter(money_formatter(currency))
        ax.set_ylabel(f"Revenue ({currency})")
        ax.set_ylim(bottom=min(0, ax.get_ylim()[0]))
        month_axis(ax, xs, anchor=anchor)
        legend_above(ax)
        return finish(fig, title)


def forecast_vs_actual(
    ledger_history: pd.DataFrame, currency: str = "EUR", title: str = "Forecast against actual"
) -> Figure:
    """Each month's actual revenue against the forecast made for it one month earlier.

    ``ledger_history``: ``period``, ``actual`` and ``forecast`` (the ledger's
    horizon-1 forecast); months where either is unknown leave a gap. The space
    between the two lines is shaded so misses stand out.
    """
    chart = "forecast_vs_actual"
    require(ledger_history, chart, ["period", "actual", "forecast"])
    actual = pd.to_numeric(ledger_history["actual"], errors="coerce").to_numpy(float)
    fcst = pd.to_numeric(ledger_history["forecast"], errors="coerce").to_numpy(float)
    require_values(pd.Series(np.r_[actual, fcst]), chart)
    x = to_periods(ledger_history["period"], chart).asi8
    # every month from the first to the last: a month with no row is a gap in the lines,
    # never a straight line drawn across it
    months = np.arange(x.min(), x.max() + 1)
    where = np.searchsorted(months, x)
    actual_all, fcst_all = np.full(len(months), np.nan), np.full(len(months), np.nan)
    actual_all[where], fcst_all[where] = actual, fcst
    x, actual, fcst = months, actual_all, fcst_all
    with themed():
        fig, ax = new_figure()
        ax.fill_between(x, actual, fcst, color=PRIOR, alpha=0.18, lw=0, label="Miss")
        ax.plot(x, actual, color=ACTUAL, marker="o", ms=4, label="Actual")
        ax.plot(
            x,
            fcst,
            color=FORECAST,
            ls="--",
            marker="s",
            ms=4,
            label="Forecast made a month before",
        )
        ax.yaxis.set_major_formatter(money_formatter(currency))
        ax.set_ylabel(f"Revenue ({currency})")
        ax.set_ylim(bottom=0)
        month_axis(ax, x)
        legend_above(ax)
        return finish(fig, title)


def accuracy_by_horizon(frame: pd.DataFrame, title: str = "Forecast error by horizon") -> Figure:
    """Mean absolute percentage error (MAPE) by months ahead, one line per model.

    ``frame``: ``model``, ``horizon`` (months ahead, 1 = next month), ``mape``
    as a ratio (0.08 = 8%); an optional boolean ``selected`` draws that model thicker.
    """
    chart = "accuracy_by_horizon"
    require(frame, chart, ["model", "horizon", "mape"])
    df = pd.DataFrame(
        {
            "model": frame["model"].astype(str).to_numpy(),
            "horizon": pd.to_numeric(frame["horizon"], errors="coerce").to_numpy(float),
            "mape": pd.to_numeric(frame["mape"], errors="coerce").to_numpy(float),
            "selected": bool_column(frame, "selected"),
        }
    ).sort_values(["model", "horizon"])
    require_values(df["mape"], chart)
    with themed():
        fig, ax = new_figure(height=3.9)
        for i, (model, part) in enumerate(df.groupby("model", sort=True)):
            chosen = bool(part["selected"].any())
            ax.plot(
                part["horizon"],
                part["mape"],
                marker="o",
                ms=4 if chosen else 3,
                lw=3.0 if chosen else 1.5,
                color=SERIES[i % len(SERIES)],
                label=f"{model} (selected)" if chosen else model,
                zorder=3 if chosen else 2,
            )
        ax.yaxis.set_major_formatter(pct_formatter())
        ax.set_ylim(bottom=0)
        ax.set_ylabel("Mean absolute % error (MAPE)")
        ax.set_xlabel("Forecast horizon (months ahead)")
        horizons = np.unique(df["horizon"].dropna())
        ax.set_xticks(
            horizons if len(horizons) <= 12 else horizons[:: int(np.ceil(len(horizons) / 12))]
        )
        ax.xaxis.set_major_formatter(lambda v, _p: f"{int(v)}")
        legend_above(ax, ncol=min(4, df["model"].nunique()))
        return finish(fig, title)


def trend_decomposition(
    trend: pd.DataFrame, title: str = "Revenue trend", currency: str = "EUR"
) -> Figure:
    """Revenue with its moving averages and trend, the seasonal pattern and the residual.

    Three stacked panels sharing the month axis:

    1. ``actual`` with ``ma3``, ``ma12`` and ``trend`` (each drawn when present);
       anomalies (``anomaly`` true) ringed in vermillion;
    2. ``seasonal``: the repeating monthly effect;
    3. ``resid``: what trend and season leave unexplained, anomalies in vermillion.

    ``trend`` is indexed by month (PeriodIndex or ``'YYYY-MM'``); a ``period``
    column is used instead when present.
    """
    chart = "trend_decomposition"
    require(trend, chart, ["actual"])
    actual = pd.to_numeric(trend["actual"], errors="coerce").astype(float)
    require_values(actual, chart)
    months = trend["period"] if "period" in trend.columns else trend.index
    x = to_periods(months, chart).asi8
    order = np.argsort(x)
    x = x[order]
    df = trend.iloc[order]
    anomaly = bool_column(df, "anomaly")
    seasonal, resid = optional_column(df, "seasonal"), optional_column(df, "resid")
    panels = 1 + (seasonal is not None) + (resid is not None)
    fmt = money_formatter(currency)
    with themed():
        fig, axes = new_figure(
            panels,
            1,
            height=3.4 + 1.6 * (panels - 1),
            sharex=True,
            gridspec_kw={"height_ratios": [2.2] + [1] * (panels - 1)},
        )
        axes = np.atleast_1d(axes)
        ax = axes[0]
        y = actual.to_numpy()[order]
        ax.plot(x, y, color=ACTUAL, lw=1.6, marker="o", ms=3, label="Actual")
        styles = {
            "ma3": ("3-month average", SERIES[2], "-", 1.5),
            "ma12": ("12-month average", SERIES[3], "-", 1.5),
            "trend": ("Trend", TARGET, "--", 1.6),
        }
        for col, (label, colour, ls, lw) in styles.items():
            values = optional_column(df, col)
            if values is not None:
                ax.plot(x, values.to_numpy(), color=colour, ls=ls, lw=lw, label=label)
        if anomaly.any():
            ax.scatter(
                x[anomaly],
                y[anomaly],
                s=110,
                facecolors="none",
                edgecolors=BAD,
                linewidths=2,
                zorder=5,
                label="Anomaly",
            )
        ax.yaxis.set_major_formatter(fmt)
        ax.set_ylabel(f"Revenue ({currency})")
        legend_above(ax, ncol=5)
        i = 1
        if seasonal is not None:
            axes[i].bar(x, seasonal.to_numpy(), width=0.7, color=PRIOR)
            axes[i].axhline(0, color="#555555", lw=0.8)
            axes[i].yaxis.set_major_formatter(fmt)
            axes[i].set_ylabel(f"Season ({currency})")
            i += 1
        if resid is not None:
            colours = np.where(anomaly, BAD, PRIOR)
            axes[i].bar(x, resid.to_numpy(), width=0.7, color=colours)
            axes[i].axhline(0, color="#555555", lw=0.8)
            axes[i].yaxis.set_major_formatter(fmt)
            axes[i].set_ylabel(f"Residual ({currency})")
        for a in axes[:-1]:
            a.set_xlabel("")
        month_axis(axes[-1], x)
        for a in axes:
            a.grid(axis="x", visible=False)
        fig.align_ylabels(axes)
        return finish(fig, title)
