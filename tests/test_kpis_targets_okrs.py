"""Targets (table over YAML, spans, fallbacks), RAG status, OKR grading, catalogue, docs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesreport.kpis import (
    CATALOGUE,
    catalogue_frame,
    compute_kpis,
    grade_okrs,
    kpi_status,
    missing_metrics,
)
from salesreport.kpis.docs import docs_path, render
from salesreport.kpis.targets import target_rows, window_targets
from salesreport.params import TeamParams
from salesreport.periods import windows_frame
from salesreport.tables import Tables


def _params(**kw) -> TeamParams:
    return TeamParams.model_validate({"team": "t", **kw})


def _targets(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["period", "metric", "value", "rep_id", "region"])


def _wt(tables, params, metric, labels, month="2026-06", additive=True):
    w = windows_frame(month, 12, params.fiscal_year_start_month)
    arr = window_targets(
        target_rows(tables, params), metric, w, labels, params.fiscal_year_start_month, additive
    )
    out = {}
    for j, r in enumerate(w.itertuples()):
        for i, lab in enumerate(labels):
            out[(r.window, r.period, lab)] = arr[i, j]
    return out


def test_table_target_wins_over_yaml_for_the_same_key():
    params = _params(
        targets=[
            {"metric": "revenue", "period": "2026-03", "value": 500},
            {"metric": "revenue", "period": "2026-04", "value": 700},
        ]
    )
    tables = Tables(targets=_targets([("2026-03", "revenue", 800.0, None, None)]))
    t = _wt(tables, params, "revenue", ["all"])
    assert t[("month", "2026-03", "all")] == 800  # table 800 beats YAML 500
    assert t[("month", "2026-04", "all")] == 700  # only the YAML sets April
    rows = target_rows(tables, params)
    assert rows.loc[rows["period"] == "2026-03", "source"].tolist() == ["table"]


def test_additive_targets_month_else_quarter_else_year_summed_over_the_window():
    tables = Tables(
        targets=_targets(
            [
                ("2026", "revenue", 1200.0, None, None),  # 100 a month
                ("2026-Q2", "revenue", 600.0, None, None),  # 200 a month in Apr-Jun
                ("2026-05", "revenue", 50.0, None, None),  # May itself
            ]
        )
    )
    t = _wt(tables, _params(), "revenue", ["all"])
    assert t[("month", "2026-05", "all")] == 50
    assert t[("month", "2026-04", "all")] == 200
    assert t[("month", "2026-03", "all")] == 100
    # qtd June: Apr 200 + May 50 + Jun 200 = 450; ytd June: 3*100 + 450 = 750
    assert t[("qtd", "2026-06", "all")] == 450
    assert t[("ytd", "2026-06", "all")] == 750
    # trailing12 June 2026 reaches July 2025, which has no target -> empty
    assert np.isnan(t[("trailing12", "2026-06", "all")])


def test_team_total_falls_back_to_the_sum_of_regions_and_segments_pick_their_rows():
    tables = Tables(
        targets=_targets(
            [
                ("2026-Q1", "revenue", 300.0, None, "DE"),
                ("2026-Q1", "revenue", 600.0, None, "UK"),
                ("2026-Q1", "revenue", 90.0, "R1", "DE"),
            ]
        )
    )
    t = _wt(
        tables, _params(), "revenue", ["all", "region=DE", "owner_id=R1", "product=x"], "2026-03"
    )
    # no team row: all = DE 100 + UK 200 a month; the rep row is not a region row
    assert t[("month", "2026-03", "all")] == 300
    assert t[("qtd", "2026-03", "all")] == 900
    assert t[("month", "2026-02", "region=DE")] == 100
    assert t[("qtd", "2026-03", "owner_id=R1")] == 90
    assert np.isnan(t[("month", "2026-03", "product=x")])


def test_non_additive_target_only_for_the_exact_span():
    tables = Tables(
        targets=_targets(
            [
                ("2026-Q2", "win_rate", 0.3, None, None),
                ("2026", "win_rate", 0.25, None, None),
                ("2026-05", "win_rate", 0.4, None, None),
            ]
        )
    )
    t = _wt(tables, _params(), "win_rate", ["all"], additive=False)
    assert t[("month", "2026-05", "all")] == 0.4
    assert np.isnan(t[("month", "2026-04", "all")])  # no month row: not the quarter's
    assert t[("qtd", "2026-04", "all")] == 0.3  # quarter row at any month of the quarter
    assert t[("ytd", "2026-02", "all")] == 0.25
    assert np.isnan(t[("trailing12", "2026-06", "all")])  # Jul 2025..Jun 2026 is no fiscal year
    # with a fiscal year starting in July, trailing12 ending June 2026 is FY2026
    p = _params(fiscal_year_start_month=7)
    t2 = _wt(
        Tables(targets=_targets([("2026", "win_rate", 0.2, None, None)])),
        p,
        "win_rate",
        ["all"],
        additive=False,
    )
    assert t2[("trailing12", "2026-06", "all")] == 0.2
    assert t2[("ytd", "2026-06", "all")] == 0.2


def _kpis_frame(rows):
    return pd.DataFrame(
        rows, columns=["metric", "window", "period", "segment", "value", "target", "prior", "unit"]
    )


def test_kpi_status_bands_direction_benchmark_and_yoy():
    k = _kpis_frame(
        [
            ("revenue", "month", "2026-03", "all", 95.0, 100.0, 80.0, "EUR"),  # 0.95 -> amber
            ("revenue", "month", "2026-04", "all", 100.0, 100.0, 0.0, "EUR"),  # 1.0 -> green
            ("revenue", "month", "2026-05", "all", 80.0, 100.0, np.nan, "EUR"),  # 0.8 -> red
            (
                "sales_cycle_days",
                "month",
                "2026-03",
                "all",
                50.0,
                45.0,
                40.0,
                "days",
            ),  # 45/50 = 0.9 amber
            (
                "sales_cycle_days",
                "month",
                "2026-04",
                "all",
                40.0,
                45.0,
                40.0,
                "days",
            ),  # lower: green
            ("win_rate", "month", "2026-03", "all", 0.3, np.nan, 0.3, "ratio"),  # no target
        ]
    )
    s = kpi_status(k, _params(benchmarks={"win_rate": 0.25}))
    assert s["status"].tolist()[:5] == ["amber", "green", "red", "amber", "green"]
    assert s["status"].iloc[5] is None
    assert s["benchmark"].iloc[5] == 0.25 and np.isnan(s["benchmark"].iloc[0])
    # yoy: 95/80 - 1 = 0.1875; prior 0 -> empty
    assert s["yoy_change"].iloc[0] == pytest.approx(0.1875)
    assert np.isnan(s["yoy_change"].iloc[1])


def test_grade_okrs_grades_weights_bands_committed_and_spokes():
    k = _kpis_frame(
        [
            ("revenue", "ytd", "2026-03", "all", 700.0, np.nan, np.nan, "EUR"),
            ("sales_cycle_days", "qtd", "2026-03", "all", 75.0, np.nan, np.nan, "days"),
            ("meetings", "qtd", "2026-03", "all", 90.0, np.nan, np.nan, "count"),
            ("meetings", "qtd", "2026-03", "region=DE", 100.0, np.nan, np.nan, "count"),
            ("meetings", "qtd", "2026-03", "region=UK", 30.0, np.nan, np.nan, "count"),
            ("meetings", "qtd", "2026-02", "region=FR", 30.0, np.nan, np.nan, "count"),
            ("meetings", "qtd", "2026-03", "region=(none)", 5.0, np.nan, np.nan, "count"),
        ]
    )
    params = _params(
        okrs=[
            {
                "name": "Grow",
                "key_results": [
                    {
                        "name": "rev",
                        "metric": "revenue",
                        "window": "ytd",
                        "baseline": 0,
                        "target": 1000,
                        "weight": 2,
                    },
                    {
                        "name": "cycle",
                        "metric": "sales_cycle_days",
                        "window": "qtd",
                        "baseline": 90,
                        "target": 60,
                    },
                ],
            },
            {
                "name": "Meet",
                "spokes": "region",
                "key_results": [
                    {
                        "name": "mtg",
                        "metric": "meetings",
                        "window": "qtd",
                        "baseline": 0,
                        "target": 100,
                        "committed": True,
                    }
                ],
            },
        ]
    )
    o = grade_okrs(k, params, "2026-03")
    grow = o[o["objective"] == "Grow"]
    # rev: 700/1000 = 0.7; revenue adds up over months and the window is ytd: by the end of
    # March 3/12 of the year's target is due, 0.7 / 0.25 = 2.8 -> green. cycle: (75-90)/
    # (60-90) = 0.5, a mean (due now, 1): 0.5 -> red (under rag.amber 0.9).
    assert grow["grade"].tolist() == pytest.approx([(2 * 0.7 + 0.5) / 3, 0.7, 0.5])
    assert grow["due"].tolist() == pytest.approx([(2 * 0.25 + 1) / 3, 0.25, 1.0])
    # the objective: 0.6333 over its weighted due 0.5 = 1.27 -> green
    assert grow["status"].tolist() == ["green", "green", "red"]
    assert grow["key_result"].iloc[0] is None
    meet = o[(o["objective"] == "Meet") & o["key_result"].notna()]
    # meetings qtd in March, the quarter's last month: due 1. hub (all) 0.9 -> amber (0.9 is
    # rag.amber); DE 1.0 -> green; UK 0.3 -> red; FR not this month; region=(none) no spoke
    assert meet["segment"].tolist() == ["all", "region=DE", "region=UK"]
    assert meet["grade"].tolist() == pytest.approx([0.9, 1.0, 0.3])
    assert meet["status"].tolist() == ["amber", "green", "red"]
    assert list(o.columns[:9]) == [
        "objective",
        "key_result",
        "metric",
        "window",
        "baseline",
        "target",
        "value",
        "grade",
        "status",
    ]


def test_okr_grade_clips_and_the_teams_rag_thresholds_apply_to_key_results():
    k = _kpis_frame([("revenue", "ytd", "2026-03", "all", 1500.0, np.nan, np.nan, "EUR")])
    params = _params(
        rag={"green": 0.95, "amber": 0.5},
        okrs=[
            {
                "name": "O",
                "key_results": [
                    {
                        "name": "a",
                        "metric": "revenue",
                        "window": "ytd",
                        "baseline": 0,
                        "target": 1000,
                    },
                    {
                        "name": "b",
                        "metric": "win_rate",
                        "window": "ytd",
                        "baseline": 0,
                        "target": 1,
                    },
                ],
            }
        ],
    )
    o = grade_okrs(k, params, "2026-03")
    assert o["grade"].iloc[1] == 1.0  # 1.5 clipped
    assert np.isnan(o["grade"].iloc[2]) and o["status"].iloc[2] is None  # no value
    assert o["grade"].iloc[0] == 1.0 and o["status"].iloc[0] == "green"  # mean over graded KRs
    # 300 of 1000 by March: 0.3 / (3/12) = 1.2 -> green; by June 0.3 / 0.5 = 0.6: under
    # green 0.95, at or above amber 0.5 -> amber; with the default thresholds (0.9) red
    k = _kpis_frame([("revenue", "ytd", m, "all", 300.0, np.nan, np.nan, "EUR") for m in
                     ("2026-03", "2026-06")])  # fmt: skip
    assert grade_okrs(k, params, "2026-03")["status"].iloc[1] == "green"
    assert grade_okrs(k, params, "2026-06")["status"].iloc[1] == "amber"
    plain = params.model_copy(update={"rag": _params().rag})
    assert grade_okrs(k, plain, "2026-06")["status"].iloc[1] == "red"


def test_a_committed_key_result_on_pace_but_short_of_its_target_is_amber():
    # meetings qtd, 70 of 100 by February, the 2nd month of Q1: due 2/3, 0.7 / 0.667 = 1.05
    # is on pace (green for another key result) but a committed one is green only when met
    k = _kpis_frame([("meetings", "qtd", "2026-02", "all", 70.0, np.nan, np.nan, "count")])
    kr = {"name": "m", "metric": "meetings", "window": "qtd", "baseline": 0, "target": 100}
    for committed, expected in ((False, "green"), (True, "amber")):
        params = _params(okrs=[{"name": "O", "key_results": [{**kr, "committed": committed}]}])
        assert grade_okrs(k, params, "2026-02")["status"].iloc[1] == expected


def test_the_revenue_tile_and_the_revenue_key_result_share_one_status():
    # The case: a year's revenue target of 14M, 12.1M by the end of November. The
    # tile compares year to date with the target to date, 14M x 11/12 = 12.833M: 12.1 /
    # 12.833 = 0.943 -> amber. The key result (baseline 0, target 14M for the year) is due
    # at 11/12 by then: (12.1 / 14) / (11/12) = 0.943 -> amber too (the spec's grade bands
    # made it green at 0.86).
    month = "2026-11"
    params = _params(
        okrs=[
            {
                "name": "Grow",
                "key_results": [
                    {
                        "name": "Revenue YTD",
                        "metric": "revenue",
                        "window": "ytd",
                        "baseline": 0,
                        "target": 14e6,
                    }
                ],
            }
        ],  # fmt: skip
    )
    k = _kpis_frame([("revenue", "ytd", month, "all", 12.1e6, 14e6 * 11 / 12, np.nan, "EUR")])
    tile = kpi_status(k, params)["status"].iloc[0]
    kr = grade_okrs(k, params, month)["status"].iloc[1]
    assert tile == kr == "amber"


def test_catalogue_and_missing_metrics():
    cf = catalogue_frame()
    assert list(cf["name"]) == list(CATALOGUE)
    assert {"new_customers", "cac", "forecast_accuracy", "ramp_time_months"} <= set(cf["name"])
    assert set(cf["unit"]) <= {"currency", "count", "ratio", "days", "months"}
    mm = missing_metrics(Tables(orders=pd.DataFrame()))
    assert "win_rate" in set(mm["metric"]) and "revenue" not in set(mm["metric"])
    assert mm.loc[mm["metric"] == "calls", "reason"].iloc[0].startswith("no activities table")


def test_kpis_have_the_contract_columns_units_and_sort_order():
    orders = pd.DataFrame(
        {
            "order_id": ["1", "2"],
            "account_id": ["A", "B"],
            "order_date": pd.to_datetime(["2026-01-03", "2026-02-03"]),
            "amount": [10.0, 20.0],
            "region": ["DE", None],
        }
    )
    k = compute_kpis(Tables(orders=orders), _params(currency="USD"), "2026-02")
    assert list(k.columns) == [
        "metric",
        "window",
        "period",
        "segment",
        "value",
        "target",
        "prior",
        "unit",
    ]
    assert k.loc[k["metric"] == "revenue", "unit"].unique().tolist() == ["USD"]
    assert "region=(none)" in set(k["segment"])
    keys = list(zip(k["metric"], k["window"], k["period"], k["segment"], strict=True))
    assert keys == sorted(keys)
    assert k["period"].nunique() == 24 and k["period"].min() == "2024-03"
    # only orders: no opportunity metrics
    assert "win_rate" not in set(k["metric"])


def test_docs_page_is_current():
    assert docs_path().read_text(encoding="utf-8") == render(), (
        "docs/kpis.md is stale: run `python -m salesreport.kpis.docs`"
    )
