"""The compiler (``salesreport.kpis.compiler``): rows, order and inputs of ``compute_kpis``.

Values are checked by hand in ``test_kpis_hand.py`` and against an independent per-row
implementation in ``test_kpis_reference.py``; here, what the compiler does with its rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.kpis import KPI_COLUMNS, compute_kpis
from tests.test_kpis_fixtures import make_params, make_tables

MONTH = "2026-10"


def test_compute_kpis_extra_rows_match_the_stable_sort_of_both():

    tables = make_tables(seed=1, n_opps=150, n_acts=200, n_reps=6, orders=True)
    params = make_params(history_months=12)
    extra = pd.DataFrame(
        {
            "metric": ["forecast_mape", "forecast_bias", "forecast_mape", "zzz_last", "aaa"],
            "window": ["month"] * 5,
            "period": ["2026-02", "2026-03", "2026-01", "2026-03", "2026-03"],
            "segment": ["all"] * 5,
            "value": [0.1, 0.2, 0.3, 0.4, 0.5],
            "target": [np.nan] * 5,
            "prior": [np.nan, 0.1, np.nan, np.nan, np.nan],
            "unit": ["ratio"] * 5,
        }
    )[KPI_COLUMNS]
    plain = compute_kpis(tables, params, MONTH)
    slow = (  # the independent path: concatenate, then sort everything stably
        pd.concat([plain, extra], ignore_index=True)
        .sort_values(["metric", "window", "period", "segment"], kind="stable")
        .reset_index(drop=True)
    )
    fast = compute_kpis(tables, params, MONTH, extra=extra)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert len(fast) == len(plain) + 5
    # first row "aaa", last "zzz_last"; forecast_mape's 2 rows by period, after forecast_bias
    assert fast["metric"].iloc[0] == "aaa" and fast["metric"].iloc[-1] == "zzz_last"
    mape = fast[fast["metric"] == "forecast_mape"]
    assert mape["period"].tolist() == ["2026-01", "2026-02"]
    assert mape.index[0] == fast.index[fast["metric"] == "forecast_bias"][0] + 1


def test_compute_kpis_extra_with_a_catalogue_metric_is_sorted_in_with_the_others():
    tables = make_tables(seed=2, n_opps=150, n_acts=200, n_reps=6, orders=False)
    params = make_params(history_months=12)
    plain = compute_kpis(tables, params, MONTH)
    extra = plain.iloc[[5, 0]].copy()  # metrics already in the output
    slow = (
        pd.concat([plain, extra], ignore_index=True)
        .sort_values(["metric", "window", "period", "segment"], kind="stable")
        .reset_index(drop=True)
    )
    fast = compute_kpis(tables, params, MONTH, extra=extra)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)


def test_compute_kpis_leaves_its_tables_as_they_were():
    # tables already cut to the month go into the engine as they are: it must not change them
    from salesreport.data.pit import as_of

    tables, _ = as_of(make_tables(seed=3, n_opps=150, n_acts=200, n_reps=6), MONTH)
    before = {name: df.copy() for name, df in tables.items()}
    compute_kpis(tables, make_params(history_months=12), MONTH)
    for name, df in tables.items():
        pd.testing.assert_frame_equal(df, before[name], check_exact=True)


def test_a_source_grouped_by_month_is_measured_only_by_flows():
    """A grouped source's row stands for several activities: a stock or any other kind of
    measure on it would count each row once, so the compiler refuses it by name."""
    import pytest

    from salesreport.kpis.compiler import Compilation, _measure_table, engine_for
    from salesreport.kpis.model import Measure

    tables = make_tables()
    params = make_params()
    engine = engine_for(tables, "2026-03", params)
    try:
        run = Compilation(engine, params, "2026-03")
        source = run.source("activities")
        assert source.weight == "n"
        with pytest.raises(ValueError, match="source activities is grouped by month.*'stock'"):
            _measure_table(run, source, [Measure("activities", kind="stock")])
    finally:
        engine.close()


def test_over_the_limit_a_reps_rows_are_computed_for_the_report_month_only():
    """More KPI rows than ``kpis_csv_max_rows``: the rows counted before any is computed are
    the rows an unlimited run gives; the per-rep rows of earlier months are not computed,
    every other row (the reps' October rows and their prior included) is the unlimited run's
    to the last bit, and the rows left out are told (or warned of)."""
    import warnings

    from salesreport.kpis.compiler import NOT_COMPUTED, Compilation, engine_for
    from salesreport.periods import month_period

    tables = make_tables(seed=3, n_opps=150, n_acts=200, n_reps=6, orders=True)
    params = make_params(history_months=12)
    plain = compute_kpis(tables, params, MONTH)
    reps = plain["segment"].str.startswith("owner_id=")
    earlier = reps & (plain["period"] != MONTH)
    assert earlier.sum() > 0 and (reps & (plain["period"] == MONTH)).sum() > 0
    assert plain.loc[reps & (plain["period"] == MONTH), "prior"].notna().any()
    engine = engine_for(tables, MONTH, params)
    try:
        run = Compilation(engine, params, MONTH)
        first = month_period(MONTH).ordinal - 11
        assert run.row_plan(first) == (len(plain), int(earlier.sum()))
    finally:
        engine.close()
    want = plain[~earlier].reset_index(drop=True)
    for limit in (len(plain) - 1, 10):
        notes: dict = {}
        small = params.model_copy(update={"kpis_csv_max_rows": limit})
        cut = compute_kpis(tables, small, MONTH, notes=notes)
        pd.testing.assert_frame_equal(cut, want, check_exact=True)
        assert notes == {NOT_COMPUTED: int(earlier.sum())}
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        compute_kpis(tables, params.model_copy(update={"kpis_csv_max_rows": 10}), MONTH)
    assert any(f"({int(earlier.sum()):,} rows)" in str(w.message) for w in seen)
    # within the limit, or with none (0), every row
    for limit in (len(plain), 0):
        notes = {}
        full = compute_kpis(tables, params.model_copy(update={"kpis_csv_max_rows": limit}), MONTH, notes=notes)  # fmt: skip
        pd.testing.assert_frame_equal(full, plain, check_exact=True)
        assert notes == {}
