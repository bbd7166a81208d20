"""The same numbers on every engine: PostgreSQL and Spark against the embedded DuckDB.

Real servers (tests/servers.py): a PostgreSQL server started for the session on a loopback
port, and a local Spark session. The report's files are compared as the issue asks: floats
within a relative 1e-9, everything else identical.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from salesreport.exceptions import EngineError, ParameterError
from salesreport.outputs import CSV_FILES  # noqa: E402
from salesreport.params import EngineParams, load_params, validate_params
from tests.conftest import REPORT_MONTH, page_words
from tests.servers import postgres_server, spark_session

OUTPUT_FRAMES = tuple(name.removesuffix(".csv") for name in CSV_FILES)
PG_ENV = "SALESREPORT_TEST_PG_URL"


@pytest.fixture(scope="module")
def pg_url():
    with postgres_server() as url:
        yield url


TEAMS = ("emea", "na", "apac")
MONTHS = (REPORT_MONTH, "2026-09")


@pytest.fixture(scope="module")
def loaded(sample_dir):
    """``loaded(team, month)``: the team's tables read from the sample files (once each)."""
    from salesreport.data import load_tables

    cache = {}

    def get(team: str, month: str):
        if (team, month) not in cache:
            cache[team, month] = load_tables(load_params(team), sample_dir, month)
        return cache[team, month]

    return get


@pytest.fixture(scope="module")
def loaded_emea(loaded):
    return {m: loaded("emea", m) for m in MONTHS}


def _with_engine(params, **engine):
    return params.model_copy(update={"engine": EngineParams(**engine)})


def _frames(params, loaded, month):
    """The report's files computed by ``params``'s engine, given the tables as a report run
    gives them: streamed from the loader's engine (``tables_engine``)."""
    from salesreport.context import build_context

    ctx = build_context(params, loaded.tables, month, tables_engine=loaded.engine)
    return {name: ctx.frames[name] for name in OUTPUT_FRAMES}


def _engine_tables(engine) -> dict[str, pa.Table]:
    return {n: engine.backend.to_pyarrow(t.order_by("_row")) for n, t in engine._tables.items()}


def test_tables_streamed_from_the_loader_equal_the_tables_given_as_pandas(
    pg_url, loaded_emea, monkeypatch
):
    """A server engine is given a report run's tables batch by batch from the loader's
    engine (``Engine.copy_tables``, a few rows at a time here): each table reads back from
    PostgreSQL as the same table given from pandas frames (``register_tables``). (A local
    Spark session's streamed tables: ``test_spark_computes_the_report_files_as_duckdb``.)"""
    from salesreport.backends import open_engine
    from salesreport.data.pit import as_of

    monkeypatch.setenv(PG_ENV, pg_url)
    monkeypatch.setattr("salesreport.engine.FETCH_ROWS", 1000)  # several batches a table
    spec = EngineParams(kind="postgres", url_env=PG_ENV)
    loaded = loaded_emea[REPORT_MONTH]
    cut = as_of(loaded.tables, REPORT_MONTH, copy=False)[0]
    given = open_engine(spec).register_tables(cut)
    try:
        want = _engine_tables(given)
    finally:
        given.close()
    streamed = open_engine(spec).copy_tables(loaded.engine)
    try:
        got = _engine_tables(streamed)
    finally:
        streamed.close()
    assert set(got) == set(want) == set(cut.present())
    assert max(len(t) for t in want.values()) > 10_000  # streamed in batches of 1,000
    for name, table in want.items():
        assert got[name].schema == table.schema, name
        assert got[name].equals(table), name


def assert_same_frames(got: dict, want: dict, engine: str) -> None:
    """Floats within a relative 1e-9 (absolute 1e-9 near zero), everything else identical."""
    for name, w in want.items():
        g = got[name]
        assert list(g.columns) == list(w.columns), (engine, name)
        assert len(g) == len(w), (engine, name, len(g), len(w))
        for col in w.columns:
            a, b = g[col].reset_index(drop=True), w[col].reset_index(drop=True)
            if pd.api.types.is_float_dtype(b) or pd.api.types.is_float_dtype(a):
                a, b = a.astype(float).to_numpy(), b.astype(float).to_numpy()
                assert np.array_equal(np.isnan(a), np.isnan(b)), (engine, name, col)
                ok = ~np.isnan(b)
                close = np.isclose(a[ok], b[ok], rtol=1e-9, atol=1e-9)
                assert close.all(), (engine, name, col, a[ok][~close][:5], b[ok][~close][:5])
            else:
                pd.testing.assert_series_equal(
                    a, b, check_dtype=False, obj=f"{engine} {name}.{col}"
                )


@pytest.fixture(scope="module")
def duckdb_frames(loaded):
    """``duckdb_frames(team, month)``: the report's frames on the embedded engine (once each)."""
    cache = {}

    def get(team: str, month: str):
        if (team, month) not in cache:
            cache[team, month] = _frames(load_params(team), loaded(team, month), month)
        return cache[team, month]

    return get


@pytest.mark.parametrize("team", TEAMS)
def test_postgres_computes_the_report_files_as_duckdb(
    team, pg_url, loaded, duckdb_frames, monkeypatch
):
    monkeypatch.setenv(PG_ENV, pg_url)
    params = _with_engine(load_params(team), kind="postgres", url_env=PG_ENV)
    for month in MONTHS:
        got = _frames(params, loaded(team, month), month)
        assert_same_frames(got, duckdb_frames(team, month), f"postgres {team} {month}")


# ------------------------------------------------- tables read where they live (data.sql)

#: the sample's tables as a CRM database holds them (typed columns: date, timestamptz,
#: numeric, bigint; text where the sample has unreadable values), in schema ``crm``
CRM_SCHEMA = "crm"


@pytest.fixture(scope="module")
def pg_crm(pg_url, sample_dir):
    from tests.servers import copy_folder_to_postgres

    names = copy_folder_to_postgres(pg_url, sample_dir, CRM_SCHEMA)
    assert len(names) == 10
    return pg_url


def _sql_team(params, **tables):
    """``params`` reading every table from the database (``engine: postgres`` with
    ``data.sql``, as docs/data-contract.md shows it); ``tables`` overrides a table's spec."""
    from salesreport.params import TeamParams
    from salesreport.tables import TABLE_NAMES

    spec = {t: f"{CRM_SCHEMA}.{t}" for t in TABLE_NAMES} | tables
    data = params.model_dump(exclude_unset=True)
    data["data"] = {"sql": {"url_env": PG_ENV, "tables": spec}}
    data["engine"] = "postgres"
    return TeamParams.model_validate(data)


def test_postgres_tables_given_by_name_or_query_read_as_the_files(
    pg_crm, loaded_emea, duckdb_frames, monkeypatch
):
    """``engine: postgres`` beside ``data.sql``: the server data.sql names computes (no
    url_env of its own), the tables (names and a query) read from it are the tables the files
    give, and the report's files computed there equal DuckDB's from the files."""
    from salesreport.data import load_tables

    monkeypatch.setenv(PG_ENV, pg_crm)
    query = (
        "SELECT order_id, account_id, order_date, amount, region, currency, product, channel, "
        f"segment FROM {CRM_SCHEMA}.orders"
    )
    params = _sql_team(load_params("emea"), orders=query)
    assert params.engine.kind == "postgres" and params.engine.url_env == PG_ENV
    for month, from_files in loaded_emea.items():
        got = load_tables(params, None, month)
        assert got.sources["orders"] == "sql:orders"
        for name, want in from_files.tables.items():
            pd.testing.assert_frame_equal(
                getattr(got.tables, name).reset_index(drop=True),
                want.reset_index(drop=True),
                obj=name,
            )
        assert got.quality.read["opportunities"]["rows_kept"] == len(got.tables.opportunities)
        if month == REPORT_MONTH:
            want = duckdb_frames("emea", month)
            assert_same_frames(_frames(params, got, month), want, "postgres")


