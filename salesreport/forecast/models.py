"""Candidate forecasting models, each evaluated from many origins at once.

Every model here has one signature::

    model(y: np.ndarray, origins: np.ndarray, horizon: int, m: int = 12) -> np.ndarray

``y`` is the whole monthly history (no gaps, no NaN), ``origins`` holds 0-based
positions in ``y`` and the result has shape ``(len(origins), horizon)``: row ``i``
is the forecast of ``y[o + 1], ..., y[o + horizon]`` made with ``y[: o + 1]`` only,
for ``o = origins[i]`` (point in time: nothing after the origin is ever read,
not even to choose a model's structure or its parameters). A row is NaN where
the model cannot be fitted on that much history.

Season slots count from the first month of ``y`` (``t % m``), which is the
same as calendar months for a series without gaps.

Why our own implementations rather than statsmodels' ``ETSModel``/``SARIMAX``:
a seasonal ``ETSModel`` fit takes 80-240 ms and a ``SARIMAX`` fit 20-50 ms on
this machine; a nested rolling-origin backtest needs about 25 fits per model
per series and the suite must forecast 51 series in under 20 s. The ETS filter
below is vectorised over a parameter grid *and* runs once for all origins (the
running sum of squared errors up to each origin picks that origin's
parameters), so one pass costs what one fit would.

Models
------
``snaive``
    Seasonal naive: ``y[o + k]`` forecast by ``y[o + k - 12 * ceil(k / 12)]``;
    naive (last value) below 12 months of history.
``snaive_drift`` (not a candidate: the forecast of a history under two years, which is
    too short to choose a model by its past accuracy)
    Seasonal naive plus half the history's average change on a year earlier, per year
    ahead (:func:`snaive_drift`).
``ets``
    Exponential smoothing (additive errors) with trend none/additive/damped and
    seasonality none/additive/multiplicative; smoothing parameters from a grid,
    the structure and parameters chosen by AICc on the history up to the origin.
``theta``
    The standard Theta method (Assimakopoulos & Nikolopoulos 2000, as in
    Hyndman's ``thetaf``): simple exponential smoothing plus half the slope of
    a linear trend, on seasonally adjusted data when a 90% autocorrelation test
    at lag 12 finds seasonality.
``arima``
    Seasonal ARIMA(p, d, 0)(P, D, 0)_12 fitted by conditional least squares;
    ``D`` from the seasonal strength of a classical decomposition (>= 0.64),
    ``d`` from a KPSS test at 5%, ``p`` in 0..3 and ``P`` in 0..1 by AICc.
``ml``
    scikit-learn ``Ridge`` on lags 1, 2, 3, 12, 13 and month-of-year dummies,
    scaled by the mean absolute value of the last 12 months, forecast
    recursively (each forecast feeds the next step's lags).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

SEASON = 12
#: Fewest months of history at an origin for any model to forecast from it.
MIN_HISTORY = 6

ModelFn = Callable[[np.ndarray, np.ndarray, int, int], np.ndarray]


# --------------------------------------------------------------------------- helpers
def seasonal_naive_scale(y: np.ndarray, m: int = SEASON) -> float:
    """MASE scale: mean ``|y[t] - y[t - m]|`` over the history.

    Falls back to the naive one-step ``mean |y[t] - y[t - 1]|`` with fewer than
    ``m + 1`` points (or when the seasonal one is 0), then to ``mean |y|``, then 1.
    """
    y = np.asarray(y, dtype=float)
    for lag in (m, 1):
        if len(y) > lag:
            s = float(np.mean(np.abs(y[lag:] - y[:-lag])))
            if s > 0:
                return s
    s = float(np.mean(np.abs(y))) if len(y) else 0.0
    return s if s > 0 else 1.0


def _centered_ma(x: np.ndarray, m: int) -> np.ndarray:
    """2 x m centred moving average (NaN at both ends), the classical trend."""
    w = np.r_[0.5, np.ones(m - 1), 0.5] / m
    out = np.full(len(x), np.nan)
    if len(x) > m:
        out[m // 2 : len(x) - m // 2] = np.convolve(x, w, mode="valid")
    return out


def seasonal_indices(x: np.ndarray, m: int = SEASON, multiplicative: bool = True) -> np.ndarray:
    """Classical decomposition's seasonal indices by slot ``t % m`` (length ``m``).

    Multiplicative: the mean by slot of ``x / trend`` normalised to mean 1;
    additive: the mean by slot of ``x - trend`` normalised to mean 0. ``trend``
    is the 2 x m centred moving average; needs ``len(x) >= 2 m``.
    """
    trend = _centered_ma(x, m)
    ok = ~np.isnan(trend)
    det = x[ok] / trend[ok] if multiplicative else x[ok] - trend[ok]
    slots = np.arange(len(x))[ok] % m
    idx = np.bincount(slots, weights=det, minlength=m) / np.maximum(
        np.bincount(slots, minlength=m), 1
    )
    return idx / idx.mean() if multiplicative else idx - idx.mean()


def seasonal_strength(x: np.ndarray, m: int = SEASON) -> float:
    """``max(0, 1 - var(remainder) / var(seasonal + remainder))`` (Wang, Smith & Hyndman).

    From an additive classical decomposition; 0 when ``len(x) < 2 m``.
    """
    if len(x) < 2 * m:
        return 0.0
    trend = _centered_ma(x, m)
    seas = seasonal_indices(x, m, multiplicative=False)[np.arange(len(x)) % m]
    ok = ~np.isnan(trend)
    detr = x[ok] - trend[ok]
    rem = detr - seas[ok]
    v = np.var(detr)
    return 0.0 if v <= 0 else max(0.0, 1.0 - np.var(rem) / v)


def is_seasonal(x: np.ndarray, m: int = SEASON) -> bool:
    """90% test of the lag-``m`` autocorrelation (as ``forecast::thetaf``).

    Seasonal when ``|r_m| > 1.645 * sqrt((1 + 2 * sum_{k<m} r_k^2) / n)``;
    never with fewer than ``2 m`` points or a constant series.
    """
    n = len(x)
    if n < 2 * m:
        return False
    d = x - x.mean()
    den = float(d @ d)
    if den <= 0:
        return False
    r = np.array([d[k:] @ d[: n - k] for k in range(1, m + 1)]) / den
    limit = 1.645 * np.sqrt((1 + 2 * np.sum(r[:-1] ** 2)) / n)
    return bool(abs(r[-1]) > limit)


# --------------------------------------------------------------------------- snaive
def snaive(y: np.ndarray, origins: np.ndarray, horizon: int, m: int = SEASON) -> np.ndarray:
    """Seasonal naive forecasts from each origin (naive below ``m`` months of history)."""
    out = np.empty((len(origins), horizon))
    k = np.arange(1, horizon + 1)
    for i, o in enumerate(origins):
        if o + 1 >= m:
            out[i] = y[o + k - m * ((k - 1) // m + 1)]
        else:
            out[i] = y[o]
    return out


#: Share of the history's average change on a year earlier that :func:`snaive_drift` adds
#: per year ahead. Measured on M3's monthly series cut to 12-23 months (the calibration
#: set), mean MASE of the next 12 months by share: 0 (seasonal naive) 1.500, 0.25 1.444,
#: 0.5 1.411, 0.6 1.406, 0.75 1.408, 1 1.437; a half keeps within 0.4% of the best while
#: discounting a growth measured on one to eleven seasonal differences. Held out, M1 1.450
#: -> 1.382, Tourism 1.304 -> 1.291 (``benchmarks/bench_forecast.py`` sets ``m1-short``,
#: ``tourism-short``).
DRIFT_SHARE = 0.5


def snaive_drift(y: np.ndarray, origins: np.ndarray, horizon: int, m: int = SEASON) -> np.ndarray:
    """Seasonal naive plus :data:`DRIFT_SHARE` of the average change on a year earlier.

    From origin ``o`` (``x = y[: o + 1]``): ``g = mean(x[m:] - x[:-m])`` (0 with ``m`` months
    or fewer), and ``y[o + k]`` is forecast by :func:`snaive`'s value plus
    ``DRIFT_SHARE * g * ceil(k / m)`` (the years between the month and the one it copies);
    naive below ``m`` months, as :func:`snaive`.
    """
    y = np.asarray(y, dtype=float)
    out = snaive(y, origins, horizon, m)
    years = (np.arange(horizon) // m + 1).astype(float)
    for i, o in enumerate(origins):
        if o + 1 > m:
            x = y[: o + 1]
            out[i] += DRIFT_SHARE * float(np.mean(x[m:] - x[:-m])) * years
    return out


# --------------------------------------------------------------------------- ets
_ALPHAS = np.array([0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.65, 0.8, 0.95])
_BETAS = np.array([0.005, 0.02, 0.05, 0.1, 0.2])
_GAMMAS = np.array([0.01, 0.05, 0.1, 0.2, 0.35])
_PHIS = np.array([0.85, 0.92, 0.98])


def _ets_grid(seasonal: bool) -> dict[str, np.ndarray]:
    """Every admissible (alpha, beta, phi, gamma, trend, season) of the search.

    ``trend``: 0 none, 1 additive, 2 damped; ``season``: 0 none, 1 additive,
    2 multiplicative. Admissible: ``beta <= alpha``, ``gamma <= 1 - alpha``.
    """
    rows = []
    for season in (0, 1, 2) if seasonal else (0,):
        gammas = _GAMMAS if season else np.array([0.0])
        for trend in (0, 1, 2):
            betas = _BETAS if trend else np.array([0.0])
            phis = _PHIS if trend == 2 else np.array([1.0])
            a, b, p, g = np.meshgrid(_ALPHAS, betas, phis, gammas, indexing="ij")
            keep = (b <= a) & (g <= 1 - a)
            n = int(keep.sum())
            rows.append(
                np.column_stack(
                    [a[keep], b[keep], p[keep], g[keep], np.full(n, trend), np.full(n, season)]
                )
            )
    grid = np.vstack(rows)
    return {
        "alpha": grid[:, 0],
        "beta": grid[:, 1],
        "phi": grid[:, 2],
        "gamma": grid[:, 3],
        "trend": grid[:, 4].astype(int),
        "season": grid[:, 5].astype(int),
    }


def ets(y: np.ndarray, origins: np.ndarray, horizon: int, m: int = SEASON) -> np.ndarray:
    """ETS(A, {N, A, Ad}, {N, A, M}) forecasts, structure and parameters by AICc per origin.

    State-space recursions with additive errors ``e = y - yhat``:
    ``lp = l + phi b``; additive season ``yhat = lp + s``, ``l' = lp + alpha e``,
    ``b' = phi b + beta e``, ``s' = s + gamma e``; multiplicative season
    ``yhat = lp s``, ``l' = lp + alpha e / s``, ``b' = phi b + beta e / s``,
    ``s' = s + gamma e / lp``. Initial states (not optimised): seasonal
    structures take level, slope and indices from the line through the means
    of the first two seasons (slope ``(mean2 - mean1) / m``; indices: the mean by
    slot of the deviations from, or ratios to, that line), and are allowed only at origins with ``>= 2 m``
    months (multiplicative only when every month so far is > 0); non-seasonal
    ones start from ``y[0]`` and the mean slope of the first 4 months. At
    origin ``o`` the sum of squared one-step errors over months ``0..o``
    (``n = o + 1``) gives, for every grid row,
    ``AICc = n log(SSE / n) + 2 k + 2 k (k + 1) / (n - k - 1)`` with ``k`` the
    smoothing parameters plus initial states (level 1, slope 1, phi 1,
    seasons ``m - 1``); the row with the lowest AICc forecasts
    ``lp_k + s`` (or ``lp_k * s``) with ``lp_k = l + (phi + ... + phi^k) b``.
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    out = np.full((len(origins), horizon), np.nan)
    if n == 0:
        return out
    seasonal = n >= 2 * m
    grid = _ets_grid(seasonal)
    alpha, beta, phi, gamma = grid["alpha"], grid["beta"], grid["phi"], grid["gamma"]
    trend, season = grid["trend"], grid["season"]
    is_mul = season == 2
    g = len(alpha)
    k_par = 2 + np.where(trend > 0, 2, 0) + (trend == 2) + np.where(season > 0, m, 0)

    # initial states (at "time -1")
    k4 = min(4, n) - 1
    b_ns = (y[k4] - y[0]) / k4 if k4 > 0 else 0.0
    level = np.full(g, y[0] - b_ns)
    slope = np.where(trend > 0, b_ns, 0.0)
    seas = np.zeros((g, m)) if seasonal else np.zeros((g, 1))
    if seasonal:
        # least-squares line through the first two seasons; indices = mean by slot around it
        mean1, mean2 = y[:m].mean(), y[m : 2 * m].mean()
        b_s = (mean2 - mean1) / m
        a_s = (mean1 + mean2) / 2 - b_s * (2 * m - 1) / 2  # the line at t = 0
        line = a_s + b_s * np.arange(2 * m)
        add_idx = (y[: 2 * m] - line).reshape(2, m).mean(axis=0)
        add_idx -= add_idx.mean()
        with np.errstate(divide="ignore", invalid="ignore"):
            mul_idx = (y[: 2 * m] / line).reshape(2, m).mean(axis=0)
            mul_idx = mul_idx / mul_idx.mean()
        s_rows = season > 0
        level[s_rows & (trend > 0)] = a_s - b_s
        level[s_rows & (trend == 0)] = y[:m].mean()
        slope[s_rows & (trend > 0)] = b_s
        seas[season == 1] = add_idx
        seas[is_mul] = mul_idx if np.all(np.isfinite(mul_idx) & (mul_idx > 0)) else 1.0
    ms = seas.shape[1]

    pos = {int(o): i for i, o in enumerate(origins)}
    sse = np.zeros(g)
    running_min = np.inf
    steps = np.arange(1, horizon + 1)
    with np.errstate(all="ignore"):
        for t in range(n):
            slot = t % ms
            s = seas[:, slot]
            lp = level + phi * slope
            yhat = np.where(is_mul, lp * s, lp + s)
            e = y[t] - yhat
            e_s = np.where(is_mul, e / s, e)
            level = lp + alpha * e_s
            slope = phi * slope + beta * e_s
            seas[:, slot] = s + gamma * np.where(is_mul, e / lp, e)
            sse += e * e
            running_min = min(running_min, y[t])
            if t not in pos:
                continue
            if t + 1 < MIN_HISTORY:
                continue
            allowed = np.ones(g, dtype=bool)
            cur, nn = sse, t + 1
            if not (seasonal and t + 1 >= 2 * m):
                allowed &= season == 0
            if running_min <= 0:
                allowed &= ~is_mul
            cur = np.where(np.isfinite(cur) & allowed, cur, np.inf)
            kk = k_par
            denom = nn - kk - 1.0
            aicc = np.where(
                denom > 0,
                nn * np.log(np.maximum(cur, 1e-12) / nn) + 2 * kk + 2 * kk * (kk + 1) / denom,
                np.inf,
            )
            aicc[~np.isfinite(cur)] = np.inf
            if not np.isfinite(aicc).any():
                # too short for AICc: the simplest structure with the best fit
                simple = np.where((season == 0) & (trend == 0), cur, np.inf)
                best = int(np.argmin(simple))
            else:
                best = int(np.argmin(aicc))
            damp = np.cumsum(phi[best] ** steps)
            lpk = level[best] + damp * slope[best]
            sk = seas[best, (t + steps) % ms]
            out[pos[t]] = lpk * sk if is_mul[best] else lpk + sk
    return out


