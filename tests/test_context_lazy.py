"""A saved context is read lazily: each table and frame from its file when first used."""

from __future__ import annotations

import pandas as pd
import pytest

from salesreport.context import ReportContext, load_context, save_context
from salesreport.params import load_params
from salesreport.tables import Tables


def test_a_saved_context_reads_each_table_and_frame_when_first_used(tmp_path):
    opps = pd.DataFrame({"opportunity_id": ["o1", "o2"], "amount": [1.0, 2.5]})
    reps = pd.DataFrame({"rep_id": ["r1"], "name": ["Ann"]})
    frames = {"kpis": pd.DataFrame({"metric": ["revenue"], "value": [3.5]}),
              "okrs": pd.DataFrame({"objective": ["Grow"]})}  # fmt: skip
    ctx = ReportContext(
        params=load_params("emea"), month="2026-10", tables=Tables(opportunities=opps, reps=reps),
        frames=frames, notes={},
    )  # fmt: skip
    save_context(ctx, tmp_path)
    got = load_context(tmp_path)
    assert got.tables.__dict__["_unread"].keys() == {"opportunities", "reps"}  # nothing read yet
    pd.testing.assert_frame_equal(got.tables.opportunities, opps)
    assert got.tables.__dict__["_unread"].keys() == {"reps"}  # only what was used
    assert got.tables.leads is None and got.tables.present() == ["opportunities", "reps"]
    assert sorted(got.frames) == ["kpis", "okrs"] and "kpis" in got.frames
    assert got.frames._read == {}
    pd.testing.assert_frame_equal(got.frames["kpis"], frames["kpis"])
    assert set(got.frames._read) == {"kpis"}
    assert got.frames.get("forecast") is None
    with pytest.raises(KeyError):
        got.frames["forecast"]
    got.frames["extra"] = pd.DataFrame({"x": [1]})
    assert len(got.frames) == 3
    del got.frames["okrs"]
    assert sorted(got.frames) == ["extra", "kpis"]
