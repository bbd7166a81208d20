"""Words and formats of findings: one month label, one money format, one model table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from salesreport import words
from salesreport.tables import Tables


def test_months_read_one_way_and_a_month_not_over_says_so():
    assert words.month_label("2026-11") == "November 2026"
    assert words.month_label(pd.Period("2026-11", "M"), "short") == "Nov 2026"
    assert words.month_label("2026-11", "name") == "November"
    assert words.month_label("2026-12", partial=True) == "December 2026, month to date"
    assert words.month_label("2026-12", "short", partial=True) == "Dec 2026"


def test_kpi_values_follow_the_catalogues_units():
    assert words.kpi_value(1_234_567, "revenue", "EUR") == "€1.2M"
    assert words.kpi_value(0.314, "win_rate", "EUR") == "31%"
    assert words.kpi_value(41.6, "sales_cycle_days", "EUR") == "42 days"
    assert words.kpi_value(2.46, "cac_payback_months", "EUR") == "2.5 months"
    assert words.kpi_value(3.84, "pipeline_coverage", "EUR") == "3.8×"
    assert words.kpi_value(1204, "meetings", "EUR") == "1,204"
    assert words.kpi_value(np.nan, "revenue", "EUR") == "—"


def test_changes_read_in_points_for_rates_and_relative_otherwise():
    assert words.kpi_change(0.31, 0.28, "win_rate") == "+3 pts"
    assert words.kpi_change(0.25, 0.28, "win_rate") == "−3 pts"
    assert words.kpi_change(120, 100, "revenue") == "+20%"
    assert words.kpi_change(5.7, 2.4, "pipeline_coverage") == "+138%"  # a multiple: relative
    assert words.kpi_change(100, 0, "revenue") == "—"  # nothing to compare with
    assert words.kpi_change(100.4, 100, "revenue") == "±0%"


def test_comparisons_with_a_target_or_the_past():
    assert words.against(112, 100) == "12% above target"
    assert words.against(96, 100) == "4% below target"
    assert words.against(100.4, 100) == "on target"
    assert words.against(100, 0) == "" and words.against(100, np.nan) == ""
    assert (
        words.against(110, 100, "the same months last year")
        == "10% above the same months last year"
    )
    assert words.change(90, 100) == "down 10%" and words.change(100, 100) == "flat"


def test_forecast_model_names_are_written_for_readers():
    assert words.model_label("ets") == "exponential smoothing (ETS)"
    assert words.model_label("ensemble(ml,arima)") == (
        "the average of ridge regression on past months and ARIMA"
    )
    assert words.model_label("ensemble(ets,theta,snaive)") == (
        "the average of exponential smoothing (ETS), Theta and seasonal naive "
        "(the same month last year)"
    )
    assert words.model_label("croston") == "croston"  # unknown names are shown as they are
    assert words.model_name("ml") == "Ridge regression"
    assert words.model_name("ensemble(ml,arima)") == "Average of Ridge regression, ARIMA"
    assert words.model_name("selected") == "Published forecast"


def test_segments_read_as_words_with_rep_and_account_names():
    tables = Tables(
        reps=pd.DataFrame({"rep_id": ["R1"], "name": ["Kira Martin"]}),
        accounts=pd.DataFrame({"account_id": ["A1"], "name": ["Acme GmbH"]}),
    )
    label = lambda s: words.segment_label(tables, s)  # noqa: E731
    assert label("all") == "the team"
    assert label("region=DE") == "region DE"
    assert label("lead_source=web") == "lead source web"
    assert label("owner_id=R1") == "rep Kira Martin"
    assert label("owner_id=R9") == "rep R9"  # not in the reps table: the id
    assert label("account_id=A1") == "account Acme GmbH"


@pytest.mark.parametrize(("n", "text"), [(1, "1 row"), (20, "20 rows"), (1204, "1,204 rows")])
def test_counts_take_their_noun_in_the_right_number(n, text):
    assert words.count(n, "row") == text