# --------------------------------------------------------------------------- theta
_SES_ALPHAS = np.array(
    [0.01, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.99]
)


def _ses(x: np.ndarray) -> tuple[float, float]:
    """Simple exponential smoothing, alpha by least squares over a grid.

    Level starts at ``x[0]``; returns ``(alpha, last level)``.
    """
    level = np.full(len(_SES_ALPHAS), x[0])
    sse = np.zeros(len(_SES_ALPHAS))
    for v in x[1:]:
        e = v - level
        sse += e * e
        level = level + _SES_ALPHAS * e
    best = int(np.argmin(sse))
    return float(_SES_ALPHAS[best]), float(level[best])


def theta(y: np.ndarray, origins: np.ndarray, horizon: int, m: int = SEASON) -> np.ndarray:
    """Standard Theta method forecasts from each origin.

    With ``x = y[: o + 1]`` (``n`` months): when :func:`is_seasonal` and every
    month is > 0, ``x`` is divided by its multiplicative classical seasonal
    indices. Then ``forecast_k = SES level + (b / 2) (k - 1 + (1 - (1 - alpha)^n) / alpha)``
    with ``b`` the least-squares slope of ``x`` on time, re-seasonalised.
    """
    y = np.asarray(y, dtype=float)
    out = np.full((len(origins), horizon), np.nan)
    k = np.arange(horizon)
    for i, o in enumerate(origins):
        x = y[: o + 1]
        n = len(x)
        if n < MIN_HISTORY:
            continue
        si = np.ones(m)
        if x.min() > 0 and is_seasonal(x, m):
            si = seasonal_indices(x, m, multiplicative=True)
        xd = x / si[np.arange(n) % m]
        alpha, level = _ses(xd)
        tt = np.arange(n) - (n - 1) / 2
        b = float(tt @ (xd - xd.mean()) / (tt @ tt))
        fc = level + b / 2 * (k + (1 - (1 - alpha) ** n) / alpha)
        out[i] = fc * si[(o + 1 + k) % m]
    return out


