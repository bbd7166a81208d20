"""Forecast ledger: idempotent re-runs, point-in-time reads, atomic writes."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from salesreport.exceptions import DataError
from salesreport.forecast import ledger as ledger_mod
from salesreport.forecast.ledger import (
    LEDGER_COLUMNS,
    read_ledger,
    record_forecasts,
    undo_record,
)


def snaive_candidates(y: pd.Series, horizon: int = 3) -> pd.DataFrame:
    """Stand-in forecaster: seasonal naive (lag 12) plus a 'mean' model, the first selected."""
    last = y.index[-1]
    periods = pd.period_range(last + 1, periods=horizon, freq="M")
    blocks = []
    for name, point, sel in [
        ("snaive", np.array([y[p - 12] for p in periods]), True),
        ("mean", np.full(horizon, y.iloc[-12:].mean()), False),
    ]:
        blocks.append(
            pd.DataFrame(
                {
                    "period": periods,
                    "model": name,
                    "selected": sel,
                    "point": point,
                    "lo80": point * 0.9,
                    "hi80": point * 1.1,
                    "lo95": point * 0.8,
                    "hi95": point * 1.2,
                }
            )
        )
    return pd.concat(blocks, ignore_index=True)


def series(end: str = "2026-03", n: int = 24) -> pd.Series:
    idx = pd.period_range(end=end, periods=n, freq="M")
    return pd.Series(100.0 + np.arange(n), index=idx)


def test_record_then_read_gives_typed_rows_with_horizons(tmp_path):
    path = tmp_path / "ledger.csv"
    y = series("2026-03")
    record_forecasts(path, "emea", "2026-03", snaive_candidates(y))
    out = read_ledger(path, "emea", "2026-03")
    assert list(out.columns) == LEDGER_COLUMNS
    assert len(out) == 6
    assert isinstance(out["period"].dtype, pd.PeriodDtype)
    # sorted by team, made_in, model, period: 'mean' before 'snaive'
    assert out["model"].tolist() == ["mean"] * 3 + ["snaive"] * 3
    # horizon = period - made_in: 2026-04 -> 1, 2026-05 -> 2, 2026-06 -> 3
    assert out["horizon"].tolist() == [1, 2, 3, 1, 2, 3]
    # snaive for 2026-04 is y[2025-04]: the series is 100 + position, 2025-04 is position 12
    snaive = out[out["model"] == "snaive"]
    assert snaive["point"].tolist() == [112.0, 113.0, 114.0]
    assert snaive["selected"].all() and not out.loc[out["model"] == "mean", "selected"].any()


def test_rerunning_a_month_replaces_its_rows_and_keeps_the_rest(tmp_path):
    path = tmp_path / "ledger.csv"
    y = series("2026-03")
    record_forecasts(path, "emea", "2026-02", snaive_candidates(y[:-1]))
    record_forecasts(path, "apac", "2026-03", snaive_candidates(y))
    record_forecasts(path, "emea", "2026-03", snaive_candidates(y))
    before = path.read_bytes()
    # the same month again, same forecasts: byte-identical file
    record_forecasts(path, "emea", "2026-03", snaive_candidates(y))
    assert path.read_bytes() == before
    # the same month again with other numbers: replaced, not appended
    changed = snaive_candidates(y).assign(point=lambda d: d["point"] + 1000)
    record_forecasts(path, "emea", "2026-03", changed)
    raw = pd.read_csv(path, dtype=str)
    assert len(raw) == 18  # 6 rows each: emea 2026-02, emea 2026-03, apac 2026-03
    emea = read_ledger(path, "emea", "2026-03")
    emea_mar = emea[emea["made_in"].astype(str) == "2026-03"]
    assert len(emea_mar) == 6
    assert emea_mar.loc[emea_mar["model"] == "snaive", "point"].tolist() == [1112.0, 1113.0, 1114.0]
    # other team and other month untouched
    apac = read_ledger(path, "apac", "2026-03")
    assert apac.loc[apac["model"] == "snaive", "point"].tolist() == [112.0, 113.0, 114.0]
    assert len(read_ledger(path, "emea", "2026-02")) == 6


def test_read_ignores_entries_made_after_the_report_month(tmp_path):
    path = tmp_path / "ledger.csv"
    y = series("2026-04", 30)
    for m in ["2026-01", "2026-02", "2026-03", "2026-04"]:
        record_forecasts(path, "emea", m, snaive_candidates(y[y.index <= m]))
    out = read_ledger(path, "emea", "2026-02")
    assert sorted(out["made_in"].astype(str).unique()) == ["2026-01", "2026-02"]
    assert read_ledger(path, "emea", "2025-12").empty
    assert read_ledger(path, "other", "2026-04").empty


def test_missing_ledger_file_is_an_empty_ledger(tmp_path):
    out = read_ledger(tmp_path / "none.csv", "emea", "2026-03")
    assert out.empty and list(out.columns) == LEDGER_COLUMNS


def test_float_format_is_fixed_and_missing_bounds_are_empty(tmp_path):
    path = tmp_path / "ledger.csv"
    cand = pd.DataFrame(
        {
            "period": pd.period_range("2026-04", periods=1, freq="M"),
            "model": ["x"],
            "selected": [True],
            "point": [1 / 3],
        }
    )
    record_forecasts(path, "emea", "2026-03", cand)
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(LEDGER_COLUMNS)
    # %.12g of 1/3 is 0.333333333333; bounds absent -> empty fields
    assert lines[1] == "emea,2026-03,x,True,2026-04,1,0.333333333333,,,,"


def test_forecast_for_the_report_month_itself_is_refused(tmp_path):
    cand = snaive_candidates(series("2026-03"))
    with pytest.raises(ValueError, match="M\\+1 onward"):
        record_forecasts(tmp_path / "l.csv", "emea", "2026-04", cand)
    assert not (tmp_path / "l.csv").exists()


def test_failure_mid_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ledger.csv"
    y = series("2026-03")
    record_forecasts(path, "emea", "2026-02", snaive_candidates(y[:-1]))
    before = path.read_bytes()
    real_to_csv = pd.DataFrame.to_csv

    def half_then_fail(self, buf=None, *args, **kwargs):
        if hasattr(buf, "write"):
            buf.write("team,made_in\nemea,2026")  # a partial file
            raise OSError("disk full")
        return real_to_csv(self, buf, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        record_forecasts(path, "emea", "2026-03", snaive_candidates(y))
    assert path.read_bytes() == before
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_failure_at_rename_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ledger.csv"
    y = series("2026-03")
    record_forecasts(path, "emea", "2026-02", snaive_candidates(y[:-1]))
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(ledger_mod.os, "replace", boom)
    with pytest.raises(OSError, match="rename failed"):
        record_forecasts(path, "emea", "2026-03", snaive_candidates(y))
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    assert os.path.exists(path)


def test_a_ledger_without_its_columns_is_a_data_error(tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_text("team,made_in\nemea,2026-01\n")
    with pytest.raises(DataError, match="lacks the columns"):
        read_ledger(path, "emea", "2026-03")
    with pytest.raises(DataError, match="move it aside"):
        record_forecasts(path, "emea", "2026-03", snaive_candidates(series("2026-03")))


def test_the_ledger_lock_is_hidden_beside_the_ledger(tmp_path):
    """A team's reports folder shows the ledger, not a stray lock file next to it."""
    path = tmp_path / "forecast_ledger.csv"
    record_forecasts(path, "emea", "2026-03", snaive_candidates(series("2026-03")))
    visible = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert visible == ["forecast_ledger.csv"]


