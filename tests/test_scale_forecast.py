"""Helpers of the scale work (issue #7, round 4): the pipeline forecast's coded stage history
and the KPI engine's insertion of extra (forecast KPI) rows. Expected values by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesreport.forecast.pipeline_forecast import stage_at, stage_win_rates
from salesreport.kpis.engine import KPI_COLUMNS, _with_rows
from salesreport.tables import Tables
from tests.test_kpis_fixtures import make_params, make_tables

MONTH = "2026-10"


def _tables() -> Tables:
    opp = pd.DataFrame(
        {
            "opportunity_id": ["A", "B", "C", "D", None, "A2"],
            "stage": ["S3", "S2", "S9", "S1", "S5", None],
            "status": ["won", "lost", "open", "won", "open", "open"],
            "created_date": pd.to_datetime(["2026-01-01"] * 6),
            "close_date": pd.to_datetime(
                ["2026-02-10", "2026-02-20", "2026-06-01", "2026-05-01", "2026-06-01", None]
            ),
            "amount": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        },
        index=[10, 11, 12, 13, 14, 15],
    )
    sh = pd.DataFrame(
        {
            "opportunity_id": ["A", "A", "B", "A", "B", "D", "C", "X", None, "B", "A"],
            "stage": ["S1", "S2", "S1", None, "S2", "S4", "S1", "S1", "S1", "S2", "S1"],
            "entered_date": pd.to_datetime(
                [
                    "2026-01-05",
                    "2026-02-01",
                    "2026-01-07",
                    "2026-03-01",
                    "2026-02-01",
                    "2026-04-01",
                    None,
                    "2026-01-01",
                    "2026-01-01",
                    "2026-01-20",
                    "2026-02-01",
                ]
            ),
        }
    )
    return Tables(opportunities=opp, stage_history=sh)


def test_stage_at_last_entered_by_end_else_first_else_current():
    got = stage_at(_tables(), pd.Timestamp("2026-02-28"))
    # A: S1 (01-05), S2 (02-01), S1 (02-01, later row: the stable order keeps it last),
    #    None (03-01, after the end and missing) -> S1;
    # B: S1 (01-07), S2 (01-20), S2 (02-01) -> S2;
    # C: only a row without a date -> never "by the end", its first stage S1;
    # D: first entered 04-01, after the end -> its first stage S4;
    # missing id -> its current stage S5; A2 has no history -> its current stage (missing)
    assert got.index.tolist() == [10, 11, 12, 13, 14, 15]
    assert got.tolist()[:5] == ["S1", "S2", "S1", "S4", "S5"]
    assert pd.isna(got.iloc[5])


def test_stage_win_rates_counts_distinct_closed_opportunities_per_stage():
    rates = stage_win_rates(_tables(), "2026-02", min_closed=1).set_index("stage")
    # closed by 2026-02-28: A (won 02-10), B (lost 02-20); D closes in May: not yet.
    # ever in, entered by the end: S1 <- A (twice: counted once), B; S2 <- A, B (twice)
    assert rates.loc["S1", ["closed", "won"]].tolist() == [2, 1]
    assert rates.loc["S2", ["closed", "won"]].tolist() == [2, 1]
    assert rates.loc["S1", "win_rate"] == 0.5  # 1 won / 2 closed
    assert rates.loc["S1", "source"] == "learned"


def test_with_rows_puts_extra_values_before_their_positions_in_order():
    src = np.array([10.0, 11.0, 12.0, 13.0])
    at = np.array([3, 0, 2])  # the taken values: 13, 10, 12
    ext = np.array([1.0, 2.0, 3.0, 4.0])
    pos = np.array([0, 2, 2, 3])  # 1 before 13; 2, 3 before 12; 4 after the last value
    got = _with_rows(src, at, 3, pos, ext)
    np.testing.assert_array_equal(got, [1.0, 13.0, 10.0, 2.0, 3.0, 12.0, 4.0])
    # no take (``at`` None): the source itself
    np.testing.assert_array_equal(
        _with_rows(src, None, 4, np.array([4]), ext[:1]), [10.0, 11.0, 12.0, 13.0, 1.0]
    )


@pytest.mark.parametrize("coded", [True, False])
def test_compute_kpis_extra_rows_match_the_stable_sort_of_both(coded, monkeypatch):
    from salesreport.kpis import compute_kpis, engine

    tables = make_tables(seed=1, n_opps=150, n_acts=200, n_reps=6, orders=True)
    params = make_params(history_months=12)
    if not coded:  # the plain (concatenated frame) path of the engine
        monkeypatch.setattr(engine._PartKeys, "of", staticmethod(lambda parts: None))
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
    real, inserted = engine._with_rows, []

    def spy(*args):
        out = real(*args)
        inserted.append(out is not None)
        return out

    monkeypatch.setattr(engine, "_with_rows", spy)
    fast = compute_kpis(tables, params, MONTH, extra=extra)
    assert inserted == [True] * len(KPI_COLUMNS)  # inserted column by column, not re-sorted
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    assert len(fast) == len(plain) + 5
    # first row "aaa", last "zzz_last"; forecast_mape's 2 rows by period, after forecast_bias
    assert fast["metric"].iloc[0] == "aaa" and fast["metric"].iloc[-1] == "zzz_last"
    mape = fast[fast["metric"] == "forecast_mape"]
    assert mape["period"].tolist() == ["2026-01", "2026-02"]
    assert mape.index[0] == fast.index[fast["metric"] == "forecast_bias"][0] + 1


def test_compute_kpis_extra_with_a_catalogue_metric_falls_back_to_the_full_sort():
    from salesreport.kpis import compute_kpis

    tables = make_tables(seed=2, n_opps=150, n_acts=200, n_reps=6, orders=False)
    params = make_params(history_months=12)
    plain = compute_kpis(tables, params, MONTH)
    extra = plain.iloc[[5, 0]].copy()  # metrics already in the output: the full sort decides
    slow = (
        pd.concat([plain, extra], ignore_index=True)
        .sort_values(["metric", "window", "period", "segment"], kind="stable")
        .reset_index(drop=True)
    )
    fast = compute_kpis(tables, params, MONTH, extra=extra)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
