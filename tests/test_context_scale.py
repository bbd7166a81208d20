"""Shortcuts for large KPI frames (issue #7) give what the plain pandas operations give."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.context import _merge_sorted_metrics

KEYS = ["metric", "window", "period", "segment"]


def _kpis(rng: np.random.Generator, metrics: list[str], n: int) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "metric": rng.choice(metrics, n),
            "window": rng.choice(["month", "qtd", "ytd"], n),
            "period": rng.choice(["2026-08", "2026-09", "2026-10"], n),
            "segment": rng.choice(["all", "region=DE", "owner_id=R1"], n),
            "value": rng.normal(size=n),
            "target": np.nan,
            "prior": rng.normal(size=n),
            "unit": "EUR",
        }
    )
    return df


def _slow(kpis: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    out = pd.concat([kpis, extra], ignore_index=True)
    return out.sort_values(KEYS, kind="stable").reset_index(drop=True)


def test_forecast_kpis_are_merged_where_the_full_stable_sort_puts_them():
    rng = np.random.default_rng(5)
    kpis = _kpis(rng, ["deals_won", "revenue", "win_rate"], 400)
    kpis = kpis.sort_values(KEYS, kind="stable").reset_index(drop=True)
    # metrics before, between and after the kpis' metrics; duplicates keep their order
    extra = _kpis(rng, ["accuracy_mape", "forecast_bias", "zeta"], 60).assign(unit="ratio")
    got = _merge_sorted_metrics(kpis, extra)
    pd.testing.assert_frame_equal(got, _slow(kpis, extra), check_exact=True)


def test_merge_gives_way_to_the_full_sort_when_it_cannot_apply():
    rng = np.random.default_rng(6)
    kpis = _kpis(rng, ["deals_won", "revenue"], 50).sort_values(KEYS).reset_index(drop=True)
    shared = _kpis(rng, ["revenue"], 5)  # a metric in both frames
    assert _merge_sorted_metrics(kpis, shared) is None
    unsorted = kpis.iloc[::-1].reset_index(drop=True)
    assert _merge_sorted_metrics(unsorted, _kpis(rng, ["zeta"], 5)) is None
