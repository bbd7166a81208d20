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
    is saved like any frame. With rows, kpis is the saved kpi_status file's columns of
    kpis.csv (read a batch at a time when the CSV is written)."""
    import salesreport.kpis.compiler as compiler
    from salesreport.context import SavedRows
    from salesreport.data import load_tables
    from salesreport.kpis import KPI_COLUMNS
    from tests.conftest import REPORT_MONTH

    params = load_params("emea")
    loaded = load_tables(params, str(sample_dir), REPORT_MONTH)
    real = compiler.compute_kpi_batches
    for empty in (False, True):
        if empty:
            monkeypatch.setattr(
                compiler,
                "compute_kpi_batches",
                lambda *a, **k: (b.slice(0, 0) for b in real(*a, **k)),
            )
        run_dir = tmp_path / f"empty-{empty}"
        writer = ContextWriter(run_dir)
        writer.begin(params, REPORT_MONTH, loaded.tables)
        ctx = build_context(params, loaded.tables, REPORT_MONTH, frames=writer.frames)
        writer.finish(ctx.notes)
        assert "kpis" in ctx.frames and "kpi_status" in ctx.frames
        assert (run_dir / "frames" / "kpis.arrow").exists() is empty
        assert writer.frames.unsaved == (set() if empty else {"kpis"})
        if empty:
            assert ctx.frames["kpis"].empty and list(ctx.frames["kpis"]) == KPI_COLUMNS
            assert ctx.frames["kpi_status"].empty
        else:
            assert isinstance(ctx.frames["kpis"], SavedRows)
            assert ctx.frames["kpis"].schema.names == KPI_COLUMNS
            assert len(ctx.frames["kpis"].to_pandas()) == len(ctx.frames["kpi_status"]) > 0


def test_a_run_saves_the_kpi_rows_part_by_part_and_ends_with_the_frames_computed_whole(
    tmp_path, sample_dir, monkeypatch
):
    """A report run (a context writer) never holds the KPI rows whole: they are saved as
    they are fetched, in parts smaller than a metric here, with their status. Every frame,
    the OKRs and the headline lookups equal those of the same context computed in memory
    (JupyterLab's path), and so do the CSV and Parquet files, byte for byte."""
    import filecmp

    import salesreport.engine as engine_mod
    from salesreport.data import load_tables
    from salesreport.outputs import write_outputs
    from tests.conftest import REPORT_MONTH

    params = load_params("emea")
    loaded = load_tables(params, str(sample_dir), REPORT_MONTH)
    whole = build_context(params, loaded.tables, REPORT_MONTH)
    monkeypatch.setattr(engine_mod, "FETCH_ROWS", 5_000)  # 35 parts
    writer = ContextWriter(tmp_path / "context")
    writer.begin(params, REPORT_MONTH, loaded.tables)
    ctx = build_context(params, loaded.tables, REPORT_MONTH, frames=writer.frames)
    writer.finish(ctx.notes)
    assert sorted(ctx.frames) == sorted(whole.frames)
    for name in whole.frames:
        got = ctx.frames[name]
        got = got.to_pandas() if name == "kpis" else got  # (read from kpi_status's file)
        pd.testing.assert_frame_equal(got, whole.frames[name], obj=name)
    for metric, window in (("revenue", "ytd"), ("win_rate", "qtd"), ("forecast_accuracy", "month")):
        got, expected = pd.Series(ctx.kpi(metric, window)), pd.Series(whole.kpi(metric, window))
        assert got["metric"] == metric
        pd.testing.assert_series_equal(got, expected)
    for c, folder in ((ctx, tmp_path / "parts"), (whole, tmp_path / "whole")):
        folder.mkdir()
        write_outputs(c, folder)
    for f in sorted((tmp_path / "whole").iterdir()):
        assert filecmp.cmp(f, tmp_path / "parts" / f.name, shallow=False), f.name


def test_saved_batches_read_back_as_the_frame_they_make_together(tmp_path):
    """Record batches saved one after the other (one without any status, one without rows)
    read back as the frames they were made from concatenated, and batch by batch in
    batches of a DuckDB vector for its writers."""
    import pyarrow as pa

    from salesreport.context import VECTOR_ROWS, SavedRows, _FrameSink

    sink = _FrameSink(tmp_path)
    rng = np.random.default_rng(3)
    sizes = [3001, 1, 0, 5000, 2047]
    parts, at = [], 0
    for i, n in enumerate(sizes):
        parts.append(
            pd.DataFrame(
                {
                    "metric": [f"m{(at + j) // 1500}" for j in range(n)],
                    "status": pd.Series(
                        [None] * n if i == 0 else rng.choice(["green", None], n), dtype=object
                    ),
                    "value": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
                }
            )
        )
        at += n
    schema = pa.schema([("metric", pa.string()), ("status", pa.string()), ("value", pa.float64())])
    batches = [pa.RecordBatch.from_pylist(p.to_dict("records"), schema=schema) for p in parts]
    assert sink.save_batches("rows", iter(batches)) == sum(sizes)
    expected = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(sink["rows"], expected)
    saved = SavedRows(tmp_path / "rows.arrow", ["value", "metric"])
    sizes_read = [b.num_rows for b in saved.reader()]
    assert sum(sizes_read) == sum(sizes)
    assert set(sizes_read[:-1]) == {VECTOR_ROWS} and 0 < sizes_read[-1] <= VECTOR_ROWS
    pd.testing.assert_frame_equal(saved.to_pandas(), expected[["value", "metric"]])
    assert (
        sink.indexed("rows", "metric")
        .rows(["m2", "m0"], {})
        .equals(expected[expected["metric"].isin(["m0", "m2"])])
    )
    with pytest.raises(RuntimeError, match="computed twice"):
        sink.save_batches("rows", iter(batches))


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


def test_a_table_saved_in_parts_reads_back_as_saved_whole_or_is_saved_whole(tmp_path):
    """The run saves each table part by part (ContextWriter.begin). A column without a value in
    the first parts takes its type from a later one; a column that converts differently in
    two parts (whole numbers, then numbers with a gap: float64 once whole) is not streamed,
    and the caller saves the whole frame; no part at all is left to the caller too."""
    from salesreport.context import _read_frame, _save_frame, _save_in_parts

    when = pd.to_datetime(["2026-01-02", None, "2026-03-04"])
    base = pd.DataFrame(
        {"id": ["a", "b", "c"], "note": [None, None, None], "when": when, "n": [1.0, 2.0, np.nan]}
    )
    later = base.assign(note=["x", None, "y"])
    cases = {
        "typed later": [base, base, later],
        "never typed": [base, base],
        "one part": [later],
        "counts": [
            later.assign(k=pd.Series([1, 2, 3])),
            later.assign(k=pd.Series([1.0, np.nan, 2])),
        ],
    }
    for name, parts in cases.items():
        path, whole = tmp_path / f"{name}.arrow", tmp_path / f"{name}-whole.arrow"
        ok = _save_in_parts(iter(parts), path)
        expected = pd.concat(parts, ignore_index=True)
        _save_frame(expected, whole)
        assert ok is (name != "counts"), name
        if ok:
            pd.testing.assert_frame_equal(_read_frame(path), _read_frame(whole), obj=name)
        else:
            assert not path.exists()
    assert _save_in_parts(iter([]), tmp_path / "none.arrow") is False
    labelled = later.set_index("id")  # an index of its own: saved whole by the caller
    assert _save_in_parts(iter([later, labelled]), tmp_path / "labelled.arrow") is False
    assert not (tmp_path / "labelled.arrow").exists()


def test_a_loaded_table_saved_from_arrow_reads_back_as_its_frame(tmp_path, sample_dir, monkeypatch):
    """A loaded table is saved for the pages part by part straight from the engine's Arrow
    columns: read back, every table is the frame the loader makes of it (types, values,
    missing values, NaN as missing, time zones, converted amounts), as when each part went
    through pandas; a part that does not convert to the first part's type (a decimal wider
    than the first part's) makes the caller save the frames instead, with the same result."""
    import decimal
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    import salesreport.context as context
    from salesreport.context import TABLE_PART_ROWS, ContextWriter, _read_frame, _save_frame
    from salesreport.data import load_tables
    from tests.conftest import REPORT_MONTH

    data = tmp_path / "data"
    shutil.copytree(sample_dir, data)
    opp = pd.read_csv(data / "opportunities.csv", dtype=str)
    n = len(opp)
    rng = np.random.default_rng(5)
    gaps = rng.random(n) < 0.3
    opp["x_count"] = pd.array(np.where(gaps, None, np.arange(n)), dtype="Int64")
    opp["x_score"] = np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n))
    opp["x_flag"] = pd.array(np.where(gaps, None, rng.random(n) < 0.5), dtype="boolean")
    opp["x_seen"] = pd.Timestamp("2026-01-01 09:30", tz="Europe/Berlin") + pd.to_timedelta(
        np.arange(n), unit="h"
    )
    opp["x_day"] = (pd.Timestamp("2025-01-01") + pd.to_timedelta(np.arange(n), unit="D")).date
    typed = pa.Table.from_pandas(opp, preserve_index=False)
    score = pa.array(opp["x_score"].to_numpy(), from_pandas=False)  # NaN kept as a value
    typed = typed.set_column(typed.schema.get_field_index("x_score"), "x_score", score)
    pq.write_table(typed, data / "opportunities.parquet")
    (data / "opportunities.csv").unlink()
    leads = pd.read_csv(data / "leads.csv", dtype=str)
    leads["x_text"] = np.where(np.arange(len(leads)) < 0.6 * len(leads), None, "note")
    leads.to_parquet(data / "leads.parquet", index=False)  # no text in the first parts
    (data / "leads.csv").unlink()
    orders = pd.read_csv(data / "orders.csv", dtype=str)
    m = len(orders)  # decimals: narrow in the first parts, wider later
    orders["x_price"] = [decimal.Decimal("1.5")] * (m // 2) + [decimal.Decimal("12345.678")] * (
        m - m // 2
    )
    orders.to_parquet(data / "orders.parquet", index=False)
    (data / "orders.csv").unlink()
    params = load_params("emea")
    loaded = load_tables(params, data, REPORT_MONTH)
    for rows in (100, 997, TABLE_PART_ROWS):
        out = tmp_path / f"ctx{rows}"
        monkeypatch.setattr(context, "TABLE_PART_ROWS", rows)
        ContextWriter(out).begin(params, REPORT_MONTH, loaded.tables)
        for name in loaded.tables.present():
            whole = tmp_path / f"{name}-whole.arrow"
            _save_frame(loaded.tables.peek(name), whole)
            got = _read_frame(out / "tables" / f"{name}.arrow")
            pd.testing.assert_frame_equal(got, _read_frame(whole), check_exact=True, obj=name)
            # and in Arrow: the same types, values and nulls (a NaN is null, as pandas saves it)
            saved = [out / "tables" / f"{name}.arrow", whole]
            a, b = (pa.ipc.open_file(pa.memory_map(str(f))).read_all() for f in saved)
            assert a.equals(b), name
    got = _read_frame(tmp_path / "ctx100" / "tables" / "opportunities.arrow")
    assert got["x_seen"].dt.tz is not None and got["x_score"].isna().sum() > 0
    nan = pq.read_table(data / "opportunities.parquet", columns=["x_score"]).column(0)
    assert pa.compute.sum(pa.compute.is_nan(nan)).as_py() > 0  # NaN in the file, not null
    assert "original_amount" in got  # the GBP amounts converted
    # the parts come straight from Arrow where they can: every part of the same schema
    parts = list(loaded.tables.saved_parts("activities", 997))
    assert len(parts) > 2 and all(p.schema == parts[0].schema for p in parts)
    assert sum(p.num_rows for p in parts) == len(loaded.tables.peek("activities"))
    # not where the first part has a column without a value (its type is open) or a later
    # part's column does not convert to the first part's type: begin saved the frames
    assert len(list(loaded.tables.saved_parts("opportunities", 100))) > 2
    with pytest.raises(ValueError, match="leads: a column without a type"):
        list(loaded.tables.saved_parts("leads", 100))
    with pytest.raises(ValueError, match="orders"):
        list(loaded.tables.saved_parts("orders", 100))
    loaded.close()


