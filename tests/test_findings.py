"""The month's headline and tiles: the index and the executive page state the same."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport import findings
from tests.pages_context import page_context


def _rows(rows) -> pd.DataFrame:
    cols = ["metric", "window", "period", "value", "target", "prior", "status"]
    f = pd.DataFrame(rows, columns=cols).assign(segment="all", unit="x")
    return f.assign(benchmark=np.nan, yoy_change=np.nan)


def test_tiles_say_since_last_month_beside_since_last_year():
    # revenue this month 120, September 100, October 2025 80: +20% since last month, +50%
    # since last year; win rate qtd 0.30 in October, the quarter's first month: September's
    # quarter to date was another quarter, so no "since last month" for it
    status = _rows(
        [
            ("revenue", "month", "2026-10", 120.0, 150.0, 80.0, "red"),
            ("revenue", "month", "2026-09", 100.0, 150.0, 90.0, "red"),
            ("win_rate", "qtd", "2026-10", 0.30, np.nan, 0.25, None),
            ("win_rate", "qtd", "2026-09", 0.40, np.nan, 0.25, None),
        ]
    )
    tiles = {t.metric: t for t in findings.headline_tiles(page_context(status=status))}
    rev = tiles["revenue"]
    assert rev.details == (
        "target €150",
        "+20% since last month (€100)",
        "+50% since last year (€80)",
    )
    assert rev.status == "red" and rev.href == "../docs/kpis.md"
    assert tiles["win_rate"].details == ("no target set", "+5 pts since last year (25%)")
    frame = findings.headline_frame(page_context(status=status)).set_index("metric")
    assert frame.loc["revenue", "last_month"] == 100 and np.isnan(
        frame.loc["win_rate", "last_month"]
    )


def test_a_kpi_without_a_target_takes_its_key_results_target_and_status():
    # NRR has no target of its own; the team's key result on it (month window) has 110%,
    # graded red: the tile says so and is red, as the OKR table is
    status = _rows([("net_revenue_retention", "month", "2026-10", 0.94, np.nan, 0.98, None)])
    ctx = page_context(status=status)
    ctx.frames["okrs"] = pd.DataFrame(
        [{"objective": "Grow", "key_result": "NRR 110%", "metric": "net_revenue_retention",
          "window": "month", "baseline": 0.9, "target": 1.1, "value": 0.94, "grade": 0.2,
          "status": "red", "segment": "all", "due": 1.0}]
    )  # fmt: skip
    (tile,) = findings.headline_tiles(ctx, published=True)
    assert tile.status == "red" and tile.details[0] == "key result target 110%"
    assert tile.href == "kpis.html#kpi-net_revenue_retention"


def test_the_headline_states_revenue_against_target_else_last_year():
    status = _rows([("revenue", "ytd", "2026-10", 12.1e6, 12.8e6, 10e6, "amber")])
    assert findings.headline_sentence(page_context(status=status)) == (
        "Revenue 5% below target year to date (€12.1M against €12.8M)."
    )
    status = _rows([("revenue", "ytd", "2026-10", 12.1e6, np.nan, 10e6, None)])
    assert findings.headline_sentence(page_context(status=status)) == (
        "Revenue up 21% on last year, year to date (€12.1M); no revenue target is set."
    )
