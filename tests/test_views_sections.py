"""Audience sections built from small tables worked by hand."""

from __future__ import annotations

import re

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


def test_sdr_section_ranks_by_meetings_and_names_its_columns_for_people():
    reps = pd.DataFrame(
        {
            "rep_id": ["s1", "s2", "s3", "a1"],
            "name": ["Sam", "Kim", "Lee", "Ann"],
            "role": ["sdr", "sdr", "sdr", "ae"],
            "hire_date": pd.to_datetime(["2025-01-01"] * 4),
        }
    )
    # October: Sam 5 calls + 1 meeting, Kim 1 call + 2 meetings, Lee 9 calls + 1 meeting.
    # By meetings Kim (2) leads; Lee and Sam tie on 1 and Lee's 10 activities beat Sam's 6.
    # The AE's meeting is the team's, not an SDR's.
    rows = [("s1", "call")] * 5 + [("s1", "meeting")] + [("s2", "call")] + [("s2", "meeting")] * 2
    rows += [("s3", "call")] * 9 + [("s3", "meeting")] + [("a1", "meeting")]
    acts = pd.DataFrame(
        {
            "activity_id": [f"x{i}" for i in range(len(rows))],
            "rep_id": [r for r, _ in rows],
            "type": [t for _, t in rows],
            "timestamp": pd.Timestamp("2026-10-05"),
        }
    )
    ctx = ReportContext(
        params=load_params("emea"),
        month="2026-10",
        tables=Tables(reps=reps, activities=acts),
        frames={},
        notes={},
    )
    heading, fig, table, note = views.sdr_section(ctx)
    assert "SDRs booked 4 of the team&#x27;s 5 meetings in October" in heading
    # the chart reads top down Kim, Lee, Sam (tick labels run bottom up), as the table does
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["Sam", "Lee", "Kim"]
    assert re.findall(r"<tr><td>(\w+)</td>", table) == ["Kim", "Lee", "Sam"]
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", table)
    assert headers[:5] == ["SDR", "Calls", "Emails", "LinkedIn requests", "Meetings booked"]
    assert "Meetings per touch" in headers
    # Kim: 2 meetings / 1 touch = 200%; Sam: 1 / 5 = 20%
    assert re.search(r"Kim</td>.*200%", table) and re.search(r"Sam</td>.*20%", table)
    assert "Meetings per touch: meetings booked over calls" in note
