"""Prediction intervals and joint sample paths from a series' own rolling-origin errors.

The forecast's uncertainty at horizon ``h`` (months ahead) is ``scale * sigma_h * R_h``:

* ``scale`` is the MASE scale at the forecast origin
  (:func:`~salesreport.forecast.models.seasonal_naive_scale`);
* ``sigma_h`` is the *spread* of the method's errors (:func:`spread`): the root mean
  square of its own scaled backtest errors by horizon (each capped at 5 times their
  median), fitted as ``a h^b`` so that every horizon has a value even where the backtest
  has few errors; for a short history (under :data:`SHORT_HISTORY_MONTHS` months) it is
  then shrunk toward the spread typical of the calibration series (geometric weights
  0.4 own / 0.6 typical): its few errors estimate its spread with much noise;
* ``R_h`` is a standardised error whose distribution was measured once, on series the
  suite is never judged on (the M3 competition's 1,428 monthly series, whole, cut to
  24-42 months, and cut to each length from 10 to 23 months): for each series, the real
  error of its forecast over the next 12 months divided by ``scale * sigma_h`` from that
  series' own backtest. The quantiles of ``|R_h|`` by horizon and history length
  (:mod:`salesreport.forecast.calibration`, written by ``benchmarks/calibrate_forecast.py``)
  turn ``sigma_h`` into intervals: the ``L``% half-width at ``h`` is
  ``scale * sigma_h * q_L(h)``.

This is split conformal prediction with the normalised score ``|error| / (scale sigma_h)``,
its calibration set being other series rather than the series' own past: one series' past
(a dozen or so errors per horizon) cannot say where its 95th percentile lies, and the
errors of a backtest are smaller than the future's, because the backtest's models are
chosen on that same past. A history under :data:`SHORT_HISTORY_MONTHS` months uses the
short-history quantiles (measured on the cut series), which are wider per unit of
``sigma_h`` where ``sigma_h`` itself is estimated from fewer, noisier errors; one under
:data:`VERY_SHORT_HISTORY_MONTHS` months (two years) the quantiles measured on series cut
to its own length, where the scale itself rests on a few seasonal differences.

Joint paths (:func:`sample_paths`): the months' errors are not independent (a forecast
that starts too low tends to stay too low). The correlation between the standardised
backtest errors at horizons ``h`` and ``k`` is fitted as ``(min(h, k) / max(h, k))^gamma``
(:func:`fit_gamma`: ``gamma = 0.5`` is a random walk's, 0 a level error shared by every
month, large values independent months); paths draw Gaussian scores with that
correlation and map each month's score through the month's calibrated distribution
(a Gaussian copula), so every month's marginal quantiles are the intervals' and sums
over months (a quarter, a year) carry the correlation.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
from scipy.special import ndtr

from salesreport.forecast import calibration

#: A history (months) shorter than this uses the short-history quantiles.
SHORT_HISTORY_MONTHS = 48
#: A history (months) shorter than this uses the table measured at its own length
#: (``calibration.BY_MONTHS``; the nearest length there for one outside it): under two
#: years the forecast is seasonal naive without a choice
#: (:data:`salesreport.forecast.core.SHORT_HISTORY`), its scale rests on the few seasonal
#: differences the history has (one at 13 months), and how far it is from the future's
#: errors changes with every month added. With the short-history table instead, M1's and
#: Tourism's 12-23-month histories' 80% ranges covered 72% and 71% of the next 12 months,
#: their 95% ranges 88% and 87%.
VERY_SHORT_HISTORY_MONTHS = 24
#: Fewest backtest errors for a fitted spread; fewer fall back to a random walk.
MIN_ERRORS = 10
#: Backtest errors are capped at this multiple of their median before the spread is fitted.
WINSOR = 5.0
#: Weight of the series' own spread against the calibration set's typical one (geometric).
#: A history of :data:`SHORT_HISTORY_MONTHS` months or more has 36 backtest origins of
#: errors and uses its own spread alone (weight 1): shrinking it toward M3's typical
#: spread (weight 0.7, the earlier rule) pulled in the ranges of series whose errors are
#: larger than M3's at short horizons, and Tourism monthly's 80% ranges covered 72% of
#: months 1-3 and 73% of months 4-6 (this change was chosen after seeing Tourism, so M1
#: is its held-out evidence; docs/forecasting.md). Shorter histories keep 0.4, chosen on M3's cut
#: series by cross-fitting (tables from half the series, interval score on the other
#: half: the best weights were 0-0.3, within 1% of 0.4, which keeps more of the series'
#: own evidence).
OWN_WEIGHT_LONG = 1.0
OWN_WEIGHT_SHORT = 0.4
#: Correlation exponent used when the backtest has too few pairs of errors to fit one
#: (the value fitted on M3's monthly series' real future errors).
DEFAULT_GAMMA = 1.0
#: Grid searched for the correlation exponent.
GAMMA_GRID = np.round(np.arange(0.0, 4.0001, 0.05), 2)
#: Fewest origins with errors at both horizons for a pair to enter the fit of gamma.
MIN_PAIR = 6
#: Sample paths drawn for target chances and year ranges.
N_PATHS = 4000


def _fit_exponent(h: np.ndarray, rms: np.ndarray, counts: np.ndarray) -> float:
    """``b`` of ``rms ~ a h^b``: least squares on logs weighted by counts, clipped to [0, 1]."""
    good = rms > 0
    if good.sum() < 3:
        return 0.5
    xl, yl, w = np.log(h[good]), np.log(rms[good]), counts[good]
    xm, ym = np.average(xl, weights=w), np.average(yl, weights=w)
    sxx = float(np.sum(w * (xl - xm) ** 2))
    if sxx <= 0:
        return 0.5
    return float(np.clip(np.sum(w * (xl - xm) * (yl - ym)) / sxx, 0.0, 1.0))


def raw_spread(horizons: np.ndarray, scaled_errors: np.ndarray, horizon: int) -> np.ndarray | None:
    """The series' own ``sigma_h = a h^b``, ``h = 1..horizon``, from scaled backtest errors
    (None with fewer than :data:`MIN_ERRORS`).

    Each ``|e|`` is first capped at :data:`WINSOR` times the median ``|e|`` (one model
    that blew up at one early origin must not set the range for good); ``b`` is fitted to
    the root mean square of the capped errors by horizon (:func:`_fit_exponent`; 0.5, a
    random walk's growth, when fewer than 3 horizons have errors) and
    ``a = sqrt(mean((|e| / h^b)^2))`` over all capped errors pooled.
    """
    hs = np.asarray(horizons, dtype=float)
    es = np.abs(np.asarray(scaled_errors, dtype=float))
    ok = np.isfinite(hs) & np.isfinite(es)
    hs, es = hs[ok], es[ok]
    if len(es) < MIN_ERRORS:
        return None
    med = float(np.median(es))
    if med > 0:
        es = np.minimum(es, WINSOR * med)
    uniq = np.unique(hs)
    rms = np.array([np.sqrt(np.mean(es[hs == u] ** 2)) for u in uniq])
    cnt = np.array([np.sum(hs == u) for u in uniq], dtype=float)
    b = _fit_exponent(uniq, rms, cnt) if len(uniq) >= 3 else 0.5
    a = float(np.sqrt(np.mean((es / hs**b) ** 2)))
    return a * np.arange(1, horizon + 1, dtype=float) ** b


def _tables(history: int) -> tuple[tuple, tuple]:
    """The calibration tables for ``history`` months: typical spread, quantiles."""
    if history < VERY_SHORT_HISTORY_MONTHS:
        lengths = sorted(calibration.BY_MONTHS)
        return calibration.BY_MONTHS[min(max(history, lengths[0]), lengths[-1])]
    if history < SHORT_HISTORY_MONTHS:
        return calibration.SHORT_SIGMA, calibration.SHORT
    return calibration.LONG_SIGMA, calibration.LONG


def typical_spread(horizon: int, history: int) -> np.ndarray:
    """The calibration set's typical ``sigma_h`` (geometric median over its series, scaled
    units) for ``h = 1..horizon``; past the table's last horizon it grows as ``sqrt(h)``."""
    table = np.asarray(_tables(history)[0])
    h = np.arange(1, horizon + 1)
    last = len(table)
    return np.where(h <= last, table[np.minimum(h, last) - 1], table[-1] * np.sqrt(h / last))


