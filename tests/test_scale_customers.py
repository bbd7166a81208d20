"""Customer KPIs inside one KPI engine run (issue #7): the per-customer retention and new
customer revenue work is shared between segment columns; the values stay the hand ones."""

from __future__ import annotations

import pandas as pd
import pytest

from salesreport.customers import customer_kpis
from salesreport.kpis.core import shared_work
from salesreport.params import validate_params
from salesreport.periods import windows_frame
from salesreport.tables import Tables

# NRR at 2026-12: later = 2026-01..2026-12, earlier = 2025-01..2025-12
ROWS = [
    ("A", "2025-01-01", 100, "north"),  # earlier 100, later 150 (GRR caps it at 100)
    ("A", "2026-05-10", 150, "north"),
    ("B", "2025-12-31", 200, "south"),  # earlier 200, later 0
    ("E", "2025-06-01", 0, "south"),  # bought (amount 0) in the earlier window: included
    ("E", "2026-07-01", 40, "south"),
    ("D", "2026-12-15", 60, "north"),  # new in December 2026: 60 over 1 month
]


def _orders() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(len(ROWS))],
            "account_id": [r[0] for r in ROWS],
            "order_date": pd.to_datetime([r[1] for r in ROWS]),
            "amount": [float(r[2]) for r in ROWS],
            "region": [r[3] for r in ROWS],
        }
    )


def _value(out, metric, segment):
    sel = out[
        (out["metric"] == metric)
        & (out["window"] == "month")
        & (out["period"] == "2026-12")
        & (out["segment"] == segment)
    ]
    return sel["value"].iloc[0]


def test_segments_in_one_run_match_separate_runs_and_hand_values():
    tables = Tables(orders=_orders())
    params = validate_params({"team": "t"})
    windows = windows_frame("2026-12", 1)
    with shared_work():  # as the engine runs them: team first, then each segment column
        team = customer_kpis(tables, windows, params)
        region = customer_kpis(tables, windows, params, "region")
    alone = customer_kpis(tables, windows, params, "region")
    pd.testing.assert_frame_equal(region, alone)
    # team: NRR = (150 + 0 + 40) / (100 + 200 + 0); GRR = 100 / 300
    assert _value(team, "net_revenue_retention", "all") == pytest.approx(190 / 300)
    assert _value(team, "gross_revenue_retention", "all") == pytest.approx(100 / 300)
    # north: A only -> NRR 150 / 100, GRR 100 / 100; south: B, E -> (0 + 40) / 200, 0 / 200
    assert _value(region, "net_revenue_retention", "region=north") == pytest.approx(1.5)
    assert _value(region, "gross_revenue_retention", "region=north") == pytest.approx(1.0)
    assert _value(region, "net_revenue_retention", "region=south") == pytest.approx(0.2)
    assert _value(region, "gross_revenue_retention", "region=south") == pytest.approx(0.0)
