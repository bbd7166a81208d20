"""The Makefile's targets as a user calls them (dry runs: nothing is built)."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_make_lab_passes_its_arguments_and_starts_as_root():
    out = _make("-n", "lab", "ARGS=--port 8890 --no-browser")
    line = out.stdout.strip().splitlines()[-1]
    assert "jupyter lab --notebook-dir=notebooks" in line and "--port 8890 --no-browser" in line
    # JupyterLab refuses root without --allow-root (containers run as root)
    assert ("--allow-root" in line) == (os.getuid() == 0)


def test_make_report_with_an_empty_team_says_so_and_builds_nothing():
    out = _make("report", "TEAM=")
    assert out.returncode != 0
    assert "TEAM is empty: name a team, e.g. make report TEAM=emea" in out.stderr
    assert "emea" in out.stderr.split("teams:")[1]


def test_make_report_passes_allow_partial():
    out = _make("-n", "report", "TEAM=emea", "ALLOW_PARTIAL=1")
    assert '--team "emea"' in out.stdout and "--allow-partial" in out.stdout


def test_make_report_team_all_builds_every_team():
    out = _make("-n", "report", "TEAM=all")
    assert "salesreport report --all-teams" in out.stdout and "--team" not in out.stdout
    out = _make("-n", "report", "TEAM=emea")
    assert '--team "emea"' in out.stdout and "--all-teams" not in out.stdout
