"""The report context: monthly revenue targets for the forecast chart, save/load round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesreport.context import (
    ContextWriter,
    build_context,
    load_context,
    monthly_revenue_targets,
    periods_as_text,
)
from salesreport.params import load_params, validate_params
from salesreport.tables import Tables


def test_monthly_revenue_targets_follow_the_kpi_rules_into_the_forecast_horizon():
    params = validate_params(
        {
            "team": "t",
            "targets": [
                {"metric": "revenue", "period": "2026", "value": 120.0},
                {"metric": "revenue", "period": "2027-Q1", "value": 30.0},
            ],
        }
    )
    targets = pd.DataFrame(
        {
            "period": ["2026-11"],
            "metric": ["revenue"],
            "value": [50.0],
            "rep_id": [None],
            "region": [None],
        }
    )
    out = monthly_revenue_targets(Tables(targets=targets), params, "2026-10", horizon=4)
    got = dict(zip(out["period"], out["target"], strict=True))
    # 2026: 120 / 12 = 10 a month, except November set by the table (50);
    # 2027-Q1: 30 / 3 = 10 a month; February 2027 is the horizon's last month
    assert got["2026-10"] == 10 and got["2026-11"] == 50 and got["2026-12"] == 10
    assert got["2027-01"] == 10 and got["2027-02"] == 10
    assert "2027-03" not in got and "2025-12" not in got  # outside the horizon; no 2025 target


def test_periods_are_written_as_text():
    df = pd.DataFrame(
        {
            "p": pd.period_range("2026-01", periods=2, freq="M"),
            "o": [pd.Period("2026-03", "M"), None],
        }
    )
    out = periods_as_text(df)
    assert out["p"].tolist() == ["2026-01", "2026-02"] and out["o"].tolist() == ["2026-03", None]


def test_a_yaml_segment_the_data_lacks_is_a_note_not_a_failed_run():
    """forecast.segments and cohorts.segment_by name columns the data may not have (orders'
    region and segment are optional): the run goes on and says why those views are empty."""
    from salesreport.context import build_context
    from tests.conftest_data import make_params

    months = pd.period_range("2024-01", "2026-10", freq="M")
    orders = pd.DataFrame(
        {
            "order_id": [f"X{i}" for i in range(len(months))],
            "account_id": [f"A{i % 5}" for i in range(len(months))],
            "order_date": months.to_timestamp(),
            "amount": 100.0 + np.arange(len(months)),
        }
    )
    params = make_params(forecast={"segments": ["region"]}, cohorts={"segment_by": ["segment"]})
    ctx = build_context(params, Tables(orders=orders), "2026-10")
    unavailable = ctx.notes["unavailable"]
    assert (
        "needs a 'region' column in the orders table" in unavailable["segment forecasts by region"]
    )
    assert "cannot segment customers by 'segment'" in unavailable["cohorts by segment"]
    assert len(ctx.frames["cohorts"]) and len(ctx.frames["forecast"])  # the rest is there


def test_periods_as_text_converts_through_distinct_values_and_leaves_the_input_alone():
    months = pd.period_range("2025-11", periods=3, freq="M")
    df = pd.DataFrame(
        {
            "m": pd.array([months[0], pd.NaT, months[2], months[0]], dtype="period[M]"),
            "q": pd.period_range("2026Q1", periods=4, freq="Q"),
            "d": pd.period_range("2026-02-27", periods=4, freq="D"),
            "o": [None, pd.Period("2026-05", "M"), "kept", 3],
            "x": [1.0, 2.0, 3.0, 4.0],
        },
        index=pd.period_range("2026-01", periods=4, freq="M"),
    )
    before = df.copy()
    out = periods_as_text(df)
    assert out["m"].tolist() == ["2025-11", None, "2026-01", "2025-11"]
    assert out["q"].tolist() == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    assert out["d"].tolist() == ["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"]
    assert out["o"].tolist() == [None, "2026-05", "kept", 3]
    assert out.index.tolist() == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert all(out[c].dtype == object for c in "mqdo")
    pd.testing.assert_frame_equal(df, before)  # the input is not changed
    plain = pd.DataFrame({"a": ["x", None], "b": [1.0, 2.0]})
    assert periods_as_text(plain) is plain  # nothing to convert: no copy


def test_kpis_stay_in_memory_and_the_saved_context_reads_kpi_status(tmp_path):
    from salesreport.tables import Tables

    params = load_params("emea")
    writer = ContextWriter(tmp_path)
    writer.begin(params, "2026-10", Tables())
    kpis = pd.DataFrame({"metric": ["revenue"], "value": [3.5]})
    writer.frames.keep_unsaved("kpis", kpis)
    writer.frames["kpi_status"] = kpis.assign(status="green")
    with pytest.raises(RuntimeError, match="kpis"):
        writer.frames["kpis"] = kpis  # still one frame per name
    writer.finish({})
    assert writer.frames["kpis"] is kpis
    assert not (tmp_path / "frames" / "kpis.arrow").exists()
    saved = load_context(tmp_path, wait_seconds=5)
    assert sorted(saved.frames) == ["kpi_status"] and saved.frames.get("kpis") is None
    header = (tmp_path / "context.json").read_text(encoding="utf-8")
    assert '"not_saved": [\n  "kpis"\n ]' in header


def test_build_context_keeps_kpis_unsaved_only_when_it_has_rows(tmp_path, sample_dir, monkeypatch):
    """Without KPI rows kpi_status is empty too, and a section falls back on kpis: then kpis
    is saved like any frame."""
    import salesreport.kpis as kpis_mod
    from salesreport.data import load_tables
    from tests.conftest import REPORT_MONTH

    params = load_params("emea")
    loaded = load_tables(params, str(sample_dir), REPORT_MONTH)
    real = kpis_mod.compute_kpis
    for empty in (False, True):
        if empty:
            monkeypatch.setattr(kpis_mod, "compute_kpis", lambda *a, **k: real(*a, **k).iloc[0:0])
        run_dir = tmp_path / f"empty-{empty}"
        writer = ContextWriter(run_dir)
        writer.begin(params, REPORT_MONTH, loaded.tables)
        ctx = build_context(params, loaded.tables, REPORT_MONTH, frames=writer.frames)
        writer.finish(ctx.notes)
        assert ctx.frames["kpis"].empty is empty and "kpis" in ctx.frames
        assert (run_dir / "frames" / "kpis.arrow").exists() is empty
        assert writer.frames.unsaved == (set() if empty else {"kpis"})


def test_a_notebook_waiting_for_a_context_the_run_stopped_stops_at_once(tmp_path):
    """--all-teams: a team whose computation failed writes context-stopped.json; its pages,
    already waiting, raise with the reason instead of waiting out notebook_timeout."""
    import time

    from salesreport.context import ContextWriter, load_context

    run_dir = tmp_path / "context"
    ContextWriter(run_dir).stop("DataError: opportunities.csv: column amount is missing")
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="the run stopped computing this report: DataError"):
        load_context(run_dir, wait_seconds=60)
    assert time.monotonic() - t0 < 5
