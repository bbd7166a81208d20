"""The engine's coded path (issue #7) gives the rows the plain pandas path gives.

The plain path concatenates the metric functions' long frames and factorises their key columns;
the coded path codes them from :func:`salesreport.kpis.core.long_frame`'s layout. Both must
give the same ``kpis`` frame, byte for byte.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesreport.kpis import compute_kpis, engine
from salesreport.kpis.core import Win, layout_of, long_frame
from salesreport.periods import windows_frame
from tests.test_kpis_fixtures import make_params, make_tables

MONTH = "2026-10"


@pytest.mark.parametrize("seed, orders", [(1, True), (2, False)])
def test_coded_path_equals_the_concatenated_frame_path(seed, orders, monkeypatch):
    tables = make_tables(seed=seed, n_opps=150, n_acts=200, n_reps=6, orders=orders)
    params = make_params(history_months=12)
    real, coded = engine._PartKeys.of, []

    def spy(parts):
        out = real(parts)
        coded.append(out is not None)
        return out

    monkeypatch.setattr(engine._PartKeys, "of", staticmethod(spy))
    fast = compute_kpis(tables, params, MONTH)
    assert coded == [True]  # the coded path was taken
    monkeypatch.setattr(engine._PartKeys, "of", staticmethod(lambda parts: None))
    slow = compute_kpis(tables, params, MONTH)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert len(fast) > 1000 and fast["prior"].notna().any()  # something was compared


def test_layout_codes_rebuild_the_long_frame_and_a_changed_frame_has_none():
    windows = windows_frame(MONTH, 3, 1)
    win = Win.of(windows)
    vals = {"a": np.arange(2 * len(win), dtype=float).reshape(2, -1), "b": np.zeros((2, len(win)))}
    df = long_frame(win, ["s=x", "s=y"], vals, keep=windows["window"].to_numpy() != "ytd")
    lay = layout_of(df)
    assert lay is not None
    for col in ("metric", "window", "period", "segment"):
        uniq = lay.uniques(col)
        rebuilt = uniq[lay.codes(col, np.arange(len(uniq)))]
        assert rebuilt.tolist() == df[col].tolist()
    df.loc[0, "segment"] = "s=z"  # changed after long_frame: the engine must factorise it
    assert layout_of(df) is None
    assert layout_of(df.copy()) is None  # another frame


def test_compute_kpis_leaves_its_tables_as_they_were():
    # tables already cut to the month are not copied by the engine's point-in-time step: the
    # engine must then not change them
    from salesreport.data.pit import as_of

    tables, _ = as_of(make_tables(seed=3, n_opps=150, n_acts=200, n_reps=6), MONTH)
    before = {name: df.copy() for name, df in tables.items()}
    compute_kpis(tables, make_params(history_months=12), MONTH)
    for name, df in tables.items():
        pd.testing.assert_frame_equal(df, before[name], check_exact=True)