@pytest.mark.parametrize(
    "spec, says",
    [
        (f"{CRM_SCHEMA}.opportunity", 'relation "crm.opportunity" does not exist'),
        (
            f"SELECT opportunity_id, amount FROM {CRM_SCHEMA}.opportunities",
            "column 'owner_id' is missing (required). Select it in the query of "
            "data.sql.tables.opportunities",
        ),
        (
            f"SELECT * FROM {CRM_SCHEMA}.opportunities WHERE false",
            "query for opportunities returned no rows",
        ),
    ],
)
def test_a_wrong_table_or_query_on_the_server_names_the_table_and_setting(
    pg_crm, spec, says, monkeypatch
):
    from salesreport.data import load_tables
    from salesreport.exceptions import DataError

    monkeypatch.setenv(PG_ENV, pg_crm)
    params = _sql_team(load_params("emea"), opportunities=spec)
    with pytest.raises(DataError) as err:
        load_tables(params, None, REPORT_MONTH)
    msg = str(err.value)
    assert says in msg, msg
    assert "opportunities" in msg and ("data.sql.tables" in msg or "sql:opportunities" in msg)
    password = pg_crm.split(":")[2].split("@")[0]
    assert password not in msg and pg_crm not in msg


#: one KPI of each kind the compiler has (flow, ratio of flows, employed reps, cohort
#: retention, a stock at a date), which a Spark cluster computes in the tests (a local
#: session computes every file of the report: test_spark_computes_the_report_files_as_duckdb)
SPARK_METRICS = [
    "revenue", "win_rate", "rep_attrition_rate", "net_revenue_retention", "pipeline_open_value",
]  # fmt: skip


def _some_frames(engine, params, month: str) -> dict[str, pd.DataFrame]:
    """Five KPIs of different kinds (:data:`SPARK_METRICS`), the revenue series and the
    cohorts, computed by ``engine``."""
    from salesreport.cohorts import cohort_table
    from salesreport.kpis.compiler import evaluate
    from salesreport.periods import windows_frame
    from salesreport.revenue import monthly_revenue

    return {
        "kpis": evaluate(engine, params, windows_frame(month, 2), SPARK_METRICS, "region"),
        "revenue": monthly_revenue(engine, end_month=month).reset_index(),
        "cohorts": cohort_table(engine, month),
    }


def test_spark_computes_the_report_files_as_duckdb(loaded, duckdb_frames, monkeypatch):
    """Every file of EMEA's report (KPIs, cohorts, OKRs, forecasts and their accuracy) on a
    local session given the tables as a report run gives them: streamed from the loader's
    engine into Parquet files, batch by batch (batches of 1,000 here). One team-month, 45-75 s
    here, to keep the suite under 20 minutes; all three teams and both months:
    ``benchmarks/bench_engines.py --engines duckdb,spark --teams emea,na,apac --months
    2026-10,2026-09``."""
    spark_session()  # skips (or fails in CI) without PySpark or Java
    monkeypatch.setattr("salesreport.engine.FETCH_ROWS", 1000)  # several batches a table
    params = _with_engine(load_params("emea"), kind="spark", master="local[2]")
    got = _frames(params, loaded("emea", REPORT_MONTH), REPORT_MONTH)
    assert_same_frames(got, duckdb_frames("emea", REPORT_MONTH), "spark")


