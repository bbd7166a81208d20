"""Number formats shared by the charts and the HTML tables.

Every formatter turns a missing value (``None``, ``NaN``, ``pd.NA``, ``±inf``)
into an em dash ``"—"`` so that a KPI that cannot be computed reads as
"not available", never as 0.

* money: currency symbol (``€``, ``$``, ``£`` ...; other codes as a prefix,
  ``"SEK 1.2M"``) and either a compact scale (``"€1.2M"``, ``"$350k"``) or full
  thousands separators (``"€1,234,567"``);
* percentages: ratios in, per cent out (``0.12`` -> ``"12%"``);
* plain numbers: thousands separators (``"12,345"``).

Negative values carry an ASCII minus in front of the symbol (``"-€1.2M"``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.ticker import FuncFormatter

MISSING = "—"

CURRENCY_SYMBOLS: dict[str, str] = {
    "EUR": "€",
    "USD": "$",
    "GBP": "£",
    "JPY": "¥",
    "CNY": "CN¥",
    "INR": "₹",
    "KRW": "₩",
    "AUD": "A$",
    "CAD": "C$",
    "NZD": "NZ$",
    "SGD": "S$",
    "HKD": "HK$",
    "BRL": "R$",
    "MXN": "MX$",
}

_SCALES = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))


def _as_float(x: Any) -> float | None:
    """``x`` as a finite float, or ``None`` when missing or not finite."""
    if x is None or x is pd.NA or x is pd.NaT:
        return None
    if not isinstance(x, Real):
        try:
            x = float(x)
        except (TypeError, ValueError) as err:
            raise TypeError(f"cannot format {x!r} ({type(x).__name__}) as a number") from err
    value = float(x)
    return value if math.isfinite(value) else None


def currency_symbol(currency: str) -> str:
    """The symbol placed before amounts: ``€`` for EUR, ``"CHF "`` for codes without one."""
    code = (currency or "").upper()
    return CURRENCY_SYMBOLS.get(code, f"{code} " if code else "")


def _strip_zeros(text: str) -> str:
    return text.rstrip("0").rstrip(".") if "." in text else text


def _unit(magnitude: float) -> tuple[float, str]:
    """The scale (1e3, 1e6, ...) and suffix for a magnitude; values that would round
    up to 1000 of a unit move to the next one (999_600 -> M, not 1000k)."""
    for scale, suffix in _SCALES:
        if magnitude >= scale * 0.9995:
            return scale, suffix
    return 1.0, ""


def _compact(value: float, decimals: int | None) -> str:
    """``1_234_567`` -> ``"1.2M"``; ``decimals=None`` picks 0 or 1 decimal and drops ``.0``."""
    magnitude = abs(value)
    scale, suffix = _unit(magnitude)
    scaled = magnitude / scale
    if suffix:
        d = decimals if decimals is not None else (0 if scaled >= 100 else 1)
        text = f"{scaled:.{d}f}"
        return (_strip_zeros(text) if decimals is None else text) + suffix
    if decimals is None:
        decimals = 0 if magnitude >= 100 or magnitude == round(magnitude) else 2
    return f"{magnitude:,.{decimals}f}"


def fmt_money(
    x: Any, currency: str = "EUR", compact: bool = True, decimals: int | None = None
) -> str:
    """Format an amount with its currency.

    Parameters
    ----------
    x : number
        The amount in ``currency``; missing or infinite gives ``"—"``.
    currency : str
        ISO 4217 code; EUR, USD, GBP ... print as a symbol, others as a prefix.
    compact : bool
        ``True``: scale to k/M/B (``"€1.2M"``, ``"$350k"``, ``"€12.5k"``); one
        decimal below 100 of the unit, none above, ``.0`` dropped. ``False``:
        full amount with thousands separators (``"€1,234,567"``).
    decimals : int, optional
        Fixed number of decimals instead of the automatic choice.

    Examples
    --------
    >>> fmt_money(1_234_567, "EUR")
    '€1.2M'
    >>> fmt_money(350_000, "USD")
    '$350k'
    >>> fmt_money(1_234_567, "EUR", compact=False)
    '€1,234,567'
    """
    value = _as_float(x)
    if value is None:
        return MISSING
    sign = "-" if value < 0 else ""
    if compact:
        body = _compact(value, decimals)
    else:
        body = f"{abs(value):,.{0 if decimals is None else decimals}f}"
    if sign and float(body.rstrip("TBMk").replace(",", "") or 0) == 0:
        sign = ""  # -0.3 rounds to "€0", not "-€0"
    return f"{sign}{currency_symbol(currency)}{body}"


def fmt_pct(x: Any, decimals: int = 0, signed: bool = False) -> str:
    """Format a ratio as a percentage: ``0.123`` -> ``"12%"`` (``decimals=1``: ``"12.3%"``).

    ``signed=True`` writes a ``+`` before positive changes (``"+5%"``). Missing gives ``"—"``.
    """
    value = _as_float(x)
    if value is None:
        return MISSING
    text = f"{value * 100:.{decimals}f}"
    if float(text) == 0:
        text = f"{0:.{decimals}f}"
    elif signed and value > 0:
        text = "+" + text
    return text + "%"


def fmt_grade(x: Any, percent: bool = False) -> str:
    """Format an OKR grade (0-1) cut, not rounded, to two decimals: ``0.398`` -> ``"0.39"``
    (``percent=True``: ``"39%"``), so a grade just below a status band's edge (red under
    0.4) never reads as the edge itself. Missing gives ``"—"``."""
    value = _as_float(x)
    if value is None:
        return MISSING
    hundredths = math.floor(value * 100 + 1e-9)  # 0.29 * 100 is 28.999...: not a cut
    return f"{hundredths}%" if percent else f"{hundredths / 100:.2f}"


def fmt_number(x: Any, decimals: int | None = None, compact: bool = False) -> str:
    """Format a count or a plain quantity with thousands separators (``12345`` -> ``"12,345"``).

    ``decimals=None`` shows whole numbers as such and other values below 100
    with one decimal (``2.5``); ``compact=True`` scales like money (``"12.3k"``).
    Missing gives ``"—"``.
    """
    value = _as_float(x)
    if value is None:
        return MISSING
    sign = "-" if value < 0 else ""
    if compact and abs(value) >= 999.5:
        return sign + _compact(value, decimals)
    if decimals is None:
        decimals = 0 if abs(value) >= 100 or value == round(value) else 1
    text = f"{abs(value):,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        sign = ""
    return sign + text


def _exact_decimals(scaled: float, max_decimals: int = 2) -> int:
    """Fewest decimals (up to ``max_decimals``) that write ``scaled`` without rounding."""
    for d in range(max_decimals + 1):
        if abs(round(scaled, d) - scaled) < 1e-9 * max(1.0, abs(scaled)):
            return d
    return max_decimals


def _scaled(value: float) -> float:
    magnitude = abs(value)
    return magnitude / _unit(magnitude)[0]


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
