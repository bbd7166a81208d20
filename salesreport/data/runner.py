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


class EngineRunner(Runner):
    """An :class:`~salesreport.engine.Engine` (PostgreSQL, Spark; DuckDB too)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.dialect = DIALECTS[engine.name]

    def _arrow(self, sql: str) -> pa.Table:
        from salesreport.data.parse import result_arrow

        return result_arrow(self.engine, sql)

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

    def create(self, name: str, select: str) -> None:
        quoted = self.dialect.ident(name)
        if self.engine.name == "spark":  # a view: its rows computed by the queries reading it
            self.engine.run_sql(f"CREATE OR REPLACE TEMPORARY VIEW {quoted} AS {select}")
            return
        self.engine.run_sql(f"DROP TABLE IF EXISTS {quoted}")
        self.engine.run_sql(f"CREATE TEMPORARY TABLE {quoted} AS {select}")
