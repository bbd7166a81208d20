"""Benchmark the forecaster against statsforecast on real monthly series.

Run from the repository root::

    .venv/bin/python -m benchmarks.bench_forecast

Series: every real monthly series shipped inside the installed packages —
AirPassengers (``statsforecast.utils``), euro-area electrical equipment orders
(``statsmodels.datasets.elec_equip``), US housing starts not seasonally adjusted
(``HOUSTNSA``, statsmodels' Holt-Winters test data), Mauna Loa CO2
(``statsmodels.datasets.co2``, weekly averaged to months) and Niño sea-surface
temperatures (``statsmodels.datasets.elnino``). Each is used whole and cut,
from its end backwards, into non-overlapping windows of 24, 36, 48, 60, 72 and
96 months, so short histories are represented too.

For every series the last ``H = 12`` months are held out; every method sees the
rest only. Printed: mean MASE (scaled by the in-sample seasonal naive MAE,
lag 12; lag 1 below 13 months), the share of held-out months inside the 80% and
95% intervals, for our selected forecast, each of our candidates, and
statsforecast's AutoETS, AutoARIMA and AutoTheta (season length 12); then
timings, including forecasting plus backtesting a team total and 50 segments.
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

H = 12
LEVELS = (80, 95)
WINDOWS = (24, 36, 48, 60, 72, 96)


# --------------------------------------------------------------------------- data
def _monthly(values, start: str) -> pd.Series:
    return pd.Series(
        np.asarray(values, dtype=float),
        index=pd.period_range(start, periods=len(values), freq="M"),
    )


def load_sources() -> dict[str, pd.Series]:
    """The real monthly series found in installed packages, whole."""
    from statsforecast.utils import AirPassengers
    from statsmodels.datasets import co2, elec_equip, elnino

    out = {"air": _monthly(AirPassengers, "1949-01")}
    ee = elec_equip.load().data.iloc[:, 0]
    out["elec_equip"] = _monthly(ee.to_numpy(), str(ee.index[0].to_period("M")))
    path = Path(str(resources.files("statsmodels.tsa.holtwinters.tests"))) / "results"
    hous = pd.read_csv(path / "housing-data.csv", index_col="DATE", parse_dates=True)["HOUSTNSA"]
    out["housing"] = _monthly(hous.to_numpy(), str(hous.index[0].to_period("M")))
    c = co2.load().data["co2"].interpolate()
    cm = c.groupby(c.index.to_period("M")).mean()
    cm = cm.iloc[1:-1]  # drop partial first/last months
    out["co2"] = _monthly(cm.to_numpy(), str(cm.index[0]))
    en = elnino.load().data
    vals = en.drop(columns="YEAR").to_numpy().ravel()
    out["elnino"] = _monthly(vals, f"{int(en['YEAR'].iloc[0])}-01")
    return out


def benchmark_series() -> dict[str, pd.Series]:
    """Each source whole plus non-overlapping windows cut from its end backwards."""
    series: dict[str, pd.Series] = {}
    for name, s in load_sources().items():
        series[f"{name}:all"] = s
        end = len(s)
        i = 0
        while True:
            w = WINDOWS[i % len(WINDOWS)]
            if end - w < 0:
                break
            series[f"{name}:{w}@{s.index[end - 1]}"] = s.iloc[end - w : end]
            end -= w
            i += 1
    return series


# --------------------------------------------------------------------------- scoring
def _scale(train: np.ndarray) -> float:
    for lag in (12, 1):
        if len(train) > lag:
            s = np.mean(np.abs(train[lag:] - train[:-lag]))
            if s > 0:
                return float(s)
    return 1.0


def _score(train, test, point, lo80, hi80, lo95, hi95) -> dict[str, float]:
    return {
        "mase": float(np.mean(np.abs(test - point)) / _scale(train)),
        "cov80": float(np.mean((test >= lo80) & (test <= hi80))),
        "cov95": float(np.mean((test >= lo95) & (test <= hi95))),
    }


def run_ours(series: dict[str, pd.Series]) -> pd.DataFrame:
    from salesreport.forecast import forecast_candidates

    rows = []
    for name, s in series.items():
        train, test = s.iloc[:-H], s.iloc[-H:].to_numpy()
        cand = forecast_candidates(train, H, LEVELS)
        for model, f in cand.groupby("model", sort=False):
            labels = [model] + (["ours (selected)"] if f["selected"].iloc[0] else [])
            sc = _score(
                train.to_numpy(),
                test,
                *(f[c].to_numpy() for c in ("point", "lo80", "hi80", "lo95", "hi95")),
            )
            for label in labels:
                if label.startswith("ensemble("):
                    continue
                rows.append({"series": name, "method": label, **sc})
    return pd.DataFrame(rows)


def run_statsforecast(series: dict[str, pd.Series]) -> tuple[pd.DataFrame, float, float]:
    """Returns scores, the first call's seconds (one tiny series) and the full run's seconds."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    def models():
        return [AutoETS(season_length=12), AutoARIMA(season_length=12), AutoTheta(season_length=12)]

    t0 = time.perf_counter()
    first = next(iter(series.values()))
    tiny = pd.DataFrame({"unique_id": "x", "ds": first.index.to_timestamp(), "y": first.to_numpy()})
    StatsForecast(models=models(), freq="MS").forecast(df=tiny.iloc[:-H], h=H, level=list(LEVELS))
    first_call = time.perf_counter() - t0

    frames = []
    for name, s in series.items():
        train = s.iloc[:-H]
        frames.append(
            pd.DataFrame(
                {"unique_id": name, "ds": train.index.to_timestamp(), "y": train.to_numpy()}
            )
        )
    df = pd.concat(frames, ignore_index=True)
    t0 = time.perf_counter()
    fc = StatsForecast(models=models(), freq="MS").forecast(df=df, h=H, level=list(LEVELS))
    full = time.perf_counter() - t0
    rows = []
    for name, s in series.items():
        train, test = s.iloc[:-H].to_numpy(), s.iloc[-H:].to_numpy()
        f = fc[fc["unique_id"] == name].sort_values("ds")
        for m in ("AutoETS", "AutoARIMA", "AutoTheta"):
            cols = [m, f"{m}-lo-80", f"{m}-hi-80", f"{m}-lo-95", f"{m}-hi-95"]
            rows.append(
                {
                    "series": name,
                    "method": f"sf {m}",
                    **_score(train, test, *(f[c].to_numpy() for c in cols)),
                }
            )
    return pd.DataFrame(rows), first_call, full


