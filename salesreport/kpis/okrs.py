"""OKR grading (shared/spec/kpis.md, "OKRs") -> ``okrs.csv``.

* A key result (KR) reads its metric's value from ``kpis`` at its ``window``, the report month
  and its ``segment`` (default ``all``).
* grade = (value - baseline) / (target - baseline) clipped to [0, 1]; for a lower-is-better
  metric both differences are negative and the same formula works. Empty when the value is
  empty or target = baseline.
* An objective's grade is the weighted mean (KR ``weight``) of its KRs' grades, over the KRs
  that have a grade; empty when none has.
* status: the one status rule (:mod:`salesreport.status`): the grade before clipping over
  the share of the key result's period gone by the end of the report month (``due``: the
  months gone of the fiscal quarter or year for a metric that adds up over months in a
  ``qtd`` or ``ytd`` window, else 1), green at or above ``rag.green``, amber at or above
  ``rag.amber``, else red; a ``committed`` KR is green only at grade 1.0 (below it: amber
  or red by the same rule). An objective: its grade over the weighted mean of its graded
  KRs' ``due``. Empty without a grade.
* Hub and spokes: an objective with ``spokes: COL`` is graded once as written (the hub, each KR
  on its own segment) and once more per value of COL found in ``kpis`` for the report month
  (each spoke: every KR on segment ``COL=value``; a KR whose metric has no row for that spoke
  gets an empty value). ``COL=(none)`` (rows without a value) is not a spoke. ``segment`` says which copy a row belongs to.

``due``: the share of the target due by the end of the report month (see status).

Rows: per objective copy, first the objective row (``key_result`` empty) then its KRs in the
YAML's order; objectives in the YAML's order, hub before spokes, spokes sorted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.kpis.catalogue import CATALOGUE
from salesreport.params import TeamParams
from salesreport.status import due_share, status

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
    "due",
]


def kr_grade(value: float, baseline: float, target: float) -> float:
    """(value - baseline) / (target - baseline) clipped to [0, 1]; NaN if undefined."""
    if value is None or np.isnan(value) or target == baseline:
        return float("nan")
    return float(min(1.0, max(0.0, (value - baseline) / (target - baseline))))


def band(
    progress: float, params: TeamParams, due: float = 1.0, committed: bool = False
) -> str | None:
    """The status of a key result or objective (``green``/``amber``/``red``, None without a
    grade): :func:`salesreport.status.status` of ``progress`` (the grade before clipping)
    against ``due``; a committed key result is green only once its target is met."""
    if progress is None or np.isnan(progress):
        return None
    word = status(progress, 1.0, params.rag.green, params.rag.amber, baseline=0.0, due=due)
    return "amber" if word == "green" and committed and progress < 1.0 else word


def grade_okrs(kpis: pd.DataFrame, params: TeamParams, month: str) -> pd.DataFrame:
    """Grade the team's OKRs on the report month's KPI values.

    Parameters
    ----------
    kpis : pandas.DataFrame
        :func:`salesreport.kpis.compute_kpis` output (``metric, window, period, segment,
        value``).
    params : TeamParams
        ``okrs``, ``rag`` and ``fiscal_year_start_month``.
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
                entry = CATALOGUE.get(kr.metric)
                due = due_share(
                    month,
                    kr.window,
                    entry is not None and entry.additive,
                    params.fiscal_year_start_month,
                )
                progress = (
                    (value - kr.baseline) / (kr.target - kr.baseline)
                    if np.isfinite(grade)
                    else np.nan
                )
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
                        "status": band(progress, params, due, kr.committed),
                        "weight": kr.weight,
                        "committed": kr.committed,
                        "segment": seg,
                        "due": due,
                    }
                )
            g = np.array([k["grade"] for k in krs], dtype=float)
            w = np.array([k["weight"] for k in krs], dtype=float)
            has = ~np.isnan(g)
            d = np.array([k["due"] for k in krs], dtype=float)
            obj_grade = float(np.sum(g[has] * w[has]) / np.sum(w[has])) if has.any() else np.nan
            obj_due = float(np.sum(d[has] * w[has]) / np.sum(w[has])) if has.any() else 1.0
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
                    "status": band(obj_grade, params, obj_due),
                    "weight": float(w.sum()),
                    "committed": None,
                    "segment": "all" if spoke is None else spoke,
                    "due": obj_due,
                }
            )
            rows.extend(krs)
    return pd.DataFrame(rows, columns=OKR_COLUMNS)
