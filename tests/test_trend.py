"""Trend analysis: growth and moving averages by hand, STL anomalies with reasons."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from salesreport.forecast.trend import TREND_COLUMNS, robust_sigma, trend_table


def months(n: int, start: str = "2024-01") -> pd.PeriodIndex:
    return pd.period_range(start, periods=n, freq="M", name="period")


def test_growth_and_moving_averages_by_hand_on_a_short_series():
    # 14 months valued 1, 2, ..., 14
    y = pd.Series(np.arange(1.0, 15.0), index=months(14))
    out = trend_table(y)
    assert list(out.columns) == TREND_COLUMNS
    assert out.index.equals(y.index)
    # mom: 2/1 - 1 = 1; 3/2 - 1 = 0.5
    assert math.isnan(out["mom_growth"].iloc[0])
    assert out["mom_growth"].iloc[1] == pytest.approx(1.0)
    assert out["mom_growth"].iloc[2] == pytest.approx(0.5)
    # yoy: month 13 (value 13) over month 1 (value 1): 13/1 - 1 = 12; month 14: 14/2 - 1 = 6
    assert out["yoy_growth"].iloc[:12].isna().all()
    assert out["yoy_growth"].iloc[12] == pytest.approx(12.0)
    assert out["yoy_growth"].iloc[13] == pytest.approx(6.0)
    # ma3 at month 3: (1+2+3)/3 = 2; at month 14: (12+13+14)/3 = 13
    assert out["ma3"].iloc[:2].isna().all()
    assert out["ma3"].iloc[2] == pytest.approx(2.0)
    assert out["ma3"].iloc[13] == pytest.approx(13.0)
    # ma12 at month 12: (1+...+12)/12 = 6.5; at month 14: (3+...+14)/12 = 102/12 = 8.5
    assert out["ma12"].iloc[:11].isna().all()
    assert out["ma12"].iloc[11] == pytest.approx(6.5)
    assert out["ma12"].iloc[13] == pytest.approx(8.5)
    # too short for STL: empty STL columns, no flags, and a note saying why
    assert out["stl_trend"].isna().all() and not out["anomaly"].any()
    assert out["note"].str.contains("at least 24 months").all()
    assert any("24 months" in n for n in out.attrs["notes"])


def test_growth_after_a_zero_month_is_empty():
    y = pd.Series([5.0, 0.0, 7.0], index=months(3))
    out = trend_table(y)
    assert out["mom_growth"].iloc[1] == pytest.approx(-1.0)  # 0/5 - 1
    assert math.isnan(out["mom_growth"].iloc[2])  # 7/0: empty, never inf


def seasonal_series(n: int = 36, seed: int = 1) -> pd.Series:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    v = 1000 + 10 * t + 100 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 20, n)
    return pd.Series(v, index=months(n))


def test_an_injected_spike_is_flagged_with_a_reason():
    y = seasonal_series()
    spike = y.index[20]
    y[spike] += 2000  # about 3x the month's usual ~1200
    out = trend_table(y, anomaly_z=3.0)
    assert out.index[out["anomaly"]].tolist() == [spike]
    row = out.loc[spike]
    assert row["robust_z"] > 3
    assert row["actual"] > row["upper"]
    reason = row["reason"]
    # "revenue 2.7x the expected 1,199 (band ... to ...): 27.3 robust SDs above the STL fit"
    ratio = row["actual"] / row["expected"]
    assert reason.startswith(f"revenue {ratio:.1f}x the expected ")
    assert reason.endswith(f"{row['robust_z']:.1f} robust SDs above the STL fit")
    assert (out.loc[~out["anomaly"], "reason"] == "").all()
    # STL parts add back up to the series
    np.testing.assert_allclose(
        out["stl_trend"] + out["stl_seasonal"] + out["stl_resid"], out["actual"], rtol=1e-9
    )
    assert out.attrs["notes"] == []


def test_a_dip_is_flagged_below():
    y = seasonal_series(seed=2)
    dip = y.index[30]
    y[dip] = 100.0
    out = trend_table(y)
    assert dip in out.index[out["anomaly"]]
    assert out.loc[dip, "reason"].endswith("robust SDs below the STL fit")


def test_a_higher_threshold_flags_less():
    y = seasonal_series(seed=3)
    y[y.index[10]] += 150  # a moderate bump
    low = trend_table(y, anomaly_z=2.0)["anomaly"].sum()
    high = trend_table(y, anomaly_z=50.0)["anomaly"].sum()
    assert high == 0 and low >= high


def test_robust_sigma_by_hand():
    # residuals 1, 2, 3, 4, 100: median 3, |dev| 2, 1, 0, 1, 97 -> MAD 1 -> sigma 1.4826
    med, sigma = robust_sigma(np.array([1.0, 2.0, 3.0, 4.0, 100.0]))
    assert med == 3.0 and sigma == pytest.approx(1.4826)
    # MAD 0 (most equal): 1.2533 x mean |dev| = 1.2533 * (0 + 0 + 0 + 10) / 4
    med, sigma = robust_sigma(np.array([5.0, 5.0, 5.0, 15.0]))
    assert med == 5.0 and sigma == pytest.approx(1.2533 * 2.5)
    assert robust_sigma(np.zeros(4)) == (0.0, 0.0)


def test_bad_inputs_are_refused_with_a_reason():
    y = pd.Series([1.0, np.nan, 3.0], index=months(3))
    with pytest.raises(ValueError, match="no value"):
        trend_table(y)
    gappy = pd.Series([1.0, 2.0], index=pd.PeriodIndex(["2024-01", "2024-03"], freq="M"))
    with pytest.raises(ValueError, match="not consecutive"):
        trend_table(gappy)
    with pytest.raises(ValueError, match="PeriodIndex"):
        trend_table(pd.Series([1.0, 2.0]))


def test_an_ordinary_seasonal_series_has_no_anomalies():
    # trend + season + noise (sd 20), no injected anomaly: nothing is 3 robust SDs out
    for seed in (4, 5, 6):
        out = trend_table(seasonal_series(n=48, seed=seed))
        assert not out["anomaly"].any()
        assert (out["reason"] == "").all() and (out["note"] == "").all()
