"""Loading and validation of the contract's tables (shared/spec/data-contract.md).

``load_tables(params, data_dir, month)`` reads one team's tables, maps CRM
exports onto the contract, parses, validates, filters, converts currencies and
cuts to the report month; ``as_of(tables, month)`` is the point-in-time cut;
``read_table(path)`` reads one file without interpreting it.
"""

from salesreport.data.load import LoadResult, load_tables
from salesreport.data.pit import as_of
from salesreport.data.quality import DataQuality
from salesreport.data.read import read_table

__all__ = ["DataQuality", "LoadResult", "as_of", "load_tables", "read_table"]
