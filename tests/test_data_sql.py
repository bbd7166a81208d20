"""A SQL source: URL from the environment only, SQLite through the standard library, URL never shown."""

from __future__ import annotations

import importlib.util
import sqlite3

import duckdb
import pandas as pd
import pytest

from salesreport.data import load_tables
from salesreport.exceptions import DataError
from tests.conftest_data import base_opportunities, make_params

M = "2026-12"


def _db(tmp_path):
    path = tmp_path / "crm.db"
    conn = sqlite3.connect(path)
    pd.DataFrame(base_opportunities(4)).to_sql("opps", conn, index=False)
    pd.DataFrame(
        {
            "order_id": ["X1", "X2"],
            "account_id": ["A", "B"],
            "order_date": ["2026-01-05", "2026-02-05"],
            "amount": [10.5, 20],
        }
    ).to_sql("sales", conn, index=False)
    conn.close()
    return path


def _params(tables):
    return make_params(data={"sql": {"url_env": "SR_TEST_DB", "tables": tables}})


def test_sqlite_tables_and_queries_are_read(tmp_path, monkeypatch):
    monkeypatch.setenv("SR_TEST_DB", f"sqlite:///{_db(tmp_path)}")
    params = _params({"opportunities": "opps", "orders": "SELECT * FROM sales WHERE amount > 15"})
    res = load_tables(params, None, M)
    assert res.tables.opportunities["amount"].tolist() == [1000.0, 2000.0, 3000.0, 4000.0]
    assert res.tables.orders["order_id"].tolist() == ["X2"]
    assert res.tables.orders["order_date"].tolist() == [pd.Timestamp("2026-02-05")]
    assert res.sources == {"opportunities": "sql:opportunities", "orders": "sql:orders"}
    assert len(res.fingerprints["orders"]) == 64


def test_a_url_read_from_a_file_with_its_line_end_is_read_as_without(tmp_path, monkeypatch):
    """``export SR_TEST_DB=$(cat secret)`` keeps no line end, but a mounted secret or an env
    file may: the spaces and line ends around the URL are not part of it (the line end was
    taken into the database's path)."""
    monkeypatch.setenv("SR_TEST_DB", f"  sqlite:///{_db(tmp_path)}\n")
    res = load_tables(_params({"orders": "sales"}), None, M)
    assert res.tables.orders["order_id"].tolist() == ["X1", "X2"]


def test_unset_environment_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("SR_TEST_DB", raising=False)
    with pytest.raises(DataError, match="the environment variable SR_TEST_DB .* is not set"):
        load_tables(_params({"opportunities": "opps"}), None, M)


def test_failing_query_never_shows_the_url(tmp_path, monkeypatch):
    url = f"sqlite:///{_db(tmp_path)}"
    monkeypatch.setenv("SR_TEST_DB", url)
    with pytest.raises(DataError) as err:
        load_tables(_params({"opportunities": "SELECT * FROM nowhere"}), None, M)
    assert "query for opportunities failed" in str(err.value)
    assert "data.sql.tables.opportunities" in str(err.value)
    assert url not in str(err.value) and str(tmp_path) not in str(err.value)


@pytest.mark.skipif(
    importlib.util.find_spec("sqlalchemy") is not None, reason="SQLAlchemy installed"
)
def test_other_databases_need_sqlalchemy_and_the_url_is_masked(monkeypatch):
    url = "mysql://sales:s3cret@db.internal/crm"
    monkeypatch.setenv("SR_TEST_DB", url)
    with pytest.raises(DataError) as err:
        load_tables(_params({"opportunities": "opps"}), None, M)
    msg = str(err.value)
    assert "SQLAlchemy" in msg and "is not installed" in msg
    assert "s3cret" not in msg and url not in msg


