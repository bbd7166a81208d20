"""Words and formats of findings: how a page, the team's index and ``run.json`` write a
number, a month, a model, a status or a comparison. One definition each:

* amounts: :func:`fmt_money` (``"€1.2M"``, ``"$350k"``), the one money format of the pages,
  the charts and the index; percentages :func:`fmt_pct`, counts :func:`fmt_number`, OKR
  grades :func:`fmt_grade`; a missing value is :data:`MISSING` (``"—"``), never 0;
* a KPI's value in its unit, read from the KPI catalogue (:func:`kpi_value`: ``"€1.2M"``,
  ``"31%"``, ``"42 days"``, ``"3.8×"``) and its change (:func:`kpi_change`: ``"+12%"``,
  ``"+3 pts"``);
* months: :func:`month_label` (``"November 2026"``, ``"Nov 2026"``, ``"November"``; a month
  not over yet reads ``"December 2026, month to date"``);
* comparisons: :func:`against` (``"12% above target"``, ``"on target"``) and :func:`change`
  (``"up 12%"``, ``"flat"``);
* forecast models: :data:`MODELS`, one table of the short name (table rows, legends) and the
  phrase (sentences) of each model;
* status: :data:`STATUS_WORDS` and :func:`status_legend`, the one legend of the red / amber /
  green colours (the rule is :mod:`salesreport.status`).

Nothing here plots or reads files; pandas is only needed for :class:`pandas.Period` months
and missing values, so the run's main process can write its index without matplotlib.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from salesreport.params import Rag
    from salesreport.tables import Tables

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


# --------------------------------------------------------------------------- numbers


def as_float(x: Any) -> float | None:
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


def scale_of(magnitude: float) -> tuple[float, str]:
    """The scale (1e3, 1e6, ...) and suffix for a magnitude; values that would round
    up to 1000 of a unit move to the next one (999_600 -> M, not 1000k)."""
    for scale, suffix in _SCALES:
        if magnitude >= scale * 0.9995:
            return scale, suffix
    return 1.0, ""


def scaled_text(value: float, decimals: int | None) -> str:
    """``1_234_567`` -> ``"1.2M"``; ``decimals=None`` picks 0 or 1 decimal and drops ``.0``."""
    magnitude = abs(value)
    scale, suffix = scale_of(magnitude)
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
    """An amount with its currency: the one money format of every page.

    ``compact`` (default): scaled to k/M/B, one decimal below 100 of the unit, none above,
    ``.0`` dropped (``"€1.2M"``, ``"$350k"``, ``"€12.5k"``); else the full amount with
    thousands separators (``"€1,234,567"``). ``decimals`` fixes the decimals. Missing or
    infinite: ``"—"``. Negative amounts carry an ASCII minus before the symbol.

    Examples
    --------
    >>> fmt_money(1_234_567, "EUR")
    '€1.2M'
    >>> fmt_money(350_000, "USD")
    '$350k'
    >>> fmt_money(1_234_567, "EUR", compact=False)
    '€1,234,567'
    """
    value = as_float(x)
    if value is None:
        return MISSING
    sign = "-" if value < 0 else ""
    if compact:
        body = scaled_text(value, decimals)
    else:
        body = f"{abs(value):,.{0 if decimals is None else decimals}f}"
    if sign and float(body.rstrip("TBMk").replace(",", "") or 0) == 0:
        sign = ""  # -0.3 rounds to "€0", not "-€0"
    return f"{sign}{currency_symbol(currency)}{body}"


def fmt_pct(x: Any, decimals: int = 0, signed: bool = False) -> str:
    """A ratio as a percentage: ``0.123`` -> ``"12%"`` (``decimals=1``: ``"12.3%"``);
    ``signed=True`` writes a ``+`` before positive values. Missing gives ``"—"``."""
    value = as_float(x)
    if value is None:
        return MISSING
    text = f"{value * 100:.{decimals}f}"
    if float(text) == 0:
        text = f"{0:.{decimals}f}"
    elif signed and value > 0:
        text = "+" + text
    return text + "%"


def fmt_grade(x: Any, percent: bool = False) -> str:
    """An OKR grade (0-1) cut, not rounded, to two decimals: ``0.398`` -> ``"0.39"``
    (``percent=True``: ``"39%"``), so a grade just below a threshold never reads as the
    threshold itself. Missing gives ``"—"``."""
    value = as_float(x)
    if value is None:
        return MISSING
    hundredths = math.floor(value * 100 + 1e-9)  # 0.29 * 100 is 28.999...: not a cut
    return f"{hundredths}%" if percent else f"{hundredths / 100:.2f}"


def fmt_number(x: Any, decimals: int | None = None, compact: bool = False) -> str:
    """A count or a plain quantity with thousands separators (``12345`` -> ``"12,345"``).

    ``decimals=None`` shows whole numbers as such and other values below 100 with one
    decimal (``2.5``); ``compact=True`` scales like money (``"12.3k"``). Missing: ``"—"``.
    """
    value = as_float(x)
    if value is None:
        return MISSING
    sign = "-" if value < 0 else ""
    if compact and abs(value) >= 999.5:
        return sign + scaled_text(value, decimals)
    if decimals is None:
        decimals = 0 if abs(value) >= 100 or value == round(value) else 1
    text = f"{abs(value):,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        sign = ""
    return sign + text


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``1 row``, ``20 rows``, ``1,204 activities``: ``n`` with its noun in the right number
    (``plural`` for nouns that do not take an ``s``)."""
    n = int(n)
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def sentence(text: str) -> str:
    """``text`` with its first letter upper case and the rest untouched (``region DE`` ->
    ``Region DE``; ``str.capitalize`` would give ``Region de``)."""
    return text[:1].upper() + text[1:]