def test_a_spark_cluster_computes_kpis_cohorts_and_revenue_as_duckdb(
    loaded_emea, sample_dir, tmp_path
):
    """``engine.master`` naming a cluster: a standalone master and worker (on the loopback
    address), whose executors run in processes of their own and cannot read the driver's
    files. With ``engine.staging`` (here a ``file://`` folder, which this machine's worker
    reads) the tables reach them as Parquet files there, removed at the end: the five KPIs,
    the revenue series and the cohorts equal DuckDB's; without it, through the driver: the
    revenue series equals DuckDB's. Run in a process of its own: PySpark keeps one session
    per process, the other tests' local one here."""
    import subprocess
    import sys

    from salesreport.kpis.compiler import engine_for
    from salesreport.tables import TABLE_NAMES
    from tests.servers import spark_cluster

    month = REPORT_MONTH
    params = load_params("emea")
    want = _some_frames(engine_for(loaded_emea[month].tables, month, params), params, month)
    staging = tmp_path / "staging"
    with spark_cluster() as url:
        code = "import sys; from tests.test_engines import _cluster_child; _cluster_child(*sys.argv[1:])"
        proc = subprocess.run(
            [sys.executable, "-c", code, url, str(sample_dir), month, str(tmp_path),
             staging.as_uri()],
            cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True,
            timeout=900, check=False,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads((tmp_path / "session.json").read_text())
    assert seen["master"] == url and seen["executors"] >= 1
    assert seen["reads_local_files"] is False
    given = [name for name in TABLE_NAMES if loaded_emea[month].tables.has(name)]
    assert {f"view-{name}.parquet" for name in given} <= set(seen["staged"]), seen["staged"]
    assert not list(staging.iterdir())  # removed when the engine closed
    got = {name: pd.read_pickle(tmp_path / f"staging-{name}.pkl") for name in want}
    assert set(got["kpis"]["metric"]) == set(SPARK_METRICS)
    assert_same_frames(got, want, "spark cluster (staging)")
    revenue = {"revenue": pd.read_pickle(tmp_path / "driver-revenue.pkl")}
    assert_same_frames(revenue, {"revenue": want["revenue"]}, "spark cluster (driver)")


def test_tables_named_in_sparks_catalog_are_read_as_the_files(loaded_emea, sample_dir, tmp_path):
    """``engine: spark`` and ``data.sql.tables`` without url_env: the tables come from the
    session's catalog (views of the sample's files typed as Spark would hold them: dates,
    doubles, instants), by name (``global_temp.crm_orders``) or by query, and load as the
    files do; a name the catalog lacks, or a query without rows, stops the load naming the
    table and the setting. With ``engine.staging`` the executors write each result there as
    Parquet files, copied to the report's machine: the same tables, the same fingerprints
    (the rows' text, in order) as through the driver, and nothing left in staging."""
    import duckdb

    from salesreport.data import load_tables
    from salesreport.data.read import shared_reads
    from salesreport.exceptions import DataError
    from salesreport.params import TeamParams

    session = spark_session().backend._session  # skips (or fails in CI) without Spark
    for path in sorted(sample_dir.glob("*.csv")):
        typed = duckdb.sql(f"SELECT * FROM read_csv('{path}')").to_arrow_table()
        session.createDataFrame(typed).createOrReplaceGlobalTempView(f"crm_{path.stem}")
    tables = {p.stem: f"global_temp.crm_{p.stem}" for p in sample_dir.glob("*.csv")}
    tables["orders"] = "SELECT * FROM global_temp.crm_orders WHERE amount IS NOT NULL"

    def team(staging=None, **specs):
        data = load_params("emea").model_dump(exclude_unset=True)
        data["data"] = {"sql": {"tables": tables | specs}}
        data["engine"] = {"kind": "spark", "master": "local[2]", "staging": staging}
        return TeamParams.model_validate(data)

    got = load_tables(team(), None, REPORT_MONTH)
    staging = tmp_path / "staging"
    staging.mkdir()
    staged = load_tables(team(staging.as_uri()), None, REPORT_MONTH)
    with shared_reads():  # --all-teams: the rows kept for every team (as Arrow)
        shared = load_tables(team(staging.as_uri()), None, REPORT_MONTH)
    assert not list(staging.iterdir())
    assert len(got.fingerprints) >= 10
    for name in got.fingerprints:
        for other in (staged, shared):
            assert other.fingerprints[name] == got.fingerprints[name], name
            pd.testing.assert_frame_equal(getattr(other.tables, name), getattr(got.tables, name))
    for name, want in loaded_emea[REPORT_MONTH].tables.items():
        pd.testing.assert_frame_equal(
            getattr(got.tables, name).reset_index(drop=True), want.reset_index(drop=True), obj=name
        )
    assert got.sources["orders"] == "sql:orders"
    for spec, says in [
        ("global_temp.crm_opportunity", "[TABLE_OR_VIEW_NOT_FOUND]"),
        ("SELECT * FROM global_temp.crm_opportunities WHERE false", "returned no rows"),
    ]:
        with pytest.raises(DataError) as err:
            load_tables(team(opportunities=spec), None, REPORT_MONTH)
        msg = str(err.value)
        assert says in msg and "data.sql.tables.opportunities" in msg, msg
    # a name given to two columns: the same problem whichever way the rows come
    twice = "SELECT amount, * FROM global_temp.crm_opportunities"
    said = []
    for way in (None, staging.as_uri()):
        with pytest.raises(DataError) as err:
            load_tables(team(way, opportunities=twice), None, REPORT_MONTH)
        said.append(str(err.value))
    assert "amount" in said[0] and "more than one column" in said[0], said[0]
    assert said[1] == said[0]


def _cluster_child(url: str, sample: str, month: str, out: str, staging: str) -> None:
    """The cluster test's process: the EMEA sample's frames computed on the cluster at
    ``url`` with the tables put in ``staging`` (``staging-*.pkl``), then given through the
    driver (``driver-*.pkl``), saved in ``out`` with what the session was
    (``session.json``: the files staged)."""
    from urllib.parse import urlsplit

    from salesreport.data import load_tables
    from salesreport.kpis.compiler import engine_for
    from salesreport.revenue import monthly_revenue

    params = load_params("emea")
    tables = load_tables(params, Path(sample), month).tables
    loopback = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
    seen = {}
    for way, folder in [("staging", staging), ("driver", None)]:
        spark = engine_for(tables, month, _with_engine(params, kind="spark", master=url,
                                                         options=loopback, staging=folder))  # fmt: skip
        if folder is not None:
            frames = _some_frames(spark, params, month)
        else:  # every table is given the same way: one of the frames shows it
            frames = {"revenue": monthly_revenue(spark, end_month=month).reset_index()}
        for name, frame in frames.items():
            frame.to_pickle(Path(out) / f"{way}-{name}.pkl")
        if folder is not None:
            staged = Path(urlsplit(spark._staged).path)
            seen["staged"] = sorted(p.name for p in staged.iterdir())
        sc = spark.backend._session.sparkContext
        executors = sc._jsc.sc().getExecutorMemoryStatus().size() - 1  # less the driver
        seen |= {"master": sc.master, "executors": executors,
                 "reads_local_files": spark._spark_reads_local_files()}  # fmt: skip
        spark.close()
    (Path(out) / "session.json").write_text(json.dumps(seen))


# ----------------------------------------------------------------------- errors and secrets


#: awkward values of every engine type: text (empty, quotes, commas, line breaks, a
#: backslash, non-ASCII, NULL-like words), missing values of every type, doubles that print
#: with 17 digits, an infinite number, 2^62, microseconds, dates and booleans
AWKWARD = pd.DataFrame(
    {
        "text": ["", 'say "hi"', "a,b", "two\nlines", "back\\slash", "Zürich ü", "NULL", None],
        "number": [0.1, 0.2 + 0.1, 1e-300, -1 / 3, 2.0**53 + 2, None, float("-inf"), 1e22],
        "integer": [0, -1, 2**62, 7, 8, 9, 10, 11],
        "flag": [True, False, None, True, True, False, True, False],
        "day": pd.to_datetime(["2026-01-31", None, "1999-12-31", "2026-02-28"] * 2),
        "at": pd.to_datetime(["2026-03-31 23:30:00.000001", "2026-04-01 00:00:00.000000", None,
                              "2026-10-25 02:30:00.500000"] * 2),
    }
)  # fmt: skip
AWKWARD_SCHEMA = pa.schema(
    [("text", pa.string()), ("number", pa.float64()), ("integer", pa.int64()),
     ("flag", pa.bool_()), ("day", pa.date32()), ("at", pa.timestamp("us"))]
)  # fmt: skip


def _reads_back_value_for_value(engine, table: pa.Table) -> None:
    """``table`` put into ``engine`` as a temporary table reads back value for value (a
    missing number stays missing, not NaN)."""
    back = engine.backend.to_pyarrow(engine._temporary("awkward", table).order_by("integer"))
    want = table.sort_by("integer")
    assert back.schema.names == want.schema.names
    for name in want.schema.names:
        assert back[name].cast(want[name].type).to_pylist() == want[name].to_pylist(), name


def test_a_table_copied_into_postgres_reads_back_value_for_value(pg_url, monkeypatch):
    """Tables go into a PostgreSQL session by one COPY of CSV text: the awkward values come
    back as they went in, also when the table is copied in several batches."""
    from salesreport.backends import open_engine

    monkeypatch.setenv(PG_ENV, pg_url)
    monkeypatch.setattr("salesreport.engine.COPY_ROWS", 3)  # 8 rows: batches of 3, 3 and 2
    engine = open_engine(EngineParams(kind="postgres", url_env=PG_ENV))
    try:
        table = pa.Table.from_pandas(AWKWARD, schema=AWKWARD_SCHEMA, preserve_index=False)
        _reads_back_value_for_value(engine, table)
    finally:
        engine.close()


def test_a_cluster_s_tables_go_through_the_driver_value_for_value(monkeypatch):
    """A cluster's executors cannot read the driver's files: there a table goes through
    the driver (createDataFrame from Arrow), and the awkward values read back as they went
    in (run here on a local session told that it is a cluster's)."""
    from salesreport.engine import Engine

    session = spark_session().backend._session
    import ibis

    monkeypatch.setattr(Engine, "_spark_reads_local_files", lambda self: False)
    engine = Engine(ibis.pyspark.connect(session), "spark")
    try:
        table = pa.Table.from_pandas(AWKWARD, schema=AWKWARD_SCHEMA, preserve_index=False)
        _reads_back_value_for_value(engine, table)
        assert engine._folder is None  # no file written
    finally:
        engine.close()


def test_a_cluster_s_tables_go_through_engine_staging_value_for_value(monkeypatch, tmp_path):
    """With ``engine.staging`` a cluster's tables are Parquet files moved into the engine's
    own folder there (not through the driver's memory): the awkward values read back as
    they went in, the executors scan the staged file, no copy is left on the driver's disk,
    and closing the engine removes its folder in staging (run here on a local session told
    that it is a cluster's, staging on ``file://``)."""
    from salesreport.engine import Engine

    session = spark_session().backend._session
    import ibis

    monkeypatch.setattr(Engine, "_spark_reads_local_files", lambda self: False)
    staging = tmp_path / "staging"
    engine = Engine(ibis.pyspark.connect(session), "spark")
    engine.staging = staging.as_uri()
    try:
        table = pa.Table.from_pandas(AWKWARD, schema=AWKWARD_SCHEMA, preserve_index=False)
        _reads_back_value_for_value(engine, table)
        (folder,) = staging.iterdir()
        assert folder.name.startswith("salesreport-")
        assert (folder / "view-awkward.parquet").is_file()
        scanned = session.table("awkward").inputFiles()
        assert scanned == [(folder / "view-awkward.parquet").as_uri()], scanned
        assert not list(Path(engine._folder).glob("*.parquet"))  # moved, not copied
    finally:
        engine.close()
    assert staging.is_dir() and not list(staging.iterdir())


def test_a_staging_folder_spark_cannot_write_names_the_setting(monkeypatch):
    """A staging folder on a filesystem Spark has no connector for (this machine's Spark has
    none for S3) stops with a message naming ``engine.staging`` and what to check."""
    from salesreport.engine import Engine
    from salesreport.exceptions import EngineError

    session = spark_session().backend._session
    import ibis

    monkeypatch.setattr(Engine, "_spark_reads_local_files", lambda self: False)
    engine = Engine(ibis.pyspark.connect(session), "spark")
    engine.staging = "s3a://no-such-bucket/tmp"
    try:
        table = pa.Table.from_pandas(AWKWARD, schema=AWKWARD_SCHEMA, preserve_index=False)
        with pytest.raises(EngineError) as err:
            engine._temporary("awkward", table)
    finally:
        engine.close()
    msg = str(err.value)
    assert "engine.staging s3a://no-such-bucket/tmp" in msg and "S3AFileSystem" in msg, msg
    assert "a folder every executor reads" in err.value.fix


def test_a_staging_folder_is_tried_before_the_data_is_read(monkeypatch, tmp_path):
    """``check_engine`` (run before the data is read) makes and removes a folder in a
    cluster's ``engine.staging``: one Spark cannot write stops the run there, not after a
    long load; a good one is left as it was (the cluster here is the tests' local session,
    its master's port not probed)."""
    from salesreport import backends

    session = spark_session().backend._session
    monkeypatch.setattr(backends, "spark_session", lambda spec, source="": session)
    monkeypatch.setattr(backends, "check_spark_master", lambda master, source="": None)
    spec = {"kind": "spark", "master": "spark://cluster:7077"}
    with pytest.raises(EngineError, match="engine.staging s3a://no-such-bucket/tmp"):
        backends.check_engine(EngineParams(**spec, staging="s3a://no-such-bucket/tmp"))
    staging = tmp_path / "staging"
    staging.mkdir()
    backends.check_engine(EngineParams(**spec, staging=staging.as_uri()))
    assert not list(staging.iterdir())
    blocked = tmp_path / "a-file"  # a file where the folder's parent should be
    blocked.write_text("")
    with pytest.raises(EngineError, match="engine.staging .*a-file/x") as err:
        backends.check_engine(EngineParams(**spec, staging=f"{blocked.as_uri()}/x"))
    assert "a folder every executor reads" in err.value.fix


def test_a_local_spark_session_reads_tables_from_the_engine_s_parquet_files():
    """On a local Spark session a table is a view on a Parquet file in the engine's own
    folder (the rows are not held in Java's heap): the awkward values read back as they went
    in (a missing number missing, not NaN); a small frame with nanosecond times, 32-bit
    integers and floats (what pandas makes) is read in the engine types; closing the
    engine drops its views and removes the folder."""
    from salesreport.engine import Engine

    session = spark_session().backend._session
    import ibis

    engine = Engine(ibis.pyspark.connect(session), "spark")
    try:
        table = pa.Table.from_pandas(AWKWARD, schema=AWKWARD_SCHEMA, preserve_index=False)
        _reads_back_value_for_value(engine, table)
        folder = Path(engine._folder)
        assert (folder / "view-awkward.parquet").is_file()
        plan = session.table("awkward")._jdf.queryExecution().executedPlan().toString()
        assert "view-awkward.parquet" in plan  # scanned from the file
        small = pd.DataFrame(
            {
                "at": pd.to_datetime(["2026-01-02 03:04:05.123456", None]),
                "n": np.array([1, 2], dtype=np.int32),
                "x": np.array([0.5, np.nan], dtype=np.float32),
                "label": ["a", None],
            }
        )
        got = engine.execute(engine.memtable(small).order_by("n"))
        assert got["at"].tolist()[0] == pd.Timestamp("2026-01-02 03:04:05.123456")
        assert pd.isna(got["at"].tolist()[1])
        assert got["n"].tolist() == [1, 2] and got["x"].tolist()[0] == 0.5
        assert got["label"].tolist()[0] == "a"
        made = [*engine._made]
    finally:
        engine.close()
    assert not folder.exists()
    views = {t.name for t in session.catalog.listTables() if t.isTemporary}
    assert "awkward" not in views and not set(made) & views


def test_a_postgres_table_is_read_in_batches_from_a_server_cursor_as_at_once(pg_url, monkeypatch):
    """``data.sql`` reads a table from a cursor on the server a few rows at a time (never the
    whole result in the process as Python rows): every type a CRM table has (text with the
    awkward values, double, numeric, bigint, boolean, date, timestamp with and without zone),
    with batches where a column has no value, reads as the whole result made Arrow at once."""
    import contextlib

    import duckdb
    import psycopg

    from salesreport.data import read as read_mod
    from tests.test_data_sql import (
        _read_at_once,
        assert_engine_rows_as_at_once,
        assert_read_as_at_once,
    )

    rows = []
    for i, r in enumerate(AWKWARD.itertuples(index=False)):
        at = None if pd.isna(r.at) else r.at.to_pydatetime()
        rows.append((
            i, r.text, None if pd.isna(r.number) else r.number, r.integer,
            None if pd.isna(r.flag) else bool(r.flag), None if pd.isna(r.day) else r.day.date(),
            at, None if at is None else at.replace(tzinfo=dt.UTC),
            None if i < 3 else f"{i * 1000}.{i}5",  # numeric: none in the first batch
            None,  # a column without any value
            float("nan") if i == 4 else i / 7,  # NaN: a missing number, as psycopg reads it
        ))  # fmt: skip
    with psycopg.connect(pg_url) as conn:
        conn.execute(
            "CREATE TABLE awkward_read (id int, text text, number double precision, "
            "integer bigint, flag boolean, day date, at timestamp, at_utc timestamptz, "
            "amount numeric(12, 2), nothing date, ratio double precision, code uuid)"
        )
        conn.cursor().executemany(
            "INSERT INTO awkward_read VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", rows
        )
    monkeypatch.setattr(read_mod, "FETCH_ROWS", 3)  # 8 rows: batches of 3, 3 and 2
    fetched = []
    connect, errors, cursor = read_mod._postgres_reader(pg_url, PG_ENV)

    class Counted:  # the reader's cursor, each fetch's rows counted
        def __init__(self, conn) -> None:
            self.cur = cursor(conn)
            assert isinstance(self.cur, psycopg.ServerCursor)

        def __getattr__(self, name):
            return getattr(self.cur, name)

        def fetchmany(self, size):
            got = self.cur.fetchmany(size)
            fetched.append(len(got))
            return got

    query = "SELECT id, text, number, integer, flag, day, at, at_utc, amount, nothing, ratio " \
        "FROM awkward_read ORDER BY id"  # fmt: skip
    con = duckdb.connect()
    with contextlib.closing(connect()) as conn, contextlib.closing(con):
        got = read_mod._read_query(conn, Counted, "orders", query, pg_url, errors)
        want = _read_at_once(conn, query)
        assert fetched == [3, 3, 2, 0]
        assert_read_as_at_once(got, want)
        # into a table of the engine, batch by batch: the same rows there
        into = read_mod._read_query(conn, Counted, "orders", query, pg_url, errors, con)
        assert_engine_rows_as_at_once(con, into, want)
        # copied by the server as CSV text the engine parses (every type above): the same
        copied = read_mod._copy_query(conn, "orders", query, pg_url, errors, con)
        assert_engine_rows_as_at_once(con, copied, want)
        # a type outside those (uuid): left to the cursor
        with_code = "SELECT id, code FROM awkward_read"
        assert read_mod._copy_query(conn, "orders", with_code, pg_url, errors, con) is None
    assert got[2] == [
        "integer", "text", "number", "integer", "bool", "date", "timestamp", "timestamptz",
        "number", "text", "number",
    ]  # fmt: skip


def test_postgres_wrong_password_names_the_engine_and_never_the_password(pg_url, monkeypatch):
    from salesreport.backends import open_engine

    bad = pg_url.replace(":pw-", ":wrong-pw-")
    monkeypatch.setenv(PG_ENV, bad)
    with pytest.raises(EngineError) as err:
        open_engine(EngineParams(kind="postgres", url_env=PG_ENV))
    text = str(err.value)
    assert "engine postgres" in text and PG_ENV in text
    assert "password authentication failed" in text
    password = bad.split(":")[2].split("@")[0]
    assert password not in text and pg_url.split(":")[2].split("@")[0] not in text
    assert err.value.exit_code == 3


def test_a_password_in_the_url_s_query_string_connects_and_is_never_shown(pg_url, monkeypatch):
    """libpq takes the password in the query string too (``?password=``): the engine
    connects with it, and a wrong one is named as such with neither form of it (as written,
    percent-decoded) in the message."""
    from urllib.parse import quote

    from salesreport.backends import open_engine

    user_host, rest = pg_url.removeprefix("postgresql://").split("@")
    user, password = user_host.split(":")
    monkeypatch.setenv(PG_ENV, f"postgresql://{user}@{rest}?password={quote(password)}")
    open_engine(EngineParams(kind="postgres", url_env=PG_ENV)).close()
    wrong = "wrong&pw-in-query"
    monkeypatch.setenv(PG_ENV, f"postgresql://{user}@{rest}?password={quote(wrong, safe='')}")
    with pytest.raises(EngineError, match="password authentication failed") as err:
        open_engine(EngineParams(kind="postgres", url_env=PG_ENV))
    assert "pw-in-query" not in str(err.value) and "pw-in-query" not in repr(err.value)


def test_a_query_stopped_by_the_server_s_statement_timeout_says_which_limit_to_raise(
    pg_crm, monkeypatch
):
    """A production server's statement_timeout stopping one of the report's queries: the
    message names the engine and the timeout and says where to raise it (the advice was to
    check that the server is running)."""
    from salesreport.backends import open_engine
    from salesreport.data import load_tables
    from salesreport.exceptions import DataError
    from tests.servers import postgres_role

    limit = {"statement_timeout": "2s"}
    with postgres_role(pg_crm, "sr_hurried", limit, reads=CRM_SCHEMA) as url:
        monkeypatch.setenv(PG_ENV, url)
        engine = open_engine(EngineParams(kind="postgres", url_env=PG_ENV))
        try:
            with pytest.raises(EngineError) as err:
                engine.execute(engine.backend.sql("SELECT pg_sleep(5) IS NULL AS x"))
        finally:
            engine.close()
        text = str(err.value)
        assert "engine postgres: a query failed: canceling statement due to statement timeout" in (
            text
        )
        assert "statement_timeout" in err.value.fix and "running" not in err.value.fix
        assert "pw-sr_hurried" not in text
        slow = f"SELECT o.* FROM {CRM_SCHEMA}.opportunities o, pg_sleep(5)"
        with pytest.raises(DataError) as err:  # reading data.sql: the same advice
            load_tables(_sql_team(load_params("emea"), opportunities=slow), None, REPORT_MONTH)
        text = str(err.value)
        assert "sql:opportunities" in text or "query for opportunities failed" in text, text
        assert "statement timeout" in text and "?options=-cstatement_timeout" in text, text


def test_postgres_server_down_is_a_clear_error(monkeypatch):
    from salesreport.backends import open_engine
    from tests.servers import free_port

    monkeypatch.setenv(PG_ENV, f"postgresql://u:s3cret-value@127.0.0.1:{free_port()}/db")
    with pytest.raises(EngineError) as err:
        open_engine(EngineParams(kind="postgres", url_env=PG_ENV))
    text = str(err.value)
    assert "cannot connect to 127.0.0.1" in text and "s3cret-value" not in text
    assert "server is running" in text


def test_a_postgres_user_who_cannot_make_temporary_tables_is_stopped_when_it_connects(
    pg_url, monkeypatch
):
    """The run computes in temporary tables: a read-only connection (as on a standby
    server) or a user without the TEMPORARY privilege is an EngineError when the engine
    opens (check_engine: before the data is read), naming the reason, the grant or the
    engine to use instead, and never the password; a user who may is let through."""
    import psycopg

    from salesreport.backends import open_engine
    from tests.servers import postgres_role

    with psycopg.connect(pg_url, autocommit=True) as c:
        c.execute("CREATE DATABASE sr_no_temp")
        c.execute("REVOKE TEMPORARY ON DATABASE sr_no_temp FROM PUBLIC")
        c.execute("CREATE DATABASE sr_temp")
    read_only = {"default_transaction_read_only": "on"}
    try:
        with (
            postgres_role(pg_url, "sr_reader", read_only) as reader,
            postgres_role(pg_url, "sr_plain") as plain,
        ):
            cases = [
                (reader.rsplit("/", 1)[0] + "/sr_temp", "connection is read-only"),
                (
                    plain.rsplit("/", 1)[0] + "/sr_no_temp",
                    "user sr_plain may not create temporary tables in database sr_no_temp",
                ),
            ]
            for url, says in cases:
                monkeypatch.setenv(PG_ENV, url)
                with pytest.raises(EngineError) as err:
                    open_engine(EngineParams(kind="postgres", url_env=PG_ENV))
                text = str(err.value)
                assert says in text and "temporary tables of its session" in text, text
                assert "remove engine: postgres" in text and err.value.exit_code == 3
                assert "pw-" not in text and PG_ENV in text
            assert "GRANT TEMPORARY ON DATABASE sr_no_temp TO sr_plain" in text
            monkeypatch.setenv(PG_ENV, plain.rsplit("/", 1)[0] + "/sr_temp")
            open_engine(EngineParams(kind="postgres", url_env=PG_ENV)).close()
    finally:
        with psycopg.connect(pg_url, autocommit=True) as c:
            c.execute("DROP DATABASE sr_no_temp")
            c.execute("DROP DATABASE sr_temp")


def test_the_settings_in_a_postgres_url_s_query_hold_for_the_engine_and_the_reader(
    pg_crm, monkeypatch
):
    """``?sslmode=require`` (a managed server's usual URL) against this server, which has no
    SSL, is refused by the engine and by the reader of data.sql alike, rather than connecting
    without SSL (the engine used to drop the query string); ``?application_name=`` is the
    session's."""
    from salesreport.backends import open_engine
    from salesreport.data import load_tables
    from salesreport.exceptions import DataError

    monkeypatch.setenv(PG_ENV, f"{pg_crm}?application_name=crm-report\n")  # a line end, as
    # a mounted secret has it: not part of the URL
    engine = open_engine(EngineParams(kind="postgres", url_env=PG_ENV))
    try:
        cur = engine.backend.raw_sql("SELECT current_setting('application_name')")
        assert cur.fetchone() == ("crm-report",)
        cur.close()
    finally:
        engine.close()
    monkeypatch.setenv(PG_ENV, f"{pg_crm}?sslmode=require")
    with pytest.raises(EngineError, match="SSL") as err:
        open_engine(EngineParams(kind="postgres", url_env=PG_ENV))
    assert "pw-" not in str(err.value)
    with pytest.raises(DataError, match="SSL"):
        load_tables(_sql_team(load_params("emea")), None, REPORT_MONTH)


def test_a_server_writing_dates_day_first_and_short_floats_reads_as_one_writing_iso(
    pg_crm, monkeypatch
):
    """A user whose sessions start with DateStyle 'SQL, DMY' (``31/10/2026``) and
    extra_float_digits 0 (15 digits), as a server's or a role's settings may say: the tables
    read from data.sql equal those read by a user with the defaults (every activity's
    timestamp was taken as empty and the run stopped), and the engine's results keep their
    instants and every digit of a float (psycopg could not read such a timestamp)."""
    import psycopg

    from salesreport.backends import open_engine
    from salesreport.data import load_tables
    from tests.servers import postgres_role

    european = {"DateStyle": "SQL, DMY", "extra_float_digits": "0"}
    with postgres_role(pg_crm, "sr_dmy", european, reads=CRM_SCHEMA) as dmy:
        with psycopg.connect(dmy) as c:  # what such a session writes
            assert c.execute("SELECT DATE '2026-10-31'::text").fetchone() == ("31/10/2026",)
        params = _sql_team(load_params("emea"))
        monkeypatch.setenv(PG_ENV, pg_crm)
        want = load_tables(params, None, REPORT_MONTH).tables
        monkeypatch.setenv(PG_ENV, dmy)
        got = load_tables(params, None, REPORT_MONTH).tables
        for name in ("opportunities", "orders", "activities", "stage_history", "reps"):
            pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), obj=name)
        engine = open_engine(EngineParams(kind="postgres", url_env=PG_ENV))
        try:
            cur = engine.backend.raw_sql(
                "SELECT TIMESTAMPTZ '2026-10-31 23:30:00+00', 0.1::float8 + 0.2::float8"
            )
            when, total = cur.fetchone()
            cur.close()
        finally:
            engine.close()
        assert when == dt.datetime(2026, 10, 31, 23, 30, tzinfo=dt.UTC)
        assert total == 0.1 + 0.2  # 0.30000000000000004, not 0.3


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (None, "is not set"),
        ("mysql://u:p@h/db", "is not a PostgreSQL URL"),
        ("postgresql://u:p@h:99999/db", "port"),
    ],
)
def test_postgres_url_mistakes_are_named(url, says, monkeypatch):
    from salesreport.backends import open_engine

    if url is None:
        monkeypatch.delenv(PG_ENV, raising=False)
    else:
        monkeypatch.setenv(PG_ENV, url)
    with pytest.raises(EngineError, match=says) as err:
        open_engine(EngineParams(kind="postgres", url_env=PG_ENV))
    assert ":p@" not in str(err.value)