def test_a_postgresql_source_that_refuses_is_named_and_masked(monkeypatch):
    """psycopg reads postgresql:// sources; a refused connection names the variable, never
    the URL or its password (the server itself: tests/test_engines.py)."""
    from tests.servers import free_port

    url = f"postgresql://sales:s3cret-pw@127.0.0.1:{free_port()}/crm"
    monkeypatch.setenv("SR_TEST_DB", url)
    with pytest.raises(DataError) as err:
        load_tables(_params({"opportunities": "opps"}), None, M)
    msg = str(err.value)
    assert "cannot connect to the database in $SR_TEST_DB" in msg
    assert "s3cret-pw" not in msg and url not in msg


def test_data_dir_given_wins_over_sql(tmp_path, monkeypatch):
    monkeypatch.delenv("SR_TEST_DB", raising=False)
    folder = tmp_path / "d"
    folder.mkdir()
    pd.DataFrame(base_opportunities(2)).to_csv(folder / "opportunities.csv", index=False)
    res = load_tables(_params({"opportunities": "opps"}), folder, M)
    assert len(res.tables.opportunities) == 2


def test_within_shared_reads_a_table_is_queried_once_for_every_team(tmp_path, monkeypatch):
    """--all-teams reads a database once per source: the second team's load is served from
    the first team's read (the database is gone by then) and filters its own copy."""
    from salesreport.data.read import shared_reads

    path = _db(tmp_path)
    rows = base_opportunities(4)
    rows[1]["region"] = rows[3]["region"] = "UK"
    with sqlite3.connect(path) as conn:
        pd.DataFrame(rows).to_sql("opps", conn, index=False, if_exists="replace")
    monkeypatch.setenv("SR_TEST_DB", f"sqlite:///{path}")
    tables = {"opportunities": "opps", "orders": "SELECT * FROM sales"}
    opened = []
    real = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: opened.append(a) or real(*a, **k))
    alone = load_tables(_params(tables), None, M)
    with shared_reads():
        first = load_tables(_params(tables), None, M)
        path.unlink()
        # another team, filtering on region: its own rows from the same read
        second = load_tables(
            make_params(data={"sql": {"url_env": "SR_TEST_DB", "tables": tables}},
                        filters={"region": ["UK"]}),
            None, M,
        )  # fmt: skip
    assert len(opened) == 2  # the load alone, and the first team's in the block
    pd.testing.assert_frame_equal(first.tables.opportunities, alone.tables.opportunities)
    assert first.fingerprints == alone.fingerprints == second.fingerprints
    want = alone.tables.opportunities
    pd.testing.assert_frame_equal(
        second.tables.opportunities.reset_index(drop=True),
        want[want["region"] == "UK"].reset_index(drop=True),
    )
    assert second.tables.opportunities["opportunity_id"].tolist() == ["O1", "O3"]
    with pytest.raises(DataError, match="does not exist"):  # outside the block: read again
        load_tables(_params(tables), None, M)


class _SparkResult:
    """What ``SparkSession.sql`` returns, as far as the reader uses it."""

    def __init__(self, table):
        self.table = table

    def toArrow(self):  # noqa: N802 - PySpark's name
        return self.table


class _SparkCatalog:
    """A Spark session's catalog as the reader sees it (``sql(...).toArrow()``): here the
    sample's tables as Spark gives typed columns, in batches of 2,000 rows, without starting
    Java; tests/test_engines.py reads a real session's."""

    def __init__(self, tables):
        self.tables, self.queries = tables, []
        self.sparkContext = type("Context", (), {"master": "local[2]"})()

    def sql(self, query):
        import pyarrow as pa

        self.queries.append(query)
        name = query.removeprefix("SELECT * FROM ").replace("`", "")
        if name not in self.tables:
            raise RuntimeError(
                f"[TABLE_OR_VIEW_NOT_FOUND] The table or view `{name}` cannot be found."
            )
        return _SparkResult(pa.Table.from_batches(self.tables[name].to_batches(max_chunksize=2000)))


