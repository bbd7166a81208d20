"""Team parameters: merging, the schema, safe team names, masking."""

from __future__ import annotations

import pytest

from salesreport.exceptions import ParameterError
from salesreport.params import (
    last_complete_month,
    list_teams,
    load_params,
    masked,
    parse_month,
    validate_params,
)


def test_every_configured_team_loads_and_overrides_defaults():
    assert set(list_teams()) >= {"emea", "na", "apac"}
    emea = load_params("emea")
    assert emea.currency == "EUR" and emea.timezone == "Europe/Berlin"
    assert emea.filters["region"] == ["DE", "UK", "FR", "NL", "ES"]
    na = load_params("na")
    assert na.fiscal_year_start_month == 2
    # a default the team file does not set comes from defaults.yaml
    assert na.thresholds.bad_row_share == 0.05


def test_a_file_holding_only_the_team_name_is_enough(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text("team: mine\n")
    p = load_params(params_file=f)
    assert p.team == "mine" and p.currency == "EUR" and p.forecast.horizon == 12


def test_unknown_key_is_an_error_with_did_you_mean(tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text("team: t\ncurrancy: USD\n")
    with pytest.raises(ParameterError) as e:
        load_params(params_file=f)
    assert "unknown setting 'currancy'" in str(e.value)
    assert "did you mean 'currency'" in str(e.value)


def test_unknown_nested_key_suggests_the_nested_name(tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text("team: t\nforecast:\n  horizn: 6\n")
    with pytest.raises(ParameterError) as e:
        load_params(params_file=f)
    assert "forecast.horizn" in str(e.value) and "did you mean 'horizon'" in str(e.value)


@pytest.mark.parametrize(
    "yaml_text, where",
    [
        ('targets:\n  - {metric: revenu, period: "2026", value: 100}\n', "targets.0.metric"),
        (
            "okrs:\n  - name: Grow\n    key_results:\n      - {name: Rev, metric: revenu, "
            "baseline: 0, target: 1}\n",
            "okrs.0.key_results.0.metric",
        ),
        ("benchmarks: {revenu: 100}\n", "benchmarks"),
    ],
    ids=["target", "key result", "benchmark"],
)
def test_a_misspelt_metric_is_an_error_with_did_you_mean(tmp_path, yaml_text, where):
    # a target for "revenu" used to be kept and never used: the report ran without it
    f = tmp_path / "t.yaml"
    f.write_text("team: t\n" + yaml_text)
    with pytest.raises(ParameterError) as e:
        load_params(params_file=f)
    assert (
        f"  - {where}: 'revenu' is not a KPI (did you mean 'revenue'? every KPI is listed in "
        "docs/kpis.md)" in str(e.value)
    )
    assert "Value error" not in str(e.value)


@pytest.mark.parametrize(
    "yaml_text, fragment",
    [
        ("team: t\nfiscal_year_start_month: 13\n", "fiscal_year_start_month"),
        ("team: t\ncurrency: euro\n", "ISO 4217"),
        ("team: t\ntimezone: Mars/Base\n", "unknown time zone"),
        ("team: t\nforecast: {horizon: zero}\n", "forecast.horizon"),
        ("team: t\nstage_probabilities: {Won: 1.5}\n", "[0, 1]"),
    ],
)
def test_bad_types_and_ranges_are_reported(tmp_path, yaml_text, fragment):
    f = tmp_path / "t.yaml"
    f.write_text(yaml_text)
    with pytest.raises(ParameterError) as e:
        load_params(params_file=f)
    assert fragment in str(e.value)


@pytest.mark.parametrize("team", ["../x", "/etc", "..", "a/b", "EMEA", "a b", "x\\y"])
def test_team_names_that_could_climb_out_are_refused(team):
    with pytest.raises(ParameterError, match="not allowed"):
        load_params(team)
    with pytest.raises(ParameterError):
        validate_params({"team": team})


def test_an_empty_team_says_it_is_empty_and_names_the_teams():
    with pytest.raises(ParameterError, match="the team is empty: name a team.*emea"):
        load_params("")
    with pytest.raises(ParameterError):
        validate_params({"team": ""})


def test_a_mistyped_team_offers_the_closest_configured_one():
    with pytest.raises(
        ParameterError, match="no parameters for team 'emae' \\(did you mean 'emea'\\?\\)"
    ):
        load_params("emae")


@pytest.mark.parametrize(
    ("month", "message"),
    [
        ("2026-13", "there is no month 13 \\(months run from 01 to 12\\)"),
        ("2026-00", "there is no month 0 "),
        ("Oct 2026", "must look like 2026-10"),
    ],
)
def test_a_month_that_does_not_exist_says_why(month, message):
    from salesreport.params import parse_month

    with pytest.raises(ParameterError, match=message):
        parse_month(month)


def test_a_month_not_over_is_refused_unless_partial_and_a_later_one_always():
    from datetime import date

    from salesreport.params import check_report_month, month_is_partial

    day = date(2026, 12, 5)  # the last complete month is November
    assert check_report_month("2026-11", day=day) is False
    assert check_report_month("2020-01", day=day) is False
    with pytest.raises(
        ParameterError,
        match="2026-12 is not over yet: the last complete month is 2026-11.*--allow-partial",
    ):
        check_report_month("2026-12", day=day)
    assert check_report_month("2026-12", allow_partial=True, day=day) is True
    for later in ("2027-01", "2027-03"):
        with pytest.raises(
            ParameterError, match=f"{later} has not begun: the last complete month is 2026-11"
        ):
            check_report_month(later, allow_partial=True, day=day)
    assert month_is_partial("2026-12", day) and not month_is_partial("2026-11", day)
    # on the first of a month the month before is complete
    assert check_report_month("2026-11", day=date(2026, 12, 1)) is False


def test_today_can_be_fixed_to_reproduce_a_run(monkeypatch):
    from datetime import date

    from salesreport.params import last_complete_month, today

    monkeypatch.setenv("SALESREPORT_TODAY", "2027-03-15")
    assert today() == date(2027, 3, 15) and last_complete_month() == "2027-02"


def test_missing_team_file_names_the_configured_teams():
    with pytest.raises(ParameterError) as e:
        load_params("nosuchteam")
    assert "params/nosuchteam.yaml" in str(e.value) and "emea" in str(e.value)


def test_yaml_dates_stay_text_and_months_are_parsed_in_one_place(tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text("team: t\ntargets:\n  - {metric: revenue, period: 2026-10, value: 5}\n")
    p = load_params(params_file=f)
    assert p.targets[0].period == "2026-10"
    assert parse_month("2026-10") == (2026, 10)
    with pytest.raises(ParameterError, match="YYYY-MM"):
        parse_month("2026-13")
    from datetime import date

    assert last_complete_month(date(2026, 1, 15)) == "2025-12"
    assert last_complete_month(date(2026, 11, 25)) == "2026-10"


def test_secrets_from_the_environment_are_masked(monkeypatch):
    """A value equal to a secret the environment holds (the SQL source's or the engine's URL)
    is masked wherever parameters are echoed; other values are kept."""
    monkeypatch.setenv("CRM_URL", "postgresql://user:hunter2@db/crm")
    monkeypatch.setenv("ENGINE_URL", "postgresql://user:s3cr3t@wh/sales\n")  # the URL is
    # used without the line end: masked as used
    p = validate_params(
        {
            "team": "t",
            # a user pasted the URLs where YAML takes text: they must not be echoed
            "display_name": "postgresql://user:hunter2@db/crm",
            "data": {"sql": {"url_env": "CRM_URL", "tables": {"orders": "orders"}}},
            "engine": {"kind": "postgres", "url_env": "ENGINE_URL"},
            "filters": {"region": ["postgresql://user:s3cr3t@wh/sales", "DE"]},
        }
    )
    data = masked(p)
    assert data["display_name"] == "***" and data["filters"]["region"] == ["***", "DE"]
    assert data["data"]["sql"]["url_env"] == "CRM_URL" and data["engine"]["url_env"] == "ENGINE_URL"
    assert "hunter2" not in str(data) and "s3cr3t" not in str(data)


def test_a_removed_setting_says_what_replaces_it(tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text("team: t\nokr_bands: {green: 0.7, yellow: 0.4}\n")
    with pytest.raises(ParameterError, match="okr_bands' is no longer a setting.*rag"):
        load_params(params_file=p)


@pytest.mark.parametrize(
    "settings, says",
    [
        (
            {"data": {"sql": {"tables": {"orders": "crm.orders"}}}},
            "data.sql needs url_env: the name of the environment variable holding the database URL",
        ),
        (
            {"data": {"sql": {"tables": {"orders": "crm.orders"}}}, "engine": "postgres"},
            "data.sql needs url_env",
        ),
        (
            {"data": {"sql": {"tables": {}}}, "engine": "spark"},
            "reads data.sql.tables from Spark's catalog, and names none",
        ),
    ],
)
def test_a_sql_source_without_url_env_is_sparks_catalog_and_needs_engine_spark(settings, says):
    with pytest.raises(ParameterError) as err:
        validate_params({"team": "t", **settings})
    assert says in str(err.value), str(err.value)
    ok = validate_params(
        {"team": "t", "data": {"sql": {"tables": {"orders": "crm.orders"}}}, "engine": "spark"}
    )
    assert ok.data.sql.url_env is None and ok.engine.kind == "spark"
