"""Helpers of the scale work (issue #7): the KPI engine's key look-up, ``kpi_status``'s coded
status and the loader's release of Arrow memory. Expected values are worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.data import load as load_mod
from salesreport.kpis import kpi_status
from salesreport.kpis.engine import _RowKeys
from salesreport.params import TeamParams


def _lookup(keys, values, at, **kw):
    rk = _RowKeys.__new__(_RowKeys)  # lookup uses no state of the instance
    return rk.lookup(np.asarray(keys, dtype=np.int64), np.asarray(values, float), at, **kw)


def test_lookup_first_of_duplicates_missing_and_negative_keys():
    keys = [7, 3, 7, 5, 3, -1]
    values = [70.0, 30.0, 71.0, 50.0, 31.0, 99.0]
    at = np.array([3, 7, 5, 4, 8, -1, 0], dtype=np.int64)
    got = _lookup(keys, values, at)
    # 3 -> first row with key 3 (row 1: 30); 7 -> row 0 (70, not row 2's 71); 5 -> 50;
    # 4, 8 and 0 are no key; -1 is "unknown" even though a row has key -1
    expect = [30.0, 70.0, 50.0, np.nan, np.nan, np.nan, np.nan]
    np.testing.assert_array_equal(got, expect)


def test_lookup_with_known_orders_gives_the_same_values():
    keys = np.array([7, 3, 7, 5, 3], dtype=np.int64)
    values = [70.0, 30.0, 71.0, 50.0, 31.0]
    at = np.array([9, 5, 3, 7], dtype=np.int64)
    keys_order = np.argsort(keys, kind="stable")  # [1, 4, 3, 0, 2]
    at_order = np.argsort(at)  # queries 3, 5, 7, 9
    got = _lookup(keys, values, at, keys_order=keys_order, at_order=at_order)
    # 9 -> none; 5 -> 50; 3 -> 30 (row 1 before row 4); 7 -> 70 (row 0 before row 2)
    np.testing.assert_array_equal(got, [np.nan, 50.0, 30.0, 70.0])


def test_lookup_without_keys_is_empty():
    got = _lookup([], [], np.array([1, 2], dtype=np.int64))
    assert got.shape == (2,) and np.isnan(got).all()


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


def test_release_arrow_memory_asks_mimalloc_again_after_its_purge_delay(monkeypatch):
    calls: list[str] = []

    class Pool:
        backend_name = "mimalloc"

        def release_unused(self):
            calls.append("release")

    monkeypatch.setattr(load_mod.pa, "default_memory_pool", lambda: Pool())
    monkeypatch.setattr(load_mod.time, "sleep", lambda s: calls.append(f"sleep {s}"))
    load_mod._release_arrow_memory()
    assert calls == ["release", f"sleep {load_mod.MIMALLOC_PURGE_WAIT}", "release"]
    calls.clear()
    Pool.backend_name = "system"  # other pools give memory back at once: one call
    load_mod._release_arrow_memory()
    assert calls == ["release"]


def test_target_rows_shared_within_an_engine_run_only():
    from salesreport.kpis.core import shared_work
    from salesreport.kpis.targets import monthly_target_matrix, target_rows
    from salesreport.tables import Tables

    targets = pd.DataFrame(
        {
            "period": ["2026-01", "2026-Q1"],
            "metric": ["revenue", "revenue"],
            "value": [90.0, 300.0],
            "rep_id": [None, None],
            "region": [None, None],
        }
    )
    tables = Tables(targets=targets)
    params = TeamParams.model_validate({"team": "t"})
    assert target_rows(tables, params) is not target_rows(tables, params)  # no run: fresh
    with shared_work():
        rows = target_rows(tables, params)
        assert target_rows(tables, params) is rows
        lo = pd.Period("2026-01", "M").ordinal
        # January has its own row (90); February and March take the quarter / 3 = 100
        first = monthly_target_matrix(rows, "revenue", ["all"], lo, lo + 2, 1)
        again = monthly_target_matrix(rows, "revenue", ["all"], lo + 1, lo + 3, 1)
    np.testing.assert_array_equal(first, [[90.0, 100.0, 100.0]])
    np.testing.assert_array_equal(again, [[100.0, 100.0, np.nan]])  # April: no target


def test_same_objects_compares_identity_and_leaves_equal_copies_undecided():
    from salesreport.kpis.core import _same_objects

    a, b = "metric_a", "metric_b"
    expect = np.array([a, b], dtype=object)[:, None]  # (2, 1): a row of a's, a row of b's
    got = np.array([a, a, a, b, b, b], dtype=object)
    assert _same_objects(got, expect, (2, 3))
    copy = np.array([a, a, "".join(["metric_", "a"]), b, b, b], dtype=object)  # equal, not same
    assert not _same_objects(copy, expect, (2, 3))
    assert (copy.reshape(2, 3) == expect).all()  # what layout_of then compares
    assert not _same_objects(np.array([a, a, a, b, b, a], dtype=object), expect, (2, 3))
    assert not _same_objects(got[::2], expect, (1, 3))  # not contiguous: undecided
    assert _same_objects(np.array([], dtype=object), expect[:0], (0, 1))


def test_layout_of_notices_a_changed_key_cell():
    from salesreport.kpis.core import Win, layout_of, long_frame
    from salesreport.periods import windows_frame

    win = Win.of(windows_frame("2026-03", 2, 1))
    df = long_frame(win, ["all", "region=x"], {"revenue": np.zeros((2, len(win)))})
    assert layout_of(df) is not None
    pos = df.columns.get_loc("segment")
    df.iloc[1, pos] = "".join(["region=", "x"])  # an equal string: still the layout
    assert layout_of(df) is not None
    df.iloc[1, pos] = "region=y"
    assert layout_of(df) is None
