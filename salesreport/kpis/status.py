"""Red, amber and green against target (:mod:`salesreport.status`), the benchmark and the change
on last year."""

from __future__ import annotations

import numpy as np
import pandas as pd

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
    better = {k.name: k.higher_is_better for k in CATALOGUE.values()}
    status = np.empty(n, dtype=object)
    benchmark = np.empty(n, dtype=float)
    yoy = np.empty(n, dtype=float)
    for lo in range(0, n, STATUS_ROWS):
        at = slice(lo, lo + STATUS_ROWS)
        # per distinct metric, spread back by code (-1, a missing metric: the last entry)
        m_codes, m_uniq = pd.factorize(metric[at])
        hib = np.array([bool(better.get(m, True)) for m in m_uniq] + [True], dtype=bool)[m_codes]
        code = status_codes(v[at], t[at], hib, params.rag.green, params.rag.amber)
        status[at] = STATUS_VALUES[code]
        bench = [params.benchmarks.get(m, np.nan) for m in m_uniq] + [np.nan]
        benchmark[at] = np.array(bench, dtype=float)[m_codes]
        pa, va = p[at], v[at]
        with np.errstate(divide="ignore", invalid="ignore"):
            yoy[at] = np.where((pa != 0) & ~np.isnan(pa), va / pa - 1.0, np.nan)
    columns = {c: kpis[c] for c in kpis.columns}
    for name, values in (("status", status), ("benchmark", benchmark), ("yoy_change", yoy)):
        # typed: pandas infers nothing (an object column's inference scans 41 bytes a row)
        columns[name] = pd.Series(values, index=kpis.index, dtype=values.dtype, copy=False)
    return pd.DataFrame(columns, copy=False).__finalize__(kpis)