def test_kpi_rows_saved_in_batches_find_each_metric_from_the_runs_written_beside_them(tmp_path):
    """The KPI rows saved batch by batch carry the runs of their metric and window row in a
    file beside them, so a page finds a metric's rows (for one window and period: only
    those) without reading the metric of every row: the runs are those of the whole frame
    worked out row by row (a run split across parts is one run, a key in two places two
    runs, a missing value its own), and every lookup equals the one that reads the metric
    column, and the frame read whole and then selected."""
    import json

    import pyarrow as pa

    from salesreport.context import _FrameSink, _IndexedRows, _runs_path

    rng = np.random.default_rng(11)
    sizes = rng.integers(1, 900, size=60)
    metric = np.repeat(rng.choice(["revenue", "calls", None, "win_rate"], size=60), sizes)
    window = np.repeat(rng.choice(["month", "ytd"], size=60), sizes)
    n = len(metric)
    period = np.where(np.arange(n) % 500 < 250, "2026-09", "2026-10")
    frame = pd.DataFrame({"metric": metric.astype(object), "window": window, "period": period,
                          "segment": rng.choice(["all", "owner_id=r1"], size=n),
                          "value": rng.normal(size=n)})  # fmt: skip
    cuts = np.sort(rng.choice(np.arange(1, n), size=9, replace=False))
    bounds = zip([0, *cuts], [*cuts, n], strict=True)
    parts = [frame.iloc[a:b].reset_index(drop=True) for a, b in bounds]
    sink = _FrameSink(tmp_path)
    key = ("metric", "window", "period")
    batches = (pa.RecordBatch.from_pandas(p, preserve_index=False) for p in parts)
    assert sink.save_batches("kpi_status", batches, runs_of=key) == n
    path = sink.path_of("kpi_status")
    saved = json.loads(_runs_path(path, "metric").read_text())
    slow: list[list] = []  # row by row
    for i, row in enumerate(frame[list(key)].itertuples(index=False)):
        if slow and slow[-1][:3] == list(row) and slow[-1][4] == i:
            slow[-1][4] = i + 1
        else:
            slow.append([*row, i, i + 1])
    assert saved == {"columns": list(key), "runs": slow} and len(slow) > 100
    fast = _IndexedRows.read(path, "metric")
    _runs_path(path, "metric").unlink()
    scan = _IndexedRows.read(path, "metric")
    assert fast._runs is not None and scan._runs is None
    for names, where in [
        (["revenue"], {}),
        (["calls", "revenue"], {"window": "ytd"}),
        (["calls", "revenue"], {"window": "ytd", "period": "2026-10", "segment": "all"}),
        (["win_rate", "win_rate"], {"window": "month", "period": "2026-09"}),
        (["none"], {}),
        ([], {}),
    ]:
        got = fast.rows(names, where)
        pd.testing.assert_frame_equal(got, scan.rows(names, where))
        whole = frame.iloc[np.sort(np.concatenate(
            [np.flatnonzero(frame["metric"].eq(m)) for m in names] or [np.array([], int)]
        ))]  # fmt: skip
        for column, value in where.items():
            whole = whole[whole[column] == value]
        pd.testing.assert_frame_equal(got, whole, check_index_type="equiv")


