"""Structural problems stop the run with a precise message; row problems are dropped/repaired and counted."""

from __future__ import annotations

import pandas as pd
import pytest

from salesreport.data import load_tables
from salesreport.exceptions import DataError
from tests.conftest_data import base_opportunities, make_folder, make_params, opp

MONTH = "2026-12"
REPS = [
    {"rep_id": "R1", "name": "Ann", "role": "AE", "region": "DE", "hire_date": "2024-01-01"},
    {"rep_id": "R2", "name": "Bob", "role": "sdr", "region": "UK", "hire_date": "2024-01-01"},
]
LOOSE = {"thresholds": {"bad_row_share": 0.5}}


def _load(tmp_path, params=None, strict=False, **tables):
    return load_tables(
        params or make_params(**LOOSE), make_folder(tmp_path, **tables), MONTH, strict=strict
    )


def _issues(res, table):
    q = res.quality.to_frame()
    return q[q["table"] == table].set_index("reason")


# --------------------------------------------------------------------------- structural


def test_missing_required_column_names_file_column_and_fix(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "close_date"} for r in base_opportunities(3)]
    with pytest.raises(DataError) as err:
        _load(tmp_path, opportunities=rows)
    assert str(err.value) == (
        "opportunities.csv: column 'close_date' is missing (required). Add it or map your "
        "export's column onto it under data.mapping.opportunities in params/t.yaml."
    )
    (p,) = err.value.problems
    assert p["file"] == "opportunities.csv" and p["column"] == "close_date"
    assert "data.mapping.opportunities" in p["fix"]


def test_missing_column_message_says_when_the_mapping_points_at_nothing(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "close_date"} for r in base_opportunities(3)]
    params = make_params(data={"mapping": {"opportunities": {"CloseDate": "close_date"}}})
    with pytest.raises(
        DataError, match="data.mapping maps 'CloseDate' onto it but the file has no such column"
    ):
        _load(tmp_path, params=params, opportunities=rows)


def test_mapping_renames_their_headers(tmp_path):
    rows = [
        {("Deal Close" if k == "close_date" else k): v for k, v in r.items()}
        for r in base_opportunities(3)
    ]
    params = make_params(data={"mapping": {"opportunities": {"Deal Close": "close_date"}}})
    res = _load(tmp_path, params=params, opportunities=rows)
    assert res.tables.opportunities["close_date"].iloc[0] == pd.Timestamp("2026-01-20")


def test_header_differing_only_in_case_and_spaces_is_recognised(tmp_path):
    rows = [
        {("Close Date" if k == "close_date" else k): v for k, v in r.items()}
        for r in base_opportunities(3)
    ]
    res = _load(tmp_path, opportunities=rows)
    assert "close_date" in res.tables.opportunities.columns


def test_mostly_unparseable_column_is_structural_with_rows_and_examples(tmp_path):
    rows = base_opportunities(4)
    for r in rows[:3]:  # 3 of 4 values (75% > 50%) are dates in words
        r["close_date"] = "Oct 31st 2026"
    with pytest.raises(DataError) as err:
        _load(tmp_path, opportunities=rows)
    assert str(err.value) == (
        "opportunities.csv: column 'close_date' has 3 of 4 values that are not a date "
        "(e.g. 'Oct 31st 2026') (rows 2, 3, 4). Write dates as ISO 8601 (2026-10-31), Excel dates "
        "or Unix milliseconds, or check which column is mapped onto 'close_date' in params/t.yaml."
    )
    assert err.value.problems[0]["rows"] == [2, 3, 4]


def test_mostly_unknown_status_is_structural(tmp_path):
    rows = base_opportunities(3)
    for r in rows[:2]:
        r["status"] = "Closed Won"
    with pytest.raises(DataError) as err:
        _load(tmp_path, opportunities=rows)
    msg = str(err.value)
    assert "opportunities.csv: column 'status' has 2 of 3 values outside open, won, lost" in msg
    assert "(e.g. 'Closed Won') (rows 2, 3)" in msg


def test_currency_without_rate_names_codes_and_fix(tmp_path):
    rows = base_opportunities(3)
    rows[1]["currency"] = "GBP"
    rows[2]["currency"] = "CHF"
    with pytest.raises(DataError) as err:
        _load(tmp_path, opportunities=rows)
    assert str(err.value) == (
        "opportunities.csv: column 'currency' holds CHF, GBP with no exchange rate to EUR (rows 3, 4). "
        "Add the rates to params/t.yaml: fx_rates: {CHF: <value of 1 CHF in EUR>, GBP: ...}."
    )


