"""Each preset's example export loads into contract form with the right values.

Expected values are worked out by hand from the files in
``salesreport/presets/examples/<preset>/`` (team zone Europe/Berlin, EUR,
GBP at 1.17, report month 2026-10).
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from salesreport.data import load_tables
from salesreport.data.presets import PRESET_DIR, load_preset
from salesreport.exceptions import DataError
from tests.conftest_data import make_params

T = pd.Timestamp
M = "2026-10"


def _params(preset: str, **kw):
    return make_params(
        data={"preset": preset, **kw.pop("data", {})},
        timezone="Europe/Berlin",
        fx_rates={"GBP": 1.17},
        **kw,
    )


def _example(preset: str):
    return PRESET_DIR / "examples" / preset


@pytest.mark.parametrize("name", ["salesforce", "hubspot", "pipedrive"])
def test_every_preset_file_is_valid(name):
    p = load_preset(name)
    assert "opportunities" in set(p.files.values())
    assert p.columns["opportunities"]


def test_salesforce_example(tmp_path):
    res = load_tables(_params("salesforce"), _example("salesforce"), M)
    o = res.tables.opportunities
    # 006A000004 was created 2026-10-31T23:30Z = 2026-11-01 00:30 in Berlin: after October
    assert o["opportunity_id"].tolist() == ["006A000001", "006A000002", "006A000003"]
    assert o["created_date"].tolist() == [T("2026-08-03"), T("2026-08-10"), T("2026-09-01")]
    assert o["close_date"].tolist() == [T("2026-09-30"), T("2026-10-15"), T("2026-11-30")]
    assert o["status"].tolist() == ["won", "lost", "open"]  # from IsWon / IsClosed
    assert o["amount"].tolist() == pytest.approx([12000.0, 5000.0, 9360.0])  # 8000 GBP * 1.17
    assert o["probability"].tolist() == pytest.approx([1.0, 0.0, 0.75])  # Probability / 100
    assert o["forecast_category"].tolist() == ["closed", "omitted", "best_case"]
    assert o["type"].tolist() == ["new_business", "expansion", "renewal"]
    assert o["source"].tolist() == ["Web", "Partner", "Referral"]
    assert o["region"].tolist() == ["DE", "DE", "UK"]
    assert o["stage"].tolist() == ["Closed Won", "Closed Lost", "Proposal/Price Quote"]
    h = res.tables.stage_history
    assert h["opportunity_id"].tolist() == ["006A000001", "006A000001", "006A000003", "006A000003"]
    assert h["entered_date"].tolist()[-1] == T("2026-10-20")
    r = res.tables.reps
    assert r["role"].tolist() == ["ae", "ae", "manager"]
    assert r["hire_date"].tolist() == [T("2024-02-01"), T("2025-06-15"), T("2022-01-10")]
    leads = res.tables.leads
    assert leads["opportunity_id"].tolist()[0] == "006A000001"
    assert leads["converted_date"].tolist()[0] == T("2026-08-03")
    a = res.tables.activities
    assert a["type"].tolist() == ["call", "email"]
    # WhatId 001... is an account and WhoId 003... a contact: cleared by the prefix rules
    assert a["opportunity_id"].tolist()[0] == "006A000001" and pd.isna(a["opportunity_id"].iloc[1])
    assert pd.isna(a["lead_id"].iloc[0]) and a["lead_id"].iloc[1] == "00QA000002"
    assert res.tables.accounts["name"].iloc[0] == "Müller Maschinenbau GmbH"
    q = res.quality.to_frame()
    assert not q["action"].isin(["dropped", "flagged"]).any()
    assert set(q.loc[q["action"] == "after_month", "table"]) == {"opportunities", "stage_history"}


def test_hubspot_example_with_unix_milliseconds():
    res = load_tables(_params("hubspot"), _example("hubspot"), M)
    o = res.tables.opportunities
    assert o["opportunity_id"].tolist() == ["101", "102", "103"]
    # createdate 1785751200000 ms = 2026-08-03T10:00Z; closedate 1790807400000 = 2026-09-30T22:30Z,
    # which is 2026-10-01 00:30 in Berlin (CEST, UTC+2)
    assert o["created_date"].tolist() == [T("2026-08-03"), T("2026-08-10"), T("2026-09-01")]
    assert o["close_date"].tolist() == [T("2026-10-01"), T("2026-10-15"), T("2026-11-30")]
    assert o["status"].tolist() == ["won", "lost", "open"]
    assert o["account_id"].tolist() == ["9001", "9002", "9003"]
    assert o["owner_id"].tolist() == ["501", "501", "502"]
    assert o["amount"].tolist() == pytest.approx([12000.0, 5000.0, 9360.0])
    assert o["probability"].tolist() == pytest.approx([1.0, 0.0, 0.8])
    assert o["type"].tolist() == ["new_business", "expansion", "new_business"]
    assert o["stage"].tolist() == ["closedwon", "closedlost", "contractsent"]
    r = res.tables.reps
    assert r["name"].tolist() == ["Anna Schmidt", "Tom Baker"]
    assert r["role"].tolist() == ["ae", "ae"]
    assert len(res.tables.accounts) == 3


def test_pipedrive_example_close_date_by_status():
    res = load_tables(_params("pipedrive"), _example("pipedrive"), M)
    o = res.tables.opportunities
    assert o["status"].tolist() == ["won", "lost", "open"]
    # won_time 2026-09-30 23:30 UTC = 2026-10-01 01:30 Berlin; lost_time 2026-10-15 12:00 UTC;
    # open: expected_close_date
    assert o["close_date"].tolist() == [T("2026-10-01"), T("2026-10-15"), T("2026-11-30")]
    assert o["created_date"].tolist() == [T("2026-08-03"), T("2026-08-10"), T("2026-09-01")]
    assert o["amount"].tolist() == pytest.approx([12000.0, 5000.0, 9360.0])
    p = o["probability"]
    assert p.isna().tolist() == [True, True, False] and p.iloc[2] == pytest.approx(0.6)
    assert o["lost_reason"].iloc[1] == "No budget"
    assert o["stage"].tolist() == ["5", "3", "4"]
    assert res.tables.reps["hire_date"].tolist() == [T("2024-02-01"), T("2025-06-15")]


def test_team_mapping_wins_over_the_preset(tmp_path):
    folder = tmp_path / "sf"
    shutil.copytree(_example("salesforce"), folder)
    text = (folder / "Opportunity.csv").read_text(encoding="utf-8")
    (folder / "Opportunity.csv").write_text(
        text.replace("Region__c", "Territory__c"), encoding="utf-8"
    )
    with pytest.raises(
        DataError, match=r"Opportunity.csv: column 'region' is missing \(required\)"
    ):
        load_tables(_params("salesforce"), folder, M)
    params = _params("salesforce", data={"mapping": {"opportunities": {"Territory__c": "region"}}})
    res = load_tables(params, folder, M)
    assert res.tables.opportunities["region"].tolist() == ["DE", "DE", "UK"]


def test_preset_status_rule_missing_flags_is_explained(tmp_path):
    folder = tmp_path / "sf"
    folder.mkdir()
    text = (_example("salesforce") / "Opportunity.csv").read_text(encoding="utf-8")
    (folder / "Opportunity.csv").write_text(text.replace("IsWon", "Won_Flag"), encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_tables(_params("salesforce"), folder, M)
    assert (
        "column 'status' is missing (required) (the preset builds it from IsWon, IsClosed)"
        in str(err.value)
    )
