"""Chance of reaching a target, the likely range, Brier scoring (salesreport.forecast.targets)."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from salesreport.forecast.core import Outlook
from salesreport.forecast.targets import open_periods, score_chances, target_chances

Z90 = NormalDist().inv_cdf(0.9)


def outlook(gamma: float, months: int = 3, start: str = "2026-10") -> Outlook:
    """Normal marginals: 100 a month with standard deviation 10, from ``start``."""
    return Outlook(
        periods=pd.period_range(start, periods=months, freq="M"),
        point=np.full(months, 100.0),
        half_scale=np.full(months, 10.0),
        history=60,
        gamma=gamma,
        floor=-np.inf,
        normal=True,
    )


def targets(values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({"period": list(values), "target": list(values.values())})


def test_open_periods_calendar_and_fiscal():
    m = pd.Period("2026-09", "M")
    assert open_periods(m, 12) == [
        ("2026-Q4", "quarter"),
        ("2027-Q1", "quarter"),
        ("2027-Q2", "quarter"),
        ("2027-Q3", "quarter"),
        ("2026", "year"),
    ]
    # fiscal year from April: October 2026 is in FY2027's third quarter; FY2027 ends March 2027
    assert open_periods(m, 7, fy_start=4) == [
        ("2027-Q3", "quarter"),
        ("2027-Q4", "quarter"),
        ("2027", "year"),
    ]


def test_target_certain_and_impossible():
    y = pd.Series([90.0, 95.0, 80.0], index=pd.period_range("2026-07", periods=3, freq="M"))
    ok = target_chances(outlook(1.0), y, targets({"2026-10": 0.0, "2026-11": 0.0, "2026-12": 0.0}))
    assert ok.loc[ok["period"] == "2026-Q4", "chance"].item() == 1.0
    big = {m: 1e9 for m in ("2026-10", "2026-11", "2026-12")}
    no = target_chances(outlook(1.0), y, targets(big))
    assert no.loc[no["period"] == "2026-Q4", "chance"].item() == 0.0


def test_chance_depends_on_the_correlation_between_months():
    # Q4 = three months of 100 +/- 10. Target 300 + 30 * z90:
    # months moving together (gamma 0, rho 1): sd 30, chance 10%;
    # independent months (gamma 60: rho <= (2/3)^60 ~ 0): sd 10 sqrt(3), chance
    # 1 - Phi(30 z90 / (10 sqrt 3)) = 1 - Phi(2.2198) = 1.32%
    t = 300 + 30 * Z90
    tg = targets({"2026-10": t / 3, "2026-11": t / 3, "2026-12": t / 3})
    y = pd.Series([1.0], index=pd.PeriodIndex(["2026-09"], freq="M"))
    together = target_chances(outlook(0.0), y, tg)
    apart = target_chances(outlook(60.0), y, tg)
    assert together["chance"].iloc[0] == pytest.approx(0.10, abs=0.012)
    assert apart["chance"].iloc[0] == pytest.approx(
        1 - NormalDist().cdf(30 * Z90 / (10 * 3**0.5)), abs=0.006
    )
    # the likely range (10th-90th percentile) is 300 -/+ 30 z90 when the months move together
    assert together["lo80"].iloc[0] == pytest.approx(300 - 30 * Z90, rel=0.01)
    assert together["hi80"].iloc[0] == pytest.approx(300 + 30 * Z90, rel=0.01)


def test_known_months_count_at_their_actual_revenue():
    # report month 2026-11 (forecast from December): Q4 = Oct + Nov actuals + December
    y = pd.Series([50.0, 70.0, 30.0], index=pd.period_range("2026-09", periods=3, freq="M"))
    o = outlook(1.0, months=1, start="2026-12")
    out = target_chances(o, y, targets({"2026-10": 100.0, "2026-11": 100.0, "2026-12": 100.0}))
    q4 = out[out["period"] == "2026-Q4"].iloc[0]
    assert q4["months_known"] == 2
    assert q4["actual_to_date"] == 100.0  # 70 + 30
    assert q4["expected"] == pytest.approx(200.0, abs=1.0)  # + December's 100
    # reaching 300 needs December >= 200: ten standard deviations away
    assert q4["chance"] == 0.0
    year = out[out["period"] == "2026"].iloc[0]
    assert np.isnan(year["target"]) and np.isnan(year["chance"])  # no target for Jan-Sep
    assert year["actual_to_date"] == 150.0  # only Sep..Nov are in the series


def test_brier_score_of_closed_periods_by_hand():
    stated = pd.DataFrame(
        {
            "made_in": ["2026-06", "2026-07", "2026-08"],
            "period": ["2026-Q3", "2026-Q3", "2026-Q4"],
            "kind": ["quarter"] * 3,
            "first_month": ["2026-07", "2026-07", "2026-10"],
            "last_month": ["2026-09", "2026-09", "2026-12"],
            "target": [300.0, 400.0, 300.0],
            "chance": [0.8, 0.3, 0.5],
        }
    )
    y = pd.Series([100.0, 110.0, 120.0], index=pd.period_range("2026-07", periods=3, freq="M"))
    scored = score_chances(stated, y, "2026-09")
    # Q3 revenue 330: reached 300 (outcome 1), missed 400 (0); Q4 is not over
    assert scored["outcome"].tolist() == [1.0, 0.0]
    np.testing.assert_allclose(scored["brier"], [0.2**2, 0.3**2])
    assert scored["brier"].mean() == pytest.approx((0.04 + 0.09) / 2)


def test_expected_is_the_forecast_not_the_paths_mean():
    # Q4 forecast 10 a month with a spread of 40 and revenue never below 0: the paths are cut
    # at 0, so their mean is far above the forecast (for one month, E[max(0, 10 + 40 Z)] =
    # 10 Phi(0.25) + 40 phi(0.25) = 5.987 + 15.467 = 21.45, not 10); and a 2-month history's
    # Student t(1) marginals have no mean at all. Expected = what is known (September's 7
    # is before the quarter) plus the forecast: 0 + 3 x 10 = 30, the figure the executive
    # page's quarter view adds up from the same forecast.
    y = pd.Series([7.0], index=pd.PeriodIndex(["2026-09"], freq="M"))
    tg = targets({"2026-10": 10.0, "2026-11": 10.0, "2026-12": 10.0})
    for history in (60, 2):
        o = Outlook(
            periods=pd.period_range("2026-10", periods=3, freq="M"),
            point=np.full(3, 10.0),
            half_scale=np.full(3, 40.0),
            history=history,
            gamma=1.0,
            floor=0.0,
            normal=True,
        )
        q4 = target_chances(o, y, tg).iloc[0]
        assert q4["period"] == "2026-Q4"
        assert q4["expected"] == 30.0
        assert q4["lo80"] <= q4["expected"] <= q4["hi80"]
        # the paths themselves: their mean is well above the forecast (the cut at 0)
        totals = o.paths()[:, :3].sum(axis=1)
        assert totals.mean() > 45.0
    # known months count at their actual revenue: report month November, December to come
    y2 = pd.Series([70.0, 30.0], index=pd.period_range("2026-10", periods=2, freq="M"))
    o = Outlook(
        periods=pd.PeriodIndex(["2026-12"], freq="M"),
        point=np.array([12.5]),
        half_scale=np.array([40.0]),
        history=60,
        gamma=1.0,
        floor=0.0,
        normal=True,
    )
    assert target_chances(o, y2, tg).iloc[0]["expected"] == 112.5  # 70 + 30 + 12.5