def spread(
    horizons: np.ndarray, scaled_errors: np.ndarray, horizon: int, history: int = 120
) -> np.ndarray | None:
    """``sigma_h`` used for the intervals: the series' own (:func:`raw_spread`) shrunk toward
    the calibration set's typical one (:func:`typical_spread`), geometrically:
    ``own^w typical^(1 - w)`` with ``w`` = :data:`OWN_WEIGHT_LONG` (1: its own), or
    :data:`OWN_WEIGHT_SHORT` (0.4) for a history under :data:`SHORT_HISTORY_MONTHS` months,
    whose few backtest errors say less; 0 where the series' own is 0 (a backtest without
    any error). None when :func:`raw_spread` is None.
    """
    own = raw_spread(horizons, scaled_errors, horizon)
    if own is None:
        return None
    w = OWN_WEIGHT_SHORT if history < SHORT_HISTORY_MONTHS else OWN_WEIGHT_LONG
    typical = typical_spread(horizon, history)
    with np.errstate(divide="ignore"):
        shrunk = np.exp(w * np.log(own) + (1 - w) * np.log(typical))
    return np.where(own > 0, shrunk, 0.0)  # a backtest without error (a constant series) stays 0


def ratio_quantiles(levels, horizon: int, history: int) -> np.ndarray:
    """Calibrated quantiles ``q_L(h)`` of ``|R_h|``: shape ``(horizon, len(levels))``.

    ``levels`` in percent (0 < L < 100). Between the table's levels the quantile is
    interpolated linearly in the level (0 at level 0); above its highest level (99%)
    it grows as a normal distribution's would; horizons past the table's last (12)
    take the last one's quantiles.
    """
    table = _tables(history)[1]
    grid = np.r_[0.0, np.asarray(calibration.LEVELS, dtype=float)]
    top = grid[-1]
    out = np.empty((horizon, len(levels)))
    nd = NormalDist()
    for i in range(horizon):
        row = np.r_[0.0, np.asarray(table[min(i, len(table) - 1)], dtype=float)]
        for j, lv in enumerate(levels):
            p = lv / 100
            if p <= top:
                out[i, j] = float(np.interp(p, grid, row))
            else:
                out[i, j] = row[-1] * nd.inv_cdf(0.5 + p / 2) / nd.inv_cdf(0.5 + top / 2)
    return out


