"""The analytical engine a team's numbers are computed in: DuckDB, driven through Ibis.

Every query of the semantic layer (:mod:`salesreport.kpis`) is an Ibis expression, so the
same definitions run on any backend Ibis drives. :class:`Engine` holds one backend
connection and the team's tables in it, in the contract's types (``salesreport.tables``):

==============  =============================================
contract type   engine type
==============  =============================================
string, period  ``string`` (``VARCHAR``)
date            ``date``
timestamp       ``timestamp`` (naive, in the team's zone; microseconds)
number          ``float64`` (``DOUBLE``)
integer         ``int64`` (``BIGINT``)
bool            ``boolean``
==============  =============================================

DuckDB is embedded: nothing to start, an in-memory database by default.

Pinned: DuckDB 2.0.1 (October 2026) groups ``EXTRACT(year/month FROM TIMESTAMP_NS)``
arithmetic wrongly (month ordinals off by 655,360); 1.5.6 is right. ``tests/test_engine.py``
keeps that case.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:  # ibis is imported when an engine is made (about 0.8 s)
    from collections.abc import Iterable, Iterator

    import ibis.expr.types as ir

    from salesreport.tables import Tables, TableSpec

_ARROW_TYPES = {
    "string": pa.string(),
    "period": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "number": pa.float64(),
    "integer": pa.int64(),
    "bool": pa.bool_(),
}
_names = itertools.count()
#: rows written as CSV text at a time while a table is copied into PostgreSQL (the text of
#: one batch in memory, not the whole table's)
COPY_ROWS = 100_000


#: DuckDB's buffers while the tables are loaded and while the KPIs are computed, when the
#: engine has a database file (a run's work folder): beyond it, tables and intermediate results
#: spill to the file's temporary folder instead of growing the process (at 100x the sample the
#: KPI queries' intermediate tables held 5 GB in memory without it)
MEMORY_LIMIT = "1GB"


@contextlib.contextmanager
def duckdb_memory_cap(con, limit: str = MEMORY_LIMIT):
    """A DuckDB connection with a database file: at most ``limit`` of buffers while inside,
    the setting put back after. A connection in memory (it would spill into the working
    folder), or ``None``, is left unchanged."""
    path = None
    if con is not None:
        path = con.execute(
            "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchone()[0]
    if not path:
        yield
        return
    before = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    con.execute(f"SET memory_limit = '{limit}'")
    try:
        yield
    finally:  # set, not RESET: RESET leaves DuckDB 1.5.6's buffer manager at the cap
        con.execute(f"SET memory_limit = '{before}'")


def arrow_codes(col) -> tuple[np.ndarray, list]:
    """An Arrow text column's codes (numpy, -1 for null) and its distinct values, in order
    of first appearance: the column worked on as integers, never as Python strings."""
    import pyarrow.compute as pc

    coded = pc.dictionary_encode(col)
    codes = pc.fill_null(coded.indices, -1).to_numpy(zero_copy_only=False)
    return codes, coded.dictionary.to_pylist()


#: rows of a large result fetched at a time (:meth:`Engine.to_frame`): one batch is held as
#: Arrow besides the frame (about 100 bytes a row)
FETCH_ROWS = 200_000


class FrameBuilder:
    """A pandas frame filled Arrow batch by Arrow batch (of one ``schema``) into numpy columns
    allocated once for ``rows`` rows (grown when more come, cut when fewer).

    The frame is the one ``pyarrow.Table.to_pandas`` makes of all the batches: text columns
    (``string``, ``large_string``) as ``object`` with ``None`` for missing, one Python string
    per distinct value (the same object in every batch); floating-point columns as their
    numpy type with NaN for missing; any other column converted by Arrow at the end (its
    batches kept until then). Columns are not consolidated into 2-D blocks (that would copy
    them)."""

    def __init__(self, schema: pa.Schema, rows: int = 0) -> None:
        self.schema = schema
        self.rows = 0
        self._size = max(int(rows), 0)
        self._columns: dict[str, np.ndarray | list] = {}
        #: text columns: each distinct value's one Python string
        self._strings: dict[str, dict[str, str]] = {}
        for field in schema:
            if _is_text(field.type):
                self._columns[field.name] = np.full(self._size, None, dtype=object)
                self._strings[field.name] = {}
            elif pa.types.is_floating(field.type):
                self._columns[field.name] = np.empty(self._size, dtype=field.type.to_pandas_dtype())
            else:
                self._columns[field.name] = []

    def add(self, batch: pa.RecordBatch) -> None:
        """Append the rows of ``batch`` (the builder's schema)."""
        import pyarrow.compute as pc

        n = batch.num_rows
        if self.rows + n > self._size:
            self._resize(max(2 * self._size, self.rows + n))
        at = slice(self.rows, self.rows + n)
        for field, col in zip(self.schema, batch.columns, strict=True):
            out = self._columns[field.name]
            if isinstance(out, list):
                out.append(col)
            elif field.name in self._strings:
                coded = pc.dictionary_encode(col)
                strings = self._strings[field.name]
                lookup = np.array(
                    [strings.setdefault(v, v) for v in coded.dictionary.to_pylist()] + [None],
                    dtype=object,
                )
                codes = pc.fill_null(coded.indices, len(lookup) - 1)
                out[at] = lookup[codes.to_numpy(zero_copy_only=False)]
            else:
                out[at] = col.to_numpy(zero_copy_only=False)
        self.rows += n

    def frame(self) -> pd.DataFrame:
        """The rows added so far (the builder gives its columns away: add nothing after)."""
        if self.rows != self._size:
            self._resize(self.rows)
        data = {}
        for field in self.schema:
            out = self._columns.pop(field.name)
            if isinstance(out, list):  # (a Series on a RangeIndex, as the frame has)
                data[field.name] = pa.chunked_array(out, type=field.type).to_pandas()
            else:  # the dtype given: pandas infers none (a scan of 41 bytes a row per column)
                data[field.name] = pd.Series(out, dtype=out.dtype, copy=False)
        # copy=False: each column stays its own array (consolidating copies every column)
        return pd.DataFrame(data, columns=self.schema.names, copy=False)

    def _resize(self, size: int) -> None:
        for name, out in self._columns.items():
            if isinstance(out, np.ndarray):
                new = (
                    np.full(size, None, dtype=object)
                    if out.dtype == object
                    else np.empty(size, dtype=out.dtype)
                )
                keep = min(size, self.rows)
                new[:keep] = out[:keep]
                self._columns[name] = new
        self._size = size


def _is_text(type_: pa.DataType) -> bool:
    return pa.types.is_string(type_) or pa.types.is_large_string(type_)


class Engine:
    """One backend connection and the tables registered in it.

    Parameters
    ----------
    backend : ibis.BaseBackend
        An Ibis backend connection (:meth:`duckdb` makes the default one).
    name : str
        The engine's name for messages (``duckdb``, ``postgres``, ``spark``).
    secret : str, optional
        The connection URL, masked (with its password) in every error message.
    """

    def __init__(self, backend, name: str = "duckdb", secret: str | None = None) -> None:
        self.backend = backend
        self.name = name
        self.secret = secret
        #: when set, :meth:`materialize` computes nothing and returns the expression itself,
        #: so that a whole computation stays one expression (to compile it for another
        #: backend's SQL dialect: tests/test_engines.py)
        self.keep_lazy = False
        self._tables: dict[str, ir.Table] = {}
        #: the temporary tables :meth:`materialize` and :meth:`memtable` made, in order
        self._made: list[str] = []
        #: Spark: the views :meth:`_spark_view` made, and (local session) the folder of their
        #: Parquet files
        self._views: list[str] = []
        self._folder: str | None = None
        #: Spark on a cluster: ``engine.staging``, the folder every executor reads where the
        #: tables' Parquet files are put, and this engine's own folder in it (made on first
        #: use, removed by :meth:`close`)
        self.staging: str | None = None
        self._staged: str | None = None
        #: Spark: the computed frames :meth:`materialize` made, by view name (their blocks
        #: released when the view is dropped)
        self._checkpoints: dict[str, object] = {}

    @classmethod
    def duckdb(cls, path: str | None = None, threads: int | None = None) -> Engine:
        """An embedded DuckDB engine, in memory unless ``path`` names a database file."""
        import ibis

        from salesreport.data.parse import quiet

        backend = ibis.duckdb.connect(path or ":memory:")
        quiet(backend.con)
        if threads:
            backend.raw_sql(f"SET threads = {int(threads)}")
        return cls(backend, "duckdb")

    @classmethod
    def from_connection(cls, con, tables: list[str] = ()) -> Engine:
        """An engine on an open DuckDB connection (the loader's), with its tables or views
        ``tables`` as the engine's tables of those names (already in the engine types, with
        ``_row``)."""
        import ibis

        engine = cls(ibis.duckdb.from_connection(con), "duckdb")
        for name in tables:
            engine._tables[name] = engine.backend.table(name)
        return engine

    # ------------------------------------------------------------------ tables

    def register(
        self, name: str, df: pd.DataFrame, spec: TableSpec | None = None, key: str | None = None
    ) -> ir.Table:
        """Put a pandas frame into the engine as table ``name`` (its contract columns in the
        engine types above; other columns are left out) and return it.

        ``key``: also a ``_row`` column, the frame's position (0, 1, ...), so that rules
        that break ties by file order ("the later row") have the order in the engine.
        """
        table = to_arrow(df, spec)
        if key is not None:
            table = table.append_column(key, pa.array(np.arange(len(df), dtype=np.int64)))
        with self._query():
            expr = self._temporary(name, table)
        self._tables[name] = expr
        return expr

    def _temporary(self, name: str, table: pa.Table) -> ir.Table:
        """An Arrow table as a temporary table of the backend (Spark: a temporary view)."""
        return self._temporary_batches(name, table.schema, table.to_batches(COPY_ROWS))

    def _temporary_batches(
        self, name: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]
    ) -> ir.Table:
        """:meth:`_temporary` of the rows ``batches`` give, one after the other: PostgreSQL and
        a local Spark session take them one at a time, so only one is held here."""
        if self.name == "spark":
            return self._spark_view(name, schema, batches)
        if self.name == "postgres":
            return self._copy_to_postgres(name, schema, batches)
        table = pa.Table.from_batches(list(batches), schema)
        return self.backend.create_table(name, table, temp=True, overwrite=True)

    def copy_tables(self, source: Engine) -> Engine:
        """Every table of ``source`` (the loader's embedded engine, holding a team's tables
        in the engine types with ``_row``) into this engine under its name, streamed
        (:meth:`_temporary_batches`): a server engine is given the loaded tables without
        their rows ever being pandas frames or one Arrow table in this process. The tables
        are those :meth:`register_tables` makes of the same tables as pandas."""
        for name, expr in source._tables.items():
            schema, batches = source._batches([expr])
            with self._query():
                self._tables[name] = self._temporary_batches(name, schema, batches)
        return self

    def _spark_view(
        self, name: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]
    ) -> ir.Table:
        """Arrow record batches (of ``schema``) as a temporary view of the Spark session.

        A local session (``local``, ``local[N]``, ``local-cluster[...]``: every process on
        this machine) reads it from a Parquet file written in the engine's own temporary
        folder (removed by :meth:`close`): the rows are scanned from the file by each query
        and never held in Java's heap. Before, they went through ``createDataFrame`` (pickled
        Python rows kept by the driver), which at 10x and 100x the sample filled an 8 GB
        heap. A cluster's executors cannot read the driver's disk: with ``engine.staging``
        the file is copied into that folder, which they read (:meth:`_stage`); without it
        the Arrow table goes through the driver (``createDataFrame``), which holds it."""
        session = self.backend._session
        ready = _spark_ready(schema.empty_table()).schema
        spark_schema = _spark_schema(ready)
        parts = (_spark_ready(pa.Table.from_batches([b], schema)) for b in batches)
        local = self._spark_reads_local_files()
        if local or self.staging is not None:
            import pyarrow.parquet as pq

            if self._folder is None:
                import tempfile

                self._folder = tempfile.mkdtemp(prefix="sr-spark-")
            # not named after the view alone: Spark skips files whose names begin with "_"
            path = f"{self._folder}/view-{name}.parquet"
            with pq.ParquetWriter(path, ready) as writer:
                for part in parts:
                    writer.write_table(part)
            if not local:
                path = self._stage(path)
            frame = session.read.schema(spark_schema).parquet(path)
        else:
            table = pa.concat_tables([ready.empty_table(), *parts])
            frame = session.createDataFrame(table, schema=spark_schema)
        frame.createOrReplaceTempView(name)
        self._views.append(name)
        return self.backend.table(name)

    def _stage(self, path: str) -> str:
        """The local Parquet file ``path`` moved into this engine's folder in
        ``engine.staging`` (made on first use, :func:`~salesreport.backends.staging_folder`)
        through Spark's Hadoop filesystems, as a stream (neither the driver's nor Python's
        memory holds the table); its URI there."""
        from pathlib import Path

        from salesreport.backends import hadoop_file, staging_folder, staging_step

        session = self.backend._session
        if self._staged is None:
            self._staged = staging_folder(session, self.staging)
        with staging_step(self.staging):
            fs, dest = hadoop_file(session, f"{self._staged}/{Path(path).name}")
            fs.copyFromLocalFile(True, True, hadoop_file(session, Path(path))[1], dest)  # moved
        return str(dest)

    def _unstage(self) -> None:
        """Remove this engine's folder in ``engine.staging``."""
        from salesreport.backends import remove_staging_folder

        if self._staged is not None:
            folder, self._staged = self._staged, None
            remove_staging_folder(self.backend._session, folder)

    def _spark_reads_local_files(self) -> bool:
        """Whether the Spark session's executors run on this machine (a local master)."""
        from salesreport.backends import is_local_master

        return is_local_master(self.backend._session.sparkContext.master)

    def _copy_to_postgres(
        self, name: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch]
    ) -> ir.Table:
        """Arrow record batches (of ``schema``) into a new temporary table of the PostgreSQL
        session by one ``COPY`` of CSV text written by Arrow, a batch at a time (Ibis inserts
        a memtable row by row: 113.7 s for the 100x sample's EMEA tables, against 9.4-10.6 s).

        Every value that is not missing is quoted, so an empty string stays an empty string
        and only a missing value (unquoted, empty) is NULL; numbers are written as the
        shortest text that reads back as the same double, timestamps with microseconds."""
        import io

        import ibis
        import pyarrow.csv as pacsv

        self.backend.create_table(
            name, schema=ibis.Schema.from_pyarrow(schema), temp=True, overwrite=True
        )
        options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
        columns = ", ".join('"' + c.replace('"', '""') + '"' for c in schema.names)
        quoted = '"' + name.replace('"', '""') + '"'
        con = self.backend.con
        sql = f"COPY {quoted} ({columns}) FROM STDIN WITH (FORMAT csv)"
        with con.cursor() as cursor, con.transaction(), cursor.copy(sql) as copy:
            for batch in batches:
                text = io.BytesIO()
                pacsv.write_csv(batch, text, options)
                copy.write(text.getbuffer())
        self._analyze(name)
        return self.backend.table(name)

    def _analyze(self, name: str) -> None:
        """PostgreSQL's statistics of a temporary table, for its planner: autovacuum never
        analyses temporary tables (PostgreSQL's documentation of ``CREATE TABLE``), so
        without it every query reading one is planned blind. EMEA's every frame of the
        report: 7.3 -> 6.3 s at 1x, 20.7 -> 18.8 s at 10x, 145.9 -> 133.1 s at 100x (the
        upload 1.1 s longer there; ``benchmarks/bench_engines.py --engines postgres``)."""
        self.run_sql('ANALYZE "' + name.replace('"', '""') + '"')

    def register_tables(self, tables: Tables) -> Engine:
        """Register every present table of ``tables`` (rows keep their order in ``_row``)."""
        from salesreport.tables import TABLES

        for name, df in tables.items():
            self.register(name, df, TABLES[name], key="_row")
        return self

    def has(self, name: str) -> bool:
        return name in self._tables

    def table(self, name: str) -> ir.Table:
        """A registered table; :class:`KeyError` naming the engine when there is none."""
        try:
            return self._tables[name]
        except KeyError:
            raise KeyError(f"the {self.name} engine has no table {name!r}") from None

    def columns(self, name: str) -> list[str]:
        return list(self.table(name).columns) if self.has(name) else []

    def materialize(self, expr: ir.Table, prefix: str = "t") -> ir.Table:
        """``expr`` computed once into a temporary table (reused by several queries). The
        expression reads engine tables only (``ibis.memtable`` is not registered here: use
        :meth:`memtable`)."""
        import ibis.expr.operations as ops

        if self.keep_lazy:
            return expr
        name = f"_sr_{prefix}_{next(_names)}"
        self._made.append(name)
        with self._query():
            sql = self.backend.compile(expr)
            if self.name == "spark":
                self._spark_checkpoint(name, sql)
                return self.backend.table(name)
            if self.name not in ("duckdb", "postgres"):  # another Ibis backend: its own DDL
                return self.backend.create_table(name, expr, temp=True)
            self.run_sql(f'CREATE TEMPORARY TABLE "{name}" AS {sql}')
            if self.name == "postgres":
                self._analyze(name)
        namespace = (
            ops.Namespace(catalog="temp", database="main")
            if self.name == "duckdb"
            else ops.Namespace()
        )
        return ops.DatabaseTable(
            name, schema=expr.schema(), source=self.backend, namespace=namespace
        ).to_expr()

    def _spark_checkpoint(self, name: str, sql: str) -> None:
        """``sql``'s rows computed now, kept by Spark's block manager (in memory, spilled to
        its local disks) and seen as temporary view ``name``, with no lineage: a query that
        reads the view plans from its rows alone, not from every query that made them.

        ``CACHE TABLE ... AS`` kept the lineage: each query reading a cached view planned (at
        the first run, with adaptive execution re-planning stage by stage) the whole chain of
        plans behind it, and the KPIs' tables are built on each other. For 64 labels x 40
        months of EMEA's open pipeline (2,560 rows) the running totals took 19.8 s from cached
        views and take 1.5 s from checkpoints; EMEA's whole catalogue of KPIs 324 s and 47 s.
        Like a cached table, a checkpoint is lost with an executor that holds it (the query
        reading it then fails: a cluster's dynamic allocation must keep executors with cached
        data, Spark's default)."""
        frame = self.backend._session.sql(sql).localCheckpoint(eager=True)
        frame.createOrReplaceTempView(name)
        self._checkpoints[name] = frame

    def run_sql(self, sql: str) -> None:
        """Run a statement that returns nothing (the cursor closed where the backend has one;
        DuckDB's ``raw_sql`` returns its connection, which must stay open)."""
        result = self.backend.raw_sql(sql)
        if self.name != "duckdb" and hasattr(result, "close"):
            result.close()

    def memtable(self, df: pd.DataFrame, prefix: str = "m") -> ir.Table:
        """A small pandas frame as an engine table (windows, targets, parameters); ``object``
        columns are text (also when empty)."""
        name = f"_sr_{prefix}_{next(_names)}"
        schema = pa.schema(
            [
                (c, pa.string() if df[c].dtype == object else pa.from_numpy_dtype(df[c].dtype))
                for c in df.columns
            ]
        )
        table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
        self._made.append(name)
        with self._query():
            return self._temporary(name, table)

    @contextlib.contextmanager
    def scratch(self):
        """The temporary tables made inside (:meth:`materialize`, :meth:`memtable`) are
        dropped when the block ends without an error: a computation's intermediate tables
        do not outlive it (the KPIs' at 100x the sample: 680 MB of DuckDB's memory and 2.5 GB
        spilled to disk, until the run's end otherwise). After an error they stay for the
        engine's close, which a failed run comes to anyway."""
        first = len(self._made)
        yield self
        made, self._made[first:] = self._made[first:], []
        with self._query():
            for name in reversed(made):
                self._drop(name)

    def _drop(self, name: str) -> None:
        if self.name == "spark":  # a temporary view, and its checkpoint's blocks
            self.backend._session.catalog.dropTempView(name)
            frame = self._checkpoints.pop(name, None)
            if frame is not None:
                frame._jdf.logicalPlan().rdd().unpersist(False)
        elif self.name == "duckdb":
            self.run_sql(f'DROP TABLE IF EXISTS temp.main."{name}"')
        elif self.name == "postgres":
            self.run_sql(f'DROP TABLE IF EXISTS "{name}"')
        else:
            self.backend.drop_table(name, force=True)

    def execute(self, expr) -> pd.DataFrame:
        """Run an expression and fetch its (small) result as pandas."""
        with self._query():
            return self.backend.execute(expr)

    def to_arrow(self, expr) -> pa.Table:
        with self._query():
            return self.backend.to_pyarrow(expr)

    def to_frame(self, exprs: list, rows: int = 0) -> pd.DataFrame:
        """The results of table expressions of one schema, one after the other, as one pandas
        frame, for a large result (``rows``: how many rows are expected, when known).

        DuckDB streams each result in batches of :data:`FETCH_ROWS` rows; each batch goes into
        numpy columns allocated once for ``rows`` rows (:class:`FrameBuilder`), so that no
        Arrow table of the whole result is held besides the frame: text as ``object``
        columns, one Python string per distinct value, ``None`` for missing; missing numbers
        NaN (what Arrow's ``to_pandas`` gives).

        :meth:`execute` (Ibis's conversion) makes a Python list of every value of a column
        holding a missing value; for millions of rows that is gigabytes."""
        schema, batches = self._batches(exprs)
        out = FrameBuilder(schema, rows)
        for batch in batches:
            out.add(batch)
        return out.frame()

    def batches(self, exprs: list) -> Iterator[pa.RecordBatch]:
        """The results of table expressions of one schema, one after the other, as Arrow
        record batches (of at most :data:`FETCH_ROWS` rows on DuckDB; a server's as its
        whole result is cut); at least one batch (empty when there are no rows). For a
        result too large to hold (DuckDB): only one batch at a time is in memory, and no row
        becomes a Python object."""
        schema, batches = self._batches(exprs)
        empty = True
        for batch in batches:
            empty = False
            yield batch
        if empty:
            yield pa.RecordBatch.from_pylist([], schema=schema)

    def _batches(self, exprs: list) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
        """The Arrow schema of ``exprs`` and their results' record batches, streamed."""
        if not exprs:
            raise ValueError("fetching rows needs at least one expression")

        def batches():
            for expr in exprs:
                with self._query():
                    if self.name == "duckdb":
                        found = self.backend.to_pyarrow_batches(expr, chunk_size=FETCH_ROWS)
                    else:
                        found = self.backend.to_pyarrow(expr).to_batches()
                yield from found
                del found

        return exprs[0].schema().to_pyarrow(), batches()

    def memory_cap(self, limit: str = MEMORY_LIMIT):
        """:func:`duckdb_memory_cap` on this engine's DuckDB connection (other engines are
        left unchanged)."""
        con = getattr(self.backend, "con", None) if self.name == "duckdb" else None
        return duckdb_memory_cap(con, limit)

    def close(self) -> None:
        """Disconnect (a server's temporary tables go with the session). Spark's session stays
        for the process, as PySpark keeps one: the engine's views are dropped and their files
        removed. Views are named after the tables, so two Spark engines of one process are
        used one after the other, never at once."""
        if self.name != "spark":
            self.backend.disconnect()
        else:  # the engine's views go (and the files and blocks they read)
            import shutil

            made, self._made = self._made, []
            for name in reversed(made):  # a computation's, left by an error (:meth:`scratch`)
                self._drop(name)
            catalog = self.backend._session.catalog
            for name in self._views:
                catalog.dropTempView(name)
            self._views = []
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = None
            self._unstage()

    @contextlib.contextmanager
    def _query(self):
        """The context every query the engine compiles or runs is in: Ibis's fusing of
        consecutive selects is off (:func:`unfused`), and a query failing on a server becomes
        an :class:`EngineError` naming the engine, with the connection URL and password masked;
        DuckDB's own errors pass unchanged."""
        with unfused():
            if self.name == "duckdb":
                yield
                return
            from salesreport.exceptions import EngineError

            try:
                yield
            except EngineError:  # already says what to do
                raise
            except Exception as exc:
                from salesreport.backends import first_line, server_fix
                from salesreport.data.read import mask_secret

                text = first_line(exc)
                if self.name != "spark":
                    fix = server_fix(exc)
                elif "OutOfMemoryError" in text:
                    fix = (
                        "Give Spark more memory: engine.options spark.driver.memory (3g by "
                        "default for a local session) or, on a cluster, spark.executor.memory."
                    )
                else:
                    fix = "Check engine.master and engine.options, and the Spark logs."
                raise EngineError(
                    mask_secret(f"engine {self.name}: a query failed: {text}", self.secret),
                    fix=fix,
                ) from None