def test_a_query_failing_on_the_server_names_the_engine_masks_the_url(pg_url, monkeypatch):
    from salesreport.backends import open_engine

    monkeypatch.setenv(PG_ENV, pg_url)
    engine = open_engine(EngineParams(kind="postgres", url_env=PG_ENV))
    try:
        t = engine.memtable(pd.DataFrame({"a": [1.0]}))
        with pytest.raises(EngineError, match="engine postgres: a query failed") as err:
            engine.execute(t.select(b=t.a.cast("string").concat("x").cast("int64")))
        assert pg_url not in str(err.value)
    finally:
        engine.close()


def test_engine_params_in_yaml():
    assert EngineParams.model_validate("duckdb").kind == "duckdb"
    assert EngineParams.model_validate({"kind": "postgres", "url_env": "X"}).url_env == "X"
    from salesreport.params import TeamParams

    with pytest.raises(ValueError, match="needs url_env"):
        TeamParams.model_validate({"team": "t", "engine": "postgres"})
    sql = {"url_env": "CRM_URL", "tables": {"orders": "billing.orders"}}
    team = TeamParams.model_validate({"team": "t", "engine": "postgres", "data": {"sql": sql}})
    assert team.engine.url_env == "CRM_URL"  # the server the tables are read from
    own = {"kind": "postgres", "url_env": "PG"}
    team = TeamParams.model_validate({"team": "t", "engine": own, "data": {"sql": sql}})
    assert team.engine.url_env == "PG"
    with pytest.raises(ValueError, match="look like credentials"):
        EngineParams.model_validate(
            {"kind": "spark", "options": {"spark.hadoop.fs.s3a.secret.key": "x"}}
        )
    with pytest.raises(ValueError, match="for engine spark"):
        EngineParams.model_validate({"kind": "duckdb", "master": "spark://h:7077"})
    with pytest.raises(ValueError, match="for engine spark"):
        EngineParams.model_validate({"kind": "postgres", "url_env": "X", "staging": "hdfs://n/t"})
    staging = {"kind": "spark", "master": "spark://h:7077", "staging": "hdfs://nn:8020/tmp/sr"}
    assert EngineParams.model_validate(staging).staging == "hdfs://nn:8020/tmp/sr"
    with pytest.raises(ValueError, match=r"not a URI.*file:///mnt/shared/tmp"):
        EngineParams.model_validate({**staging, "staging": "/mnt/shared/tmp"})
    for secret in ["s3a://AKIA:s3cr3t@bucket/tmp", "https://acct.blob/tmp?sig=s3cr3t"]:
        with pytest.raises(ParameterError, match="engine: staging .*holds credentials") as err:
            validate_params({"team": "t", "engine": {**staging, "staging": secret}})
        assert "s3cr3t" not in str(err.value)