def calibrate_intervals(
    horizons: np.ndarray,
    scaled_errors: np.ndarray,
    horizon: int,
    levels: tuple[int, ...] = (80, 95),
    fallback_sigma: float = 1.0,
    history: int = SHORT_HISTORY_MONTHS,
) -> np.ndarray:
    """Half-widths of central prediction intervals, in scaled units, by horizon and level.

    Parameters
    ----------
    horizons, scaled_errors : numpy.ndarray
        One entry per backtest error: its horizon ``h`` (1..) and
        ``(actual - forecast) / scale`` with ``scale`` the MASE scale at its origin.
    horizon : int
        Half-widths are returned for ``h = 1..horizon``.
    levels : tuple of int
        Nominal coverages in percent.
    fallback_sigma : float
        One-step standard deviation (scaled) for the random-walk fallback.
    history : int
        Months of history at the forecast origin (picks the short- or long-history
        quantiles).

    Returns
    -------
    numpy.ndarray
        Shape ``(horizon, len(levels))``; multiply by the scale at the forecast origin.
        Non-decreasing in the level.

    Notes
    -----
    With at least :data:`MIN_ERRORS` errors: ``sigma_h q_L(h)`` (:func:`spread`,
    :func:`ratio_quantiles`). Otherwise the random walk ``t_L fallback_sigma sqrt(h)``
    (:func:`fallback_quantiles`).
    """
    sigma = spread(horizons, scaled_errors, horizon, history)
    if sigma is None:
        zs = fallback_quantiles(np.asarray(levels, dtype=float) / 200 + 0.5, history)
        return np.outer(np.sqrt(np.arange(1, horizon + 1)), zs) * fallback_sigma
    return sigma[:, None] * ratio_quantiles(levels, horizon, history)


def fallback_quantiles(p, history: int) -> np.ndarray:
    """Quantiles at probabilities ``p`` of the random-walk fallback's standardised error: the
    Student t distribution with ``history - 1`` degrees of freedom, as many as the
    month-on-month changes its spread is estimated from (the root mean square of them,
    about a known mean of 0: a random walk's error over ``h`` months divided by that
    estimate times ``sqrt(h)`` is exactly t so distributed); the normal distribution for a
    single month, whose spread is not estimated but taken as the month's size.

    With the normal quantiles instead (the rule before December 2026), the 95% ranges of
    M1's and Tourism's series cut to 3 months covered 83% and 86% of the next 12 months
    (with t: 94% and 95%), cut to 6-9 months 91% and 95% (94% and 97%)."""
    from scipy.stats import norm, t

    p = np.asarray(p, dtype=float)
    return t.ppf(p, history - 1) if history >= 2 else norm.ppf(p)