# --------------------------------------------------------------------------- arima
def kpss_statistic(z: np.ndarray) -> float:
    """KPSS level-stationarity statistic (Kwiatkowski et al. 1992).

    ``eta = sum(S_t^2) / (n^2 s2)`` with ``S_t`` the partial sums of ``z - mean(z)``
    and ``s2`` the Newey-West long-run variance with Bartlett weights and
    ``l = trunc(4 (n / 100)^(1/4))`` lags (R ``tseries::kpss`` ``lshort``, as
    ``forecast::auto.arima`` uses).
    """
    z = np.asarray(z, dtype=float)
    n = len(z)
    e = z - z.mean()
    s = np.cumsum(e)
    lags = int(4 * (n / 100) ** 0.25)
    s2 = float(e @ e) / n
    for j in range(1, lags + 1):
        s2 += 2 * (1 - j / (lags + 1)) * float(e[j:] @ e[:-j]) / n
    return float(s @ s) / (n * n * s2) if s2 > 0 else 0.0


#: 5% critical value of the KPSS level-stationarity test.
KPSS_CRITICAL_5 = 0.463


def _kpss_says_difference(z: np.ndarray) -> bool:
    """KPSS test at 5%: True when level stationarity is rejected (difference once)."""
    if len(z) < 8 or np.ptp(z) == 0:
        return False
    return kpss_statistic(z) > KPSS_CRITICAL_5


