"""Forecast outlook sections (salesreport.outlook_views): titles state the finding."""

from __future__ import annotations

from html import unescape
from types import SimpleNamespace

import numpy as np
import pandas as pd

from salesreport import outlook_views as ov


def ctx(**frames) -> SimpleNamespace:
    params = SimpleNamespace(fiscal_year_start_month=1)
    return SimpleNamespace(frames=frames, currency="EUR", params=params, month="2026-10")


def test_target_title_states_chance_target_and_range():
    ch = pd.DataFrame(
        {
            "period": ["2026-Q4", "2026"],
            "kind": ["quarter", "year"],
            "actual_to_date": [1.6e6, 11.5e6],
            "target": [3.5e6, 14e6],
            "expected": [4.6e6, 14.5e6],
            "lo80": [4.2e6, 13.1e6],
            "hi80": [5.2e6, 14.6e6],
            "chance": [0.9987, 0.62],
        }
    )
    out = ov.target_section(ctx(forecast_targets=ch))
    assert "62% chance of reaching the €14M 2026 target; likely range €13.1M–€14.6M" in out[0]
    assert ">99%" in unescape(out[1])  # 99.87% is not a certainty


def test_change_title_splits_actuals_and_model():
    ch = pd.DataFrame(
        {
            "period": ["2026-11", "2026-Q4"],
            "kind": ["month", "quarter"],
            "last_month": [110.0, 330e3],
            "this_month": [107.0, 341e3],
            "change": [-3.0, 11e3],
            "from_actuals": [5.0, 25e3],
            "from_model": [-8.0, -14e3],
            "last_method": "ensemble(ets,theta)",
            "this_method": "ensemble(theta,arima)",
        }
    )
    title = unescape(ov.changes_section(ctx(forecast_changes=ch))[0])
    assert "Q4 2026 forecast rose €11k since last month, to €341k" in title
    assert "+€25k from October's actual revenue, -€14k from the model's revision" in title


def test_sections_say_what_is_missing():
    empty = ctx(forecast_changes=pd.DataFrame(), forecast_targets=pd.DataFrame())
    assert "no earlier forecast" in ov.changes_section(empty)[0]
    assert ov.executive_outlook(empty) == []
    head = ctx(forecast_headline=pd.DataFrame([{"value": np.nan, "months": 3}]))
    assert "Not enough months" in ov.headline_accuracy_section(head)[0]
