"""The sections' KPI lookups: rows found per metric once, from kpi_status only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport import views
from salesreport.context import ReportContext, load_context, save_context
from salesreport.params import load_params
from salesreport.tables import Tables

KEYS = ["metric", "window", "period", "segment"]


def _kpis() -> pd.DataFrame:
    rows = []
    for metric in ["revenue", "win_rate", "meetings"]:
        for window in ["month", "ytd"]:
            for period in ["2026-09", "2026-10"]:
                for segment in ["all", "region=DE"]:
                    value = float(len(rows))  # 0, 1, 2, ... in this order
                    rows.append((metric, window, period, segment, value, value + 0.5, np.nan, "x"))
    cols = [*KEYS, "value", "target", "prior", "unit"]
    return pd.DataFrame(rows, columns=cols)


def _ctx(frames) -> ReportContext:
    return ReportContext(
        params=load_params("emea"), month="2026-10", tables=Tables(), frames=frames, notes={}
    )


def test_kpi_rows_and_kpi_match_a_plain_filter_of_the_whole_frame():
    kpis = _kpis()
    status = kpis.assign(status="green", benchmark=np.nan, yoy_change=np.nan)
    ctx = _ctx({"kpis": kpis, "kpi_status": status})
    got = views._kpi_rows(ctx, ["meetings", "revenue"])
    slow = status[status["metric"].isin(["meetings", "revenue"])]
    pd.testing.assert_frame_equal(got, slow)  # same rows, same (frame) order
    assert views._kpi_rows(ctx, "no_such_metric").empty
    # revenue, ytd, 2026-10, region=DE is row 7 (metric 0, window 1, period 1, segment 1)
    row = views.kpi(ctx, "revenue", "ytd", "region=DE")
    assert row["value"] == 7.0 and row["target"] == 7.5 and row["status"] == "green"
    assert views.kpi(ctx, "win_rate", period="2026-09")["value"] == 8.0  # 8 + 0 + 0 + 0
    assert np.isnan(views.kpi(ctx, "revenue", "qtd")["value"])
    # without kpi_status the lookups use kpis
    plain = _ctx({"kpis": kpis})
    assert views.kpi(plain, "meetings", "month", "all", "2026-10")["value"] == 18.0  # 16 + 2


def test_a_notebook_reads_kpi_status_and_never_the_kpis_frame(tmp_path):
    kpis = _kpis()
    save_context(_ctx({"kpis": kpis, "kpi_status": kpis.assign(status="red")}), tmp_path)
    ctx = load_context(tmp_path)
    assert views.kpi(ctx, "revenue")["status"] == "red"
    assert not views._kpi_rows(ctx, "win_rate").empty
    assert set(ctx.frames._read) == {"kpi_status"}