def fit_gamma(error_matrix: np.ndarray, sigma: np.ndarray) -> float:
    """Correlation exponent of the errors across horizons, from a backtest's error matrix.

    ``error_matrix`` has one row per origin and one column per horizon (NaN where the
    month is not known yet); each column is divided by ``sigma_h``. For every pair of
    horizons with at least :data:`MIN_PAIR` origins having both errors, the correlation
    ``sum(z_h z_k) / sqrt(sum z_h^2 sum z_k^2)`` (about 0, as errors are) is computed, and
    ``gamma`` on :data:`GAMMA_GRID` minimises the squared differences to
    ``(min / max)^gamma`` weighted by the pairs' counts. :data:`DEFAULT_GAMMA` when no
    pair qualifies.
    """
    z = np.asarray(error_matrix, dtype=float)
    width = min(z.shape[1], len(sigma)) if z.ndim == 2 else 0
    if width < 2 or z.shape[0] < MIN_PAIR:
        return DEFAULT_GAMMA
    z = z[:, :width] / np.asarray(sigma[:width])
    ok = np.isfinite(z)
    zz = np.where(ok, z, 0.0)
    okf = ok.astype(float)
    cross = zz.T @ zz  # sum over origins having both (zeros elsewhere)
    count = okf.T @ okf
    sq_h = (zz**2).T @ okf  # sum z_h^2 over origins that also have k
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cross / np.sqrt(sq_h * sq_h.T)
    iu = np.triu_indices(width, 1)
    c, n = corr[iu], count[iu]
    use = (n >= MIN_PAIR) & np.isfinite(c)
    if not use.any():
        return DEFAULT_GAMMA
    h = np.arange(1, width + 1, dtype=float)
    ratio = (np.minimum.outer(h, h) / np.maximum.outer(h, h))[iu][use]
    model = ratio[None, :] ** GAMMA_GRID[:, None]
    loss = ((model - c[use][None, :]) ** 2 * n[use][None, :]).sum(axis=1)
    return float(GAMMA_GRID[int(np.argmin(loss))])


def correlation(horizon: int, gamma: float) -> np.ndarray:
    """``(min(h, k) / max(h, k))^gamma`` for ``h, k = 1..horizon``."""
    h = np.arange(1, horizon + 1, dtype=float)
    return (np.minimum.outer(h, h) / np.maximum.outer(h, h)) ** gamma


def sample_paths(
    point: np.ndarray,
    half_scale: np.ndarray,
    history: int | None,
    gamma: float,
    n_paths: int = N_PATHS,
    seed: int = 0,
    floor: float = -np.inf,
    fallback: bool = False,
) -> np.ndarray:
    """Joint sample paths of the coming months, shape ``(n_paths, horizon)``.

    ``point`` is the forecast, ``half_scale`` ``scale * sigma_h`` by month. Gaussian
    scores with :func:`correlation` ``(gamma)`` are turned into uniforms and each
    month's uniform ``u`` into ``sign(u - 1/2) q_{|2u - 1|}(h)`` through the calibrated
    quantiles (:func:`ratio_quantiles`), times ``half_scale``: each month's 80% and 95%
    central ranges over the paths are the forecast's intervals. Values below ``floor``
    are set to it (0 for revenue that is never negative). ``fallback``: the random-walk
    fallback's marginals (:func:`fallback_quantiles` for ``history`` months, which it
    needs; ``half_scale`` is then the spread ``sigma sqrt(h)``); ``history`` None: normal
    marginals, ``half_scale`` the standard deviation. Seeded: the same inputs give the
    same paths.
    """
    point = np.asarray(point, dtype=float)
    hz = len(point)
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(correlation(hz, gamma) + 1e-9 * np.eye(hz))
    z = rng.standard_normal((n_paths, hz)) @ chol.T
    if fallback:  # the same uniforms through the fallback's quantiles
        z = fallback_quantiles(np.clip(ndtr(z), 1e-12, 1 - 1e-12), history)
    if fallback or history is None:
        return np.maximum(point + z * np.asarray(half_scale, dtype=float), floor)
    u = np.abs(2 * ndtr(z) - 1)  # level of the central range each draw sits on
    grid = np.linspace(0.0, 99.5, 200)
    q = ratio_quantiles(grid[1:], hz, history)  # (hz, len(grid) - 1)
    mag = np.empty_like(z)
    for i in range(hz):
        mag[:, i] = np.interp(u[:, i] * 100, grid, np.r_[0.0, q[i]])
    paths = point + np.sign(z) * mag * np.asarray(half_scale, dtype=float)
    return np.maximum(paths, floor)