def _spark_params(tables, team: str = "emea"):
    """``team``'s parameters reading ``tables`` from Spark's catalog (``engine: spark``)."""
    from salesreport.params import TeamParams, load_params

    data = load_params(team).model_dump(exclude_unset=True)
    data["data"] = {"sql": {"tables": tables}}
    data["engine"] = "spark"
    return TeamParams.model_validate(data)


def test_tables_from_sparks_catalog_are_read_as_the_files_in_their_order(sample_dir, monkeypatch):
    """``engine: spark`` with ``data.sql.tables`` and no url_env: the tables are the Spark
    session's (typed columns: dates, doubles, instants) and load as the same files do, rows in
    the same order every time. (Put into the engine as a view of several batches, they came
    out of the parsing query in another order one load in four.)"""
    from salesreport.params import load_params
    from tests.conftest import REPORT_MONTH

    files = {p.stem: duckdb.sql(f"SELECT * FROM read_csv('{p}')").to_arrow_table()
             for p in sorted(sample_dir.glob("*.csv"))}  # fmt: skip
    catalog = _SparkCatalog({f"crm.{t}": v for t, v in files.items()})
    monkeypatch.setattr("salesreport.backends.spark_session", lambda spec, *a: catalog)
    params = _spark_params({t: f"crm.{t}" for t in files})
    want = load_tables(load_params("emea"), sample_dir, REPORT_MONTH).tables
    for _ in range(4):
        got = load_tables(params, None, REPORT_MONTH)
        for t in files:
            pd.testing.assert_frame_equal(getattr(got.tables, t), getattr(want, t), obj=t)
    assert "SELECT * FROM `crm`.`opportunities`" in catalog.queries
    assert got.sources == {t: f"sql:{t}" for t in files}


@pytest.mark.parametrize(
    "spec, says, fix",
    [
        (
            "crm.opps",
            "The table or view `crm.opps` cannot be found",
            "Fix data.sql.tables.opportunities",
        ),
        (
            "crm.huge",
            "is bigger than spark.driver.maxResultSize",
            "raise spark.driver.maxResultSize (and spark.driver.memory) in engine.options",
        ),
    ],
)
def test_a_table_spark_cannot_give_is_named_with_what_to_change(spec, says, fix, monkeypatch):
    catalog = _SparkCatalog({})

    def sql(query):
        if "huge" in query:
            raise RuntimeError(
                "[TOTAL_SIZE_OF_SERIALIZED_RESULTS] Total size of serialized results of 9 "
                "tasks (1040.2 MiB) is bigger than spark.driver.maxResultSize (1024.0 MiB)."
            )
        return _SparkCatalog.sql(catalog, query)

    catalog.sql = sql
    monkeypatch.setattr("salesreport.backends.spark_session", lambda spec, *a: catalog)
    with pytest.raises(DataError) as err:
        load_tables(_spark_params({"opportunities": spec}), None, M)
    msg = str(err.value)
    assert "sql (spark)" in msg and "Spark's query for opportunities failed" in msg
    assert says in msg and fix in msg, msg


def test_a_query_naming_two_columns_alike_is_refused_naming_both(tmp_path, monkeypatch):
    """As a file's repeated header: which of the two holds the amount is not guessed."""
    monkeypatch.setenv("SR_TEST_DB", f"sqlite:///{_db(tmp_path)}")
    query = "SELECT *, amount * 2 AS amount FROM opps"
    with pytest.raises(DataError) as err:
        load_tables(_params({"opportunities": query}), None, M)
    msg = str(err.value)
    assert "sql:opportunities: column 'amount' is the header of more than one column" in msg
    assert "columns 8 and 10" in msg and "data.sql.tables.opportunities its own name" in msg
    assert "neither" not in msg  # the one problem, not a missing table besides