@contextlib.contextmanager
def unfused():
    """Ibis's ``options.sql.fuse_selects`` off inside the block (put back after it).

    Fusing merges each select into the one it reads from, at a cost that grows with the
    expression (Ibis's ``merge_select_select`` measures every candidate's complexity): a
    third of compiling the KPI queries, which are long chains of selects and joins. The
    engines' own optimisers flatten the nested selects the same way, so the results are the
    same (the report's files byte-identical) for less work."""
    import ibis

    before = ibis.options.sql.fuse_selects
    ibis.options.sql.fuse_selects = False
    try:
        yield
    finally:
        ibis.options.sql.fuse_selects = before


def to_arrow(df: pd.DataFrame, spec: TableSpec | None = None) -> pa.Table:
    """A contract frame as an Arrow table in the engine types (module docstring).

    Without ``spec`` every column is converted by Arrow's own rules; with it, only the
    contract's columns are kept, each cast to its type (dates to ``date32``, text to
    ``string`` with ``None`` for missing, non-text values as their ``str``).
    """
    if spec is None:
        return pa.Table.from_pandas(df, preserve_index=False)
    arrays, names = [], []
    for col in spec.columns:
        if col.name not in df.columns:
            continue
        arrays.append(_arrow_column(df[col.name], col.type))
        names.append(col.name)
    return pa.table(arrays, names=names) if names else pa.table({})


