"""OKR grading (shared/spec/kpis.md, "OKRs") -> ``okrs.csv``.

* A key result (KR) reads its metric's value from ``kpis`` at its ``window``, the report month
  and its ``segment`` (default ``all``).
* grade = (value - baseline) / (target - baseline) clipped to [0, 1]; for a lower-is-better
  metric both differences are negative and the same formula works. Empty when the value is
  empty or target = baseline.
* An objective's grade is the weighted mean (KR ``weight``) of its KRs' grades, over the KRs
  that have a grade; empty when none has.
* status: ``green`` at grade >= ``okr_bands.green`` (0.7), ``yellow`` at >= ``okr_bands.yellow``
  (0.4), else ``red``; a ``committed`` KR is green only at grade 1.0 (below it: yellow or red by
  the same bands). Empty without a grade.
* Hub and spokes: an objective with ``spokes: COL`` is graded once as written (the hub, each KR
  on its own segment) and once more per value of COL found in ``kpis`` for the report month
  (each spoke: every KR on segment ``COL=value``; a KR whose metric has no row for that spoke
  gets an empty value). ``COL=(none)`` (rows without a value) is not a spoke. ``segment`` says which copy a row belongs to.

Rows: per objective copy, first the objective row (``key_result`` empty) then its KRs in the
YAML's order; objectives in the YAML's order, hub before spokes, spokes sorted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.params import TeamParams

OKR_COLUMNS = [
    "objective",
    "key_result",
    "metric",
    "window",
    "baseline",
    "target",
    "value",
    "grade",
    "status",
    "weight",
    "committed",
    "segment",
]


def kr_grade(value: float, baseline: float, target: float) -> float:
    """(value - baseline) / (target - baseline) clipped to [0, 1]; NaN if undefined."""
    if value is None or np.isnan(value) or target == baseline:
        return float("nan")
    return float(min(1.0, max(0.0, (value - baseline) / (target - baseline))))


def band(grade: float, params: TeamParams, committed: bool = False) -> str | None:
    """The status word of a grade (``green``/``yellow``/``red``), None without a grade."""
    if grade is None or np.isnan(grade):
        return None
    b = params.okr_bands
    if grade >= b.green and (not committed or grade >= 1.0):
        return "green"
    return "yellow" if grade >= b.yellow else "red"


def grade_okrs(kpis: pd.DataFrame, params: TeamParams, month: str) -> pd.DataFrame:
    """Grade the team's OKRs on the report month's KPI values.

    Parameters
    ----------
    kpis : pandas.DataFrame
        :func:`salesreport.kpis.compute_kpis` output (``metric, window, period, segment,
        value``).
    params : TeamParams
        ``okrs`` and ``okr_bands``.
    month : str
        The report month (``YYYY-MM``): the ``period`` whose values are graded.

    Returns
    -------
    pandas.DataFrame
        ``objective, key_result, metric, window, baseline, target, value, grade, status,
        weight, committed, segment`` (see the module docstring).
    """
    if not params.okrs:
        return pd.DataFrame([], columns=OKR_COLUMNS)
    now = kpis[kpis["period"] == month]
    segments = now["segment"].astype(str).unique()
    # only the metrics the key results grade (the month's rows of every metric are many)
    wanted = {kr.metric for obj in params.okrs for kr in obj.key_results}
    now = now[now["metric"].isin(wanted)]
    lookup = (
        now.drop_duplicates(["metric", "window", "segment"])
        .set_index(["metric", "window", "segment"])["value"]
        .astype(float)
    )
    rows: list[dict] = []
    for obj in params.okrs:
        copies: list[str | None] = [None]
        if obj.spokes:
            prefix = f"{obj.spokes}="
            copies += sorted(s for s in segments if s.startswith(prefix) and s != f"{prefix}(none)")
        for spoke in copies:
            krs = []
            for kr in obj.key_results:
                seg = kr.segment if spoke is None else spoke
                value = float(lookup.get((kr.metric, kr.window, seg), np.nan))
                grade = kr_grade(value, kr.baseline, kr.target)
                krs.append(
                    {
                        "objective": obj.name,
                        "key_result": kr.name,
                        "metric": kr.metric,
                        "window": kr.window,
                        "baseline": kr.baseline,
                        "target": kr.target,
                        "value": value,
                        "grade": grade,
                        "status": band(grade, params, kr.committed),
                        "weight": kr.weight,
                        "committed": kr.committed,
                        "segment": seg,
                    }
                )
            g = np.array([k["grade"] for k in krs], dtype=float)
            w = np.array([k["weight"] for k in krs], dtype=float)
            has = ~np.isnan(g)
            obj_grade = float(np.sum(g[has] * w[has]) / np.sum(w[has])) if has.any() else np.nan
            rows.append(
                {
                    "objective": obj.name,
                    "key_result": None,
                    "metric": None,
                    "window": None,
                    "baseline": np.nan,
                    "target": np.nan,
                    "value": np.nan,
                    "grade": obj_grade,
                    "status": band(obj_grade, params),
                    "weight": float(w.sum()),
                    "committed": None,
                    "segment": "all" if spoke is None else spoke,
                }
            )
            rows.extend(krs)
    return pd.DataFrame(rows, columns=OKR_COLUMNS)
