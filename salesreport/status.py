"""The one status rule: green, amber or red for every KPI tile, key result and objective.

A figure's status says how far it is from where it should be by now, measured by one ratio
``r`` and read against the team's ``rag`` thresholds (``params/defaults.yaml``: green from
1.0, amber from 0.9):

* green (on track) when ``r >= rag.green``; amber (at risk) when ``r >= rag.amber``; red
  (off track) below; no status without a value or a target.
* A KPI against its target for the same window (the targets table or ``targets:`` in the
  YAML; a year-to-date window's target is the target to date): ``r = value / target``, or
  ``target / value`` where lower is better (a value <= 0 meets it). A target <= 0 is met
  (green) when the value is at or above it (at or below where lower is better), else red.
* An OKR key result, with a baseline and a target due at the end of its window's period:
  ``r = progress / due``, ``progress = (value - baseline) / (target - baseline)`` (the
  grade before it is clipped; the same formula works where lower is better) and ``due``
  the share of the period gone by the end of the report month: for a metric that adds up
  over months (a flow such as revenue) in a ``qtd`` or ``ytd`` window, the months of the
  fiscal quarter or year gone (a year-to-date revenue key result is due at 11/12 of its
  target at the end of November), else 1 (a rate, a stock, a month: due now). A revenue
  key result ``0 -> 14M`` at 12.1M in November and the revenue-to-date tile against a
  target of 14M x 11/12 therefore read the same.
* An objective: its grade (the weighted mean of its key results' grades) over the weighted
  mean of their ``due`` shares.

:data:`salesreport.words.STATUS_WORDS` and :func:`salesreport.words.status_legend` are
the words and the legend every page uses for these colours.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.periods import fiscal_quarter_start, fiscal_year_start

#: the statuses, by code (:func:`status_codes`): 0 green, 1 amber, 2 red, 3 none
STATUS_VALUES = np.array(["green", "amber", "red", None], dtype=object)


def status_codes(
    value: np.ndarray,
    target: np.ndarray,
    higher_is_better: np.ndarray | bool,
    green: float,
    amber: float,
    baseline: np.ndarray | None = None,
    due: np.ndarray | float = 1.0,
) -> np.ndarray:
    """The status code (0 green, 1 amber, 2 red, 3 none: :data:`STATUS_VALUES`) of each
    figure, by the module's rule; ``baseline`` given: key results (``due`` their share of
    the period gone), else KPIs against a target for their window."""
    v = np.asarray(value, dtype=float)
    t = np.asarray(target, dtype=float)
    hib = np.broadcast_to(np.asarray(higher_is_better, dtype=bool), v.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        if baseline is None:
            r = np.where(hib, v / t, np.where(v > 0, t / v, np.inf))
        else:
            b = np.asarray(baseline, dtype=float)
            r = ((v - b) / (t - b)) / np.asarray(due, dtype=float)
    code = np.full(v.shape, 2, dtype=np.int8)  # red
    code[r >= amber] = 1
    code[r >= green] = 0  # green wins over amber whatever the thresholds
    if baseline is None:
        nonpos = t <= 0
        met = np.where(hib, v >= t, v <= t)
        code[nonpos] = np.where(met[nonpos], 0, 2)
    else:
        code[np.asarray(target, dtype=float) == np.asarray(baseline, dtype=float)] = 3
    code[np.isnan(v) | np.isnan(t)] = 3
    return code


def status(
    value: float,
    target: float,
    green: float,
    amber: float,
    higher_is_better: bool = True,
    baseline: float | None = None,
    due: float = 1.0,
) -> str | None:
    """One figure's status (``green``/``amber``/``red``; ``None`` without value or target)."""
    code = status_codes(
        np.array([value], dtype=float),
        np.array([target], dtype=float),
        higher_is_better,
        green,
        amber,
        None if baseline is None else np.array([baseline], dtype=float),
        due,
    )[0]
    return STATUS_VALUES[code]


def due_share(month: str, window: str, additive: bool, fy_start: int = 1) -> float:
    """The share of a key result's period gone by the end of ``month``: for a metric that
    adds up over months in a ``qtd`` (``ytd``) window, the months of the fiscal quarter
    (year) up to and including ``month`` over 3 (12); otherwise 1."""
    p = pd.Period(month, "M")
    if not additive or window not in ("qtd", "ytd"):
        return 1.0
    if window == "qtd":
        return (p.ordinal - fiscal_quarter_start(p, fy_start).ordinal + 1) / 3
    return (p.ordinal - fiscal_year_start(p, fy_start).ordinal + 1) / 12
