"""Pipeline forecast: hand-worked two-stage case, point-in-time backtest, fallbacks."""

from __future__ import annotations

import pandas as pd
import pytest

from salesreport.forecast.pipeline_forecast import (
    COMPONENTS,
    pipeline_backtest,
    pipeline_forecast,
    stage_at,
    stage_win_rates,
)
from salesreport.params import TeamParams
from salesreport.tables import Tables

# opportunity_id, created, close, stage (current), status, amount
OPPS = [
    ("C1", "2025-09-01", "2026-01-15", "B", "won", 5000.0),
    ("C2", "2025-10-01", "2026-02-10", "B", "lost", 7000.0),
    ("C3", "2025-11-01", "2026-02-20", "A", "lost", 100.0),
    ("C4", "2025-12-01", "2026-03-05", "A", "lost", 600.0),
    ("C5", "2026-02-01", "2026-04-10", "B", "won", 1000.0),  # won after March: open at March
    ("O1", "2026-01-10", "2026-04-20", "B", "open", 1000.0),
    ("O2", "2026-02-15", "2026-05-15", "A", "open", 2000.0),
    ("O3", "2026-02-01", "2026-02-28", "B", "open", 400.0),  # overdue: counted next month
    ("O4", "2026-03-01", "2026-08-01", "A", "open", 800.0),  # beyond the horizon
    ("O5", "2026-04-02", "2026-05-01", "A", "open", 9999.0),  # created after March
    ("R1", "2026-01-05", "2026-01-20", "Closed", "won", 300.0),  # created and won in one month
    ("R2", "2025-12-01", "2025-12-15", "Closed", "won", 300.0),
    ("R3", "2025-09-03", "2025-09-25", "Closed", "won", 999.0),
]
HISTORY = [
    ("C1", "A", "2025-09-01"),
    ("C1", "B", "2025-11-01"),
    ("C2", "A", "2025-10-01"),
    ("C2", "B", "2026-01-05"),
    ("C3", "A", "2025-11-01"),
    ("C4", "A", "2025-12-01"),
    ("C5", "A", "2026-02-01"),
    ("C5", "B", "2026-04-01"),
    ("O1", "A", "2026-01-10"),
    ("O1", "B", "2026-03-10"),
    ("O2", "A", "2026-02-15"),
    ("O3", "B", "2026-02-01"),
    ("O4", "A", "2026-03-01"),
    ("O5", "A", "2026-04-02"),
]


def opportunities(rows=OPPS) -> pd.DataFrame:
    df = pd.DataFrame(
        rows, columns=["opportunity_id", "created_date", "close_date", "stage", "status", "amount"]
    )
    df["created_date"] = pd.to_datetime(df["created_date"])
    df["close_date"] = pd.to_datetime(df["close_date"])
    df["account_id"] = "A-" + df["opportunity_id"]
    df["owner_id"] = "R001"
    df["region"] = "DE"
    return df


def history(rows=HISTORY) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["opportunity_id", "stage", "entered_date"])
    df["entered_date"] = pd.to_datetime(df["entered_date"])
    return df


TABLES = Tables(opportunities=opportunities(), stage_history=history())


