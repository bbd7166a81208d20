"""A report context for the page tests: October 2026, EMEA's parameters, given tables."""

from __future__ import annotations

import pandas as pd

from salesreport.context import ReportContext
from salesreport.params import load_params
from salesreport.tables import Tables

STATUS_COLUMNS = ["metric", "window", "period", "segment", "value", "target", "prior", "unit"]


def page_context(
    tables: Tables | None = None, status: pd.DataFrame | None = None, params=None, folder=None
) -> ReportContext:
    """A context for October 2026 on ``tables``, with ``status`` as its kpi_status frame
    (empty, with its columns, by default)."""
    if status is None:
        status = pd.DataFrame(columns=[*STATUS_COLUMNS, "status", "benchmark", "yoy_change"])
    return ReportContext(
        params=params or load_params("emea"),
        month="2026-10",
        tables=tables or Tables(),
        frames={"kpi_status": status},
        notes={},
        folder=folder,
    )


def kpi_rows(rows, window: str = "month", period: str = "2026-10") -> pd.DataFrame:
    """kpi_status rows from ``(metric, segment, value, prior, unit)`` tuples."""
    cols = ["metric", "segment", "value", "prior", "unit"]
    f = pd.DataFrame(rows, columns=cols).assign(window=window, period=period, target=float("nan"))
    return f.assign(status=None, benchmark=float("nan"), yoy_change=float("nan"))