@pytest.mark.parametrize("dialect", ["bigquery", "snowflake", "trino"])
def test_the_catalogue_compiles_for_backends_not_tested_against_a_server(dialect, loaded_emea):
    """BigQuery, Snowflake and Trino are not run here (README: "not tested"); the whole
    catalogue's query, kept as one expression, must compile to their SQL."""
    import ibis

    from salesreport.kpis.compiler import Compilation, engine_for

    params = load_params("emea")
    engine = engine_for(loaded_emea[REPORT_MONTH].tables, REPORT_MONTH, params)
    engine.keep_lazy = True
    values = Compilation(engine, params, REPORT_MONTH).values()
    sql = str(ibis.to_sql(values, dialect=dialect))
    assert sql.lstrip().upper().startswith(("WITH", "SELECT"))
    for table in ("opportunities", "orders", "activities", "leads", "reps"):
        assert table in sql, (dialect, table)  # the base tables, not materialized copies
    # no materialized table: only the small parameter tables (windows, targets, months, each
    # window's prior)
    names = set(re.findall(r"_sr_([a-z_]+?)_\d+", sql))
    assert names and names <= {"windows", "targets", "months", "quota", "m", "prior"}, names


def test_another_ibis_backend_that_cannot_connect_is_named_and_masked(monkeypatch):
    from salesreport.backends import open_engine

    monkeypatch.setenv(PG_ENV, "nosuchdb://user:hunter2-secret@127.0.0.1:1/db")
    with pytest.raises(EngineError, match=r"engine ibis \(nosuchdb\): cannot connect") as err:
        open_engine(EngineParams(kind="ibis", url_env=PG_ENV))
    assert "hunter2-secret" not in str(err.value) and "not tested" in str(err.value)