def listing(items: Sequence[str]) -> str:
    """``["a"]`` -> ``a``; ``["a", "b", "c"]`` -> ``a, b and c``."""
    items = [str(i) for i in items]
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else "".join(items)


# --------------------------------------------------------------------------- months


def month_label(month: str | pd.Period, form: str = "long", partial: bool = False) -> str:
    """A month as readers write it: ``form`` ``long`` -> ``"November 2026"``, ``short`` ->
    ``"Nov 2026"`` (chart axes), ``name`` -> ``"November"``. ``partial`` (a month not over
    yet, ``--allow-partial``): ``"December 2026, month to date"`` (``long`` only, the form
    every page's title and subtitle use)."""
    p = pd.Period(month, "M")
    text = p.strftime({"long": "%B %Y", "short": "%b %Y", "name": "%B"}[form])
    return f"{text}, month to date" if partial and form == "long" else text


#: window codes of ``kpis.csv`` and the words a sentence uses for them
WINDOW_PHRASES: dict[str, str] = {
    "month": "this month",
    "qtd": "quarter to date",
    "ytd": "year to date",
    "trailing12": "over the last 12 months",
}


# --------------------------------------------------------------------------- KPIs

#: ratios read as multiples ("3.8×"), not shares ("380%")
MULTIPLES = frozenset({"pipeline_coverage"})


def kpi_unit(metric: str) -> str:
    """The metric's unit in the KPI catalogue (``currency``, ``count``, ``ratio``, ``days``,
    ``months``); ``count`` for a metric the catalogue does not list."""
    from salesreport.kpis.catalogue import CATALOGUE

    entry = CATALOGUE.get(metric)
    return entry.unit if entry is not None else "count"


def kpi_title(metric: str) -> str:
    """The metric's title in the KPI catalogue (``win_rate`` -> ``Win rate``)."""
    from salesreport.kpis.catalogue import CATALOGUE

    entry = CATALOGUE.get(metric)
    return entry.title if entry is not None else sentence(metric.replace("_", " "))


def kpi_value(value: Any, metric: str, currency: str) -> str:
    """A KPI's value in its catalogue unit: ``"€1.2M"``, ``"31%"``, ``"42 days"``,
    ``"2.5 months"``, ``"3.8×"`` (:data:`MULTIPLES`), ``"1,204"``; missing: ``"—"``."""
    v = as_float(value)
    if v is None:
        return MISSING
    unit = kpi_unit(metric)
    if metric in MULTIPLES:
        return f"{v:,.1f}×"
    if unit == "currency":
        return fmt_money(v, currency)
    if unit == "ratio":
        return fmt_pct(v)
    if unit == "days":
        return f"{v:,.0f} days"
    if unit == "months":
        return f"{v:,.1f} months"
    return fmt_number(v)


def kpi_change(value: Any, reference: Any, metric: str) -> str:
    """How far ``value`` moved from ``reference``, as the metric's unit reads it: ratios in
    percentage points (``"+3 pts"``), everything else (multiples such as coverage too)
    relative (``"+12%"``, ``"−5%"``); ``"—"`` when it cannot be said (a reference of 0 for
    a relative change, a missing value)."""
    v, r = as_float(value), as_float(reference)
    if v is None or r is None:
        return MISSING
    if kpi_unit(metric) == "ratio" and metric not in MULTIPLES:
        d = round((v - r) * 100)
        return "±0 pts" if d == 0 else f"{'+' if d > 0 else '−'}{abs(d)} pts"
    if r == 0:
        return MISSING
    d = v / r - 1
    return "±0%" if round(d * 100) == 0 else f"{'+' if d > 0 else '−'}{fmt_pct(abs(d))}"


