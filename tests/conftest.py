"""Shared fixtures. The sample organisation is generated once per session."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
REPORT_MONTH = "2026-10"

settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    """The bundled sample (all three teams) written once, ending in REPORT_MONTH."""
    from salesreport.sample import write_sample

    return write_sample(tmp_path_factory.mktemp("sample"), end_month=REPORT_MONTH)


@pytest.fixture()
def project(tmp_path, monkeypatch) -> Path:
    """A throw-away project root (params/, notebooks/, reports/) so tests never touch the real reports/."""
    root = _project(tmp_path)
    monkeypatch.setenv("SALESREPORT_HOME", str(root))
    return root


def _project(base: Path) -> Path:
    root = base / "project"
    (root / "reports").mkdir(parents=True)
    shutil.copytree(ROOT / "params", root / "params")
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    return root


@pytest.fixture(scope="session")
def built(tmp_path_factory, sample_dir, worker_id):
    """EMEA, NA and APAC built once on the sample, in a throw-away project root: once for the
    whole run, not once per worker (the first worker to ask builds it under a file lock, the
    others wait for it and read the same folder; none of the tests using it writes in it)."""
    import pickle

    from filelock import FileLock

    if worker_id == "master":  # not under xdist
        return _build_all(tmp_path_factory.mktemp("e2e"), sample_dir)
    shared = tmp_path_factory.getbasetemp().parent / "built-e2e"
    with FileLock(f"{shared}.lock"):
        done = shared / "results.pickle"
        if not done.exists():
            shared.mkdir(exist_ok=True)
            root, results = _build_all(shared, sample_dir)
            done.write_bytes(pickle.dumps((root, results)))
        return pickle.loads(done.read_bytes())


def _build_all(base: Path, sample_dir: Path):
    from salesreport.pipeline import Progress, run_report

    root = _project(base)
    mp = pytest.MonkeyPatch()
    mp.setenv("SALESREPORT_HOME", str(root))
    results = {}
    try:
        for team in ("emea", "na", "apac"):
            results[team] = run_report(
                team=team, month=REPORT_MONTH, data=str(sample_dir), progress=Progress(quiet=True)
            )
    finally:
        mp.undo()
    return root, results


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    """``python -m salesreport ARGS`` as a user runs it (CI set, extra environment variables)."""
    return subprocess.run(
        [sys.executable, "-m", "salesreport", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "CI": "1", **env},
        timeout=600,
    )


def modules_loaded(code: str, watched: tuple[str, ...]) -> list[str]:
    """Which of ``watched`` a fresh interpreter has imported after running ``code`` (which
    may assert what it computes): what a process pays for at start."""
    probe = f"{code}\nimport sys\nprint(sorted(m for m in {watched!r} if m in sys.modules))\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    import ast

    return ast.literal_eval(out.stdout.strip().splitlines()[-1])


def page_words(path) -> list[str]:
    """The text a reader sees on a page, line by line, without the time it was generated,
    and a table's source named alike (``reps.csv`` from a folder, ``sql:reps`` from data.sql)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    for tag in soup(["script", "style"]):
        tag.decompose()
    lines = soup.get_text("\n", strip=True).splitlines()
    lines = [re.sub(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC", "generated", t) for t in lines]
    return [re.sub(r"\bsql:(\w+)|\b(\w+)\.csv\b", r"\1\2", t) for t in lines]