def test_every_structural_problem_of_every_table_at_once(tmp_path):
    opps = [{k: v for k, v in r.items() if k != "stage"} for r in base_opportunities(3)]
    reps = [{k: v for k, v in r.items() if k != "hire_date"} for r in REPS]
    orders = [{"order_id": "X", "account_id": "A", "order_date": "2026-01-01", "amount": "lots"}]
    with pytest.raises(DataError) as err:
        _load(tmp_path, opportunities=opps, reps=reps, orders=orders)
    got = {(p["file"], p["column"]) for p in err.value.problems}
    assert got == {
        ("opportunities.csv", "stage"),
        ("reps.csv", "hire_date"),
        ("orders.csv", "amount"),
    }
    assert str(err.value).startswith("3 problems in the data:\n- ")


def test_filter_on_a_column_no_table_has_is_structural(tmp_path):
    with pytest.raises(DataError, match="column 'regoin' is a filter column"):
        _load(
            tmp_path,
            params=make_params(filters={"regoin": ["DE"]}),
            opportunities=base_opportunities(3),
        )


def test_filter_that_keeps_nothing_is_structural(tmp_path):
    with pytest.raises(DataError, match=r"no row is left after the team's filters.*'DE'"):
        _load(
            tmp_path,
            params=make_params(filters={"region": ["XX"]}),
            opportunities=base_opportunities(3),
        )


# --------------------------------------------------------------------------- rows


def test_duplicate_keys_keep_the_first(tmp_path):
    rows = base_opportunities(4) + [opp("O1", "2026-01-01", "2026-01-05", "won", 99)]
    res = _load(tmp_path, opportunities=rows)
    o = res.tables.opportunities
    assert len(o) == 4 and o.loc[o["opportunity_id"] == "O1", "amount"].item() == 2000.0
    issues = _issues(res, "opportunities")
    assert issues.loc["duplicate opportunity_id (first row kept)", "count"] == 1
    assert issues.loc["duplicate opportunity_id (first row kept)", "example_rows"] == "6"


def test_close_before_created_and_negative_amount_are_dropped(tmp_path):
    rows = base_opportunities(4)
    rows[1]["close_date"] = "2025-12-31"  # created 2026-02-01
    rows[2]["amount"] = "-5"
    res = _load(tmp_path, opportunities=rows)
    assert res.tables.opportunities["opportunity_id"].tolist() == ["O0", "O3"]
    issues = _issues(res, "opportunities")
    assert issues.loc["close_date before created_date", "example_rows"] == "3"
    assert issues.loc["negative amount", "example_rows"] == "4"
    assert set(issues["action"]) == {"dropped"}


def test_unknown_status_dropped_and_case_normalised_status_repaired(tmp_path):
    rows = base_opportunities(6)
    rows[0]["status"] = " Won "
    rows[1]["status"] = "pending"
    res = _load(tmp_path, opportunities=rows)
    o = res.tables.opportunities
    assert o["status"].tolist() == ["won", "won", "open", "won", "lost"]
    issues = _issues(res, "opportunities")
    assert issues.loc["unknown status (e.g. 'pending')", ["action", "example_rows"]].tolist() == [
        "dropped",
        "3",
    ]
    assert issues.loc[
        "status normalised (lower case, no extra spaces)", ["action", "example_rows"]
    ].tolist() == [
        "repaired",
        "2",
    ]


def test_unparseable_required_value_in_a_minority_is_dropped(tmp_path):
    rows = base_opportunities(4)
    rows[3]["close_date"] = "soon"
    rows[2]["region"] = ""
    res = _load(tmp_path, opportunities=rows)
    assert res.tables.opportunities["opportunity_id"].tolist() == ["O0", "O1"]
    issues = _issues(res, "opportunities")
    assert issues.loc["close_date is not a date (e.g. 'soon')", "example_rows"] == "5"
    assert issues.loc["region is empty", "example_rows"] == "4"


def test_unparseable_optional_values_are_cleared_and_counted(tmp_path):
    rows = base_opportunities(4)
    rows[0]["contract_months"] = "twelve"
    rows[1]["contract_months"] = "24"
    rows[2]["type"] = "upsell"
    rows[3]["type"] = "New Business"
    res = _load(tmp_path, opportunities=rows)
    o = res.tables.opportunities
    assert o["contract_months"].isna().tolist() == [True, False, True, True]
    assert o["type"].isna().tolist() == [True, True, True, False]
    assert o["type"].iloc[3] == "new_business"
    issues = _issues(res, "opportunities")
    assert (
        issues.loc["contract_months not a whole number, cleared (e.g. 'twelve')", "action"]
        == "repaired"
    )
    assert (
        issues.loc[
            "type outside new_business, expansion, renewal, cleared (e.g. 'upsell')", "example_rows"
        ]
        == "4"
    )


