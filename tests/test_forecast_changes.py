"""What changed since last month's forecast (salesreport.forecast.changes), on a hand-made ledger."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesreport.forecast.changes import forecast_changes, members


def rows(made_in: str, model: str, selected: bool, values: dict[str, float]) -> pd.DataFrame:
    per = pd.PeriodIndex(list(values), freq="M")
    return pd.DataFrame(
        {
            "team": "t",
            "made_in": pd.Period(made_in, "M"),
            "model": model,
            "selected": selected,
            "period": per,
            "horizon": [(p - pd.Period(made_in, "M")).n for p in per],
            "point": list(values.values()),
        }
    )


def hand_ledger() -> pd.DataFrame:
    # September's report: ensemble(ets,theta) for Oct..Jan
    sep = rows(
        "2026-09",
        "ensemble(ets,theta)",
        True,
        {"2026-10": 100, "2026-11": 110, "2026-12": 120, "2027-01": 90},
    )
    # October's report: candidates and its selection ensemble(theta,arima) for Nov..Feb
    ets = rows(
        "2026-10", "ets", False, {"2026-11": 120, "2026-12": 130, "2027-01": 100, "2027-02": 95}
    )
    theta = rows(
        "2026-10", "theta", False, {"2026-11": 110, "2026-12": 126, "2027-01": 96, "2027-02": 93}
    )
    arima = rows(
        "2026-10", "arima", False, {"2026-11": 104, "2026-12": 118, "2027-01": 94, "2027-02": 91}
    )
    sel = rows(
        "2026-10",
        "ensemble(theta,arima)",
        True,
        {"2026-11": 107, "2026-12": 122, "2027-01": 95, "2027-02": 92},
    )
    return pd.concat([sep, ets, theta, arima, sel], ignore_index=True)


def test_members_of_a_selected_method():
    assert members("ensemble(ets,theta,arima)") == ["ets", "theta", "arima"]
    assert members("snaive") == ["snaive"]


def test_month_over_month_change_by_hand():
    actuals = pd.Series([80.0, 95.0, 112.0], index=pd.period_range("2026-08", periods=3, freq="M"))
    out = forecast_changes(hand_ledger(), actuals, "2026-10").set_index("period")
    # October itself: forecast 100 in September, actual 112: +12, all from the new actual
    assert out.loc[
        "2026-10", ["last_month", "this_month", "change", "from_actuals", "from_model"]
    ].tolist() == [100, 112, 12, 12, 0]
    # November: September said 110; September's method (mean of ets, theta) now says
    # (120 + 110) / 2 = 115 -> +5 from the new actuals; October's selection says 107 -> -8
    nov = out.loc["2026-11"]
    assert (nov["last_month"], nov["this_month"]) == (110, 107)
    assert (nov["from_actuals"], nov["from_model"], nov["change"]) == (5, -8, -3)
    # December: 120 -> rerun (130 + 126) / 2 = 128 -> 122
    dec = out.loc["2026-12"]
    assert (dec["from_actuals"], dec["from_model"], dec["change"]) == (8, -6, 2)
    # Q4 (Oct-Dec): last month 100 + 110 + 120 = 330; now 112 + 107 + 122 = 341;
    # re-run 112 + 115 + 128 = 355: +25 from actuals (12 + 5 + 8), -14 from the model
    q4 = out.loc["2026-Q4"]
    assert (q4["kind"], q4["last_month"], q4["this_month"]) == ("quarter", 330, 341)
    assert (q4["from_actuals"], q4["from_model"], q4["change"]) == (25, -14, 11)
    # February is not in September's forecast, and 2027-Q1 is not covered to its end by it
    assert "2027-02" not in out.index and "2027-Q1" not in out.index
    assert set(out["last_method"]) == {"ensemble(ets,theta)"}
    assert set(out["this_method"]) == {"ensemble(theta,arima)"}


def test_split_is_empty_when_this_month_lacks_last_months_models():
    lg = hand_ledger()
    lg = lg[lg["model"] != "ets"]
    actuals = pd.Series([112.0], index=pd.PeriodIndex(["2026-10"], freq="M"))
    out = forecast_changes(lg, actuals, "2026-10").set_index("period")
    assert out.loc["2026-11", "change"] == -3
    assert np.isnan(out.loc["2026-11", "from_actuals"]) and np.isnan(
        out.loc["2026-11", "from_model"]
    )


def test_no_change_without_last_months_forecast():
    lg = hand_ledger()
    out = forecast_changes(
        lg[lg["made_in"] == pd.Period("2026-10", "M")], pd.Series(dtype=float), "2026-10"
    )
    assert out.empty
    assert forecast_changes(None, pd.Series(dtype=float), "2026-10").empty


@pytest.mark.parametrize("month", ["2026-10"])
def test_change_adds_up(month):
    actuals = pd.Series([112.0], index=pd.PeriodIndex([month], freq="M"))
    out = forecast_changes(hand_ledger(), actuals, month)
    np.testing.assert_allclose(out["from_actuals"] + out["from_model"], out["change"])
