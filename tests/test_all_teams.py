"""Every team in one command: ``salesreport report --all-teams`` (``make report TEAM=all``)."""

from __future__ import annotations

import shutil

from tests.conftest import REPORT_MONTH, _project, run_cli


def test_all_teams_exit_code_and_summary_name_the_failed_team(tmp_path, sample_dir):
    root = _project(tmp_path)
    for team in ("emea", "na", "apac"):
        p = root / "params" / f"{team}.yaml"
        p.write_text(p.read_text() + "audiences: [executive]\n")
    # NA's team filter names a column that does not exist: a data error for NA only
    data = tmp_path / "data"
    shutil.copytree(sample_dir, data)
    na = root / "params" / "na.yaml"
    na.write_text(na.read_text().replace("filters:", "filters:\n  no_such_column: [x]", 1))
    earlier = root / "reports" / "na" / REPORT_MONTH
    earlier.mkdir(parents=True)
    (earlier / "index.html").write_text("earlier report")

    r = run_cli(
        "report", "--all-teams", "--month", REPORT_MONTH, "--data", str(data),
        SALESREPORT_HOME=str(root),
    )  # fmt: skip

    assert r.returncode == 3, r.stdout + r.stderr
    assert "na: FAILED (exit 3)" in r.stderr and "no_such_column" in r.stderr
    assert "1 of 3 teams failed (na)" in r.stderr
    ok = [line for line in r.stdout.splitlines() if line.endswith(" s)")]
    assert [line.split(":")[0] for line in ok] == ["apac", "emea"]
    for team in ("apac", "emea"):
        assert (root / "reports" / team / REPORT_MONTH / "executive.html").exists()
    assert (earlier / "index.html").read_text() == "earlier report"
    assert sorted(p.name for p in earlier.iterdir()) == ["index.html"]


def test_all_teams_refuses_team_params_and_out():
    r = run_cli("report", "--all-teams", "--team", "emea")
    assert r.returncode == 2 and "drop --team" in r.stderr
