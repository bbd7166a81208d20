"""The context is saved frame by frame while it is computed; a notebook reads as it appears."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

from salesreport.context import ContextWriter, load_context
from salesreport.params import load_params
from salesreport.tables import Tables


def _in_thread(fn):
    """Run ``fn`` in a thread; returns (thread, box) where box gets 'value', 'error', 'at'."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc
        box["at"] = time.monotonic()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, box


def test_a_notebook_starts_on_the_tables_and_waits_for_each_frame_until_it_is_saved(tmp_path):
    params = load_params("emea")
    opps = pd.DataFrame({"opportunity_id": ["o1"], "amount": [2.0]})
    writer = ContextWriter(tmp_path)
    t, box = _in_thread(lambda: load_context(tmp_path, wait_seconds=30))
    time.sleep(0.2)
    assert t.is_alive()  # nothing saved yet: the reader waits
    writer.begin(params, "2026-10", Tables(opportunities=opps))
    t.join(5)
    ctx = box["value"]
    assert ctx.month == "2026-10" and ctx.params.team == "emea"
    pd.testing.assert_frame_equal(ctx.tables.opportunities, opps)

    kpis = pd.DataFrame({"metric": ["revenue"], "value": [3.5]})
    t, box = _in_thread(lambda: ctx.frames["kpis"])
    time.sleep(0.3)
    assert t.is_alive()  # the frame is not computed yet
    saved_at = time.monotonic()
    writer.frames["kpis"] = kpis
    t.join(5)
    assert box["at"] >= saved_at
    pd.testing.assert_frame_equal(box["value"], kpis)
    assert writer.frames["kpis"] is kpis  # the writer's frames stay usable in memory

    # a frame that is never computed: absent once the context is complete
    t_missing, missing = _in_thread(lambda: "forecast" in ctx.frames)
    t_notes, notes = _in_thread(lambda: ctx.notes.get("forecast"))
    time.sleep(0.3)
    assert t_missing.is_alive() and t_notes.is_alive()
    writer.finish({"forecast": ["12 months only"]})
    t_missing.join(5)
    t_notes.join(5)
    assert missing["value"] is False
    assert notes["value"] == ["12 months only"]
    assert sorted(ctx.frames) == ["kpis"]
    with pytest.raises(KeyError):
        ctx.frames["forecast"]
    assert ctx.frames.get("okrs") is None


def test_a_frame_computed_twice_is_a_bug_not_a_silent_overwrite(tmp_path):
    writer = ContextWriter(tmp_path)
    writer.begin(load_params("emea"), "2026-10", Tables())
    writer.frames["kpis"] = pd.DataFrame({"x": [1]})
    with pytest.raises(RuntimeError, match="kpis"):
        writer.frames["kpis"] = pd.DataFrame({"x": [2]})


def test_a_reader_gives_up_with_a_clear_message_when_nothing_comes(tmp_path):
    with pytest.raises(FileNotFoundError, match="context-begin.json.*not written in time"):
        load_context(tmp_path, wait_seconds=0.2)
    writer = ContextWriter(tmp_path)
    writer.begin(load_params("emea"), "2026-10", Tables())
    ctx = load_context(tmp_path, wait_seconds=0.3)
    with pytest.raises(FileNotFoundError, match="context frame 'kpis'"):
        ctx.frames["kpis"]


def test_private_names_never_wait_for_the_context(tmp_path):
    # IPython probes _repr_html_ and friends on any object it displays
    writer = ContextWriter(tmp_path)
    writer.begin(load_params("emea"), "2026-10", Tables())
    ctx = load_context(tmp_path, wait_seconds=30)
    started = time.monotonic()
    assert not hasattr(ctx, "_repr_html_")
    assert time.monotonic() - started < 1


def test_every_frame_saved_while_computing_equals_the_frame_the_run_ends_with(
    tmp_path, sample_dir, monkeypatch
):
    """Frames are saved the moment they are set: none may change afterwards, or the notebooks
    (which read the saved files) and the CSVs (written from memory) would disagree. The
    computation says each part as it starts, and how many KPI rows are saved (here after
    every part of them)."""
    from salesreport import context
    from salesreport.context import build_context, periods_as_text
    from salesreport.data import load_tables
    from tests.conftest import REPORT_MONTH

    params = load_params("emea")
    loaded = load_tables(params, str(sample_dir), REPORT_MONTH)
    writer = ContextWriter(tmp_path)
    writer.begin(params, REPORT_MONTH, loaded.tables)
    said = []
    monkeypatch.setattr(context, "KPI_PROGRESS_SECONDS", 0.0)
    ctx = build_context(
        params, loaded.tables, REPORT_MONTH, quality=loaded.quality.to_frame(),
        quality_rows=loaded.quality.rows(), frames=writer.frames, progress=said.append,
    )  # fmt: skip
    writer.finish(ctx.notes)
    assert said[:4] == ["monthly revenue", "forecasts", "cohorts", "KPIs"]
    counts = [int(t.split()[1].replace(",", "")) for t in said[4:]]
    assert all(t.endswith(" rows computed and saved") for t in said[4:]) and counts
    assert counts == sorted(counts) and counts[-1] <= len(ctx.frames["kpis"].to_pandas())
    saved = load_context(tmp_path, wait_seconds=5)
    # kpis is not a frame of its own: the notebooks read kpi_status, the same rows plus three
    # columns, and the run's kpis.csv is written from that file's columns; a saved context
    # has it absent
    kpis = ctx.frames["kpis"].to_pandas()
    assert len(kpis) and "kpis" not in saved.frames
    assert sorted(saved.frames) == sorted(set(ctx.frames) - {"kpis"})
    pd.testing.assert_frame_equal(ctx.frames["kpi_status"][list(kpis.columns)], kpis)
    for name in saved.frames:
        expected = periods_as_text(ctx.frames[name])
        got = saved.frames[name]
        if not len(expected.columns):  # an empty frame (no ledger yet): empty when read back
            assert got.shape == (0, 0), name
            continue
        # text columns: a missing value may be None in memory and NaN once read, or back
        got, expected = (
            f.apply(lambda c: c.where(c.notna(), None) if c.dtype == object else c)
            for f in (got, expected)
        )
        pd.testing.assert_frame_equal(got, expected, check_index_type=False, obj=name)