# --------------------------------------------------------------------------- comparisons


def against(actual: Any, target: Any, noun: str = "target") -> str:
    """``"12% above target"``, ``"4% below target"``, ``"on target"`` (a gap that rounds to
    0%); empty when there is nothing to compare with (a missing or zero target)."""
    a, t = as_float(actual), as_float(target)
    if a is None or t is None or t == 0:
        return ""
    gap = a / t - 1
    if round(abs(gap) * 100) == 0:
        return f"on {noun}"
    return f"{fmt_pct(abs(gap))} {'above' if gap > 0 else 'below'} {noun}"


def change(current: Any, previous: Any) -> str:
    """``"up 12%"``, ``"down 5%"``, ``"flat"`` (rounds to 0%); empty when ``previous`` is
    missing or 0."""
    c, p = as_float(current), as_float(previous)
    if c is None or p is None or p == 0:
        return ""
    d = c / p - 1
    if round(abs(d) * 100) == 0:
        return "flat"
    return f"{'up' if d > 0 else 'down'} {fmt_pct(abs(d))}"


# --------------------------------------------------------------------------- models

#: every forecast model: its short name (table rows, chart legends) and the phrase a
#: sentence uses. ``selected`` is the forecast the report published at each origin.
MODELS: dict[str, tuple[str, str]] = {
    "snaive": ("Seasonal naive", "seasonal naive (the same month last year)"),
    "snaive_drift": (
        "Seasonal naive with growth",
        "the same month last year plus half the average change on a year earlier",
    ),
    "ets": ("Exponential smoothing", "exponential smoothing (ETS)"),
    "theta": ("Theta", "Theta"),
    "arima": ("ARIMA", "ARIMA"),
    "ml": ("Ridge regression", "ridge regression on past months"),
    "pipeline": ("Weighted pipeline", "open pipeline weighted by stage win rates"),
    "selected": ("Published forecast", "the forecast published each month"),
}


def _ensemble_members(model: str) -> list[str] | None:
    """``ensemble(ml,arima)`` -> ``["ml", "arima"]``; ``None`` for a single model."""
    if model.startswith("ensemble(") and model.endswith(")"):
        return [m for m in model[9:-1].split(",") if m]
    return None


def model_name(model: str) -> str:
    """A model's short name: ``ml`` -> ``Ridge regression``, ``ensemble(ml,arima)`` ->
    ``Average of Ridge regression, ARIMA``."""
    model = str(model)
    members = _ensemble_members(model)
    if members:
        return "Average of " + ", ".join(MODELS.get(m, (m, m))[0] for m in members)
    return MODELS.get(model, (model, model))[0]


def model_label(model: str) -> str:
    """A model as a sentence names it: ``ensemble(ml,arima)`` -> ``the average of ridge
    regression on past months and ARIMA``."""
    model = str(model)
    members = _ensemble_members(model)
    if members:
        return "the average of " + listing([MODELS.get(m, (m, m))[1] for m in members])
    return MODELS.get(model, (model, model))[1]


# --------------------------------------------------------------------------- status

#: the status colours and what each says, on every page
STATUS_WORDS: dict[str, str] = {"green": "on track", "amber": "at risk", "red": "off track"}


def status_legend(rag: Rag) -> str:
    """The one legend of the red / amber / green colours (the rule: :mod:`salesreport.status`)."""
    return (
        "Green: on track, at or above target (for a key result, at or above where it should "
        f"be by now); amber: at risk, within {fmt_pct(1 - rag.amber)} of it; red: off "
        "track, further below."
    )


# --------------------------------------------------------------------------- segments


def segment_label(tables: Tables, segment: str) -> str:
    """A KPI segment as readers say it: ``all`` -> ``the team``, ``region=DE`` ->
    ``region DE``, ``owner_id=R0268`` -> ``rep Kira Martin`` (the reps table's name; the
    id without one), ``account_id=A1`` -> ``account Acme GmbH``."""
    from salesreport import analysis

    segment = str(segment)
    if segment == "all" or "=" not in segment:
        return "the team" if segment == "all" else segment
    key, value = segment.split("=", 1)
    if key in ("owner_id", "rep_id"):
        return "rep " + str(analysis.rep_names(tables).get(value, value))
    if key == "account_id":
        return "account " + str(analysis.account_names(tables).get(value, value))
    return f"{key.replace('_', ' ')} {value}"


def is_missing(value: Any) -> bool:
    """``None``, NaN, ``pd.NA`` or ``NaT``."""
    return value is None or (np.ndim(value) == 0 and bool(pd.isna(value)))
