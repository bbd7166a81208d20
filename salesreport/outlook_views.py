"""Forecast-page and executive-page sections for the forecast's outlook: how good the
forecast is (one figure), the chance of reaching the targets, what changed since last month.

Each function takes the report context and returns a list of HTML strings (see
:func:`salesreport.views.show`); the numbers come from the frames ``forecast_headline``,
``forecast_targets`` and ``forecast_changes`` (:mod:`salesreport.forecast.accuracy`,
:mod:`salesreport.forecast.targets`, :mod:`salesreport.forecast.changes`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport import charts
from salesreport import html as H

Output = list[str]


def _money(ctx, value: float, signed: bool = False) -> str:
    if value is None or not np.isfinite(value):
        return "—"
    value = 0.0 if abs(value) < 0.5 else float(value)  # below a cent's worth of rounding
    text = charts.fmt_money(value, ctx.currency)
    return f"+{text}" if signed and value > 0 else text


def period_label(period: str, kind: str, fy_start: int) -> str:
    """``2026-Q4`` -> ``Q4 2026`` (``FY2026 Q4`` with a fiscal year not starting in January);
    ``2026`` -> ``2026`` (``FY2026``); a month ``2026-10`` -> ``October 2026``."""
    fy = "FY" if fy_start != 1 else ""
    if kind == "quarter":
        year, q = period.split("-")
        return f"{fy}{year} {q}" if fy else f"{q} {year}"
    if kind == "year":
        return f"{fy}{period}"
    return pd.Period(period, "M").strftime("%B %Y")


def _labels(frame: pd.DataFrame, ctx) -> list[str]:
    """:func:`period_label` of each row's ``period`` and ``kind``."""
    fy = ctx.params.fiscal_year_start_month
    return [period_label(p, k, fy) for p, k in zip(frame["period"], frame["kind"], strict=True)]


def _frame(ctx, name: str) -> pd.DataFrame:
    return ctx.frames.get(name, pd.DataFrame())


# --------------------------------------------------------------------------- accuracy
def headline_accuracy_section(ctx) -> Output:
    """The one answer to "how good is our forecast?", at the top of the forecast page."""
    f = _frame(ctx, "forecast_headline")
    row = f.iloc[0] if len(f) else None
    if row is None or pd.isna(row.get("value")):
        return [
            H.heading("How good is our forecast? Not enough months scored yet", anchor="how-good"),
            H.missing(
                "The headline accuracy needs at least 6 of the last 12 months with a forecast "
                "made one month earlier."
            ),
        ]
    first = pd.Period(str(row["first"]), "M").strftime("%b %Y")
    last = pd.Period(str(row["last"]), "M").strftime("%b %Y")
    source = {
        "ledger": "the forecasts the reports published",
        "backtest": "the forecasts the method would have made (backtest: no published forecast yet)",
    }.get(str(row["source"]), "published forecasts, and backtests for months before the ledger")
    return [
        H.heading(
            f"Our forecasts are {row['value']:.0%} accurate one month ahead "
            f"(last {int(row['months'])} months)",
            anchor="how-good",
        ),
        H.paragraph(
            f"Accuracy = 1 − the sum of the monthly misses over the sum of actual revenue, "
            f"{first}–{last}, each month's forecast made the month before ({source}). "
            "The other measures (by model, by horizon) are under “Forecast accuracy” below."
        ),
    ]


# --------------------------------------------------------------------------- targets
def chance_text(p: float) -> str:
    """A chance in whole percent, never rounding to a certainty it is not: ``>99%``, ``<1%``."""
    if pd.isna(p):
        return "—"
    if 0.99 < p < 1:
        return ">99%"
    if 0 < p < 0.01:
        return "<1%"
    return f"{p:.0%}"


def _chance_sentence(ctx, row: pd.Series) -> str:
    label = period_label(str(row["period"]), str(row["kind"]), ctx.params.fiscal_year_start_month)
    rng = f"likely range {_money(ctx, row['lo80'])}–{_money(ctx, row['hi80'])}"
    if pd.isna(row["chance"]):
        return f"{label} revenue: expected {_money(ctx, row['expected'])}, {rng} (no target set)"
    return (
        f"{chance_text(row['chance'])} chance of reaching the {_money(ctx, row['target'])} "
        f"{label} target; {rng}"
    )


def _lead_row(chances: pd.DataFrame) -> pd.Series | None:
    """The year's row when it has a target, else the first row with a target, else the first."""
    if chances.empty:
        return None
    with_target = chances[chances["target"].notna()]
    for frame in (with_target[with_target["kind"] == "year"], with_target, chances):
        if len(frame):
            return frame.iloc[0]
    return None