def _read_at_once(conn, query: str):
    """What reading a database table gave before it was read in batches: every row fetched,
    each whole column made Arrow at once, the CSV of the table hashed (the independent path)."""
    import hashlib

    import pyarrow as pa
    import pyarrow.csv as pa_csv

    from salesreport.data.read import _cells_table, column_to_arrow

    cur = conn.cursor()
    cur.execute(query)
    names = [d[0] for d in cur.description]
    names, data, kinds = _cells_table(names, cur.fetchall(), column_to_arrow)
    cur.close()
    out = pa.BufferOutputStream()
    pa_csv.write_csv(data.rename_columns(names), out)
    return names, data, kinds, hashlib.sha256(out.getvalue().to_pybytes()).hexdigest()


def assert_read_as_at_once(got, want) -> None:
    """``_read_query``'s result equals :func:`_read_at_once`'s, value for value."""
    names, data, kinds, _, digest = got
    assert (names, kinds, digest) == (want[0], want[2], want[3])
    assert data.schema == want[1].schema
    assert data.equals(want[1]), data.to_pydict()


def assert_engine_rows_as_at_once(con, got, want) -> None:
    """``_read_query`` into an engine: the table it filled in the engine reads, through the
    engine, as :func:`_read_at_once`'s Arrow table registered there: the same types and the
    same rows in the same order (``con``: the engine's DuckDB connection)."""
    from salesreport.data.parse import ident

    names, table, kinds, _, digest = got
    assert (names, kinds, digest) == (want[0], want[2], want[3])
    con.register("want_at_once", want[1])
    try:
        for what in ("DESCRIBE SELECT * FROM {}", "SELECT * FROM {}"):
            assert (
                con.execute(what.format(ident(table))).fetchall()
                == con.execute(what.format("want_at_once")).fetchall()
            ), what
    finally:
        con.unregister("want_at_once")


def test_a_table_read_in_batches_is_the_table_read_at_once(tmp_path, monkeypatch):
    """A database table is fetched a few rows at a time, each batch made Arrow on its own: the
    same columns, kinds and fingerprint as the whole table made Arrow at once, also where a
    batch has no value in a column; a column whose batches differ in type (numbers, then
    text: SQLite allows it) is read again and made Arrow at once, as before."""
    from salesreport.data import read as read_mod

    path = tmp_path / "mixed.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER, n, x REAL, s TEXT, d TEXT)")
        rows = [
            (1, None, None, "a", "2026-01-05"),
            (2, None, None, None, None),
            (3, None, None, "c,d", "2026-02-05"),
            (4, 10, 1.5, 'say "hi"', None),
            (5, 11, None, "", "2026-03-05"),
            (6, 12, 2.25, "Zürich", "2026-03-06"),
            (7, "twelve", None, None, None),  # n: text after numbers; x, d: no value here
            (8, 13, None, "h", None),
        ]
        conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)", rows)
    opened = []
    real = read_mod._client_cursor
    monkeypatch.setattr(read_mod, "_client_cursor", lambda c: opened.append(1) or real(c))
    monkeypatch.setattr(read_mod, "FETCH_ROWS", 3)  # 8 rows: batches of 3, 3 and 2
    conn, con = sqlite3.connect(path), duckdb.connect()
    try:
        for query, reads in (("SELECT id, x, s, d FROM t", 1), ("SELECT * FROM t", 2)):
            want = _read_at_once(conn, query)
            for into in (None, con):
                opened.clear()
                got = read_mod._read_query(
                    conn, read_mod._client_cursor, "orders", query, "sqlite:///x", sqlite3.Error,
                    into,
                )  # fmt: skip
                assert len(opened) == reads, query  # read once, or again at once for n
                if into is None or reads == 2:  # n: made Arrow at once, as before
                    assert_read_as_at_once(got, want)
                else:
                    assert_engine_rows_as_at_once(con, got, want)
        assert got[2][1] == "text" and got[1]["c1"].to_pylist()[3:7] == ["10", "11", "12", "twelve"]
        # the engine holds the first query's table; the second's was dropped for the Arrow one
        made = [r[0] for r in con.execute("SHOW TABLES").fetchall() if r[0].startswith("_sr_sql_")]
        assert len(made) == 1, made
    finally:
        conn.close()
        con.close()
