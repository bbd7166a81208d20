"""Trend analysis of monthly revenue: growth, moving averages, STL, anomalies with reasons.

For a monthly series ``y`` (months without sales are 0), :func:`trend_table` gives per month:

* ``actual``: ``y`` itself;
* ``mom_growth = y[t] / y[t-1] - 1`` and ``yoy_growth = y[t] / y[t-12] - 1`` (empty when the
  earlier month is missing or 0);
* ``ma3``, ``ma12``: trailing means of the 3 and 12 months ending with the month (empty
  until that many months exist);
* ``stl_trend``, ``stl_seasonal``: an STL decomposition
  (:class:`statsmodels.tsa.seasonal.STL`, settings :data:`STL_SETTINGS`: period 12,
  seasonal window 13 with local-constant seasonal smoothing, trend window 25) of the series
  *with its anomalous months set aside* (below), only with at least :data:`MIN_STL_MONTHS`
  (24) months, else empty; ``stl_resid = actual - stl_trend - stl_seasonal``;
* ``expected = stl_trend + stl_seasonal`` and the band ``lower``/``upper`` =
  ``expected + median(resid) -/+ anomaly_z * sigma``, where ``sigma = 1.4826 * MAD`` of the
  residuals of the months not flagged (a robust standard deviation);
* ``robust_z = (stl_resid - median(resid)) / sigma`` and ``anomaly`` = ``|robust_z| >
  anomaly_z``, with a readable ``reason`` on anomalous months, e.g. ``"revenue 2.4x the
  expected 41,200 (band 30,100 to 52,300): 3.8 robust SDs above the STL fit"``;
* ``note``: why a column is empty on that month (too short for STL, residuals without
  spread), empty otherwise.

Setting anomalies aside (so that one huge month neither bends the fit nor makes the same
month of other years look anomalous): starting with no month flagged, the STL is fitted
with the flagged months' values replaced by the fit's own expected values (iterated until
they settle, i.e. the fit ignores them); the unflagged month with the largest ``|robust_z|``
is flagged if it exceeds ``anomaly_z``; repeat, at most ``max(1, n // 12)`` times. The
final fit gives the columns above.

Why not ``STL(robust=True)`` with its default smoothers and the MAD of its residuals: on
simulated monthly series (trend + yearly season + Gaussian noise, 30-40 seeds per length)
that flags 9-34 % of ordinary months at ``|z| > 3`` with 36 months of history (with 2-3
years each month-of-year subseries has 2-3 points, which robust LOESS fits almost exactly,
shrinking the MAD), 15 % with 60. The procedure above flags 0.2-1.7 % of ordinary months for
24-96 months (a normal distribution: 0.3 %), finds a spike of 15 noise standard deviations
in 28-30 of 30 series, and a spike of 100 without flagging the same month of other years.

When every residual equals the median (MAD 0), ``sigma`` falls back to ``1.2533 x`` the mean
absolute deviation from the median; when that is 0 too, nothing is flagged. The frame's
``attrs["notes"]`` lists the same notes once each (see also :func:`trend_notes`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MIN_STL_MONTHS = 24
SEASON = 12
#: STL settings (see the module docstring for why).
STL_SETTINGS = {"period": SEASON, "seasonal": 13, "seasonal_deg": 0, "trend": 25, "robust": False}
_MAX_IMPUTE = 30
TREND_COLUMNS = [
    "actual",
    "mom_growth",
    "yoy_growth",
    "ma3",
    "ma12",
    "stl_trend",
    "stl_seasonal",
    "stl_resid",
    "expected",
    "lower",
    "upper",
    "robust_z",
    "anomaly",
    "reason",
    "note",
]


def _growth(v: pd.Series, lag: int) -> pd.Series:
    prev = v.shift(lag)
    out = v / prev.where(prev != 0) - 1
    return out.astype(float)


def _money(x: float) -> str:
    return f"{x:,.0f}"


def _reason(actual: float, expected: float, lower: float, upper: float, z: float) -> str:
    side = "above" if z > 0 else "below"
    band = f"(band {_money(lower)} to {_money(upper)})"
    if expected > 0:
        head = f"revenue {actual / expected:.1f}x the expected {_money(expected)} {band}"
    else:
        head = f"revenue {_money(actual)} against an expected {_money(expected)} {band}"
    return f"{head}: {abs(z):.1f} robust SDs {side} the STL fit"


def robust_sigma(resid: np.ndarray) -> tuple[float, float]:
    """Median and robust standard deviation of ``resid``: ``1.4826 * MAD``.

    Falls back to ``1.2533 *`` the mean absolute deviation from the median when the MAD is 0
    (more than half the residuals equal); returns ``(median, 0.0)`` when that is 0 too.
    """
    r = np.asarray(resid, dtype=float)
    med = float(np.median(r))
    dev = np.abs(r - med)
    mad = float(np.median(dev))
    if mad > 0:
        return med, 1.4826 * mad
    mean_dev = float(np.mean(dev))
    return med, 1.2533 * mean_dev if mean_dev > 0 else 0.0


def _stl_fit(v: np.ndarray, flagged: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """STL trend and seasonal of ``v`` ignoring the flagged months (imputed by the fit)."""
    from statsmodels.tsa.seasonal import STL

    work = v.copy()
    tol = 1e-6 * max(float(np.max(np.abs(v))), 1.0)
    for _ in range(_MAX_IMPUTE):
        res = STL(work, **STL_SETTINGS).fit()
        trend, seasonal = np.asarray(res.trend), np.asarray(res.seasonal)
        if not flagged.any():
            break
        new = np.where(flagged, trend + seasonal, v)
        if np.max(np.abs(new - work)) <= tol:
            break
        work = new
    return trend, seasonal


def _fit_setting_aside(
    v: np.ndarray, anomaly_z: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trend, seasonal and the months set aside (module docstring), one month at a time."""
    flagged = np.zeros(len(v), dtype=bool)
    for _ in range(max(1, len(v) // 12)):
        trend, seasonal = _stl_fit(v, flagged)
        r = v - trend - seasonal
        med, sigma = robust_sigma(r[~flagged])
        if sigma <= 0:
            break
        score = np.where(flagged, 0.0, np.abs(r - med) / sigma)
        i = int(np.argmax(score))
        if score[i] <= anomaly_z:
            break
        flagged[i] = True
    trend, seasonal = _stl_fit(v, flagged)
    return trend, seasonal, flagged


def trend_notes(y: pd.Series) -> list[str]:
    """Notes on what :func:`trend_table` cannot compute for ``y`` (empty list when nothing)."""
    n = len(y)
    notes = []
    if n < MIN_STL_MONTHS:
        notes.append(
            f"STL decomposition and anomaly flags need at least {MIN_STL_MONTHS} months of "
            f"history; the series has {n}"
        )
    if n < SEASON + 1:
        notes.append(f"year-on-year growth needs {SEASON + 1} months; the series has {n}")
    if n < SEASON:
        notes.append(f"the 12-month moving average needs 12 months; the series has {n}")
    return notes


def trend_table(y: pd.Series, anomaly_z: float = 3.0) -> pd.DataFrame:
    """Per-month trend analysis of a monthly series (definitions in the module docstring).

    Parameters
    ----------
    y : pandas.Series
        Monthly values on a ``PeriodIndex`` without gaps (as
        :func:`salesreport.revenue.monthly_revenue` returns), no missing values.
    anomaly_z : float
        A month is anomalous when its STL residual lies more than this many robust standard
        deviations from the median residual (``thresholds.anomaly_z``, default 3).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``period`` (``Period[M]``), columns :data:`TREND_COLUMNS`;
        ``attrs["notes"]`` holds the notes of :func:`trend_notes` (plus one when residuals
        have no spread).

    Raises
    ------
    ValueError
        ``y`` has missing values, is not monthly or has gaps, or ``anomaly_z <= 0``.
    """
    if anomaly_z <= 0:
        raise ValueError(f"anomaly_z must be positive, got {anomaly_z}")
    if not isinstance(y.index, pd.PeriodIndex) or y.index.freqstr != "M":
        raise ValueError("trend_table needs a monthly PeriodIndex (monthly_revenue returns one)")
    if y.isna().any():
        raise ValueError(
            f"trend_table: months {list(y.index[y.isna()].astype(str)[:5])} have no value; "
            "months without sales should be 0"
        )
    if len(y) > 1 and not (y.index[1:] - y.index[:-1] == y.index.freq).all():
        raise ValueError("trend_table: the months are not consecutive; fill missing months with 0")
    v = y.astype(float)
    out = pd.DataFrame(index=pd.PeriodIndex(y.index, name="period"))
    out["actual"] = v.to_numpy()
    out["mom_growth"] = _growth(out["actual"], 1)
    out["yoy_growth"] = _growth(out["actual"], SEASON)
    out["ma3"] = out["actual"].rolling(3, min_periods=3).mean()
    out["ma12"] = out["actual"].rolling(12, min_periods=12).mean()
    for col in ("stl_trend", "stl_seasonal", "stl_resid", "expected", "lower", "upper", "robust_z"):
        out[col] = np.nan
    out["anomaly"] = False
    out["reason"] = ""
    out["note"] = ""
    notes = trend_notes(y)
    if len(y) >= MIN_STL_MONTHS:
        v = out["actual"].to_numpy()
        trend, seasonal, flagged = _fit_setting_aside(v, anomaly_z)
        resid = v - trend - seasonal
        out["stl_trend"] = trend
        out["stl_seasonal"] = seasonal
        out["stl_resid"] = resid
        out["expected"] = trend + seasonal
        med, sigma = robust_sigma(resid[~flagged])
        if sigma > 0:
            out["lower"] = out["expected"] + med - anomaly_z * sigma
            out["upper"] = out["expected"] + med + anomaly_z * sigma
            out["robust_z"] = (out["stl_resid"] - med) / sigma
            out["anomaly"] = out["robust_z"].abs() > anomaly_z
            flagged_rows = out[out["anomaly"]]
            out.loc[flagged_rows.index, "reason"] = [
                _reason(a, e, lo, hi, z)
                for a, e, lo, hi, z in zip(
                    flagged_rows["actual"],
                    flagged_rows["expected"],
                    flagged_rows["lower"],
                    flagged_rows["upper"],
                    flagged_rows["robust_z"],
                    strict=True,
                )
            ]
        else:
            note = "STL residuals have no spread: no anomaly band"
            notes.append(note)
            out["note"] = note
    else:
        out["note"] = notes[0]
    out.attrs["notes"] = notes
    return out[TREND_COLUMNS]
