"""The ``salesreport`` command exits at once with main()'s status, output and atexit kept."""

from __future__ import annotations

import subprocess
import sys

CODE = (
    "import atexit\n"
    "from salesreport.cli import run\n"
    "atexit.register(print, 'atexit ran')\n"
    "run({argv!r})\n"
    "print('never reached')\n"
)


def _run(argv: list[str]) -> subprocess.CompletedProcess:
    code = CODE.format(argv=argv)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_run_exits_with_mains_status_after_flushing_output_and_running_atexit():
    done = _run(["teams"])
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert "emea\tEMEA\tEUR\tEurope/Berlin" in lines
    assert lines[-1] == "atexit ran"  # handlers still run, after the command's output
    assert "never reached" not in done.stdout


def test_run_exits_with_the_error_status_and_message():
    done = _run(["report", "--team", "../x"])
    assert done.returncode == 2  # a parameters error
    assert "team name '../x' is not allowed" in done.stderr
    assert done.stdout.splitlines()[-1] == "atexit ran"
