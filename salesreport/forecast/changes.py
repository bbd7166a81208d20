"""What changed since last month's forecast, from the forecast ledger.

For report month ``M`` the ledger holds last month's report (``made_in = M - 1``) and this
one's (``made_in = M``), each with every candidate model's forecast and the one shown
(``selected``). For each target month ``p`` that both cover, and for each fiscal quarter
that is not over before ``M`` and that both cover to its end:

* ``last_month``: what last month's report said (its selected forecast; a month already
  known then counts at its actual revenue);
* ``this_month``: what this report says (the actual revenue for months up to ``M``);
* ``change = this_month - last_month``, split in two:

  - ``from_actuals``: what last month's *method* (the same models, averaged the same way:
    the members of its ``ensemble(a,b,c)`` or its single model) forecasts now that it has
    seen month ``M``'s actual revenue, minus what it forecast a month ago; for month ``M``
    itself, the actual minus last month's forecast of it;
  - ``from_model``: the rest, ``this_month`` minus that re-run: what changed because this
    month's selection chose other models or weights.

  The re-run comes from the ledger's own rows of this month (every candidate is recorded),
  so nothing is refitted. Where this month's rows lack one of last month's models, the
  split is empty and only ``change`` is given.

Months are ``YYYY-MM`` text, quarters the fiscal labels ``2026-Q4``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from salesreport.periods import fiscal_quarter, fiscal_year, period_bounds

CHANGE_COLUMNS = [
    "period",
    "kind",
    "last_month",
    "this_month",
    "change",
    "from_actuals",
    "from_model",
    "last_method",
    "this_method",
]
_ENSEMBLE = re.compile(r"^ensemble\((.*)\)$")


def members(model: str) -> list[str]:
    """The candidate models a selected method averages: ``ensemble(a,b)`` -> ``[a, b]``."""
    m = _ENSEMBLE.match(str(model))
    return m.group(1).split(",") if m else [str(model)]


def _months(col: pd.Series) -> pd.Series:
    if isinstance(col.dtype, pd.PeriodDtype):
        return col
    return pd.Series(pd.PeriodIndex(col.astype(str), freq="M"), index=col.index)


def forecast_changes(
    ledger: pd.DataFrame | None,
    actuals: pd.Series,
    month: str | pd.Period,
    fy_start: int = 1,
) -> pd.DataFrame:
    """This month's forecast beside last month's, month by month and quarter by quarter.

    Parameters
    ----------
    ledger : pandas.DataFrame or None
        :func:`salesreport.forecast.ledger.read_ledger`'s frame (this month's rows
        included: the report records them before the page is read, or pass them added).
    actuals : pandas.Series
        Monthly revenue on a ``PeriodIndex`` up to ``month``.
    month : str or pandas.Period
        The report month ``M``.

    Returns
    -------
    pandas.DataFrame
        :data:`CHANGE_COLUMNS`: month rows (``M`` first, then every month both forecasts
        cover), then quarter rows; empty when the ledger lacks either month's selected rows.
    """
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in CHANGE_COLUMNS})
    if ledger is None or ledger.empty:
        return empty
    m = pd.Period(str(month), "M")
    lg = ledger.assign(made_in=_months(ledger["made_in"]), period=_months(ledger["period"]))
    lg = lg.assign(selected=lg["selected"].astype(bool))
    this = lg[lg["made_in"] == m]
    last = lg[lg["made_in"] == m - 1]
    this_sel = this[this["selected"]]
    last_sel = last[last["selected"]]
    if this_sel.empty or last_sel.empty:
        return empty
    this_method = str(this_sel["model"].iloc[0])
    last_method = str(last_sel["model"].iloc[0])
    f_this = this_sel.set_index("period")["point"].astype(float)
    f_last = last_sel.set_index("period")["point"].astype(float)
    cand = this.pivot_table(index="period", columns="model", values="point", aggfunc="first")
    wanted = members(last_method)
    if last_method == this_method:
        rerun = f_this  # the same method: its rerun is this month's forecast, exactly
    elif all(w in cand.columns for w in wanted):
        rerun = cand[wanted].astype(float).mean(axis=1)
    else:
        rerun = pd.Series(np.nan, index=f_this.index)
    y = actuals.copy()
    if not isinstance(y.index, pd.PeriodIndex):
        y.index = pd.PeriodIndex(y.index.astype(str), freq="M")
    y = y[y.index <= m].astype(float)

    def value(p: pd.Period, forecast: pd.Series, known_to: pd.Period) -> float:
        if p <= known_to:
            return float(y.get(p, np.nan))
        return float(forecast.get(p, np.nan))

    rows = []
    common = sorted(set(f_this.index) & set(f_last.index))
    if m in f_last.index and m in y.index:
        surprise = float(y[m]) - float(f_last[m])
        rows.append(("month", str(m), float(f_last[m]), float(y[m]), surprise, 0.0))
    for p in common:
        lv, tv, rv = float(f_last[p]), float(f_this[p]), float(rerun.get(p, np.nan))
        rows.append(("month", str(p), lv, tv, rv - lv, tv - rv))
    end = min(f_this.index.max(), f_last.index.max())
    seen = set()
    p = m
    while p <= end:
        label = f"{fiscal_year(p, fy_start)}-Q{fiscal_quarter(p, fy_start)}"
        first, qend = period_bounds(label, fy_start)
        p += 1
        if label in seen or qend > end:
            continue
        seen.add(label)
        qm = pd.period_range(first, qend, freq="M")
        lv = sum(value(q, f_last, m - 1) for q in qm)
        tv = sum(value(q, f_this, m) for q in qm)
        rv = sum(value(q, rerun, m) for q in qm)
        rows.append(("quarter", label, lv, tv, rv - lv, tv - rv))
    out = pd.DataFrame(
        rows, columns=["kind", "period", "last_month", "this_month", "from_actuals", "from_model"]
    )
    out["change"] = out["this_month"] - out["last_month"]
    out["last_method"] = last_method
    out["this_method"] = this_method
    return out[CHANGE_COLUMNS].reset_index(drop=True)
