"""The report context: monthly revenue targets for the forecast chart, save/load round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.context import monthly_revenue_targets, periods_as_text
from salesreport.params import validate_params
from salesreport.tables import Tables


def test_monthly_revenue_targets_follow_the_kpi_rules_into_the_forecast_horizon():
    params = validate_params(
        {
            "team": "t",
            "targets": [
                {"metric": "revenue", "period": "2026", "value": 120.0},
                {"metric": "revenue", "period": "2027-Q1", "value": 30.0},
            ],
        }
    )
    targets = pd.DataFrame(
        {
            "period": ["2026-11"],
            "metric": ["revenue"],
            "value": [50.0],
            "rep_id": [None],
            "region": [None],
        }
    )
    out = monthly_revenue_targets(Tables(targets=targets), params, "2026-10", horizon=4)
    got = dict(zip(out["period"], out["target"], strict=True))
    # 2026: 120 / 12 = 10 a month, except November set by the table (50);
    # 2027-Q1: 30 / 3 = 10 a month; February 2027 is the horizon's last month
    assert got["2026-10"] == 10 and got["2026-11"] == 50 and got["2026-12"] == 10
    assert got["2027-01"] == 10 and got["2027-02"] == 10
    assert "2027-03" not in got and "2025-12" not in got  # outside the horizon; no 2025 target


def test_periods_are_written_as_text():
    df = pd.DataFrame(
        {
            "p": pd.period_range("2026-01", periods=2, freq="M"),
            "o": [pd.Period("2026-03", "M"), None],
        }
    )
    out = periods_as_text(df)
    assert out["p"].tolist() == ["2026-01", "2026-02"] and out["o"].tolist() == ["2026-03", None]


def test_a_yaml_segment_the_data_lacks_is_a_note_not_a_failed_run():
    """forecast.segments and cohorts.segment_by name columns the data may not have (orders'
    region and segment are optional): the run goes on and says why those views are empty."""
    from salesreport.context import build_context
    from tests.conftest_data import make_params

    months = pd.period_range("2024-01", "2026-10", freq="M")
    orders = pd.DataFrame(
        {
            "order_id": [f"X{i}" for i in range(len(months))],
            "account_id": [f"A{i % 5}" for i in range(len(months))],
            "order_date": months.to_timestamp(),
            "amount": 100.0 + np.arange(len(months)),
        }
    )
    params = make_params(forecast={"segments": ["region"]}, cohorts={"segment_by": ["segment"]})
    ctx = build_context(params, Tables(orders=orders), "2026-10")
    unavailable = ctx.notes["unavailable"]
    assert (
        "needs a 'region' column in the orders table" in unavailable["segment forecasts by region"]
    )
    assert "cannot segment customers by 'segment'" in unavailable["cohorts by segment"]
    assert len(ctx.frames["cohorts"]) and len(ctx.frames["forecast"])  # the rest is there