def wide(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.pivot(index="period", columns="component", values="value")


def test_stage_win_rates_learned_from_stage_history_by_hand():
    rates = stage_win_rates(TABLES, "2026-03", min_closed=2).set_index("stage")
    # closed by 2026-03-31 with history: C1 won, C2 lost, C3 lost, C4 lost (C5 closes in April)
    # ever in A: C1, C2, C3, C4 -> 1 won of 4 = 0.25; ever in B: C1, C2 -> 1 of 2 = 0.5
    assert rates.loc["A", ["closed", "won"]].tolist() == [4, 1]
    assert rates.loc["A", "win_rate"] == pytest.approx(0.25)
    assert rates.loc["B", "win_rate"] == pytest.approx(0.5)
    assert set(rates["source"]) == {"learned"}


def test_stage_at_the_end_of_a_month_comes_from_stage_history():
    st = stage_at(TABLES, pd.Timestamp("2026-03-31"))
    by_id = dict(zip(TABLES.opportunities["opportunity_id"], st, strict=True))
    assert by_id["C5"] == "A"  # entered B only on 2026-04-01
    assert by_id["O1"] == "B"  # entered B on 2026-03-10
    assert by_id["O5"] == "A"  # no stage by then: its first recorded stage


def test_pipeline_forecast_two_stages_by_hand():
    out = pipeline_forecast(TABLES, "2026-03", 3, None, min_closed=2)
    assert list(out.columns) == ["period", "component", "value"]
    assert out["component"].tolist() == list(COMPONENTS) * 3
    w = wide(out)
    p = [pd.Period(m, "M") for m in ("2026-04", "2026-05", "2026-06")]
    # open pipeline, win rates A 0.25, B 0.5:
    #   2026-04: O1 1000 x 0.5 (B) + O3 400 x 0.5 (overdue, B) + C5 1000 x 0.25 (A at March)
    #          = 500 + 200 + 250 = 950
    #   2026-05: O2 2000 x 0.25 = 500 (O5 created in April: not counted)
    #   2026-06: nothing (O4 expected in August, beyond the horizon)
    assert w.loc[p, "open pipeline"].tolist() == pytest.approx([950.0, 500.0, 0.0])
    # run rate: created and won in the same month over 2025-10..2026-03:
    #   R2 300 (2025-12) + R1 300 (2026-01) = 600 / 6 = 100 (R3 is in 2025-09: outside)
    assert w.loc[p, "run rate"].tolist() == pytest.approx([100.0] * 3)
    assert w.loc[p, "total"].tolist() == pytest.approx([1050.0, 600.0, 100.0])


def test_without_stage_history_the_team_probabilities_then_the_overall_rate_are_used():
    opp = opportunities()
    opp.loc[opp["opportunity_id"] == "O2", "stage"] = "C"  # a stage the params do not name
    tables = Tables(opportunities=opp)
    params = TeamParams(team="t", stage_probabilities={"A": 0.1, "B": 0.6})
    rates = stage_win_rates(tables, "2026-03", params, stages=["C"]).set_index("stage")
    # overall by 2026-03-31: won C1, R1, R2, R3 = 4; lost C2, C3, C4 = 3 -> 4/7
    assert rates.loc["C", "win_rate"] == pytest.approx(4 / 7)
    assert rates.loc["C", "source"] == "overall"
    assert rates.loc["A", "source"] == "params"
    out = wide(pipeline_forecast(tables, "2026-03", 2, params))
    apr, may = pd.Period("2026-04", "M"), pd.Period("2026-05", "M")
    # current stages: O1 B 1000 x 0.6 + O3 B 400 x 0.6 + C5 (now B) 1000 x 0.6 = 1440
    assert out.loc[apr, "open pipeline"] == pytest.approx(1440.0)
    # O2 (stage C) 2000 x 4/7
    assert out.loc[may, "open pipeline"] == pytest.approx(2000 * 4 / 7)


def test_no_win_rate_at_all_is_an_error_that_names_the_stage():
    opp = opportunities([("O1", "2026-01-10", "2026-04-20", "Z", "open", 1000.0)])
    with pytest.raises(ValueError, match=r"\['Z'\].*stage_probabilities"):
        pipeline_forecast(Tables(opportunities=opp), "2026-03")


def test_pipeline_backtest_is_point_in_time():
    actuals = pd.Series(
        [500.0, 700.0], index=pd.PeriodIndex(["2026-03", "2026-04"], freq="M", name="period")
    )
    out = pipeline_backtest(TABLES, ["2026-02", "2026-03"], 1, None, actuals, min_closed=2)
    assert list(out.columns) == ["model", "origin", "horizon", "period", "actual", "forecast"]
    assert set(out["model"]) == {"pipeline"}
    feb = out[out["origin"] == pd.Period("2026-02", "M")].iloc[0]
    # origin 2026-02 (end 2026-02-28): closed C1 won, C2 lost, C3 lost ->
    #   A: 1 of 3 = 1/3; B: 1 of 2 = 0.5. Open then and expected in March:
    #   C4 600 x 1/3 (A; it closes only on 03-05) + O3 400 x 0.5 (overdue) = 400
    # run rate over 2025-09..2026-02: R3 999 + R2 300 + R1 300 = 1599 / 6 = 266.5
    assert feb["period"] == pd.Period("2026-03", "M")
    assert feb["forecast"] == pytest.approx(400 + 266.5)
    assert feb["actual"] == 500.0
    mar = out[out["origin"] == pd.Period("2026-03", "M")].iloc[0]
    assert mar["forecast"] == pytest.approx(1050.0)  # as in the hand-worked forecast
    assert mar["actual"] == 700.0
    assert "optimistic" in out.attrs["caveat"]


def test_pipeline_backtest_needs_stage_history():
    with pytest.raises(ValueError, match="stage_history"):
        pipeline_backtest(Tables(opportunities=opportunities()), ["2026-03"])


# --------------------------------------------------------------------------- stage at a date


def _stage_tables() -> Tables:
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
    got = stage_at(_stage_tables(), pd.Timestamp("2026-02-28"))
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
    rates = stage_win_rates(_stage_tables(), "2026-02", min_closed=1).set_index("stage")
    # closed by 2026-02-28: A (won 02-10), B (lost 02-20); D closes in May: not yet.
    # ever in, entered by the end: S1 <- A (twice: counted once), B; S2 <- A, B (twice)
    assert rates.loc["S1", ["closed", "won"]].tolist() == [2, 1]
    assert rates.loc["S2", ["closed", "won"]].tolist() == [2, 1]
    assert rates.loc["S1", "win_rate"] == 0.5  # 1 won / 2 closed
    assert rates.loc["S1", "source"] == "learned"


# --------------------------------------------------------------------------- columns read


def test_the_forecast_reads_only_its_columns_and_keeps_no_frame(sample_dir):
    """From a load's tables (made from the engine when first read), :func:`read_tables`
    makes the two tables with the columns the forecast reads, for it alone: the forecast and
    the backtest are those of the whole tables, and no table is left made."""
    from salesreport.data import load_tables
    from salesreport.forecast.pipeline_forecast import COLUMNS, coded_ids, read_tables
    from salesreport.params import load_params
    from tests.conftest import REPORT_MONTH

    params = load_params("emea")
    lazy = load_tables(params, sample_dir, REPORT_MONTH).tables
    read = read_tables(lazy)
    assert lazy.made() == []
    for name, cols in COLUMNS.items():
        assert list(read.get(name).columns) == list(cols)
    whole = load_tables(params, sample_dir, REPORT_MONTH).tables
    full = Tables(opportunities=whole.opportunities, stage_history=whole.stage_history)
    coded = coded_ids({name: full.get(name)[list(cols)] for name, cols in COLUMNS.items()})
    for name in COLUMNS:  # the same rows; ids as numbers, the same in both tables
        pd.testing.assert_frame_equal(read.get(name), coded[name])
        assert read.get(name)["opportunity_id"].dtype == "float64"
    pd.testing.assert_frame_equal(
        pipeline_forecast(read, REPORT_MONTH, 3, params),
        pipeline_forecast(full, REPORT_MONTH, 3, params),
    )
    origins = [str(pd.Period(REPORT_MONTH, "M") - k) for k in (6, 3)]
    actuals = pd.Series(1.0, index=pd.period_range(end=REPORT_MONTH, periods=12, freq="M"))
    backtest = pipeline_backtest(read, origins, 3, params, actuals)
    assert len(backtest) == 6 and backtest["forecast"].gt(0).all()
    pd.testing.assert_frame_equal(backtest, pipeline_backtest(full, origins, 3, params, actuals))
    # a table already made is read as it is (its columns too), not made again
    again = read_tables(whole).opportunities
    assert list(again.columns) == list(whole.opportunities.columns)
    assert again["stage"] is not None and lazy.made() == []


def test_ids_as_numbers_give_the_same_forecasts():
    """What the forecasts read of an id is only which rows share it: with the ids coded as
    numbers (a missing id, an id only in the history, one only among the opportunities,
    ids repeated in the history) every step gives what it gives on the text ids."""
    from salesreport.forecast.pipeline_forecast import coded_ids

    t = _stage_tables()
    c = Tables(**coded_ids({"opportunities": t.opportunities, "stage_history": t.stage_history}))
    ids = (
        c.opportunities["opportunity_id"].tolist()[:4] + c.stage_history["opportunity_id"].tolist()
    )
    # A B C D (opportunities), then the history: A A B A B D C X missing B A
    assert ids[:4] == [0.0, 1.0, 2.0, 3.0]
    # the missing id has no number: A2 is 4, X (only in the history) 5
    assert ids[4:12] == [0.0, 0.0, 1.0, 0.0, 1.0, 3.0, 2.0, 5.0]
    assert pd.isna(c.opportunities["opportunity_id"].iloc[4]) and pd.isna(ids[12])
    assert c.opportunities["opportunity_id"].iloc[5] == 4.0
    assert t.opportunities["opportunity_id"].iloc[0] == "A"  # the frames given are unchanged
    end = pd.Timestamp("2026-02-28")
    pd.testing.assert_series_equal(stage_at(c, end), stage_at(t, end))
    pd.testing.assert_frame_equal(
        stage_win_rates(c, "2026-02", min_closed=1), stage_win_rates(t, "2026-02", min_closed=1)
    )
    params = TeamParams(team="t", stage_probabilities={"S5": 0.5, "S9": 0.5})
    for month in ("2026-02", "2026-03"):
        pd.testing.assert_frame_equal(
            pipeline_forecast(c, month, 3, params, min_closed=1),
            pipeline_forecast(t, month, 3, params, min_closed=1),
        )
    actuals = pd.Series(1.0, index=pd.period_range("2026-01", periods=8, freq="M"))
    pd.testing.assert_frame_equal(
        pipeline_backtest(c, ["2026-02", "2026-03"], 3, params, actuals, min_closed=1),
        pipeline_backtest(t, ["2026-02", "2026-03"], 3, params, actuals, min_closed=1),
    )
    tt = Tables(opportunities=opportunities(), stage_history=history())
    ct = Tables(**coded_ids({"opportunities": tt.opportunities, "stage_history": tt.stage_history}))
    pd.testing.assert_frame_equal(
        pipeline_forecast(ct, "2026-03"), pipeline_forecast(tt, "2026-03")
    )