def test_probability_on_percent_scale_is_divided(tmp_path):
    rows = base_opportunities(3)
    for r, p in zip(rows, ["10", "55", "0"], strict=True):
        r["probability"] = p
    res = _load(
        tmp_path, params=make_params(), opportunities=rows
    )  # default 5% threshold: not bad rows
    assert res.tables.opportunities["probability"].tolist() == [0.10, 0.55, 0.0]
    assert (
        _issues(res, "opportunities").loc["probability on a 0-100 scale, divided by 100", "count"]
        == 2
    )


def test_probability_outside_range_is_cleared(tmp_path):
    rows = base_opportunities(4)
    for r, p in zip(rows, ["0.2", "1.5", "-0.1", "0.3"], strict=True):
        r["probability"] = p
    res = _load(tmp_path, opportunities=rows)  # 2 bad of 4 rows: at the 50% limit
    assert res.tables.opportunities["probability"].isna().tolist() == [False, True, True, False]
    assert (
        _issues(res, "opportunities").loc["probability outside 0-1, cleared", "example_rows"]
        == "3, 4"
    )


def test_orphans_dropped_in_stage_history_and_flagged_elsewhere(tmp_path):
    opps = base_opportunities(2)
    opps[1]["owner_id"] = "R9"
    hist = [
        {"opportunity_id": "O0", "stage": "Proposal", "entered_date": "2026-01-02"},
        {"opportunity_id": "GHOST", "stage": "Proposal", "entered_date": "2026-01-02"},
    ]
    acts = [
        {"activity_id": "A1", "rep_id": "R1", "timestamp": "2026-01-02T10:00:00", "type": "call"},
        {"activity_id": "A2", "rep_id": "R7", "timestamp": "2026-01-02T10:00:00", "type": "email"},
    ]
    res = _load(tmp_path, opportunities=opps, stage_history=hist, activities=acts, reps=REPS)
    assert res.tables.stage_history["opportunity_id"].tolist() == ["O0"]
    assert len(res.tables.activities) == 2 and len(res.tables.opportunities) == 2
    q = res.quality.to_frame().set_index(["table", "reason"])
    assert (
        q.loc[
            ("stage_history", "opportunity_id not in opportunities.csv (opportunity_id)"), "action"
        ]
        == "dropped"
    )
    assert q.loc[
        ("opportunities", "owner_id not in reps.csv (rep_id)"), ["action", "example_rows"]
    ].tolist() == ["flagged", "3"]
    assert q.loc[
        ("activities", "rep_id not in reps.csv (rep_id)"), ["action", "example_rows"]
    ].tolist() == ["flagged", "3"]


def test_too_many_bad_rows_stop_the_run_with_counts_by_reason(tmp_path):
    rows = base_opportunities(20)
    rows[3]["amount"] = "-1"
    rows[7]["amount"] = "-2"
    rows.append(dict(rows[0]))
    # 3 bad of 21 rows = 14.3% > 5%
    with pytest.raises(DataError) as err:
        _load(tmp_path, params=make_params(), opportunities=rows)
    assert str(err.value) == (
        "opportunities.csv: 3 of 21 rows (14.3%) are bad, more than thresholds.bad_row_share = 5% "
        "and thresholds.bad_rows_floor = 2: "
        "dropped 1 duplicate opportunity_id (first row kept) (rows 22); dropped 2 negative amount "
        "(rows 5, 9). Clean the export or raise thresholds.bad_row_share in params/t.yaml."
    )


def test_bad_rows_under_the_threshold_pass(tmp_path):
    rows = base_opportunities(20)
    rows[3]["amount"] = "-1"  # 1 of 20 = 5%, not more than 5%
    res = _load(tmp_path, params=make_params(), opportunities=rows)
    assert len(res.tables.opportunities) == 19


def test_strict_stops_at_any_bad_row(tmp_path):
    rows = base_opportunities(20)
    rows[3]["amount"] = "-1"
    with pytest.raises(DataError) as err:
        _load(tmp_path, params=make_params(), strict=True, opportunities=rows)
    assert (
        "1 of 20 rows (5.0%) are bad, strict mode allows none: dropped 1 negative amount (rows 5)"
        in str(err.value)
    )
    assert "Clean the export or run without --strict" in str(err.value)