def time_team_and_segments(series: dict[str, pd.Series]) -> tuple[tuple, tuple]:
    """(wall, CPU) seconds to forecast + backtest a 120-month total and 50 shorter segments.

    Twice: the first run after the imports, then again.
    """
    from salesreport.forecast import forecast_and_backtest

    pool = list(series.values())
    total = max(pool, key=len).iloc[-120:]
    segs = [s for s in pool if 36 <= len(s) <= 96]
    segs = (segs * (50 // max(len(segs), 1) + 1))[:50]
    times = []
    for _ in range(2):
        t0, c0 = time.perf_counter(), time.process_time()
        for s in [total, *segs]:
            forecast_and_backtest(s, H, LEVELS)
        times.append((time.perf_counter() - t0, time.process_time() - c0))
    return times[0], times[1]


def main() -> None:
    series = benchmark_series()
    lengths = pd.Series({k: len(v) for k, v in series.items()})
    print(f"{len(series)} real monthly series, lengths {lengths.min()}..{lengths.max()} months")
    t0 = time.perf_counter()
    ours = run_ours(series)
    t_ours = time.perf_counter() - t0
    sf, sf_first, sf_full = run_statsforecast(series)
    scores = pd.concat([ours, sf], ignore_index=True)
    table = scores.groupby("method")[["mase", "cov80", "cov95"]].mean()
    table["n"] = scores.groupby("method").size()
    table = table.sort_values("mase")
    pd.set_option("display.width", 120)
    print(f"\nholdout: last {H} months; MASE mean over series; coverage over all held-out months")
    print(table.round(3).to_string())
    src = scores.assign(source=scores["series"].str.split(":").str[0])
    by_src = src.pivot_table(index="method", columns="source", values="mase", aggfunc="mean")
    print("\nmean MASE by source")
    print(by_src.reindex(table.index).round(3).to_string())
    short = src[src["series"].str.contains(":24@|:36@")]
    print("\nmean MASE on series with 12-24 training months")
    print(short.groupby("method")["mase"].mean().reindex(table.index).round(3).to_string())
    best_sf = table.loc[[m for m in table.index if m.startswith("sf ")], "mase"].min()
    print(
        f"\nours (selected) {table.loc['ours (selected)', 'mase']:.3f} vs best statsforecast {best_sf:.3f}"
    )
    cold, warm = time_team_and_segments(series)
    print("\ntimings (s)")
    print(
        f"  ours, forecast_candidates on {len(series)} series (incl. first imports): {t_ours:.1f}"
    )
    print(
        "  ours, forecast + backtest, team total + 50 segments (wall / CPU): "
        f"first {cold[0]:.1f} / {cold[1]:.1f}, second {warm[0]:.1f} / {warm[1]:.1f}"
    )
    print(f"  statsforecast first call (one series, 3 models): {sf_first:.1f}")
    print(f"  statsforecast, 3 models on {len(series)} series: {sf_full:.1f}")


if __name__ == "__main__":
    main()