def test_in_jupyterlab_the_kpi_rows_not_computed_are_warned_of_and_in_the_notes():
    """A context built in a notebook (plain frames) over kpis_csv_max_rows: the reps' rows of
    earlier months are not computed, the analyst is warned with their number, and the notes
    hold it as a run's do."""
    import warnings

    from salesreport.kpis.compiler import NOT_COMPUTED
    from tests.test_kpis_fixtures import make_params, make_tables

    tables = make_tables(seed=3, n_opps=150, n_acts=200, n_reps=6, orders=True)
    params = make_params(history_months=12, kpis_csv_max_rows=10)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        ctx = build_context(params, tables, "2026-10")
    past = ctx.notes[NOT_COMPUTED]
    kpis = ctx.frames["kpis"]
    reps = kpis["segment"].str.startswith("owner_id=")
    assert past > 0 and reps.any() and set(kpis.loc[reps, "period"]) == {"2026-10"}
    said = [str(w.message) for w in seen if "not computed" in str(w.message)]
    assert said == [
        "The KPI rows are more than kpis_csv_max_rows (10): the per-rep rows (segment "
        f"owner_id=...) of the months before 2026-10 are not computed ({past:,} rows). Set "
        "kpis_csv_max_rows: 0 in the team's YAML to compute them all."
    ]
