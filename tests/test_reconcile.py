"""Reconciliation: segments add up to the total, by hand and on random forecasts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from salesreport.forecast.reconcile import reconcile

PERIODS = pd.period_range("2026-04", periods=2, freq="M", name="period")


def fc(points, half80=0.1, half95=0.2, model="m") -> pd.DataFrame:
    p = np.asarray(points, dtype=float)
    return pd.DataFrame(
        {
            "period": PERIODS[: len(p)],
            "model": model,
            "point": p,
            "lo80": p * (1 - half80),
            "hi80": p * (1 + half80),
            "lo95": p * (1 - half95),
            "hi95": p * (1 + half95),
        }
    )


def test_proportional_by_hand():
    team = fc([1200.0, 900.0])
    segs = {"region=DE": fc([600.0, 300.0]), "region=UK": fc([400.0, 300.0])}
    out = reconcile(team, segs)
    # month 1: segments sum 1000, team 1200 -> r = 1.2: DE 720, UK 480
    # month 2: segments sum 600, team 900 -> r = 1.5: DE 450, UK 450
    assert out["region=DE"]["point"].tolist() == pytest.approx([720.0, 450.0])
    assert out["region=UK"]["point"].tolist() == pytest.approx([480.0, 450.0])
    # bounds scaled by the same r: DE lo80 month 1 = 540 x 1.2 = 648; hi95 = 720 x 1.2 = 864
    assert out["region=DE"]["lo80"].iloc[0] == pytest.approx(648.0)
    assert out["region=DE"]["hi95"].iloc[0] == pytest.approx(864.0)
    pd.testing.assert_frame_equal(out["all"], team.reset_index(drop=True), check_dtype=False)
    assert list(out["region=DE"].columns) == list(team.columns)


def test_bottom_up_by_hand():
    team = fc([1200.0, 900.0])
    segs = {"a": fc([600.0, 300.0], 0.1, 0.2), "b": fc([400.0, 300.0], 0.1, 0.2)}
    out = reconcile(team, segs, method="bottom_up")
    pd.testing.assert_frame_equal(out["a"], segs["a"], check_dtype=False)
    total = out["all"]
    assert total["point"].tolist() == [1000.0, 600.0]
    # lo80 month 1: 1000 - sqrt(60^2 + 40^2) = 1000 - 72.1110...
    assert total["lo80"].iloc[0] == pytest.approx(1000 - math.sqrt(60**2 + 40**2))
    # hi95 month 2: 600 + sqrt(60^2 + 60^2) = 600 + 84.8528...
    assert total["hi95"].iloc[1] == pytest.approx(600 + math.sqrt(2 * 60**2))


def test_proportional_sums_exactly_on_random_forecasts():
    rng = np.random.default_rng(11)
    periods = pd.period_range("2026-04", periods=12, freq="M")
    for _ in range(20):
        k = int(rng.integers(2, 8))

        def frame(p):
            return pd.DataFrame({"period": periods, "point": p, "lo95": p * 0.7, "hi95": p * 1.4})

        team = frame(rng.uniform(1e5, 1e7, 12))
        segs = {f"s{i}": frame(rng.uniform(0, 1e6, 12)) for i in range(k)}
        out = reconcile(team, segs)
        total = sum(out[f"s{i}"]["point"].to_numpy() for i in range(k))
        np.testing.assert_allclose(total, team["point"].to_numpy(), rtol=1e-13, atol=0)
        # each segment keeps its share of the month
        shares_in = segs["s0"]["point"] / sum(segs[f"s{i}"]["point"] for i in range(k))
        shares_out = out["s0"]["point"] / team["point"]
        np.testing.assert_allclose(shares_out, shares_in, rtol=1e-9)


def test_zero_segment_sum_splits_the_team_equally():
    team = fc([900.0, 600.0])
    segs = {"a": fc([0.0, 100.0]), "b": fc([0.0, 200.0]), "c": fc([0.0, 300.0])}
    out = reconcile(team, segs)
    # month 1: all segments 0 -> 900 / 3 each, bounds 1/3 of the team's
    assert [out[k]["point"].iloc[0] for k in "abc"] == pytest.approx([300.0] * 3)
    assert out["a"]["hi80"].iloc[0] == pytest.approx(990.0 / 3)
    # month 2: r = 600 / 600 = 1: unchanged
    assert [out[k]["point"].iloc[1] for k in "abc"] == pytest.approx([100.0, 200.0, 300.0])


def test_selected_rows_of_a_candidates_frame_are_used():
    cand = pd.concat(
        [
            fc([1000.0, 1000.0], model="ets").assign(selected=False),
            fc([1200.0, 900.0]).assign(selected=True),
        ]
    )
    out = reconcile(cand, {"a": fc([600.0, 300.0]), "b": fc([400.0, 300.0])})
    assert out["all"]["point"].tolist() == [1200.0, 900.0]


def test_mismatched_months_and_bad_method_are_refused():
    team = fc([1200.0, 900.0])
    with pytest.raises(ValueError, match="covers months"):
        reconcile(team, {"a": fc([600.0])})
    with pytest.raises(ValueError, match="unknown reconciliation method"):
        reconcile(team, {"a": fc([1.0, 2.0])}, method="middle_out")
    with pytest.raises(ValueError, match="lacks the columns"):
        reconcile(team, {"a": fc([1.0, 2.0]).drop(columns="hi95")})