# --------------------------------------------------------- where the engines differ, one test each


@pytest.fixture(scope="module")
def pg_icu_url(pg_url):
    """A database of the test server whose text order is ICU's English one (``a < B < c``),
    as on many real servers: code-point order is ``B < _c < a``."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(
            "CREATE DATABASE icu_en LOCALE_PROVIDER icu ICU_LOCALE 'en-US' "
            "LOCALE 'C.UTF-8' TEMPLATE template0"
        )
    url = pg_url.rsplit("/", 1)[0] + "/icu_en"
    with psycopg.connect(url) as con:
        order = [
            r[0] for r in con.execute("SELECT x FROM (VALUES ('a'), ('B'), ('_c')) v(x) ORDER BY x")
        ]
    assert order != ["B", "_c", "a"], order  # the server really orders text differently
    return url


def _hand_tables():
    """The hand-worked KPI tables (tests/test_kpis_hand.py) with region labels whose order
    differs by collation ("de" and "DE", "_x"), a missing close date, a zero amount and
    amounts whose decimal sum is not exact in binary (0.1 + 0.2); their activities fall on
    both sides of a month's end (23:30 on March 31st, 00:00 on April 1st, the team's clock)."""
    from salesreport.tables import Tables
    from tests.test_kpis_hand import _acts, _leads, _opps, _reps

    opps, reps = _opps(), _reps()
    opps["region"] = ["de", "UK", "_x", "UK", "DE"]
    opps.loc[2, "close_date"] = pd.NaT
    opps.loc[3, "amount"] = 0.0
    opps.loc[0, "amount"], opps.loc[4, "amount"] = 0.1, 0.2
    reps["region"] = ["de", "UK", "_x", "DE"]
    return Tables(opportunities=opps, leads=_leads(), activities=_acts(), reps=reps)


def test_hand_made_kpis_by_region_agree_in_value_and_order_on_postgres(pg_icu_url, monkeypatch):
    """NULLs, empty ratios (zero denominators), decimals and text order by segment, against
    DuckDB's: the rows come back in code-point order whatever the server's collation."""
    from salesreport.kpis import compute_kpis
    from salesreport.kpis.compiler import engine_for
    from tests.test_kpis_hand import PARAMS

    tables = _hand_tables()
    want = compute_kpis(tables, PARAMS, "2026-03")
    assert {"region=de", "region=DE", "region=_x"} <= set(want["segment"])
    assert want["value"].isna().any()  # empty ratios are compared too
    # over kpis_csv_max_rows the reps' rows of earlier months are not computed, on both
    small = PARAMS.model_copy(update={"kpis_csv_max_rows": 10})
    want_cut = compute_kpis(tables, small, "2026-03", notes={})
    reps = want_cut["segment"].str.startswith("owner_id=")
    assert reps.any() and set(want_cut.loc[reps, "period"]) == {"2026-03"}
    monkeypatch.setenv(PG_ENV, pg_icu_url)
    params = _with_engine(PARAMS, kind="postgres", url_env=PG_ENV)
    engine = engine_for(tables, "2026-03", params)
    try:
        before = _pg_temporary_tables(engine)
        got = compute_kpis(None, params, "2026-03", engine=engine)
        assert _pg_temporary_tables(engine) == before  # the intermediate tables dropped
        cut = params.model_copy(update={"kpis_csv_max_rows": 10})
        got_cut = compute_kpis(None, cut, "2026-03", engine=engine, notes={})
    finally:
        engine.close()
    assert_same_frames({"kpis": got, "cut": got_cut}, {"kpis": want, "cut": want_cut}, "postgres")


def _pg_temporary_tables(engine) -> set[str]:
    cur = engine.backend.raw_sql(
        "SELECT relname FROM pg_class WHERE relnamespace = pg_my_temp_schema() AND relkind = 'r'"
    )
    try:
        return {r[0] for r in cur.fetchall()}
    finally:
        cur.close()


def test_hand_made_kpis_by_region_agree_on_spark():
    """The same hand-made tables on Spark: ratios whose denominators are zero in some months,
    leads, and segments differing by case (benchmarks/bench_engines.py compares the whole
    catalogue)."""
    from salesreport.kpis.compiler import engine_for, evaluate
    from salesreport.periods import windows_frame
    from tests.test_kpis_hand import PARAMS

    spark_session()
    tables = _hand_tables()
    windows = windows_frame("2026-03", 2)
    metrics = ["win_rate", "average_deal_size", "lead_conversion_rate", "calls", "revenue"]
    duck = engine_for(tables, "2026-03", PARAMS)
    spark = engine_for(tables, "2026-03", _with_engine(PARAMS, kind="spark", master="local[2]"))
    want = evaluate(duck, PARAMS, windows, metrics, "region")
    session = spark.backend._session
    views = lambda: {t.name for t in session.catalog.listTables() if t.isTemporary}  # noqa: E731
    kept = lambda: session.sparkContext._jsc.sc().getPersistentRDDs().size()  # noqa: E731
    before, blocks = views(), kept()
    got = evaluate(spark, PARAMS, windows, metrics, "region")
    # the intermediate views dropped, and the blocks of their checkpoints released
    assert views() == before and kept() == blocks
    assert want["value"].isna().any() and {"region=de", "region=DE"} <= set(want["segment"])
    march = want[(want["metric"] == "calls") & (want["window"] == "month")].tail(3)
    # R1's call on the 3rd counts in March; R2's call at 00:00 on April 1st does not
    assert dict(zip(march["segment"], march["value"], strict=True)) == {
        "region=UK": 0, "region=_x": 0, "region=de": 1
    }  # fmt: skip
    assert_same_frames({"kpis": got}, {"kpis": want}, "spark")


def test_a_spark_computation_stopped_by_an_error_leaves_nothing_in_the_session_once_closed():
    """An intermediate table is a checkpoint held by Spark's block manager: an error inside
    ``scratch`` leaves it (for the engine's close, as on the other engines), and closing the
    engine drops its view and releases its blocks, so a long-lived process (JupyterLab,
    ``--all-teams``) does not keep a failed team's tables."""
    from salesreport.kpis.compiler import engine_for
    from tests.test_kpis_hand import PARAMS

    session = spark_session().backend._session
    made = lambda: {t.name for t in session.catalog.listTables() if t.name.startswith("_sr_")}  # noqa: E731
    kept = lambda: session.sparkContext._jsc.sc().getPersistentRDDs().size()  # noqa: E731
    before, blocks = made(), kept()
    spark = engine_for(
        _hand_tables(), "2026-03", _with_engine(PARAMS, kind="spark", master="local[2]")
    )
    with pytest.raises(RuntimeError, match="stopped"), spark.scratch():
        t = spark.table("opportunities")
        won = spark.materialize(t.filter(t.amount > 0), "won")
        assert spark.execute(won.count()) > 0 and kept() == blocks + 1
        raise RuntimeError("stopped")
    assert any(v.startswith("_sr_won_") for v in made()) and kept() == blocks + 1
    spark.close()
    assert made() == before and kept() == blocks


def test_a_report_read_and_computed_in_postgres_equals_duckdb_and_never_shows_the_password(
    pg_crm, tmp_path, built
):
    """The whole run as docs/data-contract.md shows it (``engine: postgres`` and ``data.sql``,
    no data folder) on the real server with its real password: the report publishes, its
    files equal the DuckDB run's on the files, and neither the password nor the URL is in any
    file written (HTML, notebooks, run.json, CSV) or in what the command prints."""
    from salesreport.tables import TABLE_NAMES
    from tests.conftest import _project, run_cli

    root = _project(tmp_path)
    p = root / "params" / "emea.yaml"
    tables = ", ".join(f"{t}: {CRM_SCHEMA}.{t}" for t in TABLE_NAMES)
    p.write_text(
        p.read_text()
        + f"engine: postgres\ndata:\n  sql:\n    url_env: {PG_ENV}\n"
        + f"    tables: {{{tables}}}\n"
    )
    r = run_cli(
        "report", "--team", "emea", "--month", REPORT_MONTH,
        SALESREPORT_HOME=str(root), **{PG_ENV: pg_crm},
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    password = pg_crm.split(":")[2].split("@")[0]
    assert password.startswith("pw-")
    out = root / "reports"
    files = [f for f in out.rglob("*") if f.is_file()]
    assert any(f.name == "executive.html" for f in files)
    for f in files:
        data = f.read_bytes()
        assert password.encode() not in data and pg_crm.encode() not in data, f
    assert password not in r.stdout + r.stderr
    run = json.loads(next(f for f in files if f.name == "run.json").read_text())
    assert run["parameters"]["engine"] == {
        "kind": "postgres", "url_env": PG_ENV, "master": None, "options": {}, "staging": None
    }  # fmt: skip
    duck = built[0] / "reports" / "emea" / REPORT_MONTH
    here = out / "emea" / REPORT_MONTH
    assert_same_frames(
        {n: pd.read_csv(here / n) for n in CSV_FILES},
        {n: pd.read_csv(duck / n) for n in CSV_FILES},
        "postgres (data.sql)",
    )
    pages = sorted(f.name for f in duck.glob("*.html"))
    assert len(pages) >= 7 and pages == sorted(f.name for f in here.glob("*.html"))
    for name in pages:  # the pages say the same, word for word, but for when they were made
        assert page_words(here / name) == page_words(duck / name), name


def test_a_server_that_is_down_stops_the_run_with_exit_3_and_publishes_nothing(
    tmp_path, sample_dir
):
    from tests.conftest import _project, run_cli
    from tests.servers import free_port

    root = _project(tmp_path)
    p = root / "params" / "emea.yaml"
    p.write_text(
        p.read_text() + f"audiences: [executive]\nengine: {{kind: postgres, url_env: {PG_ENV}}}\n"
    )
    url = f"postgresql://u:pw-never-shown@127.0.0.1:{free_port()}/db"
    r = run_cli(
        "report", "--team", "emea", "--month", REPORT_MONTH, "--data", str(sample_dir),
        SALESREPORT_HOME=str(root), **{PG_ENV: url},
    )  # fmt: skip
    assert r.returncode == 3, r.stderr
    assert "engine postgres: cannot connect" in r.stderr and "nothing was published" in r.stderr
    assert "pw-never-shown" not in r.stdout + r.stderr
    assert not (root / "reports" / "emea" / REPORT_MONTH).exists()


def test_a_spark_master_that_is_down_stops_the_run_with_exit_3_before_the_data_is_read(
    tmp_path, sample_dir
):
    """``engine.master`` naming a standalone master that does not answer: the run stops at
    once with exit 3 naming the engine and the master (Spark itself would retry for a minute
    and then say only that its context was stopped), before any data is read; nothing is
    published."""
    from tests.conftest import _project, run_cli
    from tests.servers import free_port

    root = _project(tmp_path)
    p = root / "params" / "emea.yaml"
    master = f"spark://127.0.0.1:{free_port()}"
    p.write_text(p.read_text() + f"engine: {{kind: spark, master: '{master}'}}\n")
    r = run_cli(
        "report", "--team", "emea", "--month", REPORT_MONTH, "--data", str(sample_dir),
        SALESREPORT_HOME=str(root),
    )  # fmt: skip
    assert r.returncode == 3, r.stderr
    assert f"engine spark: no Spark master answers at {master}" in r.stderr
    assert "Connection refused" in r.stderr and "nothing was published" in r.stderr
    assert "rows read" not in r.stdout  # stopped before the load
    assert not (root / "reports" / "emea" / REPORT_MONTH).exists()


def test_a_spark_master_url_names_each_master_to_try():
    from salesreport.backends import spark_masters

    assert spark_masters("spark://10.0.0.5:7078") == [("10.0.0.5", 7078)]
    assert spark_masters("spark://m1,m2:7079") == [("m1", 7077), ("m2", 7079)]  # standby
    assert spark_masters("spark://[::1]:7077") == [("::1", 7077)]
    assert spark_masters("spark://m1:70x") == [("m1", -1)]  # said as not a port
    for other in (None, "local[2]", "yarn", "k8s://https://k8s.example:6443"):
        assert spark_masters(other) == []


def test_a_spark_failure_names_the_java_exception_not_py4j_s_call():
    from salesreport.backends import first_line

    class Py4JJavaError(Exception):
        pass

    exc = Py4JJavaError(
        "An error occurred while calling o40.sql.\n: java.lang.StackOverflowError\n\tat x.y(z)"
    )
    assert first_line(exc) == "java.lang.StackOverflowError"
    assert first_line(ValueError("bad\nmore")) == "bad" and first_line(KeyError()) == "KeyError"


_QUIET_SPARK = """
import json
import os
from salesreport.backends import open_engine
from salesreport.params import EngineParams
e = open_engine(EngineParams(kind="spark", master="local[1]",
                             options={"spark.driver.extraJavaOptions": "-Dsalesreport.test=1"}))
conf = e.backend._session.sparkContext.getConf()
print(json.dumps({k: conf.get(k) for k in (
    "spark.driver.bindAddress", "spark.driver.host", "spark.driver.extraJavaOptions")}))
print(e.backend.raw_sql("SELECT 1 + 1 AS two").collect()[0]["two"])
"""


def test_a_local_spark_session_keeps_to_the_loopback_and_quiet_on_the_console(tmp_path):
    """A fresh Java process, as a user's run starts it: bound to 127.0.0.1, and Spark's
    start-up warnings (host name, native Hadoop library, "Setting default log level") do not
    print over the run's progress; the user's own Java options still reach the driver, after
    ours. The one line left is the JVM's own note about the incubator module Spark 4 loads."""
    import subprocess
    import sys

    spark_session()  # skips (or fails in CI) without PySpark or Java
    env = {k: v for k, v in os.environ.items() if k != "SPARK_LOCAL_IP"}
    r = subprocess.run(
        [sys.executable, "-c", _QUIET_SPARK], capture_output=True, text=True, timeout=300,
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    conf_line, two = r.stdout.strip().splitlines()[-2:]
    conf = json.loads(conf_line)
    assert conf["spark.driver.bindAddress"] == conf["spark.driver.host"] == "127.0.0.1"
    java = conf["spark.driver.extraJavaOptions"].split()
    ours = [i for i, o in enumerate(java) if o.startswith("-Dlog4j.configurationFile=")]
    assert ours and ours[-1] < java.index("-Dsalesreport.test=1"), java
    assert two == "2"
    noise = [
        line for line in r.stderr.splitlines()
        if line.strip() and "Using incubator modules" not in line
    ]  # fmt: skip
    assert noise == [], r.stderr
