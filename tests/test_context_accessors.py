"""The context's typed accessors: what an analyst reaches from a notebook, by name."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.context import ReportContext, load_context, save_context
from salesreport.params import load_params
from salesreport.tables import Tables
from tests.test_analysis import history, opps

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


def _ctx(frames, tables=None) -> ReportContext:
    return ReportContext(
        params=load_params("emea"),
        month="2026-10",
        tables=tables or Tables(),
        frames=frames,
        notes={},
    )


def test_kpi_rows_and_kpi_match_a_plain_filter_of_the_whole_frame():
    kpis = _kpis()
    status = kpis.assign(status="green", benchmark=np.nan, yoy_change=np.nan)
    ctx = _ctx({"kpis": kpis, "kpi_status": status})
    got = ctx.kpi_rows(["meetings", "revenue"])
    slow = status[status["metric"].isin(["meetings", "revenue"])]
    pd.testing.assert_frame_equal(got, slow)  # same rows, same (frame) order
    assert ctx.kpi_rows("no_such_metric").empty
    # revenue, ytd, 2026-10, region=DE is row 7 (metric 0, window 1, period 1, segment 1)
    row = ctx.kpi("revenue", "ytd", "region=DE")
    assert row["value"] == 7.0 and row["target"] == 7.5 and row["status"] == "green"
    assert ctx.kpi("win_rate", period="2026-09")["value"] == 8.0  # 8 + 0 + 0 + 0
    assert np.isnan(ctx.kpi("revenue", "qtd")["value"])
    # without kpi_status the lookups use kpis
    plain = _ctx({"kpis": kpis})
    assert plain.kpi("meetings", "month", "all", "2026-10")["value"] == 18.0  # 16 + 2


def test_a_notebook_reads_kpi_status_and_never_the_kpis_frame(tmp_path):
    kpis = _kpis()
    save_context(_ctx({"kpis": kpis, "kpi_status": kpis.assign(status="red")}), tmp_path)
    ctx = load_context(tmp_path)
    assert ctx.kpi("revenue")["status"] == "red"
    assert not ctx.kpi_rows("win_rate").empty
    assert ctx.kpis["status"].eq("red").all()
    assert set(ctx.frames._read) == {"kpi_status"}


def test_the_numbers_are_typed_attributes_an_analyst_can_tab_to():
    kpis = _kpis()
    ctx = _ctx(
        {"kpis": kpis, "okrs": pd.DataFrame({"objective": ["O"]})},
        Tables(opportunities=opps(), stage_history=history()),
    )
    names = dir(ctx)
    for name in ("kpis", "okrs", "forecast", "forecast_accuracy", "cohorts", "revenue", "trend",
                 "quality", "pipeline", "deals_needing_attention", "kpi", "kpi_rows"):  # fmt: skip
        assert name in names
    pd.testing.assert_frame_equal(ctx.kpis, kpis)
    assert ctx.okrs["objective"].tolist() == ["O"]
    assert ctx.forecast.empty  # a frame not computed is an empty frame, not an error
    # open at 2026-10-31 (tests/test_analysis.py): o2, o3, o5; o2's close date passed
    assert ctx.pipeline["value"].sum() == 550.0
    d = ctx.deals_needing_attention
    assert d["opportunity_id"].tolist()[0] == "o2" and "close date passed" in d["reasons"].iloc[0]
    d["amount"] = 0  # a copy: the next reader gets the numbers
    assert ctx.deals_needing_attention["amount"].iloc[0] == 200.0


def _saved_kpis(tmp_path, frame: pd.DataFrame):
    """A context saved with ``frame`` as its KPI status, loaded back as a notebook does."""
    save_context(_ctx({"kpis": frame, "kpi_status": frame}), tmp_path)
    return load_context(tmp_path)


def test_a_saved_context_reads_only_the_kpi_rows_asked_for_and_finds_the_same_rows(tmp_path):
    # more rows than one Arrow record batch (65,536), so that each batch has a dictionary of
    # its own; metrics in runs of random length, not sorted, some missing
    rng = np.random.default_rng(7)
    runs = rng.integers(1, 4_000, size=80)
    metric = np.repeat(rng.choice(["revenue", "calls", "win_rate", None], size=80), runs)
    n = len(metric)
    assert n > 2 * 65_536
    frame = pd.DataFrame(
        {
            "metric": metric,
            "window": rng.choice(["month", "ytd"], size=n),
            "period": rng.choice(["2026-09", "2026-10"], size=n),
            "segment": rng.choice(["all", "owner=r1", None], size=n),
            "value": rng.normal(size=n),
        }
    )
    ctx = _saved_kpis(tmp_path, frame)
    whole = pd.read_feather(tmp_path / "frames" / "kpi_status.arrow")  # the slow path
    for names, where in [
        (["revenue"], {}),
        (["calls", "revenue"], {"window": "month"}),
        (["revenue", "revenue"], {}),  # asked twice: twice, as a filter of the frame gives
        (["win_rate"], {"window": "ytd", "segment": "all", "period": "2026-10"}),
        (["no_such_metric"], {}),
        ([], {"window": "month"}),
    ]:
        slow = whole.iloc[np.sort(np.concatenate(
            [np.flatnonzero(whole["metric"].eq(m)) for m in names] or [np.array([], int)]
        ))]  # fmt: skip
        for column, value in where.items():
            slow = slow[slow[column] == value]
        got = ctx.kpi_rows(names, **where)
        pd.testing.assert_frame_equal(got, slow, check_index_type="equiv")
    row = whole[(whole["metric"] == "calls") & (whole["window"] == "ytd")]
    row = row[(row["segment"] == "all") & (row["period"] == "2026-09")].iloc[0]
    assert ctx.kpi("calls", "ytd", period="2026-09")["value"] == row["value"]
    assert not ctx.frames._read  # the whole frame was never converted
    # once read whole (an analyst's ctx.kpis), the lookups use that frame
    assert len(ctx.kpis) == len(whole)
    pd.testing.assert_frame_equal(ctx.kpi_rows("calls"), whole[whole["metric"] == "calls"])


def test_a_kpi_frame_saved_with_an_index_keeps_its_labels(tmp_path):
    import pyarrow as pa
    from pyarrow import feather

    own = _kpis()
    own.index = pd.Index([f"r{i}" for i in range(len(own))])  # saved as a column: read whole
    ctx = _saved_kpis(tmp_path, own)
    pd.testing.assert_frame_equal(ctx.kpi_rows("win_rate"), own[own["metric"] == "win_rate"])
    # a RangeIndex kept as pandas metadata (a file written by other code): its labels
    ranged = _kpis().iloc[::-1].reset_index(drop=True)
    ranged.index = pd.RangeIndex(100, 100 + 3 * len(ranged), 3)
    ctx = _saved_kpis(tmp_path / "ranged", ranged)
    path = tmp_path / "ranged" / "frames" / "kpi_status.arrow"
    feather.write_feather(pa.Table.from_pandas(ranged), str(path), compression="uncompressed")
    got = ctx.kpi_rows("meetings", window="ytd")
    whole = pd.read_feather(path)
    assert whole.index[0] == 100
    pd.testing.assert_frame_equal(
        got,
        whole[(whole["metric"] == "meetings") & (whole["window"] == "ytd")],
        check_index_type="equiv",
    )
    assert not ctx.frames._read
