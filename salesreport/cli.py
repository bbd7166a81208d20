"""The ``salesreport`` command line.

Exit codes: 0 success · 1 unexpected error (a bug: run again with --debug and
report it) · 2 bad usage or parameters · 3 bad data · 4 a notebook failed ·
5 publishing failed · 6 another run for the same team and month holds the lock ·
130 interrupted.
"""

from __future__ import annotations

import argparse
import atexit
import os
import sys
import time
import traceback
from typing import NoReturn

from salesreport.exceptions import INTERRUPTED, SalesReportError, watch_interrupts


def _common(p: argparse.ArgumentParser, data: bool = True) -> None:
    p.add_argument("--team", help="team name, as in params/<team>.yaml (e.g. emea)")
    p.add_argument(
        "--params",
        dest="params_file",
        metavar="FILE",
        help="a parameters YAML file anywhere on disk instead of params/<team>.yaml",
    )
    if data:
        p.add_argument(
            "--data",
            metavar="DIR",
            help="folder holding NAME.csv/.parquet/.xlsx; with engine spark also a URI such as "
            "hdfs://... or s3a://... (default: the team's source, else the bundled sample)",
        )
    p.add_argument(
        "--month", metavar="YYYY-MM", help="report month (default: the last complete month)"
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="salesreport",
        description="Monthly sales reports: KPIs against targets and OKRs, cohorts, trends and tracked forecasts.",
        epilog=(
            "exit codes: 0 ok, 1 unexpected error, 2 bad parameters, 3 bad data, 4 notebook failed, "
            "5 publishing failed, 6 another run holds the lock, 130 interrupted"
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True)

    rep = sub.add_parser(
        "report",
        help="build a team's monthly report",
        description="Build one team's monthly report under reports/<team>/<YYYY-MM>/ (or --out).",
    )
    _common(rep)
    rep.add_argument(
        "--out",
        metavar="DIR",
        help="publish into DIR instead of reports/<team>/<YYYY-MM>/ (the forecast ledger is "
        "kept in DIR too)",
    )
    rep.add_argument(
        "--strict",
        action="store_true",
        help="stop on any bad row instead of dropping or repairing it",
    )
    rep.add_argument(
        "--allow-partial",
        action="store_true",
        help="build the current month, which is not over, to date (labelled 'month to date'; "
        "its forecast is not recorded in the ledger)",
    )
    rep.add_argument(
        "--all-teams",
        action="store_true",
        help="build every team in params/ (one failing does not stop the others; the exit "
        "code is the first failed team's)",
    )
    rep.add_argument("--workers", type=int, help="notebooks run at once (default from YAML: 2)")
    rep.add_argument("--quiet", action="store_true", help="print only errors")

    val = sub.add_parser(
        "validate",
        help="load and check a team's data; build nothing",
        description="Load and validate a team's data and print the data-quality summary.",
    )
    _common(val)
    val.add_argument("--strict", action="store_true", help="fail on any bad row")

    sam = sub.add_parser(
        "sample-data",
        help="write the bundled sample data to a folder",
        description="Write the seeded sample organisation (EMEA, NA, APAC) as CSV files.",
    )
    sam.add_argument("folder", help="output folder")
    sam.add_argument(
        "--month",
        metavar="YYYY-MM",
        help="last month of the sample (default: the last complete month)",
    )
    sam.add_argument("--seed", type=int, default=7)
    sam.add_argument(
        "--scale", type=float, default=1.0, help="volume multiplier (10 and 100 for benchmarks)"
    )
    sam.add_argument("--format", choices=["csv", "parquet"], default="csv")
    sam.add_argument("--debug", action="store_true")

    teams = sub.add_parser(
        "teams", help="list configured teams", description="List the teams configured in params/."
    )
    teams.add_argument("--debug", action="store_true")
    return parser


def _cmd_report(a) -> int:
    from salesreport.pipeline import Progress, run_report

    common = {
        "month": a.month,
        "data": a.data,
        "strict": a.strict,
        "workers": a.workers,
        "progress": Progress(quiet=True if a.quiet else None),
        "allow_partial": a.allow_partial,
    }
    if a.all_teams:
        return _report_all_teams(a, common)
    result = run_report(team=a.team, params_file=a.params_file, out=a.out, **common)
    print(result.out_dir / "index.html")
    return 0


def _report_all_teams(a, common: dict) -> int:
    """``report --all-teams``: every team, then one line each; exit 0 when all published,
    else the exit code of the first team that failed."""
    from salesreport.exceptions import ParameterError
    from salesreport.pipeline import run_all_teams

    clash = [f for f, v in (("--team", a.team), ("--params", a.params_file), ("--out", a.out)) if v]
    if clash:
        raise ParameterError(
            f"--all-teams builds every team in params/ into reports/: drop {' and '.join(clash)}"
        )
    t0 = time.perf_counter()
    outcomes = run_all_teams(**common)
    failed = [o for o in outcomes if o.exit_code]
    for o in outcomes:
        if o.exit_code:
            print(f"{o.team}: FAILED (exit {o.exit_code}): {o.error}", file=sys.stderr)
        else:
            print(f"{o.team}: {o.out_dir / 'index.html'}")
    took = f"in {time.perf_counter() - t0:.0f} s"
    if failed:
        print(
            f"salesreport: {len(failed)} of {len(outcomes)} teams failed "
            f"({', '.join(o.team for o in failed)}) {took}; their earlier reports are unchanged.",
            file=sys.stderr,
        )
        return failed[0].exit_code
    print(f"salesreport: {len(outcomes)} teams built {took}", file=sys.stderr)
    return 0


def _cmd_validate(a) -> int:
    from salesreport.data import load_tables
    from salesreport.params import last_complete_month, load_params, parse_month

    params = load_params(a.team, a.params_file)
    month = a.month or last_complete_month()
    parse_month(month)
    loaded = load_tables(
        params, a.data, month, strict=a.strict or params.strict,
        progress=lambda text: print(f"    {text} ...", file=sys.stderr, flush=True),
    )  # fmt: skip
    print(f"Team {params.team}, month {month}: data is usable.")
    print(loaded.quality.summary_text())
    return 0


#: the file ``sample-data`` leaves in a folder it wrote: its table files may be written again
SAMPLE_MARK = ".salesreport-sample"


def _cmd_sample(a) -> int:
    from pathlib import Path

    from salesreport.data.read import find_table_files
    from salesreport.exceptions import ParameterError
    from salesreport.sample import write_sample

    target = Path(a.folder)
    if target.is_dir() and not (target / SAMPLE_MARK).exists():
        # a folder of the user's own exports (the files a report would read there): the
        # sample would overwrite them
        found, _ = find_table_files(target)
        held = sorted(f.name for files in found.values() for f in files)
        if held:
            raise ParameterError(
                f"{target} already holds {', '.join(held[:5])}"
                f"{' and more' if len(held) > 5 else ''}, which sample-data did not write: the "
                "sample would overwrite them. Give a new or empty folder; nothing was written."
            )
    folder = write_sample(a.folder, end_month=a.month, seed=a.seed, scale=a.scale, fmt=a.format)
    (folder / SAMPLE_MARK).write_text("written by salesreport sample-data\n", encoding="utf-8")
    print(f"Sample data written to {folder}")
    return 0


def _cmd_teams(a) -> int:
    from salesreport.params import list_teams, load_params

    for t in list_teams():
        p = load_params(t)
        print(f"{t}\t{p.title}\t{p.currency}\t{p.timezone}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {
        "report": _cmd_report,
        "validate": _cmd_validate,
        "sample-data": _cmd_sample,
        "teams": _cmd_teams,
    }
    try:
        with watch_interrupts():
            return commands[args.command](args)
    except KeyboardInterrupt:
        return _interrupted()
    except Exception as exc:  # noqa: BLE001 - each kind gets its line (_failed)
        # Ctrl-C while DuckDB ran a query surfaces as its "Query interrupted" error
        return _interrupted() if INTERRUPTED.is_set() else _failed(args, exc)


def _interrupted() -> int:
    print("salesreport: interrupted; nothing was published.", file=sys.stderr)
    return 130


def _failed(args, exc: Exception) -> int:
    """The exit code of ``exc``, after its message (and its traceback with ``--debug``)."""
    debug = getattr(args, "debug", False)
    if not isinstance(exc, SalesReportError):  # last resort: a clear line
        if debug:
            traceback.print_exception(exc)
        else:
            print(
                f"salesreport: unexpected error: {type(exc).__name__}: {exc}\n"
                "Run again with --debug for the traceback, and please report it.",
                file=sys.stderr,
            )
        return 1
    if debug:
        traceback.print_exception(exc)
    kind = {
        2: "parameters",
        3: "data",
        4: "notebook",
        5: "publish",
        6: "locked",
    }.get(exc.exit_code, "error")
    print(f"salesreport: {kind} error: {exc}", file=sys.stderr)
    kept = getattr(exc, "kept", "")
    if kept:
        print(f"salesreport: the executed notebook is kept at {kept}", file=sys.stderr)
    if exc.exit_code in (3, 4, 5):
        print(
            "salesreport: nothing was published; earlier reports are unchanged.",
            file=sys.stderr,
        )
    return exc.exit_code


def run(argv: list[str] | None = None) -> NoReturn:
    """The ``salesreport`` command: :func:`main`, then exit at once with its status.

    The interpreter's usual teardown frees every module and object one by one: after a
    report that is half a second (scipy, statsmodels and the run's tables) spent after the
    report is published and the lock released. The ``atexit`` handlers still run (log
    handlers are flushed, for instance) and the output is flushed; only that freeing is
    skipped, which the operating system does at once.
    """
    code = main(argv)
    atexit._run_exitfuncs()  # noqa: SLF001 - what a normal exit runs, minus module teardown
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
