"""Red, amber and green against target, the benchmark and the change on last year."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.kpis.catalogue import CATALOGUE
from salesreport.params import TeamParams

#: ``kpi_status`` codes 0..3 -> the ``status`` values
STATUS_VALUES = np.array(["green", "amber", "red", None], dtype=object)


def kpi_status(kpis: pd.DataFrame, params: TeamParams) -> pd.DataFrame:
    """``kpis`` plus ``status``, ``benchmark`` and ``yoy_change``.

    * status (against ``target``, ``params.rag``): for a metric where higher is better,
      r = value / target; where lower is better, r = target / value (a value <= 0 counts as
      meeting the target); ``green`` when r >= rag.green, ``amber`` when r >= rag.amber, else
      ``red``. A target <= 0 is met (green) when value >= target (higher is better) or value <=
      target (lower is better), else red. Empty without value or target.
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
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(hib, v / t, np.where(v > 0, t / v, np.inf))
    met_nonpos = np.where(hib, v >= t, v <= t)
    g, a = params.rag.green, params.rag.amber
    # a small code per row, then one shared string per status (no Python string per row)
    code = np.full(len(v), 2, dtype=np.int8)  # red
    code[r >= a] = 1  # amber
    code[r >= g] = 0  # green (wins over amber whatever the thresholds)
    del r
    nonpos = t <= 0
    code[nonpos] = np.where(met_nonpos[nonpos], 0, 2)
    del met_nonpos, nonpos
    code[np.isnan(v) | np.isnan(t)] = 3  # empty
    df["status"] = STATUS_VALUES[code]
    bench = np.array([params.benchmarks.get(m, np.nan) for m in m_uniq] + [np.nan], dtype=float)
    df["benchmark"] = bench[m_codes]
    p = df["prior"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        df["yoy_change"] = np.where((p != 0) & ~np.isnan(p), v / p - 1.0, np.nan)
    return df
