"""KPIs: the catalogue, its compiler, targets, status bands and OKRs (shared/spec/kpis.md)."""

from salesreport.kpis.catalogue import CATALOGUE, KPI, catalogue_frame, missing_metrics
from salesreport.kpis.compiler import KPI_COLUMNS, compute_kpis
from salesreport.kpis.okrs import grade_okrs
from salesreport.kpis.status import kpi_status

__all__ = [
    "CATALOGUE",
    "KPI",
    "KPI_COLUMNS",
    "catalogue_frame",
    "compute_kpis",
    "grade_okrs",
    "kpi_status",
    "missing_metrics",
]