def _arima_one(x: np.ndarray, horizon: int, m: int) -> np.ndarray | None:
    """ARIMA(p, d, 0)(P, D, 0)_m by conditional least squares on ``x``; see :func:`arima`."""
    n = len(x)
    big_d = 1 if (n >= 2 * m + 6 and seasonal_strength(x, m) >= 0.64) else 0
    w = x[m:] - x[:-m] if big_d else x
    d = 1 if _kpss_says_difference(w) else 0
    z = np.diff(w) if d else w
    const = d + big_d <= 1
    seasonal_ar = len(z) >= m + 16
    start = m if seasonal_ar else 3
    if len(z) - start < 6:
        start = 0
        orders = [(0, 0)]
    else:
        orders = [(p, pp) for p in range(4) for pp in range(2 if seasonal_ar else 1)]
    rows = np.arange(start, len(z))
    nn = len(rows)
    best = None
    for p, pp in orders:
        cols = [np.ones(nn)] if const else []
        cols += [z[rows - i] for i in range(1, p + 1)]
        if pp:
            cols.append(z[rows - m])
        kk = len(cols) + 1
        if not cols:
            resid = z[rows]
            coef = np.zeros(0)
        else:
            xmat = np.column_stack(cols)
            coef, *_ = np.linalg.lstsq(xmat, z[rows], rcond=None)
            resid = z[rows] - xmat @ coef
        sse = max(float(resid @ resid), 1e-12 * max(1.0, float(z @ z)))
        den = nn - kk - 1
        aicc = nn * np.log(sse / nn) + 2 * kk + (2 * kk * (kk + 1) / den if den > 0 else np.inf)
        if best is None or aicc < best[0]:
            best = (aicc, p, pp, coef)
    _, p, pp, coef = best
    zz = list(z)
    for _ in range(horizon):
        j = 0
        v = 0.0
        if const:
            v += coef[0]
            j = 1
        for i in range(1, p + 1):
            v += coef[j] * zz[-i]
            j += 1
        if pp:
            v += coef[j] * zz[-m]
        zz.append(v)
    zf = np.array(zz[len(z) :])
    wf = w[-1] + np.cumsum(zf) if d else zf
    if not big_d:
        return wf
    xx = list(x)
    for v in wf:
        xx.append(v + xx[-m])
    return np.array(xx[n:])


