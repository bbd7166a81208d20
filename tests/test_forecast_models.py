"""Forecasting core: candidate models, nested backtest, selection, intervals, inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesreport.forecast import (
    MODELS,
    SELECTED,
    backtest,
    forecast,
    forecast_and_backtest,
    forecast_candidates,
    forecast_many,
    prepare_series,
    seasonal_naive_scale,
)
from salesreport.forecast.models import kpss_statistic

PATTERN = np.array([10, 12, 15, 14, 13, 18, 22, 21, 17, 14, 11, 25], dtype=float)


def monthly(values, start: str = "2020-01") -> pd.Series:
    values = np.asarray(values, dtype=float)
    return pd.Series(values, index=pd.period_range(start, periods=len(values), freq="M"))


def assert_valid(fc: pd.DataFrame, horizon: int) -> None:
    """Shape, no NaN, and lo95 <= lo80 <= point <= hi80 <= hi95 on every row."""
    assert len(fc) == horizon
    num = fc[["point", "lo80", "hi80", "lo95", "hi95"]]
    assert np.isfinite(num.to_numpy()).all()
    tol = 1e-9 * (1 + num.abs().to_numpy().max())
    assert (fc["lo95"] <= fc["lo80"] + tol).all()
    assert (fc["lo80"] <= fc["point"] + tol).all()
    assert (fc["point"] <= fc["hi80"] + tol).all()
    assert (fc["hi80"] <= fc["hi95"] + tol).all()


# --------------------------------------------------------------------------- known answers
def test_seasonal_naive_repeats_a_pure_seasonal_series_exactly():
    y = monthly(np.tile(PATTERN, 4))  # 48 months, Jan 2020 .. Dec 2023
    cand = forecast_candidates(y, horizon=14)
    sn = cand[cand["model"] == "snaive"]
    # month k after Dec 2023 is calendar month k (mod 12): PATTERN[0..11], then PATTERN[0..1]
    expected = np.r_[PATTERN, PATTERN[:2]]
    np.testing.assert_allclose(sn["point"].to_numpy(), expected, rtol=0, atol=1e-12)
    # the selected forecast, whatever it combines, is within 2% of the pattern
    sel = forecast(y, horizon=14)
    np.testing.assert_allclose(sel["point"].to_numpy(), expected, rtol=0.02)


def test_seasonal_naive_with_drift_by_hand():
    from salesreport.forecast.models import snaive_drift

    # 14 months: 1..12 then 15, 20. Changes on a year earlier: 15 - 1 = 14 and 20 - 2 = 18,
    # mean 16, half of it 8 per year ahead. From the last month (14), k = 1..10 copy
    # months 3..12 (values 3..12) and k = 11, 12 months 13, 14 (15, 20), one year on: + 8;
    # k = 13, 14 copy months 3, 4 two years on: + 16
    y = np.r_[np.arange(1.0, 13.0), 15.0, 20.0]
    got = snaive_drift(y, np.array([13]), 14, 12)[0]
    expected = np.r_[np.arange(3.0, 13.0) + 8, 15.0 + 8, 20.0 + 8, 3.0 + 16, 4.0 + 16]
    np.testing.assert_allclose(got, expected)
    # 12 months: no change on a year earlier yet -> plain seasonal naive; 5 months: naive
    np.testing.assert_allclose(snaive_drift(y, np.array([11]), 3, 12)[0], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(snaive_drift(y, np.array([4]), 3, 12)[0], [5.0, 5.0, 5.0])


def test_under_two_years_the_forecast_is_seasonal_naive_plus_half_the_growth():
    # 18 months of a series growing 10 a year on a seasonal pattern: the changes on a year
    # earlier are all 10, so the forecast is the same month last year + 5
    y = np.r_[100 + PATTERN, 110 + PATTERN[:6]]
    fc = forecast(monthly(y), horizon=6)
    assert fc["model"].unique().tolist() == ["snaive_drift"]
    np.testing.assert_allclose(fc["point"].to_numpy(), 100 + PATTERN[6:12] + 5)
    # from 24 months on the forecast is chosen among the candidates
    assert "snaive_drift" not in forecast(monthly(np.r_[y, 110 + PATTERN[6:]]), 6)["model"].iloc[0]


def test_ets_forecasts_a_linear_trend():
    y = monthly(100 + 5 * np.arange(36))  # y_t = 100 + 5 t, t = 0..35
    out = MODELS["ets"](y.to_numpy(), np.array([35]), 6, 12)
    expected = 100 + 5 * np.arange(36, 42)  # 280, 285, ..., 305
    np.testing.assert_allclose(out[0], expected, rtol=1e-6)
    sel = forecast(y, horizon=6)
    np.testing.assert_allclose(sel["point"].to_numpy(), expected, rtol=0.01)


def test_ets_uses_seasonality_only_from_two_full_years():
    y = np.tile(PATTERN, 3)
    # 23 months: only trend-or-level structures, so the forecast has no seasonal wiggle
    short = MODELS["ets"](y[:23], np.array([22]), 12, 12)[0]
    steps = np.diff(short)
    assert (steps >= -1e-9).all() or (steps <= 1e-9).all()
    # 24 months of a pure pattern: seasonal structures allowed and the pattern comes back
    full = MODELS["ets"](y[:24], np.array([23]), 12, 12)[0]
    np.testing.assert_allclose(full, PATTERN, rtol=0.02)


def test_theta_on_a_line_without_noise_adds_half_the_slope():
    # SES on a line chases it with a lag; Theta's drift b/2 is the textbook correction.
    # For y_t = t (t = 0..29) every alpha on the grid gives a forecast; the best (0.99)
    # has level ~ 29 - 0.01 / 0.99 and forecast_k ~ 29 + 0.5 (k - 1 + 1 / 0.99) (+/- 0.02).
    y = np.arange(30.0)
    out = MODELS["theta"](y, np.array([29]), 3, 12)[0]
    expected = 29 + 0.5 * (np.arange(3) + 1 / 0.99)
    np.testing.assert_allclose(out, expected, atol=0.05)


def test_seasonal_naive_scale_by_hand():
    y = np.r_[np.arange(12.0), np.arange(12.0) + 3]  # every |y[t] - y[t-12]| = 3
    assert seasonal_naive_scale(y) == 3.0
    assert seasonal_naive_scale(np.array([1.0, 4.0, 2.0])) == 2.5  # (3 + 2) / 2, below 13 points
    assert seasonal_naive_scale(np.zeros(5)) == 1.0


def test_kpss_statistic_matches_statsmodels():
    import warnings

    from statsmodels.tsa.stattools import kpss

    rng = np.random.default_rng(3)
    for z in (rng.normal(size=80), np.cumsum(rng.normal(size=50))):
        lags = int(4 * (len(z) / 100) ** 0.25)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # statsmodels' p-value interpolation warning
            ref = kpss(z, regression="c", nlags=lags)[0]
        assert kpss_statistic(z) == pytest.approx(ref, rel=1e-9)


# --------------------------------------------------------------------------- intervals
def test_intervals_cover_near_nominal_on_simulated_noise():
    # level 100 plus N(0, 10^2) noise: 40 series x 6 months = 240 checks per level
    rng = np.random.default_rng(7)
    hits80 = hits95 = total = 0
    for _ in range(40):
        y = 100 + 10 * rng.normal(size=66)
        fc = forecast(monthly(y[:60]), horizon=6)
        actual = y[60:]
        hits80 += int(((actual >= fc["lo80"]) & (actual <= fc["hi80"])).sum())
        hits95 += int(((actual >= fc["lo95"]) & (actual <= fc["hi95"])).sum())
        total += 6
    assert 0.70 <= hits80 / total <= 0.92
    assert 0.87 <= hits95 / total <= 1.0


# --------------------------------------------------------------------------- point in time
@pytest.mark.parametrize("name", [*MODELS, "snaive_drift"])
def test_models_read_nothing_after_the_origin(name):
    from salesreport.forecast.models import snaive_drift

    model = {**MODELS, "snaive_drift": snaive_drift}[name]
    rng = np.random.default_rng(1)
    y = 50 + np.tile(PATTERN, 5) + rng.normal(size=60)
    origins = np.arange(10, 59, 4)
    full = model(y, origins, 12, 12)
    for i, o in enumerate(origins):
        alone = model(y[: o + 1], np.array([o]), 12, 12)
        np.testing.assert_array_equal(full[i], alone[0])


def test_backtest_forecasts_do_not_change_with_later_data():
    rng = np.random.default_rng(2)
    y = monthly(80 + np.tile(PATTERN, 5) + 3 * rng.normal(size=60))
    later = y.copy()
    later.iloc[-6:] *= 3  # months 55..59 changed
    a, b = backtest(y), backtest(later)
    cutoff = y.index[-7]  # origins up to month 53 saw none of the change
    key = ["model", "origin", "horizon"]
    a = a[a["origin"] <= cutoff].set_index(key)["forecast"]
    b = b[b["origin"] <= cutoff].set_index(key)["forecast"]
    assert len(a) > 0 and SELECTED in a.index.get_level_values("model")
    pd.testing.assert_series_equal(a.sort_index(), b.sort_index())


def test_backtest_shape_and_origins():
    y = monthly(np.tile(PATTERN, 4) + np.arange(48))
    bt = backtest(y, horizon=3, origins=5)
    assert list(bt.columns) == ["model", "origin", "horizon", "period", "actual", "forecast"]
    assert set(bt["model"]) == set(MODELS) | {SELECTED}
    # origins: the 5 months before the last (2023-07 .. 2023-11); only known actuals
    assert sorted(set(bt["origin"].astype(str))) == [f"2023-{m:02d}" for m in range(7, 12)]
    assert (bt["period"] <= y.index[-1]).all()
    assert ((bt["period"] - bt["origin"]).apply(lambda d: d.n) == bt["horizon"]).all()
    sel = bt[bt["model"] == SELECTED]
    assert len(sel) == 3 + 3 + 3 + 2 + 1  # origins 11, 12, 13 months back ... 1 month back
    merged = bt.merge(y.rename("y"), left_on="period", right_index=True)
    np.testing.assert_array_equal(merged["actual"], merged["y"])


# --------------------------------------------------------------------------- outputs
def test_candidates_frame_has_one_selected_block():
    y = monthly(np.tile(PATTERN, 3) * 1.5 + np.arange(36))
    cand = forecast_candidates(y, horizon=4)
    assert list(cand.columns) == [
        "period",
        "model",
        "selected",
        "point",
        "lo80",
        "hi80",
        "lo95",
        "hi95",
    ]
    chosen = cand[cand["selected"]]
    assert chosen["model"].nunique() == 1 and len(chosen) == 4
    for _, block in cand.groupby("model"):
        assert_valid(block, 4)
    fc = forecast(y, horizon=4)
    assert fc["model"].iloc[0] == chosen["model"].iloc[0]
    assert list(fc.columns) == ["period", "model", "point", "lo80", "hi80", "lo95", "hi95"]


def test_forecast_and_backtest_equals_the_two_calls():
    y = monthly(40 + np.tile(PATTERN, 3) + np.random.default_rng(5).normal(size=36))
    cand, bt, notes = forecast_and_backtest(y, horizon=5)
    pd.testing.assert_frame_equal(cand, forecast_candidates(y, horizon=5))
    pd.testing.assert_frame_equal(bt, backtest(y, horizon=5))
    assert notes == []


def test_forecast_many_stacks_columns():
    idx = pd.period_range("2021-01", periods=30, freq="M")
    frame = pd.DataFrame({"smb": np.arange(30.0) + 5, "ent": np.full(30, 7.0)}, index=idx)
    out = forecast_many(frame, horizon=2)
    assert list(out["series"]) == ["smb", "smb", "ent", "ent"]
    np.testing.assert_allclose(out.loc[out["series"] == "ent", "point"], 7.0)


def test_levels_name_the_columns():
    fc = forecast(monthly(np.arange(1.0, 31.0)), horizon=2, levels=(50, 90))
    assert list(fc.columns[-4:]) == ["lo50", "hi50", "lo90", "hi90"]


# --------------------------------------------------------------------------- degenerate inputs
def test_constant_series_forecasts_the_constant():
    fc = forecast(monthly(np.full(36, 50.0)), horizon=3)
    assert_valid(fc, 3)
    np.testing.assert_allclose(fc["point"], 50.0)


def test_all_zero_series_forecasts_zero():
    fc = forecast(monthly(np.zeros(24)), horizon=3)
    assert_valid(fc, 3)
    assert (fc[["point", "lo95", "hi95"]].to_numpy() == 0).all()


@pytest.mark.parametrize("n", [1, 2, 3, 6, 13, 18, 24])
def test_short_series_never_fail(n):
    y = monthly(100 + np.tile(PATTERN, 3)[:n])
    fc = forecast(y, horizon=12)
    assert_valid(fc, 12)
    assert fc["period"].iloc[0] == y.index[-1] + 1


def test_no_nan_and_ordered_on_awkward_series():
    rng = np.random.default_rng(11)
    spiky = 100 + 5 * rng.normal(size=48)
    spiky[30] = 2000  # an outlier
    intermittent = np.where(rng.random(40) < 0.5, 0.0, rng.gamma(2, 50, 40))
    shift = np.r_[np.tile(PATTERN, 2), np.tile(PATTERN[::-1], 2) * 3]  # changing seasonality
    negative = np.sin(np.arange(40)) * 10 - 3
    decline = np.maximum(0, 500 - 20 * np.arange(30)) + 1.0
    for y in (spiky, intermittent, shift, negative, decline):
        assert_valid(forecast(monthly(y), horizon=12), 12)


def test_points_are_clipped_at_zero_only_without_negative_history():
    decline = 400 - 15 * np.arange(30.0)  # 400 .. -35 would continue negative
    fc_pos = forecast(monthly(np.maximum(decline, 1.0)), horizon=12)
    assert (fc_pos[["point", "lo80", "lo95"]] >= 0).all().all()
    fc_neg = forecast(monthly(decline), horizon=12)
    assert (fc_neg["point"] < 0).any()


def test_missing_months_are_filled_with_zero_and_said():
    y = monthly(np.arange(1.0, 25.0))
    gappy = y.drop(y.index[[5, 6]])
    series, notes = prepare_series(gappy)
    assert len(series) == 24 and series.iloc[5] == 0 and series.iloc[6] == 0
    assert any("2 missing month(s) filled with 0" in n and "2020-06" in n for n in notes)
    assert_valid(forecast(gappy, horizon=3), 3)


def test_missing_values_and_leading_zeros_are_said():
    y = monthly([0, 0, 5, np.nan, 7, 8])
    series, notes = prepare_series(y)
    assert series.index[0] == pd.Period("2020-03", "M")
    np.testing.assert_array_equal(series.to_numpy(), [5, 0, 7, 8])
    assert len(notes) == 2


def test_datetime_index_gives_the_same_forecast():
    y = monthly(np.tile(PATTERN, 3) + np.arange(36))
    as_dates = pd.Series(y.to_numpy(), index=y.index.to_timestamp())
    pd.testing.assert_frame_equal(forecast(as_dates, horizon=3), forecast(y, horizon=3))


@pytest.mark.parametrize(
    ("series", "message"),
    [
        (pd.Series([], dtype=float), "empty"),
        (pd.Series([1.0, 2.0]), "PeriodIndex"),
        (pd.Series([1.0, 2.0], index=pd.PeriodIndex(["2020Q1", "2020Q2"], freq="Q")), "monthly"),
        (pd.Series([1.0, 2.0], index=pd.PeriodIndex(["2020-01", "2020-01"], freq="M")), "twice"),
        (
            pd.Series([1.0, np.inf], index=pd.period_range("2020-01", periods=2, freq="M")),
            "infinite",
        ),
        (
            pd.Series([np.nan, np.nan], index=pd.period_range("2020-01", periods=2, freq="M")),
            "no values",
        ),
        (pd.Series(["a", "b"], index=pd.period_range("2020-01", periods=2, freq="M")), "numeric"),
    ],
)
def test_bad_series_are_refused_with_a_reason(series, message):
    with pytest.raises(ValueError, match=message):
        prepare_series(series)
