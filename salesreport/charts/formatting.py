"""Number formats of the charts' axes, on top of the text formats of :mod:`salesreport.words`.

The text formats (money, percentages, counts, grades, the missing-value dash) are defined
once, in :mod:`salesreport.words`, and imported here so the charts and the tables write a
number the same way; this module adds matplotlib tick formatters built on them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from salesreport.words import (
    CURRENCY_SYMBOLS,
    MISSING,
    as_float,
    currency_symbol,
    fmt_grade,
    fmt_money,
    fmt_number,
    fmt_pct,
    scale_of,
)

if TYPE_CHECKING:
    from matplotlib.ticker import FuncFormatter

__all__ = [
    "CURRENCY_SYMBOLS",
    "MISSING",
    "currency_symbol",
    "fmt_grade",
    "fmt_money",
    "fmt_number",
    "fmt_pct",
    "is_currency",
    "money_formatter",
    "number_formatter",
    "pct_formatter",
    "unit_formatters",
]
_as_float = as_float


def _exact_decimals(scaled: float, max_decimals: int = 2) -> int:
    """Fewest decimals (up to ``max_decimals``) that write ``scaled`` without rounding."""
    for d in range(max_decimals + 1):
        if abs(round(scaled, d) - scaled) < 1e-9 * max(1.0, abs(scaled)):
            return d
    return max_decimals


def _scaled(value: float) -> float:
    magnitude = abs(value)
    return magnitude / scale_of(magnitude)[0]


def money_tick(x: float, currency: str = "EUR") -> str:
    """An axis tick: compact money with as many decimals as the tick needs (``"€1.25M"``)."""
    value = _as_float(x)
    if value is None:
        return ""
    if value == 0:
        return f"{currency_symbol(currency)}0"
    return fmt_money(value, currency, decimals=_exact_decimals(_scaled(value)))


def _tick_formatter(tick: Callable[[float, int | None], str]) -> FuncFormatter:
    """``tick`` as a matplotlib tick formatter (imported here: the text formats above need
    no matplotlib)."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(tick)


def money_formatter(currency: str = "EUR") -> FuncFormatter:
    """A matplotlib tick formatter writing compact money (``"€250k"``, ``"€1.5M"``)."""
    return _tick_formatter(lambda x, _pos: money_tick(x, currency))


def pct_formatter() -> FuncFormatter:
    """A matplotlib tick formatter for ratios: ``0.25`` -> ``"25%"``, ``0.125`` -> ``"12.5%"``."""

    def _tick(x: float, _pos: int | None = None) -> str:
        value = _as_float(x)
        if value is None:
            return ""
        return fmt_pct(value, decimals=_exact_decimals(value * 100, 1))

    return _tick_formatter(_tick)


def number_formatter(compact: bool = True) -> FuncFormatter:
    """A matplotlib tick formatter for counts and quantities (``"12k"`` or ``"12,000"``)."""

    def _tick(x: float, _pos: int | None = None) -> str:
        value = _as_float(x)
        if value is None:
            return ""
        d = _exact_decimals(_scaled(value) if compact and abs(value) >= 999.5 else value, 2)
        return fmt_number(value, decimals=d, compact=compact)

    return _tick_formatter(_tick)


def is_currency(unit: str | None) -> bool:
    """A unit that is money: a three-letter upper-case ISO 4217 code (``EUR``)."""
    u = (unit or "").strip()
    return len(u) == 3 and u.isalpha() and u.isupper()


_PCT_UNITS = {"ratio", "%", "pct", "percent", "percentage", "share", "rate"}


def unit_formatters(unit: str) -> tuple[FuncFormatter, Callable[[Any], str], str]:
    """How to write values of ``unit`` (a KPI's unit as in ``kpis.csv``).

    Returns the axis tick formatter, a value formatter for labels and the text
    for the axis label's brackets:

    * a three-letter upper-case ISO code (``EUR``) is money: ``"€1.2M"``, ``"(EUR)"``;
    * ``ratio``, ``%``, ``pct``, ``percent``, ``share``, ``rate``: ``"12%"``, ``"(%)"``;
    * anything else (``count``, ``days``, ``months``): ``"12,345"``, ``"(days)"``.
    """
    u = (unit or "").strip()
    if is_currency(u):
        return money_formatter(u), lambda x: fmt_money(x, u), u
    if u.lower() in _PCT_UNITS:
        return pct_formatter(), fmt_pct, "%"
    return number_formatter(), fmt_number, u or "count"
