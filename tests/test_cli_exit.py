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


def _query_interrupted(_args) -> int:
    """Ctrl-C while a DuckDB query runs, as DuckDB reports it: the ``KeyboardInterrupt`` the
    signal raises is swallowed and ``RuntimeError("Query interrupted")`` raised instead
    (duckdb 1.5; whether DuckDB polls for the signal depends on the process, so the test
    raises what it raises rather than waiting for it)."""
    import os
    import signal
    import time

    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(30)  # the handler raises KeyboardInterrupt here
    except KeyboardInterrupt:
        raise RuntimeError("Query interrupted") from None
    return 0


def _query_interrupted_worded_as_bad_data(args) -> int:
    from salesreport.exceptions import DataError

    try:
        return _query_interrupted(args)
    except RuntimeError as exc:  # as a loader words an engine's error about a file
        raise DataError(f"opportunities.csv: could not be read: {exc}") from exc


def test_ctrl_c_while_duckdb_runs_a_query_is_an_interrupt(monkeypatch, capsys):
    """The command exits 130 (interrupted, nothing published), not 1 ("unexpected error")
    nor 3 (a data error), and Ctrl-C is handled as before once the command is over."""
    import signal

    from salesreport import cli

    # Python's own handler, as a foreground job has it (pytest may run in the background of
    # a script, where SIGINT is ignored)
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        for command in (_query_interrupted, _query_interrupted_worded_as_bad_data):
            monkeypatch.setattr(cli, "_cmd_teams", command)
            assert cli.main(["teams"]) == 130
            err = capsys.readouterr().err
            assert "interrupted; nothing was published" in err, err
            assert "unexpected" not in err and "data error" not in err
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, before)


def test_a_command_started_with_ctrl_c_ignored_keeps_ignoring_it(monkeypatch):
    """A shell starts a background job with SIGINT ignored; the command does not take it
    back (a Ctrl-C meant for the foreground job never stops a background report)."""
    import signal

    from salesreport import cli

    seen = []
    monkeypatch.setattr(
        cli, "_cmd_teams", lambda args: seen.append(signal.getsignal(signal.SIGINT)) or 0
    )
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert cli.main(["teams"]) == 0
        assert seen == [signal.SIG_IGN] and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)