def test_undo_puts_back_the_months_rows_and_keeps_what_others_wrote(tmp_path):
    y = series("2026-03")
    path = tmp_path / "ledger.csv"
    record_forecasts(path, "emea", "2026-02", snaive_candidates(y[:-1]))
    first = path.read_bytes()
    # a re-run of February with other numbers, undone: the file is as it was, byte for byte
    changed = snaive_candidates(y[:-1]).assign(point=lambda f: f["point"] + 1.0)
    undo = record_forecasts(path, "emea", "2026-02", changed)
    assert path.read_bytes() != first
    undo_record(undo)
    assert path.read_bytes() == first
    # a new month, undone after another team wrote: APAC's rows stay, March's go
    undo = record_forecasts(path, "emea", "2026-03", snaive_candidates(y))
    record_forecasts(path, "apac", "2026-03", snaive_candidates(y))
    undo_record(undo)
    raw = pd.read_csv(path, dtype=str)
    assert set(zip(raw["team"], raw["made_in"], strict=True)) == {
        ("emea", "2026-02"),
        ("apac", "2026-03"),
    }


def test_undo_of_the_first_record_removes_the_ledger_it_created(tmp_path):
    path = tmp_path / "new" / "ledger.csv"
    undo = record_forecasts(path, "emea", "2026-03", snaive_candidates(series("2026-03")))
    assert path.exists()
    undo_record(undo)
    assert not path.exists()


