"""Every team in one command: ``salesreport report --all-teams`` (``make report TEAM=all``)."""

from __future__ import annotations

import re
import shutil

from tests.conftest import REPORT_MONTH, _project, page_words, run_cli


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
    assert "1 of 3 teams failed (na) in " in r.stderr
    ok = [line for line in r.stdout.splitlines() if line.endswith("index.html")]
    assert [line.split(":")[0] for line in ok] == ["apac", "emea"]
    for team in ("apac", "emea"):
        assert (root / "reports" / team / REPORT_MONTH / "executive.html").exists()
    assert (earlier / "index.html").read_text() == "earlier report"
    assert sorted(p.name for p in earlier.iterdir()) == ["index.html"]


def test_all_teams_refuses_team_params_and_out():
    r = run_cli("report", "--all-teams", "--team", "emea")
    assert r.returncode == 2 and "drop --team" in r.stderr


def test_all_teams_share_workers_a_failing_page_fails_its_team_only(tmp_path, sample_dir):
    """The pages of every team run on the same workers, one kernel per audience reused from
    team to team (cleared between pages): each page shows its own team, and a page that
    fails (APAC's SDR page here) fails its team alone (exit 4) while the others publish."""
    import nbformat

    root = _project(tmp_path)
    for team in ("emea", "na", "apac"):
        p = root / "params" / f"{team}.yaml"
        p.write_text(p.read_text() + "audiences: [executive, sdr]\n")
    path = root / "notebooks" / "sdr.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(4, nbformat.v4.new_code_cell("if team == 'apac': raise RuntimeError('boom')"))
    nbformat.write(nb, path)

    r = run_cli(
        "report", "--all-teams", "--month", REPORT_MONTH, "--data", str(sample_dir),
        SALESREPORT_HOME=str(root),
    )  # fmt: skip

    assert r.returncode == 4, r.stdout + r.stderr
    assert "apac: FAILED (exit 4)" in r.stderr and "sdr.ipynb" in r.stderr and "boom" in r.stderr
    assert (root / "reports" / "apac" / ".failed" / REPORT_MONTH / "sdr.ipynb").exists()
    assert not (root / "reports" / "apac" / REPORT_MONTH).exists()
    titles = {"emea": "EMEA", "na": "North America"}
    for team, title in titles.items():
        out = root / "reports" / team / REPORT_MONTH
        for page in ("executive", "sdr"):
            html = (out / f"{page}.html").read_text()
            assert f"<title>{title} ·" in html, (team, page)
            if page == "executive":  # written by the notebook in the (reused) kernel
                assert f"{title} · Executive summary" in html, team
            other = next(t for k, t in titles.items() if k != team)
            assert f"<title>{other}" not in html and f"{other} · " not in html, (team, page)
        nbs = sorted(p.name for p in (out / "notebooks").iterdir())
        assert nbs == ["executive.ipynb", "sdr.ipynb"]


def _images(path) -> list[str]:
    """The charts of a page (their PNG data), in order."""
    return re.findall(r'<img[^>]+src="data:image/png;base64,([^"]+)"', path.read_text())


def test_all_teams_pages_equal_each_team_built_alone(tmp_path, sample_dir, built):
    """With --all-teams every page of every team runs on one kernel per worker, reused from
    page to page and team to team (cleared between pages): each page says the same words and
    draws the same charts as when its team is built alone, a page in a kernel of its own."""
    root = _project(tmp_path)
    r = run_cli(
        "report", "--all-teams", "--month", REPORT_MONTH, "--data", str(sample_dir),
        SALESREPORT_HOME=str(root),
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    for team in ("emea", "na", "apac"):
        alone = built[0] / "reports" / team / REPORT_MONTH
        shared = root / "reports" / team / REPORT_MONTH
        pages = sorted(p.name for p in alone.glob("*.html"))
        assert len(pages) >= 8 and pages == sorted(p.name for p in shared.glob("*.html"))
        assert sum(len(_images(alone / name)) for name in pages) >= 10  # charts to compare
        for name in pages:
            assert page_words(shared / name) == page_words(alone / name), (team, name)
            assert _images(shared / name) == _images(alone / name), (team, name)
        assert len(list((shared / "notebooks").glob("*.ipynb"))) == 6