def arima(y: np.ndarray, origins: np.ndarray, horizon: int, m: int = SEASON) -> np.ndarray:
    """Seasonal ARIMA(p, d, 0)(P, D, 0)_12 forecasts from each origin.

    On ``x = y[: o + 1]``: ``D = 1`` when ``x`` has at least ``2 m + 6`` months
    and a seasonal strength (:func:`seasonal_strength`) of 0.64 or more; ``d = 1``
    when a KPSS test rejects level stationarity of the (seasonally differenced)
    series at 5%. The differenced series ``z`` is regressed by least squares on
    a constant (only when ``d + D <= 1``: a mean or a drift), ``z[t-1..t-p]``
    and ``z[t-m]`` (when ``P = 1``), all orders ``p = 0..3``, ``P = 0..1`` on one
    common sample; the lowest AICc wins; forecasts run recursively and are
    integrated back.
    """
    y = np.asarray(y, dtype=float)
    out = np.full((len(origins), horizon), np.nan)
    for i, o in enumerate(origins):
        if o + 1 >= MIN_HISTORY + 2:
            out[i] = _arima_one(y[: o + 1], horizon, m)
    return out


# --------------------------------------------------------------------------- ml
_LAGS = (1, 2, 3, 12, 13)


def ml(y: np.ndarray, origins: np.ndarray, horizon: int, m: int = SEASON) -> np.ndarray:
    """Ridge regression on lags and month dummies, forecast recursively.

    On ``x = y[: o + 1] / scale`` (``scale`` = mean ``|x|`` of the last 12
    months, 1 when 0), rows ``t >= 13`` with features ``x[t - lag]`` for lags
    1, 2, 3, 12, 13 and a one-hot month slot ``t % 12``; ``Ridge(alpha=0.3)``.
    Needs 12 training rows (25 months); NaN below.
    """
    from sklearn import config_context
    from sklearn.linear_model import Ridge

    y = np.asarray(y, dtype=float)
    out = np.full((len(origins), horizon), np.nan)
    lags = np.array(_LAGS)
    top = lags.max()
    eye = np.eye(m)
    for i, o in enumerate(origins):
        n = o + 1
        if n - top < 12:
            continue
        scale = float(np.mean(np.abs(y[max(0, n - 12) : n])))
        scale = scale if scale > 0 else 1.0
        x = y[:n] / scale
        rows = np.arange(top, n)
        feats = np.column_stack([x[rows - lag] for lag in lags] + [eye[rows % m]])
        # the inputs are built here, finite and well-formed: skip sklearn's checks
        with config_context(assume_finite=True, skip_parameter_validation=True):
            model = Ridge(alpha=0.3, solver="cholesky").fit(feats, x[rows])
        coef_lag, coef_month = model.coef_[: len(lags)], model.coef_[len(lags) :]
        xx = list(x)
        for step in range(horizon):
            t = n + step
            v = model.intercept_ + coef_month[t % m]
            v += sum(c * xx[t - lag] for c, lag in zip(coef_lag, lags, strict=True))
            xx.append(float(v))
        out[i] = np.array(xx[n:]) * scale
    return out


#: The candidate models, by name, in the order they are reported.
MODELS: dict[str, ModelFn] = {
    "snaive": snaive,
    "ets": ets,
    "theta": theta,
    "arima": arima,
    "ml": ml,
}
