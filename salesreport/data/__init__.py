"""Loading and validation of the contract's tables (shared/spec/data-contract.md), in the engine.

``load_tables(params, data_dir, month)`` reads one team's tables into the engine
(:mod:`salesreport.engine`), maps CRM exports onto the contract, parses, validates, filters,
converts currencies and cuts to the report month, each step a query; ``as_of(tables, month)``
is the point-in-time cut of pandas tables (the same queries); ``read_table(path)`` reads one
file without interpreting it.
"""

from __future__ import annotations

__all__ = ["DataQuality", "LoadResult", "as_of", "load_tables", "read_table"]


def __getattr__(name: str):
    if name in ("LoadResult", "load_tables"):
        from salesreport.data import load

        return getattr(load, name)
    if name == "as_of":
        from salesreport.data.pit import as_of

        return as_of
    if name == "DataQuality":
        from salesreport.data.quality import DataQuality

        return DataQuality
    if name == "read_table":
        from salesreport.data.read import read_table

        return read_table
    raise AttributeError(name)
