"""The engine wrapper (:mod:`salesreport.engine`): DuckDB's memory cap, the one mechanism the
loader and the KPI computation share."""

from __future__ import annotations

import duckdb
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
