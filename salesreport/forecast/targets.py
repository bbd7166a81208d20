"""The chance of reaching the quarter's and the fiscal year's revenue targets, and the Brier score.

For report month ``M`` (data up to its end), a *period* is a fiscal quarter or fiscal year
(labels as the targets use them: ``2026-Q4``, ``2026``) that is not over at ``M`` and ends
within the forecast horizon: the quarter and the year containing ``M + 1`` and any later
quarter the horizon reaches. Its revenue is the actual revenue of its months up to ``M``
plus, for each later month, the forecast's sample paths
(:meth:`salesreport.forecast.core.Outlook.paths`), whose errors are correlated across
months as the backtest's are. Over the paths:

* ``chance`` = the share of paths whose period total reaches the target (``>=``);
  empty without a target for every month of the period;
* ``lo80, hi80`` = its 10th and 90th percentiles (the likely range, 8 chances in 10);
  ``lo95, hi95`` the 2.5th and 97.5th.

``expected`` is not taken from the paths: it is the actual revenue so far plus the
published forecast of each later month (``Outlook.point``), the one figure for where the
period ends that every page states (the executive page's quarter view adds the same
months). The paths' mean would differ from it: revenue is never below 0, so paths are cut
at 0 and their mean rises above the forecast where the range reaches 0, and under 10
months of history the months' errors are Student t's, whose mean a few thousand paths do
not pin down (with 2 months of history it has none). Until December 2026 ``expected`` was
the paths' mean: the bundled EMEA's fourth quarter read EUR 4.7M on the forecast page and
EUR 4.6M on the executive page; a team with 2 months of data read "expected EUR 148k,
likely range EUR 18.2k-153k" beside a forecast of EUR 54.6k.

The target of a period is the sum of its months' revenue targets (the same monthly rules
as the KPI engine: ``salesreport.context.monthly_revenue_targets``).

Each report's chances are kept in the target ledger (:mod:`salesreport.forecast.ledger`,
``target_ledger.csv``) and scored once the period is over (:func:`score_chances`): the
outcome is 1 when the period's actual revenue reached the target that was stated, else 0,
and the Brier score is the mean of ``(chance - outcome)^2`` (0 is perfect; always saying
50% scores 0.25).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.periods import fiscal_quarter, fiscal_year, fiscal_year_start, period_bounds

CHANCE_COLUMNS = [
    "period",
    "kind",
    "first_month",
    "last_month",
    "months_known",
    "actual_to_date",
    "target",
    "expected",
    "lo80",
    "hi80",
    "lo95",
    "hi95",
    "chance",
]


def open_periods(month: pd.Period, horizon: int, fy_start: int = 1) -> list[tuple[str, str]]:
    """``(label, kind)`` of the fiscal quarters and years open after ``month`` that end by
    ``month + horizon``, quarters first, each in time order."""
    first = month + 1
    last = month + horizon
    out: list[tuple[str, str]] = []
    p = first
    while p <= last:
        label = f"{fiscal_year(p, fy_start)}-Q{fiscal_quarter(p, fy_start)}"
        if period_bounds(label, fy_start)[1] <= last and label not in [o for o, _ in out]:
            out.append((label, "quarter"))
        p += 1
    years = []
    p = first
    while p <= last:
        label = str(fiscal_year(p, fy_start))
        if period_bounds(label, fy_start)[1] <= last and label not in years:
            years.append(label)
        p = fiscal_year_start(p, fy_start) + 12
    return out + [(y, "year") for y in years]


def _monthly(values: pd.Series | pd.DataFrame | None) -> pd.Series:
    """A monthly series (PeriodIndex) from a Series, or a ``period, target`` frame."""
    if values is None:
        return pd.Series(dtype=float)
    if isinstance(values, pd.DataFrame):
        if values.empty:
            return pd.Series(dtype=float)
        values = values.set_index("period")["target"]
    idx = values.index
    if not isinstance(idx, pd.PeriodIndex):
        idx = pd.PeriodIndex(idx.astype(str), freq="M")
    return pd.Series(values.to_numpy(dtype=float), index=idx)


def period_totals(
    paths: np.ndarray,
    periods: pd.PeriodIndex,
    actuals: pd.Series,
    first: pd.Period,
    last: pd.Period,
) -> tuple[np.ndarray, float, int]:
    """Per path, the total revenue of months ``first..last``: actuals for the months in
    ``actuals`` up to the forecast's origin, the path for the forecast months.

    Returns the totals, the actual revenue so far and the number of known months.
    """
    origin = periods[0] - 1
    known = pd.period_range(first, min(last, origin), freq="M") if first <= origin else []
    act = _monthly(actuals)
    so_far = float(act.reindex(known).fillna(0.0).sum()) if len(known) else 0.0
    return so_far + paths[:, _forecast_months(periods, first, last)].sum(axis=1), so_far, len(known)


def _forecast_months(periods: pd.PeriodIndex, first: pd.Period, last: pd.Period) -> list[int]:
    """Positions of the forecast months that fall in ``first..last``."""
    return [i for i, p in enumerate(periods) if first <= p <= last]


def target_chances(
    outlook,
    actuals: pd.Series,
    targets: pd.Series | pd.DataFrame | None,
    fy_start: int = 1,
    n_paths: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Chance of reaching each open quarter's and year's revenue target, and its likely range.

    Parameters
    ----------
    outlook : salesreport.forecast.core.Outlook
        The selected forecast's joint distribution (from :func:`~salesreport.forecast.core.forecast_bundle`).
    actuals : pandas.Series
        Monthly revenue up to the report month (``PeriodIndex``).
    targets : pandas.Series or pandas.DataFrame
        Monthly revenue targets: a series by month or the ``period, target`` frame of
        ``salesreport.context.monthly_revenue_targets``; months without one are absent.
    fy_start : int
        First month of the fiscal year.

    Returns
    -------
    pandas.DataFrame
        :data:`CHANCE_COLUMNS`, one row per open period (:func:`open_periods`); months as
        ``YYYY-MM`` text. See the module docstring.
    """
    month = outlook.periods[0] - 1
    paths = outlook.paths(n_paths, seed)
    tg = _monthly(targets)
    rows = []
    for label, kind in open_periods(month, len(outlook.periods), fy_start):
        first, last = period_bounds(label, fy_start)
        totals, so_far, n_known = period_totals(paths, outlook.periods, actuals, first, last)
        months = pd.period_range(first, last, freq="M")
        have = tg.reindex(months)
        target = float(have.sum()) if have.notna().all() else np.nan
        q = np.quantile(totals, [0.1, 0.9, 0.025, 0.975])
        rows.append(
            {
                "period": label,
                "kind": kind,
                "first_month": str(first),
                "last_month": str(last),
                "months_known": n_known,
                "actual_to_date": so_far,
                "target": target,
                "expected": so_far
                + float(np.sum(outlook.point[_forecast_months(outlook.periods, first, last)])),
                "lo80": q[0],
                "hi80": q[1],
                "lo95": q[2],
                "hi95": q[3],
                "chance": float(np.mean(totals >= target)) if np.isfinite(target) else np.nan,
            }
        )
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in CHANCE_COLUMNS})
    return pd.DataFrame(rows)[CHANCE_COLUMNS]


