"""The pipeline sections draw the stages in the team's stage order."""

from __future__ import annotations

import pandas as pd
import pytest

from salesreport import views
from salesreport.context import ReportContext
from salesreport.params import load_params
from salesreport.tables import Tables
from tests.test_analysis import history, opps

STATUS_COLUMNS = ["metric", "window", "period", "segment", "value", "target", "prior", "unit"]


@pytest.mark.parametrize(
    "call",
    [lambda ctx: views.pipeline_section(ctx), lambda ctx: views.rep_pipeline_section(ctx, "r1")],
    ids=["team", "rep"],
)
@pytest.mark.parametrize("order", [["Proposal", "Discovery"], ["Discovery", "Proposal"]])
def test_stages_stack_in_the_teams_stage_order_not_by_size(call, order):
    # open at 2026-10-31 (tests/test_analysis.py): Proposal 200 + 50, Discovery 300, all
    # owned by r1 here. Stacked by size, Discovery would sit at the bottom whatever the order.
    params = load_params("emea").model_copy(update={"stage_order": order})
    status = pd.DataFrame(columns=[*STATUS_COLUMNS, "status", "benchmark", "yoy_change"])
    ctx = ReportContext(
        params=params,
        month="2026-10",
        tables=Tables(opportunities=opps().assign(owner_id="r1"), stage_history=history()),
        frames={"kpi_status": status},
        notes={},
    )
    fig = call(ctx)[1]
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    present = [s for s in order if s in legend]
    assert legend == present[::-1]  # the legend reads top down: the last stage first
