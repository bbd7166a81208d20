"""``kpi_status``: red, amber and green against target, worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.kpis import kpi_status
from salesreport.params import TeamParams


def test_kpi_status_codes_give_the_shared_status_values():
    rows = [
        # metric, value, target: r = value / target (revenue: higher is better)
        ("revenue", 120.0, 100.0),  # 1.2 >= 1.0 -> green
        ("revenue", 90.0, 100.0),  # 0.9 >= 0.9 -> amber
        ("revenue", 89.0, 100.0),  # 0.89 -> red
        ("revenue", 5.0, 0.0),  # target <= 0: 5 >= 0 -> green
        ("revenue", -5.0, 0.0),  # target <= 0: -5 < 0 -> red
        ("revenue", np.nan, 100.0),  # no value -> empty
        ("revenue", 100.0, np.nan),  # no target -> empty
        # sales_cycle_days: lower is better, r = target / value
        ("sales_cycle_days", 40.0, 45.0),  # 45 / 40 = 1.125 -> green
        ("sales_cycle_days", 50.0, 45.0),  # 45 / 50 = 0.9 -> amber
        ("sales_cycle_days", 60.0, 45.0),  # 45 / 60 = 0.75 -> red
        ("sales_cycle_days", 0.0, 45.0),  # value <= 0 counts as meeting it -> green
        ("sales_cycle_days", 3.0, -1.0),  # target <= 0: 3 <= -1 is false -> red
    ]
    k = pd.DataFrame(
        {
            "metric": [r[0] for r in rows],
            "window": "month",
            "period": "2026-03",
            "segment": "all",
            "value": [r[1] for r in rows],
            "target": [r[2] for r in rows],
            "prior": np.nan,
            "unit": "EUR",
        }
    )
    s = kpi_status(k, TeamParams.model_validate({"team": "t"}))
    expect = ["green", "amber", "red", "green", "red", None, None]
    expect += ["green", "amber", "red", "green", "red"]
    assert s["status"].tolist() == expect
    assert s["status"].dtype == object
    assert list(k.columns) == [*s.columns[:8]]  # kpis itself gains no column