def score_chances(
    chance_ledger: pd.DataFrame | None, actuals: pd.Series, month: str | pd.Period
) -> pd.DataFrame:
    """Stated chances whose period is over by ``month``, with the outcome.

    ``chance_ledger``: the target ledger's rows (``made_in, period, kind, first_month,
    last_month, target, chance``). A row is scored when its ``last_month <= month``, the
    actuals cover every month of the period, and it has a target and a chance;
    ``actual`` = the period's revenue, ``outcome`` = 1 when ``actual >= target`` else 0,
    ``error = chance - outcome``, ``brier = error^2``.
    """
    cols = [
        "made_in",
        "period",
        "kind",
        "last_month",
        "target",
        "chance",
        "actual",
        "outcome",
        "error",
        "brier",
    ]
    if chance_ledger is None or chance_ledger.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    m = pd.Period(str(month), "M")
    y = _monthly(actuals)
    y = y[y.index <= m]
    lg = chance_ledger.dropna(subset=["target", "chance"])
    out = []
    for row in lg.itertuples(index=False):
        first, last = pd.Period(str(row.first_month), "M"), pd.Period(str(row.last_month), "M")
        months = pd.period_range(first, last, freq="M")
        if last > m or not months.isin(y.index).all():
            continue
        actual = float(y.reindex(months).sum())
        outcome = float(actual >= float(row.target))
        err = float(row.chance) - outcome
        out.append(
            {
                "made_in": str(row.made_in),
                "period": str(row.period),
                "kind": str(row.kind),
                "last_month": str(last),
                "target": float(row.target),
                "chance": float(row.chance),
                "actual": actual,
                "outcome": outcome,
                "error": err,
                "brier": err * err,
            }
        )
    if not out:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    return pd.DataFrame(out)[cols]
