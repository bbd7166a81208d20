"""Finding titles: one plain sentence that states what the chart shows.

A report's chart title says the finding ("Revenue 12% above target year to
date"), not the chart type ("Revenue vs target"). These helpers write such a
sentence from the numbers the caller already has; they compute nothing the KPI
engine does not, only the gap between two numbers it gives them.

Rounding: gaps are written as whole per cent; a gap that rounds to 0% reads
"on target" / "flat". Missing inputs never raise: the sentence falls back to
stating the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from salesreport.words import WINDOW_PHRASES, against, change, fmt_money, fmt_number, fmt_pct
from salesreport.words import as_float as _as_float


def _phrase(unit: str | None) -> str:
    text = WINDOW_PHRASES.get(unit or "", unit or "")
    return f" {text}" if text else ""


def finding_title_vs_target(
    metric: str,
    actual: Any,
    target: Any,
    unit: str | None = None,
    value_text: str | None = None,
) -> str:
    """``"<metric> 12% above target <period>"``.

    The gap is ``actual / target − 1`` written as whole per cent; a gap that
    rounds to 0% reads "on target". With no usable target (missing or 0) the
    sentence states the value instead: ``"<metric> <value_text> <period>"``
    (or ``"<metric> <period>: no target set"`` without ``value_text``).

    Parameters
    ----------
    metric : str
        Sentence-case name ("Revenue", "Win rate").
    actual, target : number
        Same unit, same window.
    unit : str, optional
        The period phrase ("year to date", "in October 2026") or a window code of
        ``kpis.csv`` (``month``, ``qtd``, ``ytd``, ``trailing12``).
    value_text : str, optional
        The formatted actual, used when there is no target.
    """
    a, t = _as_float(actual), _as_float(target)
    period = _phrase(unit)
    if a is None:
        return f"{metric}{period}: no data"
    if t is None or t == 0:
        if value_text:
            return f"{metric} {value_text}{period}"
        return f"{metric}{period}: no target set"
    return f"{metric} {against(a, t)}{period}"


def finding_title_revenue(
    actual: Any, target: Any, unit: str | None = "year to date", currency: str | None = None
) -> str:
    """``finding_title_revenue(11.2e6, 10e6, "year to date")`` -> ``"Revenue 12% above target year to date"``.

    See :func:`finding_title_vs_target`; with no target and a ``currency`` the
    title states the amount (``"Revenue €1.2M this month"``).
    """
    text = fmt_money(actual, currency) if currency else None
    return finding_title_vs_target("Revenue", actual, target, unit, value_text=text)


def finding_title_change(
    metric: str,
    current: Any,
    previous: Any,
    comparison: str = "vs last year",
    points: bool = False,
) -> str:
    """``"Win rate up 3 pts vs last year"`` or ``"Revenue down 8% vs last year"``.

    ``points=False``: relative change ``current / previous − 1`` in whole per
    cent (undefined when ``previous`` is 0: the title then gives no change).
    ``points=True`` (for ratios such as win rate): the difference in percentage
    points, ``(current − previous) × 100``. A change that rounds to 0 reads "flat".
    """
    c, p = _as_float(current), _as_float(previous)
    if c is None or p is None or (not points and p == 0):
        return f"{metric}: no comparison {comparison}".rstrip()
    if points:
        diff = round((c - p) * 100)
        if diff == 0:
            return f"{metric} flat {comparison}"
        return f"{metric} {'up' if diff > 0 else 'down'} {abs(diff)} pts {comparison}"
    return f"{metric} {change(c, p)} {comparison}"


def finding_title_attainment(
    values: Sequence[float] | pd.Series,
    targets: Sequence[float] | pd.Series,
    who: str = "reps",
    higher_is_better: bool = True,
) -> str:
    """``"7 of 12 reps at or above target"``.

    Counts pairs with a target (non-missing, non-zero); a pair meets it when
    ``value >= target`` (``<=`` when lower is better). Pairs without a target are left out.
    """
    v = pd.to_numeric(pd.Series(list(values)), errors="coerce").to_numpy(float)
    t = pd.to_numeric(pd.Series(list(targets)), errors="coerce").to_numpy(float)
    has = ~np.isnan(t) & (t != 0)
    if not has.any():
        return f"No {who} targets set"
    met = (v >= t) if higher_is_better else (v <= t)
    n_met, n = int((met & has).sum()), int(has.sum())
    where = "at or above" if higher_is_better else "at or below"
    return f"{n_met} of {n} {who} {where} target"


def finding_title_forecast(
    point_total: Any,
    target_total: Any = None,
    currency: str = "EUR",
    horizon_label: str = "next quarter",
) -> str:
    """``"Forecast €3.1M next quarter, 5% below target"`` (no target: just the amount)."""
    head = f"Forecast {fmt_money(point_total, currency)} {horizon_label}".rstrip()
    p, t = _as_float(point_total), _as_float(target_total)
    if p is None or t is None or t == 0:
        return head
    return f"{head}, {against(p, t)}"


def finding_title_accuracy(mape: Any, horizon: int = 1) -> str:
    """``"Forecasts one month ahead were off by 8% on average"`` (``mape`` a ratio)."""
    ahead = "one month" if horizon == 1 else f"{horizon} months"
    if _as_float(mape) is None:
        return f"Forecasts {ahead} ahead: no accuracy yet"
    return f"Forecasts {ahead} ahead were off by {fmt_pct(mape)} on average"


def finding_title_retention(nrr: Any, grr: Any = None, period: str = "") -> str:
    """``"Net revenue retention 104%, gross 91%"``: above 100% net, existing customers grew."""
    tail = f" {period}" if period else ""
    if _as_float(nrr) is None:
        return f"Net revenue retention{tail}: not enough history"
    text = f"Net revenue retention {fmt_pct(nrr)}"
    if _as_float(grr) is not None:
        text += f", gross {fmt_pct(grr)}"
    return text + tail


def finding_title_funnel(
    first: Any, last: Any, first_name: str = "leads", last_name: str = "won deals"
) -> str:
    """``"3% of leads became won deals"``: ``last / first`` in whole per cent (1 decimal below 1%)."""
    f, lst = _as_float(first), _as_float(last)
    if f is None or lst is None or f == 0:
        return f"No {first_name} in the period"
    share = lst / f
    return f"{fmt_pct(share, decimals=1 if 0 < share < 0.01 else 0)} of {first_name} became {last_name}"


def finding_title_count(metric: str, count: Any, period: str = "") -> str:
    """``"412 meetings booked in October 2026"``."""
    return f"{fmt_number(count)} {metric}{f' {period}' if period else ''}"
