"""Forecasting: candidate models, nested rolling-origin selection, calibrated intervals.

The names below are imported from their modules on first use (PEP 562): the run's own
process reads the ledgers and the pipeline forecast's columns here, and leaves the models
(scipy, statsmodels, scikit-learn) to the forecast process (:mod:`.process`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

#: each public name and the module it comes from
_WHERE = {
    "accuracy_table": "accuracy",
    "forecast_kpis": "accuracy",
    "score_submissions": "accuracy",
    "forecast_changes": "changes",
    "SELECTED": "core",
    "backtest": "core",
    "calibrate_intervals": "core",
    "forecast": "core",
    "forecast_and_backtest": "core",
    "forecast_bundle": "core",
    "forecast_candidates": "core",
    "forecast_many": "core",
    "prepare_series": "core",
    "read_ledger": "ledger",
    "record_forecasts": "ledger",
    "MODELS": "models",
    "seasonal_naive_scale": "models",
    "score_chances": "targets",
    "target_chances": "targets",
    "trend_table": "trend",
}

# imported now: light (pandas), and each has a function named as its module, which
# importing the module later would otherwise put in the function's place
from salesreport.forecast.pipeline_forecast import (  # noqa: E402
    pipeline_backtest,
    pipeline_forecast,
    stage_win_rates,
)
from salesreport.forecast.reconcile import reconcile  # noqa: E402

__all__ = [
    "MODELS",
    "SELECTED",
    "accuracy_table",
    "backtest",
    "calibrate_intervals",
    "forecast",
    "forecast_and_backtest",
    "forecast_bundle",
    "forecast_candidates",
    "forecast_changes",
    "forecast_kpis",
    "forecast_many",
    "pipeline_backtest",
    "pipeline_forecast",
    "prepare_series",
    "read_ledger",
    "reconcile",
    "record_forecasts",
    "score_chances",
    "score_submissions",
    "seasonal_naive_scale",
    "stage_win_rates",
    "target_chances",
    "trend_table",
]  # the keys of _WHERE


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


if TYPE_CHECKING:  # what type checkers and editors see
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
    from salesreport.forecast.targets import score_chances, target_chances
    from salesreport.forecast.trend import trend_table
