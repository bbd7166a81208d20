"""The operations page, on small tables worked by hand."""

from __future__ import annotations

import pandas as pd

from salesreport.pages import operations
from tests.pages_context import page_context
from tests.test_analysis import _stage_case


def test_stage_conversion_shows_lost_deals_apart_and_the_win_rate_they_add_up_to():
    # tests/test_analysis.py::_stage_case: Prospecting 3 moved on, 1 lost (75%); Qualification
    # 1 moved on, 1 lost (50%); Proposal 1 won (100%); 2 won and 2 lost in all
    params = page_context().params.model_copy(
        update={"stage_order": ["Prospecting", "Qualification", "Proposal"]}
    )
    sec = operations.stages(page_context(_stage_case(), params=params))
    assert sec.title == (
        "Qualification converts least: 50% of the deals leaving it moved on or were won, 1 deal lost"
    )
    (table,) = sec.tables
    assert list(table.columns) == ["Stage", "Entered", "Moved on", "Moved back", "Won", "Lost",
                                   "Conversion", "Median days", "75th percentile days"]  # fmt: skip
    assert table.set_index("Stage").loc["Prospecting", "Lost"] == 1
    assert "the 4 deals closed in the 12 months, 2 won: a win rate of 50%" in sec.html()
    assert sec.frame["won"].sum() == 2 and sec.frame["lost"].sum() == 2


def test_data_quality_beyond_the_page_is_in_a_csv_beside_it(tmp_path):
    q = pd.DataFrame(
        {"table": "opportunities", "file": "opportunities.csv", "action": "dropped",
         "reason": [f"reason {i}" for i in range(70)], "count": 1, "example_rows": "2"}
    )  # fmt: skip
    ctx = page_context(folder=tmp_path)
    ctx.frames["quality"] = q
    sec = operations.quality(ctx)
    assert sec.title == "Data quality: 70 rows dropped and 0 repaired"
    assert '<a href="data-quality.csv">All 70 rows as CSV</a>' in sec.html()
    assert len(pd.read_csv(tmp_path / "files" / "data-quality.csv")) == 70
