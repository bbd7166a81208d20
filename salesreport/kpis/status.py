"""Red, amber and green against target (:mod:`salesreport.status`), the benchmark and the change
on last year."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.kpis.catalogue import CATALOGUE
from salesreport.params import TeamParams
from salesreport.status import STATUS_VALUES, status_codes


def kpi_status(kpis: pd.DataFrame, params: TeamParams) -> pd.DataFrame:
    """``kpis`` plus ``status``, ``benchmark`` and ``yoy_change``.

    * status (against ``target``, ``params.rag``): the one status rule,
      :func:`salesreport.status.status_codes` (value / target, or target / value where
      lower is better, against ``rag.green`` and ``rag.amber``). Empty without value or
      target.
    * benchmark: ``params.benchmarks[metric]`` (empty when not set).
    * yoy_change: value / prior - 1, empty when prior is 0 or empty.
    """
    # a shallow copy: the new columns go into this frame only, the millions of rows of kpis'
    # own columns are shared (neither frame is changed in place afterwards)
    df = kpis.copy(deep=False)
    v = df["value"].to_numpy(float)
    t = df["target"].to_numpy(float)
    # per distinct metric, spread back by code: one hash pass over millions of rows, not two
    m_codes, m_uniq = pd.factorize(df["metric"].to_numpy(object))
    better = {k.name: k.higher_is_better for k in CATALOGUE.values()}
    hib = np.array([bool(better.get(m, True)) for m in m_uniq] + [True], dtype=bool)[m_codes]
    code = status_codes(v, t, hib, params.rag.green, params.rag.amber)
    df["status"] = STATUS_VALUES[code]
    bench = np.array([params.benchmarks.get(m, np.nan) for m in m_uniq] + [np.nan], dtype=float)
    df["benchmark"] = bench[m_codes]
    p = df["prior"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        df["yoy_change"] = np.where((p != 0) & ~np.isnan(p), v / p - 1.0, np.nan)
    return df
