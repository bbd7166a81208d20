"""Red, amber and green against target (:mod:`salesreport.status`), the benchmark and the change
on last year."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from salesreport.kpis.catalogue import CATALOGUE
from salesreport.params import TeamParams
from salesreport.status import STATUS_VALUES, status_codes

#: rows whose status is computed at a time (:func:`kpi_status`)
STATUS_ROWS = 1_000_000


def kpi_status(kpis: pd.DataFrame, params: TeamParams) -> pd.DataFrame:
    """``kpis`` plus ``status``, ``benchmark`` and ``yoy_change``.

    * status (against ``target``, ``params.rag``): the one status rule,
      :func:`salesreport.status.status_codes` (value / target, or target / value where
      lower is better, against ``rag.green`` and ``rag.amber``). Empty without value or
      target.
    * benchmark: ``params.benchmarks[metric]`` (empty when not set).
    * yoy_change: value / prior - 1, empty when prior is 0 or empty.
    """
    # computed a block of rows at a time into the new columns (the arithmetic's temporaries
    # are a block's, not millions of rows'), then one frame of kpis' own columns (shared, not
    # copied: neither frame is changed in place afterwards) and the new ones
    n = len(kpis)
    metric = kpis["metric"].to_numpy(object)
    v = kpis["value"].to_numpy(float)
    t = kpis["target"].to_numpy(float)
    p = kpis["prior"].to_numpy(float)
    status = np.empty(n, dtype=object)
    benchmark = np.empty(n, dtype=float)
    yoy = np.empty(n, dtype=float)
    for lo in range(0, n, STATUS_ROWS):
        at = slice(lo, lo + STATUS_ROWS)
        m_codes, m_uniq = pd.factorize(metric[at])
        code, benchmark[at], yoy[at] = _status_columns(m_codes, m_uniq, v[at], t[at], p[at], params)
        status[at] = STATUS_VALUES[code]
    columns = {c: kpis[c] for c in kpis.columns}
    for name, values in (("status", status), ("benchmark", benchmark), ("yoy_change", yoy)):
        # typed: pandas infers nothing (an object column's inference scans 41 bytes a row)
        columns[name] = pd.Series(values, index=kpis.index, dtype=values.dtype, copy=False)
    return pd.DataFrame(columns, copy=False).__finalize__(kpis)


def kpi_status_batch(batch: pa.RecordBatch, params: TeamParams) -> pa.RecordBatch:
    """:func:`kpi_status` of KPI rows held as an Arrow record batch (text ``string``, numbers
    ``double``), as the batch :func:`kpi_status`'s frame converts to: the new columns after
    the batch's, every missing number null (NaN too). The rows never become Python objects
    (at 200 times the sample, 22.7 M of them)."""
    from salesreport.engine import arrow_codes

    m_codes, m_uniq = arrow_codes(batch.column("metric"))
    # the number columns as numpy (NaN for null), each read once
    floats = {
        f.name: batch.column(f.name).to_numpy(zero_copy_only=False)
        for f in batch.schema
        if pa.types.is_floating(f.type)
    }
    v, t, p = floats["value"], floats["target"], floats["prior"]
    code, benchmark, yoy = _status_columns(m_codes, m_uniq, v, t, p, params)
    columns = [
        pa.array(floats[c], from_pandas=True) if c in floats else batch.column(c)
        for c in batch.schema.names
    ]
    columns += [
        pa.array(STATUS_VALUES[code], type=pa.string()),
        pa.array(benchmark, from_pandas=True),
        pa.array(yoy, from_pandas=True),
    ]
    return pa.RecordBatch.from_arrays(
        columns, names=[*batch.schema.names, "status", "benchmark", "yoy_change"]
    )


def _status_columns(m_codes, m_uniq, v, t, p, params: TeamParams):
    """The status code (:data:`salesreport.status.STATUS_VALUES`), benchmark and change on
    last year of rows whose metric is ``m_uniq[m_codes]`` (-1: missing)."""
    better = {k.name: k.higher_is_better for k in CATALOGUE.values()}
    # per distinct metric, spread back by code (-1, a missing metric: the last entry)
    hib = np.array([bool(better.get(m, True)) for m in m_uniq] + [True], dtype=bool)[m_codes]
    code = status_codes(v, t, hib, params.rag.green, params.rag.amber)
    bench = [params.benchmarks.get(m, np.nan) for m in m_uniq] + [np.nan]
    benchmark = np.array(bench, dtype=float)[m_codes]
    with np.errstate(divide="ignore", invalid="ignore"):
        yoy = np.where((p != 0) & ~np.isnan(p), v / p - 1.0, np.nan)
    return code, benchmark, yoy
