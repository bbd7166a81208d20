"""The engine wrapper (:mod:`salesreport.engine`): DuckDB's memory cap, the one mechanism the
loader and the KPI computation share, and large results fetched batch by batch into a frame."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from salesreport.engine import MEMORY_LIMIT, duckdb_memory_cap
from tests.test_data_load import MONTH, PARAMS, _buffer_limit, _folder

GIB_1GB = 1e9 / 2**30  # DuckDB's "1GB" in GiB
# the default is put back from the setting's text, rounded to 0.1 GiB (abs=0.2 below)


def test_memory_limit_is_one_gigabyte():
    assert MEMORY_LIMIT == "1GB"


def test_a_database_file_is_capped_inside_and_put_back_after_even_on_error(tmp_path):
    con = duckdb.connect(str(tmp_path / "e.duckdb"))
    default = _buffer_limit(con)
    assert default > 2 * GIB_1GB  # the machine's default (80 % of the memory) is well above
    with duckdb_memory_cap(con):
        assert _buffer_limit(con) == pytest.approx(GIB_1GB, abs=0.01)
    assert _buffer_limit(con) == pytest.approx(default, abs=0.2)
    with pytest.raises(RuntimeError), duckdb_memory_cap(con, "512MB"):
        assert _buffer_limit(con) == pytest.approx(512e6 / 2**30, abs=0.01)
        raise RuntimeError("a query failed")
    assert _buffer_limit(con) == pytest.approx(default, abs=0.2)


def test_an_engine_in_memory_or_none_is_left_as_it_is():
    con = duckdb.connect()  # in memory: a cap would spill into the working folder
    default = _buffer_limit(con)
    with duckdb_memory_cap(con), duckdb_memory_cap(None):
        assert _buffer_limit(con) == pytest.approx(default, abs=0.2)


def test_the_kpis_are_computed_under_the_cap_on_a_run_s_database_file(tmp_path, monkeypatch):
    """As a report run has it: the engine in a database file; while the KPI rows are
    assembled DuckDB holds 1 GB of buffers (it spills beyond), and its default after."""
    from salesreport.data import load_tables
    from salesreport.kpis import compiler
    from tests.conftest_data import make_params

    db = tmp_path / "work" / "engine.duckdb"
    db.parent.mkdir()
    params = make_params(**PARAMS)
    res = load_tables(params, _folder(tmp_path), MONTH, database=db)
    con = res.engine.backend.con
    default = _buffer_limit(con)
    seen = []
    real = compiler.Compilation.kpis

    def kpis(self, *args, **kwargs):
        seen.append(_buffer_limit(self.engine.backend.con))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(compiler.Compilation, "kpis", kpis)
    out = compiler.compute_kpis(res.tables, params, MONTH, engine=res.engine)
    assert len(out) and seen == [pytest.approx(GIB_1GB, abs=0.01)]
    assert _buffer_limit(con) == pytest.approx(default, abs=0.2)


def _temporary_tables(con) -> set[str]:
    return {
        r[0]
        for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    }


def test_the_kpis_intermediate_tables_are_dropped_once_the_rows_are_made(tmp_path, monkeypatch):
    """The KPI computation makes temporary tables (rows, measures, values, windows ...) on
    the run's engine; none is left once its rows are fetched (at 100x they held 680 MB of
    DuckDB's memory and 2.5 GB of disk until the run's end). After an error they stay for
    the engine's close."""
    from salesreport.data import load_tables
    from salesreport.kpis import compiler
    from tests.conftest_data import make_params

    params = make_params(**PARAMS)
    res = load_tables(params, _folder(tmp_path), MONTH)
    con = res.engine.backend.con
    before = _temporary_tables(con)
    made = []
    real = compiler.Compilation.kpis

    def kpis(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        made.extend(_temporary_tables(con) - before)
        return out

    monkeypatch.setattr(compiler.Compilation, "kpis", kpis)
    out = compiler.compute_kpis(res.tables, params, MONTH, engine=res.engine)
    monkeypatch.undo()
    assert len(out) and len(made) > 10 and all(n.startswith("_sr_") for n in made)
    assert _temporary_tables(con) == before  # the engine's own tables are still there
    again = compiler.compute_kpis(res.tables, params, MONTH, engine=res.engine)
    pd.testing.assert_frame_equal(again, out)  # the engine serves another computation
    with pytest.raises(RuntimeError), res.engine.scratch():
        res.engine.memtable(pd.DataFrame({"a": [1]}), "kept")
        raise RuntimeError("a failing computation")
    assert [n for n in _temporary_tables(con) - before if n.startswith("_sr_kept_")]


# --------------------------------------------------------------------------- large results


def _result_engine(n: int):
    """An engine holding ``n`` rows of text (repeated values, missing ones), floats (missing
    and NaN) and integers (missing: converted by Arrow)."""
    from salesreport.engine import Engine

    engine = Engine.duckdb()
    engine.run_sql(
        f"""CREATE TABLE r AS SELECT i,
            CASE WHEN i % 7 = 0 THEN NULL ELSE 'metric_' || (i % 5)::VARCHAR END AS t,
            'seg ' || (i % 3)::VARCHAR AS s,
            CASE WHEN i % 11 = 0 THEN NULL WHEN i % 13 = 0 THEN 'NaN'::DOUBLE
                 ELSE i / 4.0 END AS x,
            CASE WHEN i % 17 = 0 THEN NULL ELSE i END AS k
        FROM range({n}) AS g(i)"""
    )
    return engine


def _arrow_frame(engine, exprs) -> pd.DataFrame:
    """The frame the whole result makes through one Arrow table (the conversion kept)."""
    import pyarrow as pa

    return pa.concat_tables([engine.backend.to_pyarrow(e) for e in exprs]).to_pandas()


@pytest.mark.parametrize("hint", ["exact", 0, "fewer", "more"])
def test_a_large_result_is_the_frame_arrow_makes_of_it_batch_by_batch(monkeypatch, hint):
    from salesreport import engine as engine_mod

    monkeypatch.setattr(engine_mod, "FETCH_ROWS", 97)  # many batches, a part one at the end
    engine = _result_engine(1000)
    r = engine.backend.table("r")
    exprs = [r.filter(r.i < 600).order_by("i"), r.filter(r.i >= 600).order_by("i")]
    rows = {"exact": 1000, 0: 0, "fewer": 150, "more": 5000}[hint]
    got = engine.to_frame(exprs, rows)
    want = _arrow_frame(engine, exprs)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    assert got["t"].isna().sum() == 143 and got["t"][0] is None and np.isnan(got["x"][0])
    assert str(got["k"].dtype) == "float64"  # missing integers: floats, as Arrow makes them
    # one Python string per distinct value, whatever the batch it came in
    assert got["s"][1] is got["s"][904] and got["t"][1] is got["t"][996]
    assert got._mgr.nblocks == got.shape[1]  # every column its own array: none copied


def test_an_empty_result_has_the_columns_and_types_of_arrow_s_frame():
    engine = _result_engine(10)
    r = engine.backend.table("r")
    exprs = [r.filter(r.i < 0)]
    got = engine.to_frame(exprs, 5)
    pd.testing.assert_frame_equal(got, _arrow_frame(engine, exprs))
    assert len(got) == 0


def test_a_large_result_s_columns_are_allocated_once(monkeypatch):
    """Fetched in batches into columns allocated for the rows expected, the frame is all the
    memory the fetch holds (numpy's allocations are traced; Arrow's batches are one small
    batch at a time): the conversion through one Arrow table held a second copy (a new
    index on its frame, a third), and pandas' type inference on object columns scans 41
    bytes a row."""
    import tracemalloc

    from salesreport import engine as engine_mod

    monkeypatch.setattr(engine_mod, "FETCH_ROWS", 5_000)
    n = 400_000
    engine = _result_engine(n)
    r = engine.backend.table("r")
    exprs = [r.order_by("i").select("t", "s", "x")]
    tracemalloc.start()
    try:
        got = engine.to_frame(exprs, n)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    frame_bytes = got.memory_usage(index=False, deep=False).sum()  # 3 x 8 bytes a row
    assert frame_bytes == 24 * n
    assert peak < 1.1 * frame_bytes


def test_duckdb_draws_no_progress_bar_over_the_run():
    # DuckDB draws a bar for any query longer than 2 s (writing 100x the sample's kpis.csv),
    # over the run's progress lines and even with --quiet: every connection the run opens
    # has it off. In a fresh process, as a run has it (under pytest DuckDB starts with it off)
    import subprocess
    import sys

    code = (
        "from salesreport.engine import Engine\n"
        "from salesreport.outputs import _connection\n"
        "q = \"SELECT current_setting('enable_progress_bar')\"\n"
        "print(_connection().execute(q).fetchone()[0], "
        "Engine.duckdb().backend.con.execute(q).fetchone()[0])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], out.stdout + out.stderr


def test_the_engine_compiles_each_select_on_its_own_and_puts_ibis_s_option_back(monkeypatch):
    """Queries compile with Ibis's select fusion off (:func:`salesreport.engine.unfused`: a third
    of the KPIs' compile time), the user's setting put back after each, even after an error."""
    import ibis

    engine = _result_engine(10)
    r = engine.backend.table("r")
    chained = r.mutate(j=r.i * 2).filter(lambda t: t.j > 4).mutate(k2=lambda t: t.j + 1)
    seen = []
    compile_ = type(engine.backend).compile
    monkeypatch.setattr(
        type(engine.backend),
        "compile",
        lambda self, *a, **k: seen.append(ibis.options.sql.fuse_selects) or compile_(self, *a, **k),
    )
    assert ibis.options.sql.fuse_selects is True  # Ibis's default, as a notebook has it
    got = engine.execute(chained.select("i", "k2").order_by("i"))
    engine.materialize(chained)
    assert seen and not any(seen)
    assert ibis.options.sql.fuse_selects is True
    assert got["i"].tolist() == [3, 4, 5, 6, 7, 8, 9] and got["k2"].tolist() == [
        7,
        9,
        11,
        13,
        15,
        17,
        19,
    ]
    with pytest.raises(duckdb.Error):
        engine.execute(r.select(nope=r.i.cast("date")))  # an integer is no date: DuckDB refuses
    assert ibis.options.sql.fuse_selects is True