def target_section(ctx) -> Output:
    """The chance of reaching each open quarter's and year's target, with the likely range."""
    ch = _frame(ctx, "forecast_targets")
    lead = _lead_row(ch)
    if lead is None:
        return [
            H.heading("Chance of reaching the targets: no open quarter or year", anchor="targets"),
            H.missing("The forecast horizon covers no complete fiscal quarter or year."),
        ]
    shown = pd.DataFrame(
        {
            "Period": _labels(ch, ctx),
            "Target": ch["target"],
            "Actual so far": ch["actual_to_date"],
            "Expected": ch["expected"],
            "Likely range (8 in 10)": [
                f"{_money(ctx, lo)}–{_money(ctx, hi)}"
                for lo, hi in zip(ch["lo80"], ch["hi80"], strict=True)
            ],
            "Chance of reaching the target": ch["chance"],
        }
    )
    money = lambda v: _money(ctx, v)  # noqa: E731
    return [
        H.heading(_chance_sentence(ctx, lead), anchor="targets"),
        H.table(
            shown,
            formats={
                "Target": money,
                "Actual so far": money,
                "Expected": money,
                "Chance of reaching the target": chance_text,
            },
        ),
        H.paragraph(
            "From 4,000 possible paths of the coming months drawn from the forecast, its errors "
            "correlated from one month to the next as in its backtest (a month that comes in low "
            "makes the next ones likelier low too): the chance is the share of paths whose total, "
            "with the revenue already booked, reaches the target; the likely range holds 8 paths "
            "in 10. Targets are the sum of the period's monthly revenue targets. Chances stated "
            "in past months are scored in forecast_accuracy.csv (Brier score) once the period is "
            "over.",
            "sr-note",
        ),
    ]


# --------------------------------------------------------------------------- changes
def _change_sentence(ctx, row: pd.Series) -> str:
    label = period_label(str(row["period"]), str(row["kind"]), ctx.params.fiscal_year_start_month)
    change = float(row["change"])
    if abs(change) < 0.5:
        text = (
            f"The {label} forecast is unchanged since last month ({_money(ctx, row['this_month'])})"
        )
    else:
        verb = "rose" if change > 0 else "fell"
        text = (
            f"The {label} forecast {verb} {_money(ctx, abs(change))} since last month, to "
            f"{_money(ctx, row['this_month'])}"
        )
    if pd.notna(row["from_actuals"]):
        month = pd.Period(ctx.month, "M").strftime("%B")
        text += (
            f": {_money(ctx, row['from_actuals'], signed=True)} from {month}'s actual revenue, "
            f"{_money(ctx, row['from_model'], signed=True)} from the model's revision"
        )
    return text


def _lead_change(changes: pd.DataFrame) -> pd.Series | None:
    quarters = changes[changes["kind"] == "quarter"]
    if len(quarters):
        return quarters.iloc[0]
    return changes.iloc[0] if len(changes) else None


def changes_section(ctx) -> Output:
    """This month's forecast beside last month's, and why it changed."""
    ch = _frame(ctx, "forecast_changes")
    lead = _lead_change(ch) if len(ch) else None
    if lead is None:
        return [
            H.heading(
                "What changed since last month: no earlier forecast to compare", anchor="changes"
            ),
            H.missing(
                "The forecast ledger has no forecast from last month's report; the comparison "
                "starts next month."
            ),
        ]
    money = lambda v: _money(ctx, v)  # noqa: E731
    signed = lambda v: _money(ctx, v, signed=True)  # noqa: E731
    shown = pd.DataFrame(
        {
            "Period": _labels(ch, ctx),
            "Last month's forecast": ch["last_month"],
            "This month's forecast": ch["this_month"],
            "Change": ch["change"],
            "From the new actuals": ch["from_actuals"],
            "From the model's revision": ch["from_model"],
        }
    )
    return [
        H.heading(_change_sentence(ctx, lead), anchor="changes"),
        H.table(
            shown,
            formats={
                "Last month's forecast": money,
                "This month's forecast": money,
                "Change": signed,
                "From the new actuals": signed,
                "From the model's revision": signed,
            },
        ),
        H.paragraph(
            "A month already known counts at its actual revenue. “From the new actuals”: what "
            f"last month's method ({ch['last_method'].iloc[0]}) forecasts now that it has seen "
            "this month's revenue, against what it said a month ago. “From the model's revision”: "
            f"the rest, this month's choice of models ({ch['this_method'].iloc[0]}) against that.",
            "sr-note",
        ),
    ]


# --------------------------------------------------------------------------- executive
def executive_outlook(ctx) -> Output:
    """One line on the year's (or quarter's) target chance and one on what changed."""
    lines = []
    lead = _lead_row(_frame(ctx, "forecast_targets"))
    if lead is not None:
        lines.append(_chance_sentence(ctx, lead) + ".")
    ch = _frame(ctx, "forecast_changes")
    change = _lead_change(ch) if len(ch) else None
    if change is not None:
        lines.append(_change_sentence(ctx, change) + ".")
    if not lines:
        return []
    return [H.heading(lines[0], anchor="outlook")] + [H.paragraph(t) for t in lines[1:]]
