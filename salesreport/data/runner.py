"""Raw SQL on one engine, for the loader's checks (:mod:`salesreport.data.validate`).

The checks are SQL written with the engine's dialect (:mod:`salesreport.data.dialect`);
a :class:`Runner` runs it: on the loader's DuckDB connection (:class:`DuckRunner`), or on
an :class:`~salesreport.engine.Engine` of PostgreSQL or Spark (:class:`EngineRunner`),
where ``tests/test_parse_engines.py`` runs the same checks and compares what they find.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from salesreport.data.dialect import DIALECTS, DUCKDB, Dialect

#: the engine types of a PostgreSQL result's columns (``read._PG_COPY_TYPES``) as Arrow's
#: (``numeric`` is a double there, its ``Decimal`` values made floats)
_ARROW_TYPES = {
    "VARCHAR": pa.string(), "BIGINT": pa.int64(), "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(), "DATE": pa.date32(), "TIMESTAMP": pa.timestamp("us"),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
}  # fmt: skip


class Runner:
    """Rows, columns and temporary tables of raw SQL on one engine."""

    dialect: Dialect = DUCKDB

    def rows(self, sql: str) -> list[tuple]:
        """The query's rows."""
        raise NotImplementedError

    def arrays(self, sql: str) -> dict[str, np.ndarray]:
        """The query's columns as NumPy arrays (text as ``object``, NULL as ``None``)."""
        raise NotImplementedError

    def put(self, name: str, table: pa.Table) -> None:
        """A temporary table ``name`` holding ``table``'s rows (replacing one of that name)."""
        raise NotImplementedError

    def create(self, name: str, select: str) -> None:
        """A temporary table ``name`` holding the rows of the query ``select`` (replacing one
        of that name)."""
        raise NotImplementedError

    def over(self, name: str, table: pa.Table, sql: str) -> pa.Table:
        """The result of ``sql`` over the Arrow ``table`` (as the table ``name``, gone after),
        as Arrow: the rules run on a few values where a test or a notebook wants them."""
        raise NotImplementedError


class DuckRunner(Runner):
    """The loader's DuckDB connection."""

    def __init__(self, con) -> None:
        self.con = con

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def arrays(self, sql: str) -> dict[str, np.ndarray]:
        return self.con.execute(sql).fetchnumpy()

    def put(self, name: str, table: pa.Table) -> None:
        view = f"{name}_arrow"
        self.con.register(view, table)
        try:
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {DUCKDB.ident(name)} AS SELECT * FROM {DUCKDB.ident(view)}"
            )
        finally:
            self.con.unregister(view)

    def create(self, name: str, select: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {DUCKDB.ident(name)} AS {select}")

    def over(self, name: str, table: pa.Table, sql: str) -> pa.Table:
        self.con.register(name, table)
        try:
            return self.con.execute(sql).to_arrow_table()
        finally:
            self.con.unregister(name)


class EngineRunner(Runner):
    """An :class:`~salesreport.engine.Engine` (PostgreSQL, Spark; DuckDB too)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.dialect = DIALECTS[engine.name]

    def _arrow(self, sql: str) -> pa.Table:
        """The query's result as Arrow (its columns named as the query names them)."""
        engine = self.engine
        if engine.name == "spark":
            return engine.backend._session.sql(sql).toArrow()
        if engine.name == "duckdb":
            return engine.backend.con.execute(sql).to_arrow_table()
        from salesreport.data.read import _PG_COPY_TYPES

        with engine.backend.con.cursor() as cursor:
            cursor.execute(sql)
            rows = cursor.fetchall()
            described = [(c.name, _PG_COPY_TYPES[c.type_code][0]) for c in cursor.description]
        columns = list(zip(*rows, strict=True)) if rows else [[] for _ in described]
        return pa.table(
            {
                name: pa.array(
                    [None if x is None else float(x) for x in v] if t == "DOUBLE" else v,
                    _ARROW_TYPES[t],
                )
                for (name, t), v in zip(described, columns, strict=True)
            }
        )

    def rows(self, sql: str) -> list[tuple]:
        table = self._arrow(sql)
        return list(zip(*(c.to_pylist() for c in table.columns), strict=True))

    def arrays(self, sql: str) -> dict[str, np.ndarray]:
        table = self._arrow(sql)
        return {
            n: c.to_numpy(zero_copy_only=False)
            for n, c in zip(table.column_names, table.columns, strict=True)
        }

    def put(self, name: str, table: pa.Table) -> None:
        self.engine._temporary(name, table)

    def over(self, name: str, table: pa.Table, sql: str) -> pa.Table:
        self.put(name, table)
        try:
            return self._arrow(sql)
        finally:
            self.engine._drop(name)

    def create(self, name: str, select: str) -> None:
        quoted = self.dialect.ident(name)
        if self.engine.name == "spark":  # a view: its rows computed by the queries reading it
            self.engine.run_sql(f"CREATE OR REPLACE TEMPORARY VIEW {quoted} AS {select}")
            return
        self.engine.run_sql(f"DROP TABLE IF EXISTS {quoted}")
        self.engine.run_sql(f"CREATE TEMPORARY TABLE {quoted} AS {select}")