def test_strict_allows_formatting_repairs(tmp_path):
    rows = base_opportunities(4)
    rows[0]["status"] = "WON"
    res = _load(tmp_path, params=make_params(), strict=True, opportunities=rows)
    assert res.tables.opportunities["status"].iloc[0] == "won"


# --------------------------------------------------------------------------- filters


def test_filters_keep_team_rows_and_linked_tables_follow(tmp_path):
    opps = base_opportunities(4)
    opps[1]["region"] = opps[3]["region"] = "UK"
    opps[1]["owner_id"] = opps[3]["owner_id"] = "R2"
    hist = [
        {"opportunity_id": "O0", "stage": "Proposal", "entered_date": "2026-01-02"},
        {"opportunity_id": "O1", "stage": "Proposal", "entered_date": "2026-02-02"},
    ]
    acts = [
        {"activity_id": "A1", "rep_id": "R1", "timestamp": "2026-01-02T10:00", "type": "call"},
        {"activity_id": "A2", "rep_id": "R2", "timestamp": "2026-01-02T10:00", "type": "call"},
        {
            "activity_id": "A3",
            "rep_id": "R2",
            "timestamp": "2026-01-02T10:00",
            "type": "call",
            "opportunity_id": "O0",
        },
    ]
    targets = [
        {"period": "2026", "metric": "revenue", "value": "100", "region": ""},
        {"period": "2026", "metric": "revenue", "value": "60", "region": "DE"},
        {"period": "2026", "metric": "revenue", "value": "40", "region": "UK"},
    ]
    params = make_params(filters={"region": ["DE"]})
    res = _load(
        tmp_path,
        params=params,
        opportunities=opps,
        stage_history=hist,
        activities=acts,
        reps=REPS,
        targets=targets,
    )
    t = res.tables
    assert t.opportunities["opportunity_id"].tolist() == ["O0", "O2"]
    assert t.reps["rep_id"].tolist() == ["R1"]
    assert t.stage_history["opportunity_id"].tolist() == ["O0"]
    assert t.activities["activity_id"].tolist() == ["A1", "A3"]  # A3: R2's, but on kept O0
    assert t.targets["value"].tolist() == [100.0, 60.0]
    q = res.quality.to_frame()
    filtered = q[q["action"] == "filtered"].set_index("table")["count"].to_dict()
    assert filtered == {
        "reps": 1,
        "opportunities": 2,
        "stage_history": 1,
        "activities": 1,
        "targets": 1,
    }
    # filtered rows are not bad: no owner flagged although R2 is out of the team
    assert not (q["action"] == "flagged").any()


# --------------------------------------------------------------------------- currency


def test_other_currencies_are_converted_with_fx_rates(tmp_path):
    rows = base_opportunities(3)  # amounts 1000, 2000, 3000
    rows[1]["currency"] = "GBP"
    rows[2]["currency"] = "eur"
    res = _load(tmp_path, params=make_params(fx_rates={"GBP": 1.17}), opportunities=rows)
    o = res.tables.opportunities
    assert o["amount"].tolist() == pytest.approx([1000.0, 2340.0, 3000.0])  # 2000 * 1.17
    assert o["currency"].tolist() == ["EUR"] * 3
    assert o["original_currency"].tolist() == ["EUR", "GBP", "EUR"]
    assert o["original_amount"].tolist() == [1000.0, 2000.0, 3000.0]
    conv = _issues(res, "opportunities").loc["amount converted from GBP at 1.17 EUR"]
    assert conv["action"] == "converted" and conv["count"] == 1


def test_summary_text_and_json_list_the_issues(tmp_path):
    rows = base_opportunities(4)
    rows[2]["amount"] = "-5"
    res = _load(tmp_path, opportunities=rows)
    text = res.quality.summary_text()
    assert "opportunities.csv: 4 rows read, 3 kept (1 dropped)" in text
    assert "negative amount (rows 4)" in text
    js = res.quality.to_json()
    assert js["issues"][0]["example_rows"] == [4] and js["issues"][0]["bad"] is True
    assert res.quality.rows().to_dict("records") == [
        {"table": "opportunities", "file": "opportunities.csv", "rows_read": 4, "rows_kept": 3}
    ]


