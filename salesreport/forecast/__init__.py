"""Forecasting: candidate models, nested rolling-origin selection, calibrated intervals."""

from salesreport.forecast.accuracy import accuracy_table, forecast_kpis, score_submissions
from salesreport.forecast.changes import forecast_changes
from salesreport.forecast.core import (
    SELECTED,
    backtest,
    calibrate_intervals,
    forecast,
    forecast_and_backtest,
    forecast_bundle,
    forecast_candidates,
    forecast_many,
    prepare_series,
)
from salesreport.forecast.ledger import read_ledger, record_forecasts
from salesreport.forecast.models import MODELS, seasonal_naive_scale
from salesreport.forecast.pipeline_forecast import (
    pipeline_backtest,
    pipeline_forecast,
    stage_win_rates,
)
from salesreport.forecast.reconcile import reconcile
from salesreport.forecast.targets import score_chances, target_chances
from salesreport.forecast.trend import trend_table

__all__ = [
    "accuracy_table",
    "forecast_kpis",
    "score_submissions",
    "read_ledger",
    "record_forecasts",
    "pipeline_backtest",
    "pipeline_forecast",
    "stage_win_rates",
    "reconcile",
    "trend_table",
    "MODELS",
    "SELECTED",
    "backtest",
    "calibrate_intervals",
    "forecast",
    "forecast_and_backtest",
    "forecast_bundle",
    "forecast_changes",
    "target_chances",
    "score_chances",
    "forecast_candidates",
    "forecast_many",
    "prepare_series",
    "seasonal_naive_scale",
]
