"""``kpi_status``: red, amber and green against target, worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.kpis import kpi_status
from salesreport.params import TeamParams


def test_kpi_status_codes_give_the_shared_status_values():
    rows = [
        # metric, value, target: r = value / target (revenue: higher is better)
        ("revenue", 120.0, 100.0),  # 1.2 >= 1.0 -> green
        ("revenue", 90.0, 100.0),  # 0.9 >= 0.9 -> amber
        ("revenue", 89.0, 100.0),  # 0.89 -> red
        ("revenue", 5.0, 0.0),  # target <= 0: 5 >= 0 -> green
        ("revenue", -5.0, 0.0),  # target <= 0: -5 < 0 -> red
        ("revenue", np.nan, 100.0),  # no value -> empty
        ("revenue", 100.0, np.nan),  # no target -> empty
        # sales_cycle_days: lower is better, r = target / value
        ("sales_cycle_days", 40.0, 45.0),  # 45 / 40 = 1.125 -> green
        ("sales_cycle_days", 50.0, 45.0),  # 45 / 50 = 0.9 -> amber
        ("sales_cycle_days", 60.0, 45.0),  # 45 / 60 = 0.75 -> red
        ("sales_cycle_days", 0.0, 45.0),  # value <= 0 counts as meeting it -> green
        ("sales_cycle_days", 3.0, -1.0),  # target <= 0: 3 <= -1 is false -> red
    ]
    k = pd.DataFrame(
        {
            "metric": [r[0] for r in rows],
            "window": "month",
            "period": "2026-03",
            "segment": "all",
            "value": [r[1] for r in rows],
            "target": [r[2] for r in rows],
            "prior": np.nan,
            "unit": "EUR",
        }
    )
    s = kpi_status(k, TeamParams.model_validate({"team": "t"}))
    expect = ["green", "amber", "red", "green", "red", None, None]
    expect += ["green", "amber", "red", "green", "red"]
    assert s["status"].tolist() == expect
    assert s["status"].dtype == object
    assert list(k.columns) == [*s.columns[:8]]  # kpis itself gains no column


def test_kpi_status_block_by_block_is_the_status_of_all_rows_at_once(monkeypatch):
    """Computed a few rows at a time (blocks that split a metric's rows), the frame is the
    one computed in one block, row for row and dtype for dtype; kpis' own columns are shared
    with it, not copied, and kpis gains no column."""
    from salesreport.kpis import status as status_mod

    rng = np.random.default_rng(7)
    n = 203
    metrics = np.array(["revenue", "sales_cycle_days", "win_rate", "not_a_metric"], object)
    k = pd.DataFrame(
        {
            "metric": metrics[rng.integers(0, 4, n)],
            "window": "month",
            "period": "2026-03",
            "segment": "all",
            "value": np.where(rng.random(n) < 0.1, np.nan, rng.normal(100, 30, n)),
            "target": np.where(rng.random(n) < 0.2, np.nan, rng.normal(100, 30, n)),
            "prior": np.where(rng.random(n) < 0.2, 0.0, rng.normal(100, 30, n)),
            "unit": "EUR",
        }
    )
    k.loc[5, "metric"] = None
    params = TeamParams.model_validate(
        {"team": "t", "benchmarks": {"revenue": 110.0, "win_rate": 0.3}}
    )
    whole = kpi_status(k, params)
    monkeypatch.setattr(status_mod, "STATUS_ROWS", 10)
    blocks = kpi_status(k, params)
    pd.testing.assert_frame_equal(blocks, whole, check_exact=True)
    assert set(whole["status"]) == {"green", "amber", "red", None}
    assert whole["benchmark"].notna().sum() > 0 and whole["yoy_change"].isna().sum() > 0
    assert list(k.columns) == list(blocks.columns[:8])
    for c in k.columns:
        assert np.shares_memory(blocks[c].to_numpy(), k[c].to_numpy())


def test_kpi_status_of_an_arrow_batch_is_the_frames_status_saved_as_arrow():
    """The run's KPI rows never become a frame: their status is worked out on Arrow batches
    (``kpi_status_batch``). Row for row it is the frame's status as that frame is saved
    (Arrow from pandas: every missing number null, text ``string``), on the rows of the hand
    test above plus a missing metric, a benchmark, a zero and a missing prior."""
    import pyarrow as pa

    from salesreport.kpis.status import kpi_status_batch

    k = pd.DataFrame(
        {
            "metric": ["revenue", "revenue", "revenue", None, "sales_cycle_days", "win_rate"],
            "window": "month",
            "period": "2026-03",
            "segment": ["all", "owner_id=R1", "all", "all", "all", "all"],
            "value": [120.0, 90.0, np.nan, 5.0, 50.0, 0.25],
            "target": [100.0, 100.0, 100.0, 1.0, 45.0, np.nan],
            "prior": [100.0, 0.0, 80.0, np.nan, 40.0, 0.2],
            "unit": "EUR",
        }
    )
    params = TeamParams.model_validate({"team": "t", "benchmarks": {"revenue": 110.0}})
    schema = pa.schema([(c, pa.float64() if k[c].dtype.kind == "f" else pa.string()) for c in k])
    batch = kpi_status_batch(
        pa.RecordBatch.from_pandas(k, schema=schema, preserve_index=False), params
    )
    frame = kpi_status(k, params)
    assert batch.to_pandas().equals(frame)  # NaN where NaN, None where None
    assert batch["status"].to_pylist() == ["green", "amber", None, "green", "amber", None]
    assert batch["benchmark"].to_pylist() == [110.0, 110.0, 110.0, None, None, None]
    assert batch["yoy_change"].to_pylist()[:4] == [0.19999999999999996, None, None, None]
    assert batch.schema.names == list(frame.columns)
    assert pa.Table.from_batches([batch]).equals(
        pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    )