def test_two_headers_mapped_onto_one_column_is_structural(tmp_path):
    rows = [dict(r, CloseDate=r["close_date"]) for r in base_opportunities(3)]
    params = make_params(data={"mapping": {"opportunities": {"CloseDate": "close_date"}}})
    with pytest.raises(DataError) as err:
        _load(tmp_path, params=params, opportunities=rows)
    assert str(err.value).startswith(
        "opportunities.csv: column 'close_date' appears twice after mapping (headers CloseDate, close_date)."
    )


def test_currency_without_rate_outside_the_team_is_no_error(tmp_path):
    rows = base_opportunities(3)
    rows[2]["region"], rows[2]["currency"] = "US", "USD"  # another team's row
    res = _load(tmp_path, params=make_params(filters={"region": ["DE"]}), opportunities=rows)
    assert len(res.tables.opportunities) == 2


def test_orders_without_region_follow_filtered_accounts_and_leads_filter(tmp_path):
    accounts = [{"account_id": "A1", "region": "DE"}, {"account_id": "A2", "region": "UK"}]
    orders = [
        {"order_id": "X1", "account_id": "A1", "order_date": "2026-01-05", "amount": "10"},
        {"order_id": "X2", "account_id": "A2", "order_date": "2026-01-05", "amount": "20"},
    ]
    leads = [
        {
            "lead_id": "L1",
            "created_date": "2026-01-01",
            "source": "web",
            "status": "New",
            "owner_id": "R1",
            "region": "DE",
        },
        {
            "lead_id": "L2",
            "created_date": "2026-01-01",
            "source": "web",
            "status": "new",
            "owner_id": "R1",
            "region": "UK",
        },
    ]
    res = _load(
        tmp_path,
        params=make_params(filters={"region": ["DE"]}),
        accounts=accounts,
        orders=orders,
        leads=leads,
    )
    assert res.tables.orders["order_id"].tolist() == ["X1"]
    assert res.tables.leads["lead_id"].tolist() == ["L1"]
    assert res.tables.leads["status"].tolist() == ["new"]  # lead status lower-cased
    reasons = _issues(res, "orders").index.tolist()
    assert reasons == ["not linked to a kept row (account_id of accounts)"]


def test_no_folder_and_no_path_uses_the_bundled_sample(tmp_path, monkeypatch):
    import salesreport.sample

    folder = make_folder(tmp_path, opportunities=base_opportunities(2))
    monkeypatch.setattr(salesreport.sample, "ensure_sample", lambda *a, **k: folder)
    res = load_tables(make_params(), None, MONTH)
    assert res.sources["_sample"] == str(folder)
    assert res.to_json()["sample"] == str(folder)
    assert set(res.to_json()["tables"]) == {"opportunities"}


def test_a_fix_names_the_parameters_file_the_run_read(tmp_path):
    """With ``--params FILE`` the advice names that file, not params/<team>.yaml."""
    from salesreport.params import load_params, params_source

    yaml_file = tmp_path / "elsewhere" / "team.yaml"
    yaml_file.parent.mkdir()
    yaml_file.write_text("team: solo\n", encoding="utf-8")
    params = load_params(params_file=yaml_file)
    assert params_source(params) == str(yaml_file)
    assert params_source(load_params("emea")) == "params/emea.yaml"
    rows = base_opportunities(2)
    rows[1]["currency"] = "GBP"
    with pytest.raises(DataError) as err:
        _load(tmp_path, params=params, opportunities=rows)
    assert f"Add the rates to {yaml_file}: fx_rates:" in str(err.value)


def test_a_target_for_a_metric_that_is_not_a_kpi_is_flagged_not_lost_in_silence(tmp_path):
    # a CRM's "quota" and a misspelt "revenu": no KPI reads them, so the data quality says
    # so (kept, not bad rows: the run goes on); the revenue target is used as before
    targets = [
        {"period": "2026", "metric": "revenue", "value": "1000"},
        {"period": "2026", "metric": "quota", "value": "900"},
        {"period": "2026-10", "metric": "Revenu", "value": "80"},
    ]
    res = _load(tmp_path, opportunities=base_opportunities(2), targets=targets)
    assert len(res.tables.targets) == 3
    issue = _issues(res, "targets").loc[
        "metric is not a KPI ('Revenu', 'quota'): the target is not used (every KPI is in "
        "docs/kpis.md)"
    ]
    assert (issue["action"], issue["count"], issue["example_rows"]) == ("flagged", 2, "3, 4")
    assert not res.quality.issues[-1].bad  # not a bad row: no threshold counts it