def _arrow_column(s: pd.Series, type_: str) -> pa.Array:
    target = _ARROW_TYPES[type_]
    if type_ in ("date", "timestamp"):
        values = pd.to_datetime(s, errors="coerce")
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_localize(None)
        arr = pa.array(values.to_numpy(dtype="datetime64[us]"), mask=values.isna().to_numpy())
        return arr.cast(pa.date32()) if type_ == "date" else arr
    if type_ == "number":
        return pa.array(pd.to_numeric(s, errors="coerce").to_numpy(dtype=float), from_pandas=True)
    if type_ == "integer":
        return pa.array(pd.to_numeric(s, errors="coerce").astype("Int64").array, type=target)
    if type_ == "bool":
        return pa.array(s.astype("boolean").to_numpy(dtype=object, na_value=None), type=pa.bool_())
    # text: str values, None for missing (NaN / None / pd.NA)
    values = s.to_numpy(dtype=object)
    missing = pd.isna(values)
    if missing.any() or pd.api.types.infer_dtype(values, skipna=True) != "string":
        values = np.where(missing, None, values)
        values = np.array(
            [v if v is None or isinstance(v, str) else str(v) for v in values], dtype=object
        )
    return pa.array(values, type=target)


def _spark_ready(table: pa.Table) -> pa.Table:
    """``table`` with each column in one of the engine types (:data:`_ARROW_TYPES`, which
    :func:`_spark_schema` maps): naive timestamps of any unit in microseconds, integers as
    ``int64``, floats as ``float64``, any other type as text (what ``createDataFrame`` made
    of it)."""
    fields = []
    for f in table.schema:
        t = f.type
        if t in _ARROW_TYPES.values():  # the engine types
            pass
        elif pa.types.is_timestamp(t) and t.tz is None:
            t = pa.timestamp("us")
        elif pa.types.is_integer(t):
            t = pa.int64()
        elif pa.types.is_floating(t):
            t = pa.float64()
        else:
            t = pa.string()
        fields.append(f.with_type(t))
    target = pa.schema(fields)
    return table if target == table.schema else table.cast(target)


def _spark_schema(schema: pa.Schema):
    """The Spark schema of an Arrow schema in the engine types (dates, naive timestamps)."""
    from pyspark.sql import types as T

    kinds = {
        pa.string(): T.StringType(),
        pa.date32(): T.DateType(),
        pa.timestamp("us"): T.TimestampNTZType(),
        pa.float64(): T.DoubleType(),
        pa.int64(): T.LongType(),
        pa.bool_(): T.BooleanType(),
    }
    return T.StructType(
        [T.StructField(f.name, kinds.get(f.type, T.StringType()), True) for f in schema]
    )
