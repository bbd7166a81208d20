"""KPIs: the catalogue, the engine, targets, status bands and OKRs (shared/spec/kpis.md)."""

from salesreport.kpis.catalogue import CATALOGUE, KPI, catalogue_frame, missing_metrics
from salesreport.kpis.engine import compute_kpis, kpi_status
from salesreport.kpis.okrs import grade_okrs

__all__ = [
    "CATALOGUE",
    "KPI",
    "catalogue_frame",
    "compute_kpis",
    "grade_okrs",
    "kpi_status",
    "missing_metrics",
]
