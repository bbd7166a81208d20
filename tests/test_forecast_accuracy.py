"""Forecast accuracy: hand-worked table, slow reference, forecast KPIs, submissions."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from salesreport.forecast.accuracy import (
    DETAIL_COLUMNS,
    KPI_COLUMNS,
    accuracy_table,
    forecast_kpis,
    mase_scales,
    score_submissions,
    select_submissions,
)
from salesreport.forecast.models import seasonal_naive_scale

P = pd.Period

# Actuals, report month 2026-03: 2025-01..2025-12 = 100 each, 2026-01 = 120, 2026-02 = 90,
# 2026-03 = 0 (a month without revenue: ape and the KPIs are empty there).
Y = pd.Series(
    [100.0] * 12 + [120.0, 90.0, 0.0],
    index=pd.period_range("2025-01", periods=15, freq="M", name="period"),
)
# MASE scales (seasonal-naive MAE of y up to the origin):
#   origin 2025-11, 2025-12: fewer than 13 months -> naive one-step MAE = 0 -> mean|y| = 100
#   origin 2026-01: |120 - 100| / 1 = 20
#   origin 2026-02: (|120 - 100| + |90 - 100|) / 2 = 15


def ledger_frame(rows: list[tuple]) -> pd.DataFrame:
    """rows: (made_in, model, selected, period, point)."""
    df = pd.DataFrame(rows, columns=["made_in", "model", "selected", "period", "point"])
    df["team"] = "emea"
    df["made_in"] = pd.PeriodIndex(df["made_in"], freq="M")
    df["period"] = pd.PeriodIndex(df["period"], freq="M")
    df["horizon"] = (df["period"] - df["made_in"]).map(lambda d: d.n)
    for c in ("lo80", "hi80", "lo95", "hi95"):
        df[c] = np.nan
    return df


LEDGER = ledger_frame(
    [
        ("2025-12", "ets", True, "2026-01", 110.0),
        ("2025-12", "ets", True, "2026-02", 110.0),
        ("2025-12", "snaive", False, "2026-01", 100.0),
        ("2025-12", "snaive", False, "2026-02", 100.0),
        ("2026-01", "ensemble(ets,snaive)", True, "2026-02", 100.0),
        ("2026-01", "ensemble(ets,snaive)", True, "2026-03", 100.0),
        ("2026-01", "ets", False, "2026-02", 115.0),
        ("2026-01", "ets", False, "2026-03", 115.0),
        ("2026-01", "snaive", False, "2026-02", 100.0),
        ("2026-01", "snaive", False, "2026-03", 100.0),
        ("2026-03", "ets", True, "2026-04", 999.0),  # future target month: not realised
        ("2026-04", "ets", True, "2026-05", 999.0),  # made after the report month: ignored
    ]
)


def backtest_frame(rows: list[tuple]) -> pd.DataFrame:
    """rows: (model, origin, period, forecast)."""
    df = pd.DataFrame(rows, columns=["model", "origin", "period", "forecast"])
    df["origin"] = pd.PeriodIndex(df["origin"], freq="M")
    df["period"] = pd.PeriodIndex(df["period"], freq="M")
    df["horizon"] = (df["period"] - df["origin"]).map(lambda d: d.n)
    df["actual"] = df["period"].map(Y)
    return df[["model", "origin", "horizon", "period", "actual", "forecast"]]


BACKTEST = backtest_frame(
    [
        # origins 2025-12 and 2026-01 are in the ledger: these rows must be dropped
        ("ets", "2025-12", "2026-01", 555.0),
        ("selected", "2025-12", "2026-01", 555.0),
        ("snaive", "2026-01", "2026-02", 555.0),
        ("selected", "2026-01", "2026-02", 555.0),
        # origin 2026-02 has no ledger rows
        ("ets", "2026-02", "2026-03", 80.0),
        ("snaive", "2026-02", "2026-03", 100.0),
        ("selected", "2026-02", "2026-03", 90.0),
        # origin 2025-11 (snaive only)
        ("snaive", "2025-11", "2025-12", 100.0),
        ("snaive", "2025-11", "2026-01", 100.0),
        ("ets", "2025-11", "2025-12", np.nan),  # could not fit: left out
    ]
)


def summary_value(table: pd.DataFrame, model: str, horizon, metric: str) -> float:
    s = table[
        (table["kind"] == "summary") & (table["model"] == model) & (table["metric"] == metric)
    ]
    s = s[s["horizon"].isna()] if horizon is None else s[s["horizon"] == horizon]
    assert len(s) == 1
    return float(s["value"].iloc[0])


def test_mase_scales_match_seasonal_naive_scale_on_every_prefix():
    rng = np.random.default_rng(0)
    y = pd.Series(
        rng.integers(0, 5, 30).astype(float) * 100,
        index=pd.period_range("2024-01", periods=30, freq="M"),
    )
    y.iloc[:3] = 0.0
    fast = mase_scales(y)
    slow = [seasonal_naive_scale(y.to_numpy()[: t + 1]) for t in range(len(y))]
    np.testing.assert_allclose(fast.to_numpy(), slow, rtol=1e-12)
    # and the hand-worked values of the module-level series
    s = mase_scales(Y)
    assert s[P("2025-12", "M")] == 100.0
    assert s[P("2026-01", "M")] == 20.0
    assert s[P("2026-02", "M")] == 15.0


def test_accuracy_table_detail_rows_by_hand():
    out = accuracy_table(LEDGER, Y, BACKTEST, "2026-03", Y)
    assert list(out.columns) == DETAIL_COLUMNS
    det = out[out["kind"] != "summary"]
    assert set(det["kind"]) == {"realised", "backtest"}
    assert (det["metric"].isna()).all() and det["value"].isna().all()
    key = det.set_index(["kind", "model", "origin", "horizon"])
    # ets made in 2025-12 for 2026-02: A = 90, F = 110, error = F - A = 20, ape = 20 / 90
    r = key.loc[("realised", "ets", "2025-12", 2)]
    assert (r["actual"], r["forecast"], r["error"]) == (90.0, 110.0, 20.0)
    assert r["ape"] == pytest.approx(20 / 90)
    assert r["period"] == "2026-02"
    # the selected ensemble (made in 2026-01) appears as 'selected' with its method named
    s = key.loc[("realised", "selected", "2026-01", 1)]
    assert s["method"] == "ensemble(ets,snaive)" and s["forecast"] == 100.0
    assert "ensemble(ets,snaive)" not in set(det["model"])
    # the selected candidate (ets, 2025-12) appears both as ets and as selected
    assert key.loc[("realised", "selected", "2025-12", 1)]["forecast"] == 110.0
    assert key.loc[("realised", "ets", "2025-12", 1)]["forecast"] == 110.0
    # A = 0 (2026-03): ape empty, error still F - A = 115
    z = key.loc[("realised", "ets", "2026-01", 2)]
    assert math.isnan(z["ape"]) and z["error"] == 115.0
    # nothing from the future or from after the report month
    assert not (det["period"] > "2026-03").any()
    # backtest rows only where the ledger has no rows of that (model, origin)
    bt = det[det["kind"] == "backtest"]
    assert sorted(zip(bt["model"], bt["origin"], bt["horizon"], strict=True)) == [
        ("ets", "2026-02", 1),
        ("selected", "2026-02", 1),
        ("snaive", "2025-11", 1),
        ("snaive", "2025-11", 2),
        ("snaive", "2026-02", 1),
    ]
    assert (bt["forecast"] != 555.0).all()
    # realised 12 rows: 2025-12: ets x2, snaive x2, selected x2; 2026-01: ets, snaive, selected x2
    assert (det["kind"] == "realised").sum() == 12
    # detail rows come first, realised before backtest
    kinds = out["kind"].tolist()
    assert kinds == sorted(kinds, key=["realised", "backtest", "summary"].index)


def test_accuracy_table_summaries_by_hand():
    out = accuracy_table(LEDGER, Y, BACKTEST, "2026-03", Y)
    # ets rows (origin, h: A, F): (2025-12,1: 120,110) (2025-12,2: 90,110) (2026-01,1: 90,115)
    #                             (2026-01,2: 0,115) (2026-02,1: 0,80)
    # MAPE over A != 0: (10/120 + 20/90 + 25/90) / 3 = 0.194444...
    assert summary_value(out, "ets", None, "mape") == pytest.approx(
        (10 / 120 + 20 / 90 + 25 / 90) / 3
    )
    # WAPE: (10 + 20 + 25 + 115 + 80) / (120 + 90 + 90 + 0 + 0) = 250 / 300
    assert summary_value(out, "ets", None, "wape") == pytest.approx(250 / 300)
    # bias: (-10 + 20 + 25 + 115 + 80) / 300 = 230 / 300
    assert summary_value(out, "ets", None, "bias") == pytest.approx(230 / 300)
    # MASE: 10/100, 20/100 (scale 100 at 2025-12), 25/20, 115/20 (scale 20 at 2026-01),
    #       80/15 (scale 15 at 2026-02) -> mean = 12.63333 / 5
    assert summary_value(out, "ets", None, "mase") == pytest.approx(
        (0.1 + 0.2 + 1.25 + 5.75 + 80 / 15) / 5
    )
    assert summary_value(out, "ets", None, "n") == 5
    # ets at horizon 1: (120,110) (90,115) (0,80)
    assert summary_value(out, "ets", 1, "mape") == pytest.approx((10 / 120 + 25 / 90) / 2)
    assert summary_value(out, "ets", 1, "wape") == pytest.approx(115 / 210)
    assert summary_value(out, "ets", 1, "bias") == pytest.approx(95 / 210)
    assert summary_value(out, "ets", 1, "mase") == pytest.approx((0.1 + 1.25 + 80 / 15) / 3)
    # snaive at horizon 2: (2025-11,2: 120,100) (2025-12,2: 90,100) (2026-01,2: 0,100)
    # WAPE = (20 + 10 + 100) / 210; bias = (-20 + 10 + 100) / 210
    assert summary_value(out, "snaive", 2, "wape") == pytest.approx(130 / 210)
    assert summary_value(out, "snaive", 2, "bias") == pytest.approx(90 / 210)
    summ = out[out["kind"] == "summary"]
    assert summ["actual"].isna().all() and summ["origin"].isna().all()


def slow_summary(detail: pd.DataFrame, y: pd.Series) -> dict:
    """Obviously correct metrics per (model, horizon) from detail rows, with plain loops."""
    res: dict = {}
    groups: dict = {}
    for r in detail.itertuples():
        groups.setdefault((r.model, r.horizon), []).append(r)
        groups.setdefault((r.model, None), []).append(r)
    ys = y.to_numpy()
    pos = {p: i for i, p in enumerate(y.index.astype(str))}
    for key, rows in groups.items():
        apes = [abs(r.actual - r.forecast) / abs(r.actual) for r in rows if r.actual != 0]
        sa = sum(abs(r.actual) for r in rows)
        s = sum(r.actual for r in rows)
        scaled = [
            abs(r.actual - r.forecast) / seasonal_naive_scale(ys[: pos[r.origin] + 1]) for r in rows
        ]
        res[key] = {
            "mape": sum(apes) / len(apes) if apes else math.nan,
            "wape": sum(abs(r.actual - r.forecast) for r in rows) / sa if sa else math.nan,
            "bias": sum(r.forecast - r.actual for r in rows) / s if s else math.nan,
            "mase": sum(scaled) / len(scaled),
            "n": len(rows),
        }
    return res


def test_summaries_match_a_slow_reference_on_random_ledgers():
    rng = np.random.default_rng(7)
    idx = pd.period_range("2023-01", periods=30, freq="M")
    y = pd.Series(rng.integers(0, 4, 30) * 50.0, index=idx)  # some zero months
    rows = []
    for o in idx[10:26]:
        for model in ("ets", "theta", "snaive"):
            for h in range(1, 4):
                rows.append(
                    (str(o), model, model == "ets", str(o + h), float(rng.integers(0, 300)))
                )
    ledger = ledger_frame(rows)
    bt_rows = [
        (model, str(o), str(o + h), float(rng.integers(0, 300)))
        for o in idx[5:12]
        for model in ("ets", "theta", "snaive", "selected")
        for h in range(1, 4)
    ]
    bt = pd.DataFrame(bt_rows, columns=["model", "origin", "period", "forecast"])
    bt["origin"] = pd.PeriodIndex(bt["origin"], freq="M")
    bt["period"] = pd.PeriodIndex(bt["period"], freq="M")
    bt["horizon"] = (bt["period"] - bt["origin"]).map(lambda d: d.n)
    bt["actual"] = np.nan
    month = idx[-3]
    out = accuracy_table(ledger, y, bt, month, y)
    det = out[out["kind"] != "summary"]
    assert (det["period"] <= str(month)).all()
    ref = slow_summary(det, y[y.index <= month])
    summ = out[out["kind"] == "summary"]
    assert len(summ) == 5 * len(ref)
    for r in summ.itertuples():
        h = None if pd.isna(r.horizon) else int(r.horizon)
        expected = ref[(r.model, h)][r.metric]
        if math.isnan(expected):
            assert math.isnan(r.value)
        else:
            assert r.value == pytest.approx(expected, rel=1e-12)


def test_accuracy_table_without_ledger_uses_the_backtest_only():
    out = accuracy_table(pd.DataFrame(), Y, BACKTEST, "2026-03")
    det = out[out["kind"] != "summary"]
    assert set(det["kind"]) == {"backtest"}
    assert len(det) == 9  # every backtest row with a forecast
    empty = accuracy_table(pd.DataFrame(), Y, None, "2026-03")
    assert empty.empty and list(empty.columns) == DETAIL_COLUMNS


SUBMISSIONS = pd.DataFrame(
    [
        # submitted_date, period, category, amount, rep_id, region
        ("2026-01-15", "2026-02", "commit", 95.0, None, None),
        ("2026-01-31", "2026-02", "commit", 85.0, None, None),  # latest by end of 2026-01
        ("2026-02-10", "2026-02", "commit", 91.0, None, None),  # too late for the KPI
        ("2026-02-20", "2026-03", "commit", 40.0, None, "DE"),
        ("2026-02-25", "2026-03", "commit", 50.0, None, "UK"),
        ("2026-02-27", "2026-03", "commit", 45.0, None, "DE"),  # replaces DE 40
        ("2026-02-20", "2026-03", "commit", 999.0, "R1", "DE"),  # rep level: regions win
        ("2025-12-20", "2026-01", "best_case", 130.0, None, None),
        ("2025-12-15", "2026-Q1", "commit", 300.0, None, None),
        ("2026-03-20", "2026-04", "commit", 100.0, None, None),
    ],
    columns=["submitted_date", "period", "category", "amount", "rep_id", "region"],
).assign(submitted_date=lambda d: pd.to_datetime(d["submitted_date"]))


def test_forecast_kpis_tiny_case_by_hand():
    out = forecast_kpis(LEDGER, BACKTEST, Y, SUBMISSIONS, "2026-03")
    assert list(out.columns) == KPI_COLUMNS
    assert set(out["window"]) == {"month"} and set(out["segment"]) == {"all"}
    v = out.set_index(["metric", "period"])
    # 2026-01: F = ledger's selected forecast made in 2025-12 (ets 110), A = 120
    #   accuracy = 1 - 10/120 = 0.916667; bias = (110 - 120)/120 = -0.083333
    assert v.loc[("forecast_accuracy", "2026-01"), "value"] == pytest.approx(1 - 10 / 120)
    assert v.loc[("forecast_bias", "2026-01"), "value"] == pytest.approx(-10 / 120)
    assert v.loc[("forecast_accuracy", "2026-01"), "source"] == "ledger"
    # 2026-02: F = the selected ensemble made in 2026-01 (100), A = 90
    assert v.loc[("forecast_accuracy", "2026-02"), "value"] == pytest.approx(1 - 10 / 90)
    assert v.loc[("forecast_bias", "2026-02"), "value"] == pytest.approx(10 / 90)
    assert v.loc[("forecast_accuracy", "2026-02"), "model"] == "ensemble(ets,snaive)"
    # 2026-03: no ledger entry made in 2026-02 -> backtest 'selected' (90); A = 0 -> empty
    assert v.loc[("forecast_accuracy", "2026-03"), "source"] == "backtest"
    assert v.loc[("forecast_accuracy", "2026-03"), "forecast"] == 90.0
    assert math.isnan(v.loc[("forecast_accuracy", "2026-03"), "value"])
    # 2025-12: no selected forecast from 2025-11 anywhere -> no row
    assert ("forecast_accuracy", "2025-12") not in v.index
    # submission accuracy 2026-02: the latest commit by 2026-01-31 is 85 -> 1 - 5/90
    assert v.loc[("submission_accuracy", "2026-02"), "value"] == pytest.approx(1 - 5 / 90)
    # 2026-03: regions summed (DE 45 + UK 50 = 95), A = 0 -> empty
    assert v.loc[("submission_accuracy", "2026-03"), "forecast"] == 95.0
    assert math.isnan(v.loc[("submission_accuracy", "2026-03"), "value"])
    # quarters, best_case and months after the report month are not submission KPIs
    assert sorted(out.loc[out["metric"] == "submission_accuracy", "period"]) == [
        "2026-02",
        "2026-03",
    ]


def test_select_submissions_prefers_team_then_region_then_rep():
    sel = select_submissions(SUBMISSIONS, "period_end").set_index(["period", "category"])
    assert sel.loc[("2026-02", "commit"), "submitted"] == 91.0  # latest by 2026-02-28
    assert sel.loc[("2026-03", "commit"), "level"] == "region"
    assert sel.loc[("2026-03", "commit"), "submitted"] == 95.0
    # which regions' calls were added up (DE 45 + UK 50); a team-level call names none
    assert sel.loc[("2026-03", "commit"), "keys"] == "DE,UK"
    assert sel.loc[("2026-02", "commit"), "keys"] == ""
    only_reps = SUBMISSIONS.iloc[[6]].assign(region=None)
    assert select_submissions(only_reps)["level"].tolist() == ["rep"]


def test_score_submissions_by_hand():
    out = score_submissions(SUBMISSIONS, Y).set_index(["period", "category"])
    # 2026-01 best_case: 130 vs 120 -> error 10, ape 10/120
    r = out.loc[("2026-01", "best_case")]
    assert (r["submitted"], r["actual"], r["error"]) == (130.0, 120.0, 10.0)
    assert r["ape"] == pytest.approx(10 / 120)
    # 2026-02 commit: the last call before the month ended was 91; A = 90
    assert out.loc[("2026-02", "commit"), "error"] == pytest.approx(1.0)
    # 2026-Q1 commit: 300 vs 120 + 90 + 0 = 210 -> error 90, ape 90/210
    q = out.loc[("2026-Q1", "commit")]
    assert q["actual"] == 210.0 and q["ape"] == pytest.approx(90 / 210) and q["complete"]
    # 2026-04 is not over: no actual yet
    f = out.loc[("2026-04", "commit")]
    assert not f["complete"] and math.isnan(f["actual"]) and math.isnan(f["ape"])
    # 2026-03: actual 0 -> ape empty
    assert math.isnan(out.loc[("2026-03", "commit"), "ape"])


def test_with_the_real_backtest_the_table_is_consistent():
    from salesreport.forecast import backtest

    rng = np.random.default_rng(3)
    idx = pd.period_range("2023-01", periods=36, freq="M")
    y = pd.Series(
        1000 + 20 * np.arange(36) + 150 * np.sin(np.arange(36) * np.pi / 6) + rng.normal(0, 20, 36),
        index=idx,
    )
    bt = backtest(y, horizon=3, origins=4)
    out = accuracy_table(None, y, bt, idx[-1], y)
    det = out[out["kind"] == "backtest"]
    assert len(det) == bt["forecast"].notna().sum()
    merged = det.merge(
        bt.assign(origin=bt["origin"].astype(str)), on=["model", "origin", "horizon"]
    )
    np.testing.assert_allclose(merged["actual_x"], merged["actual_y"])
    np.testing.assert_allclose(merged["error"], merged["forecast_y"] - merged["actual_y"])
    kpis = forecast_kpis(None, bt, y, None, idx[-1])
    assert set(kpis["source"]) == {"backtest"}
    assert len(kpis) == 2 * 4  # four origins, each with a horizon-1 month


def test_forecast_kpis_with_history_months_have_one_row_per_month():
    out = forecast_kpis(LEDGER, BACKTEST, Y, SUBMISSIONS, "2026-03", history_months=4)
    # months 2025-12..2026-03, three metrics, each month once per metric
    assert len(out) == 3 * 4
    assert sorted(out["period"].unique()) == ["2025-12", "2026-01", "2026-02", "2026-03"]
    empty = out[(out["metric"] == "forecast_accuracy") & (out["period"] == "2025-12")]
    assert len(empty) == 1 and math.isnan(empty["value"].iloc[0]) and empty["source"].isna().all()
    # the computed rows are unchanged
    v = out.set_index(["metric", "period"])
    assert v.loc[("forecast_accuracy", "2026-01"), "value"] == pytest.approx(1 - 10 / 120)


def test_no_forecast_call_by_the_report_month_scores_nothing():
    from salesreport.forecast.accuracy import SUBMISSION_COLUMNS, score_submissions

    none = pd.DataFrame(
        {"submitted_date": pd.Series(dtype="datetime64[ns]"), "period": [], "category": [],
         "amount": pd.Series(dtype=float)}
    )  # fmt: skip
    y = pd.Series([10.0], index=pd.PeriodIndex(["2025-03"], freq="M"))
    got = score_submissions(none, y)
    assert got.empty and list(got.columns) == SUBMISSION_COLUMNS
