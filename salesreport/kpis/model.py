"""How a KPI is declared: measures of a source, combined by a small expression algebra.

A catalogue entry (:mod:`salesreport.kpis.catalogue`) holds its definition as data, in the
spirit of dbt's MetricFlow:

* :class:`Measure`: an aggregate of one source's rows (:mod:`salesreport.kpis.sources`) for a
  window and a segment. Its ``kind`` says how rows meet the window:

  - ``flow``: every row placed in a month of the window (by its month ``m``) counts;
    ``range`` shifts the months: ``window`` (the window's own), ``year_before`` (the same
    window 12 months earlier), ``previous_month`` (the month before the window's last),
    ``end_month`` (the window's last month only);
  - ``stock``: the rows alive at the last day of a month (``first <= k < stop``): ``range``
    ``end`` (the window's last month) or ``start`` (the month before its first);
  - the cohort and tenure kinds the engine adds to MetricFlow's (``employed``,
    ``employed_at_start``, ``retention``, ``clv``, ``new_customer_arpu``, ``spend``,
    ``ramp``): each documented where :mod:`salesreport.kpis.compiler` computes it.

  ``column`` is the summed column (``None`` counts rows).
* :class:`Ratio`, :class:`Minus`, :class:`Const`, :class:`Target`: expressions over measures.
  A ratio is empty when its denominator is 0 or empty (``revenue_growth_yoy`` is
  ``Ratio(revenue, revenue a year before) - 1``).

A :class:`Metric` adds the segment columns it is split by, the source whose segment values
give its rows, and whether windows ending before that source's first month are empty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Measure:
    """An aggregate of ``source``'s rows per window and segment (module docstring).

    ``month``: the column placing a row in a month (flows); ``first``/``stop``: the columns
    bounding the month ends at which a row is alive (stocks).
    """

    source: str
    column: str | None = None
    kind: str = "flow"
    range: str = "window"
    month: str = "m"
    first: str = "first"
    stop: str = "stop"

    @property
    def key(self) -> str:
        parts = [self.kind, self.column or "n", self.range]
        if self.kind == "flow":
            parts.append(self.month)
        elif self.kind.startswith("stock"):
            parts += [self.first, self.stop]
        return "__".join(parts)


@dataclass(frozen=True)
class Ratio:
    """``num / den``, empty when ``den`` is 0 or empty (or not above 0, ``positive``)."""

    num: Expr
    den: Expr
    positive: bool = False


@dataclass(frozen=True)
class Minus:
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Times:
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Const:
    value: float


@dataclass(frozen=True)
class Target:
    """The target of the metric named, for the same window and segment (additive rules)."""

    metric: str


@dataclass(frozen=True)
class NextMonthTarget:
    """The monthly target of ``metric`` for the month after the window's last month."""

    metric: str


@dataclass(frozen=True)
class Param:
    """A number from the team's parameters (``gross_margin``)."""

    name: str


Expr = Measure | Ratio | Minus | Times | Const | Param | Target | NextMonthTarget


def leaves(expr: Expr, kind: type) -> list:
    """Every node of type ``kind`` an expression holds (its measures, its targets)."""
    if isinstance(expr, kind):
        return [expr]
    if isinstance(expr, Ratio):
        return leaves(expr.num, kind) + leaves(expr.den, kind)
    if isinstance(expr, Minus | Times):
        return leaves(expr.left, kind) + leaves(expr.right, kind)
    return []


def measures(expr: Expr) -> list[Measure]:
    """Every :class:`Measure` an expression reads."""
    return leaves(expr, Measure)


@dataclass(frozen=True)
class Definition:
    """How one metric is computed (see the module docstring).

    ``rows_from``: the source whose segment labels give the metric's rows; ``segments``:
    the segment columns it is split by, from the tables present (``None`` in the list is the
    team, ``all``); ``blank``: windows ending before ``rows_from``'s first month are empty;
    ``windows``: only these windows get rows (``None``: all four); ``available``: whether the
    engine's tables allow the metric at all (beyond the catalogue's ``needs``); ``needs``:
    the tables without which it gets no rows, when fewer than the catalogue entry's (the
    rows are there, empty, when only a measure's table is missing: ``cac`` without spend).
    """

    value: Expr
    rows_from: str
    segments: Callable[[object], list[str]] = field(default=lambda engine: [])
    blank: bool = True
    windows: tuple[str, ...] | None = None
    available: Callable[[object], bool] = field(default=lambda engine: True)
    needs: tuple[str, ...] | None = None