def test_target_chances_recorded_replaced_and_scored(tmp_path):
    from salesreport.forecast.accuracy import accuracy_table
    from salesreport.forecast.ledger import chance_ledger_path, read_chances, record_chances
    from salesreport.forecast.targets import score_chances

    path = chance_ledger_path(tmp_path / "forecast_ledger.csv")
    assert path.name == "target_ledger.csv"

    def chances(chance: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "period": ["2026-Q3", "2026"],
                "kind": ["quarter", "year"],
                "first_month": ["2026-07", "2026-01"],
                "last_month": ["2026-09", "2026-12"],
                "target": [300.0, float("nan")],
                "chance": [chance, float("nan")],
                "expected": [310.0, 1200.0],
                "lo80": [280.0, 1100.0],
                "hi80": [340.0, 1300.0],
            }
        )

    record_chances(path, "t", "2026-06", chances(0.9))
    record_chances(path, "t", "2026-06", chances(0.8))  # re-run: replaces June's rows
    record_chances(path, "t", "2026-07", chances(0.3))
    lg = read_chances(path, "t", "2026-09")
    assert len(lg) == 4 and lg["chance"].dropna().tolist() == [0.8, 0.3]
    assert read_chances(path, "t", "2026-06")["made_in"].unique().tolist() == ["2026-06"]
    y = pd.Series([100.0, 110.0, 120.0], index=pd.period_range("2026-07", periods=3, freq="M"))
    scored = score_chances(lg, y, "2026-09")  # Q3 = 330 >= 300: outcome 1 for both
    table = accuracy_table(None, y, None, "2026-09", chances=scored)
    detail = table[table["kind"] == "target"]
    assert detail["forecast"].tolist() == [0.8, 0.3]
    assert detail["actual"].tolist() == [1.0, 1.0]
    assert detail["horizon"].tolist() == [3, 2]  # June -> September, July -> September
    brier = table[(table["model"] == "target_chance") & (table["metric"] == "brier")]
    assert brier["value"].item() == pytest.approx((0.2**2 + 0.7**2) / 2)


def test_a_team_without_targets_reads_its_chance_ledger_back_as_missing(tmp_path):
    """A team with no revenue target records chances with empty target and chance cells; read
    back they are missing (NaN), the expected values numbers, and no pandas deprecation warning
    reaches the user's console (pyproject makes our FutureWarnings errors in tests)."""
    from salesreport.forecast.ledger import chance_ledger_path, read_chances, record_chances

    path = chance_ledger_path(tmp_path / "forecast_ledger.csv")
    nan = float("nan")
    chances = pd.DataFrame(
        {
            "period": ["2026-Q4", "2026"], "kind": ["quarter", "year"],
            "first_month": ["2026-10", "2026-01"], "last_month": ["2026-12", "2026-12"],
            "target": [nan, nan], "chance": [nan, nan],
            "expected": [310.0, 1200.0], "lo80": [280.0, 1100.0], "hi80": [340.0, 1300.0],
        }
    )  # fmt: skip
    record_chances(path, "t", "2026-09", chances)
    assert ",,," in path.read_text()  # the empty cells as written
    lg = read_chances(path, "t", "2026-09")
    assert lg["target"].isna().all() and lg["chance"].isna().all()
    assert lg["target"].dtype == float and lg["expected"].tolist() == [310.0, 1200.0]
