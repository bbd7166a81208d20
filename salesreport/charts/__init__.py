"""The house theme and every chart of the audience reports.

Charts draw, nothing else: each function takes plain frames, returns a
:class:`matplotlib.figure.Figure` (not registered with pyplot: never shown,
never written, nothing to close) and raises ``ValueError("no data for
<chart>")`` on empty input so the notebook decides what to show instead.

House rules every chart follows:

* the caller's title states the finding (see ``finding_title_*``), left-aligned on top;
* axes say unit and period ("Revenue (EUR)", "Month"); months read "Oct 2026";
* targets are drawn next to actuals (near-black dashes or ticks);
* seaborn "colorblind" colours with one meaning each: blue actual, orange
  forecast, grey last year/context, green/vermillion good/bad;
* money "€1.2M"/"$350k", ratios "12%", missing "—";
* 8.2 in at 110 dpi: a chart fills a 900 px column and stays legible.

Use :func:`figure_to_data_uri` to embed a figure in HTML outside a notebook.

Each name is imported from its module when first used: code that only formats numbers
(``fmt_money``, the ``finding_title_*`` helpers), such as the pipeline writing a team's
index page, never loads matplotlib and seaborn.
"""

from __future__ import annotations

import importlib
from typing import Any

#: the module (``salesreport.charts.<module>``) that defines each public name
_MODULES: dict[str, tuple[str, ...]] = {
    "customers": ("nrr_grr_trend", "retention_heatmap", "revenue_retention_by_year"),
    "forecast": (
        "accuracy_by_horizon",
        "forecast_fan",
        "forecast_vs_actual",
        "trend_decomposition",
    ),
    "formatting": (
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
    ),
    "people": ("okr_scorecard",),
    "pipeline": ("funnel", "pipeline_by_stage", "stage_durations", "waterfall"),
    "revenue": ("kpi_bars", "kpi_trend", "revenue_by_segment", "revenue_vs_target"),
    "theme": (
        "PALETTE",
        "STATUS_COLOURS",
        "enable_notebook_display",
        "figure_to_data_uri",
        "house_rc",
        "set_theme",
        "themed",
    ),
    "titles": (
        "finding_title_accuracy",
        "finding_title_attainment",
        "finding_title_change",
        "finding_title_count",
        "finding_title_forecast",
        "finding_title_funnel",
        "finding_title_retention",
        "finding_title_revenue",
        "finding_title_vs_target",
    ),
}
_HOME = {name: module for module, names in _MODULES.items() for name in names}


def __getattr__(name: str) -> Any:
    """Import a public name's module (or a submodule itself) on first use."""
    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
    globals()[name] = value  # later uses skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME, *_MODULES})


__all__ = sorted(_HOME)
