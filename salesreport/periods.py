"""Periods and windows: months, fiscal quarters and years, in one place.

A *window* ends in a month (its ``period``, ``YYYY-MM``) and is one of:

* ``month``: that calendar month;
* ``qtd``: from the first month of its fiscal quarter to the end of that month;
* ``ytd``: from the first month of its fiscal year to the end of that month;
* ``trailing12``: the 12 months ending with that month.

Fiscal quarters and years start in ``fiscal_year_start_month`` (1 = January).
A fiscal year is named after the calendar year in which it *ends*: with
``fiscal_year_start_month: 2``, FY2027 runs from February 2026 to January
2027; with January, FY2026 is calendar 2026. Fiscal quarters Q1..Q4 count
from the fiscal year's first month.
"""

from __future__ import annotations

import pandas as pd

WINDOWS = ("month", "qtd", "ytd", "trailing12")


def month_period(text: str) -> pd.Period:
    return pd.Period(text, freq="M")


def month_start(p: pd.Period) -> pd.Timestamp:
    return p.to_timestamp(how="start")


def month_end(p: pd.Period) -> pd.Timestamp:
    """The last day of the month, at midnight (dates are day-resolution)."""
    return p.to_timestamp(how="start") + pd.offsets.MonthEnd(0)


def month_end_exclusive(p: pd.Period) -> pd.Timestamp:
    """The first instant after the month: ``ts < month_end_exclusive`` is 'on or before the last day'."""
    return (p + 1).to_timestamp(how="start")


def fiscal_year_start(p: pd.Period, fy_start: int = 1) -> pd.Period:
    """First month of the fiscal year containing month ``p``."""
    offset = (p.month - fy_start) % 12
    return p - offset


def fiscal_quarter_start(p: pd.Period, fy_start: int = 1) -> pd.Period:
    offset = ((p.month - fy_start) % 12) % 3
    return p - offset


def fiscal_year(p: pd.Period, fy_start: int = 1) -> int:
    """Fiscal year label: the calendar year in which the fiscal year ends."""
    end = fiscal_year_start(p, fy_start) + 11
    return end.year


def fiscal_quarter(p: pd.Period, fy_start: int = 1) -> int:
    return ((p.month - fy_start) % 12) // 3 + 1


def window_start(p: pd.Period, window: str, fy_start: int = 1) -> pd.Period:
    """First month of the window that ends in month ``p``."""
    if window == "month":
        return p
    if window == "qtd":
        return fiscal_quarter_start(p, fy_start)
    if window == "ytd":
        return fiscal_year_start(p, fy_start)
    if window == "trailing12":
        return p - 11
    raise ValueError(f"unknown window {window!r}; use one of {WINDOWS}")


def months_back(report_month: str | pd.Period, n: int) -> pd.PeriodIndex:
    """The ``n`` months ending with ``report_month``, oldest first."""
    end = report_month if isinstance(report_month, pd.Period) else month_period(report_month)
    return pd.period_range(end=end, periods=n, freq="M")


def windows_frame(
    report_month: str | pd.Period,
    n_months: int = 24,
    fy_start: int = 1,
    windows: tuple[str, ...] = WINDOWS,
) -> pd.DataFrame:
    """Every window of every month of the history, one row each.

    Columns: ``window``, ``period`` (``YYYY-MM`` text), ``end_month`` and
    ``start_month`` (``Period[M]``), ``start`` (first day, Timestamp) and ``end``
    (last day, Timestamp at midnight), ``n_months`` (months in the window).
    """
    rows = []
    for p in months_back(report_month, n_months):
        for w in windows:
            s = window_start(p, w, fy_start)
            rows.append(
                {
                    "window": w,
                    "period": str(p),
                    "end_month": p,
                    "start_month": s,
                    "start": month_start(s),
                    "end": month_end(p),
                    "n_months": (p - s).n + 1,
                }
            )
    return pd.DataFrame(rows)


def period_bounds(period: str, fy_start: int = 1) -> tuple[pd.Period, pd.Period]:
    """First and last month of a target's period: ``2026-10``, ``2026-Q4`` or ``2026``.

    ``2026-Q4`` and ``2026`` are *fiscal*: FY2026 is the fiscal year ending in
    calendar 2026 (identical to calendar 2026 when the year starts in January).
    """
    if len(period) == 7 and period[4] == "-" and period[5] != "Q":
        p = month_period(period)
        return p, p
    year = int(period[:4])
    # the fiscal year labelled `year` ends in calendar `year`
    fy_first = pd.Period(f"{year if fy_start == 1 else year - 1}-{fy_start:02d}", freq="M")
    if len(period) == 4:
        return fy_first, fy_first + 11
    q = int(period[-1])
    first = fy_first + 3 * (q - 1)
    return first, first + 2
