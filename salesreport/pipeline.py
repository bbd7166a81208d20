"""The monthly report run: parameters -> data -> numbers -> notebooks -> HTML -> publish.

The month's folder is built beside its final place and renamed into it only
when every step has succeeded, so ``reports/<team>/<YYYY-MM>/`` appears whole
or not at all; a failed run leaves the previous report byte-identical and keeps
its executed notebooks under ``reports/<team>/.failed/<YYYY-MM>/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from salesreport.exceptions import (
    INTERRUPTED,
    LockedError,
    NotebookError,
    ParameterError,
    PublishError,
    SalesReportError,
)
from salesreport.execute import claimed_by
from salesreport.jobs import DEFINITIONS_PAGE, NotebookJob, PageLink
from salesreport.params import (
    TeamParams,
    check_report_month,
    check_team_name,
    last_complete_month,
    load_params,
    masked,
    params_source,
    parse_month,
    project_root,
    today,
)

if TYPE_CHECKING:  # pandas is imported where it is used: the workers start before it loads
    import pandas as pd

#: the forecast ledger's file name (reports/<team>/, or the --out folder)
LEDGER_FILE = "forecast_ledger.csv"
FILES_WHAT = {
    "kpis.csv": "every KPI by window, month and segment, with target and prior year",
    "kpis.parquet": "the KPI rows, typed, for analysis tools (pandas, DuckDB, Spark)",
    "okrs.csv": "OKR key results and objectives with grades",
    "forecast.csv": "monthly revenue forecast of every candidate model, the one shown marked in the “selected” column",
    "forecast_accuracy.csv": "realised and backtest forecast accuracy, with summary rows",
    "forecast_targets.csv": "chance of reaching each open quarter's and year's revenue target, with the likely range",
    "forecast_changes.csv": "this month's forecast beside last month's, the change split into new actuals and model revisions",
    "cohorts.csv": "customer cohorts by month of first purchase",
    "run.json": "parameters, input fingerprints, row counts, versions and timings of this run",
    DEFINITIONS_PAGE: "how every KPI is defined (docs/kpis.md), for reading offline",
}


# --------------------------------------------------------------------------- progress


class Progress:
    """Step lines with their times on stderr; a bar over notebooks on a terminal; quiet in CI."""

    def __init__(self, quiet: bool | None = None, stream=None):
        self.stream = stream or sys.stderr
        self.tty = (
            hasattr(self.stream, "isatty") and self.stream.isatty() and not os.environ.get("CI")
        )
        self.quiet = bool(os.environ.get("CI")) if quiet is None else quiet
        self.timings: dict[str, float] = {}
        self.n = 0

    def say(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    def part(self, name: str) -> None:
        """A part of the current step starting, or how far it is (a long step says what it
        does: at 200 times the sample the KPIs take minutes)."""
        self.say(f"    {name} ...")

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.n += 1
        t0 = time.perf_counter()
        self.say(f"[{self.n}] {name} ...")
        try:
            yield
        finally:
            dt = time.perf_counter() - t0
            self.timings[name] = round(dt, 3)
        self.say(f"    {name}: done in {dt:.1f} s")


# --------------------------------------------------------------------------- paths


@dataclass
class RunPaths:
    reports_root: Path
    team_dir: Path
    out_dir: Path
    build_dir: Path
    failed_dir: Path
    lock_file: Path
    ledger: Path
    archive: Path | None

    @property
    def stage(self) -> Path:
        return self.build_dir / "out"

    @property
    def work(self) -> Path:
        return self.build_dir / "work"

    @property
    def ledger_written(self) -> Path:
        """Where the run records its forecasts: the ledger itself, or, for a ledger inside
        the report's folder (``--out DIR``), its copy in the folder being built (the old
        folder is replaced as a whole when the run publishes)."""
        if _inside(self.ledger, self.out_dir):
            return self.stage / self.ledger.resolve().relative_to(self.out_dir.resolve())
        return self.ledger


def _inside(child: Path, parent: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


def check_out_folder(out_dir: Path) -> None:
    """``--out DIR`` is a new folder, an empty one, or one a report was published to (its
    ``run.json`` names a team and a month): publishing replaces the folder whole (the old one
    is removed), so any other folder, a file or a symbolic link is refused before the run
    starts (:class:`ParameterError`, exit 2), and nothing there is touched. Without this,
    ``--out ~/Documents`` would have replaced the user's folder by the report."""
    if out_dir.is_symlink():
        raise ParameterError(
            f"--out {out_dir} is a symbolic link: refusing to write there. Give the folder itself."
        )
    if not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise ParameterError(
            f"--out {out_dir} is a file: a report is a folder. Give a new folder's path; the "
            "file was not touched."
        )
    held = sorted(p.name for p in out_dir.iterdir())
    if not held:
        return
    with contextlib.suppress(OSError, ValueError):
        run = json.loads((out_dir / "run.json").read_text("utf-8"))
        if isinstance(run, dict) and {"team", "month"} <= set(run):
            return  # a report published there before: replaced by this one
    shown = ", ".join(held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
    raise ParameterError(
        f"--out {out_dir} already holds other things ({shown}), and a run replaces the folder "
        "it publishes to whole. Give a new or empty folder, or one a report was published to "
        "before; nothing there was touched."
    )


def run_paths(params: TeamParams, month: str, out: str | Path | None = None) -> RunPaths:
    """Where a run writes. A team name can never lead outside ``reports/``."""
    team = check_team_name(params.team)
    root = project_root()
    reports_root = root / "reports"
    if out is None:
        team_dir = reports_root / team
        if team_dir.is_symlink() or (team_dir.exists() and not _inside(team_dir, reports_root)):
            raise ParameterError(
                f"{team_dir} is a symbolic link or points outside {reports_root}: refusing to write there. "
                "Remove the link; reports are written under reports/<team>/ only."
            )
        out_dir = team_dir / month
        if out_dir.is_symlink():
            raise ParameterError(
                f"{out_dir} is a symbolic link: refusing to write there. Remove it."
            )
        archive = reports_root / "index.html"
    else:
        out_dir = Path(out).absolute()
        check_out_folder(out_dir)
        team_dir = out_dir.parent
        archive = None
    # the team's ledger under reports/; with --out DIR, inside DIR (carried from the report
    # published there before, see RunPaths.ledger_written): a run with --out writes nothing
    # outside DIR but its temporary build folder, lock and failed notebooks beside it
    ledger = (
        Path(params.forecast.ledger_path)
        if params.forecast.ledger_path
        else (reports_root / team if out is None else out_dir) / LEDGER_FILE
    )
    if not ledger.is_absolute():
        ledger = root / ledger
    return RunPaths(
        reports_root=reports_root,
        team_dir=team_dir,
        out_dir=out_dir,
        build_dir=team_dir / f".build-{out_dir.name}-{os.getpid()}",
        failed_dir=team_dir / ".failed" / out_dir.name,
        lock_file=team_dir / f".{out_dir.name}.lock",
        ledger=ledger,
        archive=archive,
    )


# --------------------------------------------------------------------------- the run


@dataclass
class RunResult:
    out_dir: Path
    timings: dict[str, float] = field(default_factory=dict)
    pages: list[str] = field(default_factory=list)


def run_report(
    team: str | None = None,
    month: str | None = None,
    data: str | None = None,
    params_file: str | None = None,
    out: str | None = None,
    strict: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
    allow_partial: bool = False,
) -> RunResult:
    """Build one team's monthly report and publish it atomically. See shared/spec/outputs.md.

    A month that is not over is refused (:func:`salesreport.params.check_report_month`);
    with ``allow_partial`` the current month is built to date, labelled so on every page,
    and its forecast is not recorded in the ledger."""
    progress = progress or Progress()
    started = datetime.now(UTC)
    params, month, partial, paths = _check_run(
        team, params_file, month, out, strict, allow_partial, progress
    )
    lock = _lock(params, month, paths)
    try:
        return _run_locked(params, month, partial, data, paths, progress, workers, started)
    finally:
        # the lock file stays: removing it would let a run that opened it before the removal
        # and a run that creates a new one both hold "the" lock
        lock.release()


def _check_run(team, params_file, month, out, strict, allow_partial, progress: Progress):
    """The team's parameters, the month (refused when not over, unless ``allow_partial``),
    whether it is partial, and the run's paths."""
    with progress.step("Check parameters"):
        params = load_params(team, params_file)
        if strict:
            params = params.model_copy(update={"strict": True})
        month = month or last_complete_month()
        partial = check_report_month(month, allow_partial)
        paths = run_paths(params, month, out)
        paths.team_dir.mkdir(parents=True, exist_ok=True)
        _check_notebooks(params)
        from salesreport.backends import check_engine

        check_engine(params.engine, params_source(params))
    return params, month, partial, paths


def _lock(params, month: str, paths: RunPaths):
    """The team and month's run lock, held; :class:`LockedError` when another run has it."""
    from filelock import FileLock, Timeout

    lock = FileLock(str(paths.lock_file))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise LockedError(
            f"another report run for team {params.team!r}, month {month} is in progress "
            f"(lock {paths.lock_file}). Wait for it to finish and run again."
        ) from None
    return lock


@dataclass
class TeamOutcome:
    """One team's result in :func:`run_all_teams`: its report, or why it failed."""

    team: str
    exit_code: int  # 0: published; else the code a run of this team alone exits with
    out_dir: Path | None = None
    error: str = ""


def run_all_teams(
    month: str | None = None,
    data: str | None = None,
    strict: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
    allow_partial: bool = False,
) -> list[TeamOutcome]:
    """Every team in ``params/`` for the month, in one process and on shared workers.

    Every team is checked and locked and its pages prepared first; the workers start at once
    on the pages of every team, each worker running all its pages on one kernel (cleared
    between pages, as the per-AE pages are: :data:`SHARED_POOL`), so the libraries are
    imported once per worker for all teams; meanwhile the teams are loaded and computed one
    after the other (a database table that several teams read is queried once:
    :func:`shared_reads`), and
    each page starts as soon as its team's numbers are saved. A team with ``per_rep`` has its
    pages run after the others (its AE pages need its tables). A team that fails to load or
    compute is reported (its waiting pages stop at once, :data:`context.STOPPED_FILE`), a
    failing page fails its own team only; every other team is published as
    :func:`run_report` publishes it. Ctrl-C stops everything and publishes nothing more.
    """
    from salesreport.context import ContextWriter
    from salesreport.data.read import shared_reads
    from salesreport.data.remote import shared_copies
    from salesreport.forecast.process import forecast_process
    from salesreport.outputs import write_outputs
    from salesreport.params import list_teams

    progress = progress or Progress()
    teams = list_teams()
    if not teams:
        raise ParameterError(f"no team in {project_root() / 'params'}: add params/<team>.yaml")
    outcomes: dict[str, TeamOutcome] = {}
    builds: list[_TeamBuild] = []
    procs: list[subprocess.Popen] = []
    try:
        for team in teams:
            own = Progress(quiet=progress.quiet, stream=progress.stream)
            try:
                builds.append(_open_team(team, month, strict, allow_partial, own))
            except Exception as exc:  # noqa: BLE001 - one team's failure must not stop the others
                _raise_if_interrupted()
                outcomes[team] = _failed(team, exc)
        n = workers or max((b.params.workers for b in builds), default=2)
        # team by team (a worker never waits on a later team while an earlier one's pages
        # are ready), each team's pages in the usual start order
        early = [j for b in builds if not b.late for j in start_order(b.jobs)]
        if early:
            procs = start_workers(early, n, keep_going=True)
        copies = project_root() / "reports" / f".build-remote-{os.getpid()}"
        with (
            shared_reads(),
            shared_copies(copies),  # a folder given by URI: copied once for every team
            forecast_process(tasks=len(builds)) as forecaster,
        ):
            # a database table read once serves every team reading it; each team's
            # forecasts are made in the forecast process while its KPIs are computed here
            for i, b in enumerate(builds, 1):
                progress.say(f"== team {b.params.team} ({i} of {len(builds)}): load and compute")
                try:
                    _compute_team(b, data, forecaster)
                except Exception as exc:  # noqa: BLE001 - the next team is still computed
                    _raise_if_interrupted()
                    ContextWriter(b.paths.work / "context").stop(f"{type(exc).__name__}: {exc}")
                    outcomes[b.params.team] = _failed(b.params.team, exc)
        # every team's numbers are saved for its pages: the output files (and the index,
        # which lists them) are written while the pages run; no team's computation waited
        for b in builds:
            if b.params.team not in outcomes:
                try:
                    write_outputs(b.ctx, b.paths.stage)
                    _write_index_pages(b.ctx, b.paths, b.jobs, b.loaded)
                    b.kept, b.ctx = _Kept.of(b.ctx, b.loaded), None
                    release_free_memory()
                except Exception as exc:  # noqa: BLE001 - the other teams still publish
                    _raise_if_interrupted()
                    outcomes[b.params.team] = _failed(b.params.team, exc)
        with progress.step("Run the notebooks of every team"):
            failures = wait_every_job(procs, early, progress) if procs else {}
            late = [j for b in builds if b.late and b.params.team not in outcomes for j in b.jobs]
            if late:
                procs = start_workers(start_order(late), n, keep_going=True)
                failures |= wait_every_job(procs, late, progress)
        for b in builds:
            if b.params.team in outcomes:
                continue
            failed = [failures[j.job_file] for j in b.jobs if j.job_file in failures]
            try:
                if failed:
                    _keep_failed(b.paths)
                    f = failed[0]
                    kept = str(b.paths.failed_dir / f"{f.page}.ipynb")
                    raise NotebookError(f.text, notebook=f.notebook, cell=f.cell, kept=kept)
                result = _publish_run(
                    b.params, b.month, b.partial, data, b.paths, b.progress, b.started,
                    b.kept, b.jobs,
                )  # fmt: skip
                outcomes[b.params.team] = TeamOutcome(b.params.team, 0, out_dir=result.out_dir)
            except Exception as exc:  # noqa: BLE001 - the next team still publishes
                _raise_if_interrupted()
                outcomes[b.params.team] = _failed(b.params.team, exc)
    except BaseException:
        _stop(procs)
        raise
    finally:
        for b in builds:
            shutil.rmtree(b.paths.build_dir, ignore_errors=True)
            b.lock.release()
    for o in outcomes.values():
        if o.exit_code:
            progress.say(f"    team {o.team} failed: {o.error}")
    return [outcomes[t] for t in teams]


@dataclass
class _TeamBuild:
    """One team of :func:`run_all_teams`: checked, locked, its pages prepared (``late``:
    after its tables, for the per-AE pages), then loaded and computed."""

    params: TeamParams
    month: str
    partial: bool
    paths: RunPaths
    lock: object
    progress: Progress
    started: datetime
    late: bool
    jobs: list[NotebookJob] = field(default_factory=list)
    loaded: object = None
    ctx: object = None
    kept: _Kept | None = None


def _open_team(team, month, strict, allow_partial, progress: Progress) -> _TeamBuild:
    """Check and lock one team, make its build folder and (unless ``per_rep``) its pages."""
    started = datetime.now(UTC)
    params, month, partial, paths = _check_run(
        team, None, month, None, strict, allow_partial, progress
    )
    lock = _lock(params, month, paths)
    try:
        _new_build(paths)
        late = params.per_rep and "rep" in params.audiences
        b = _TeamBuild(params, month, partial, paths, lock, progress, started, late)
        if not late:
            b.jobs = prepare_notebooks(params, month, paths, None, partial, shared=True)
    except BaseException:
        shutil.rmtree(paths.build_dir, ignore_errors=True)
        lock.release()
        raise
    return b


def _compute_team(b: _TeamBuild, data, forecaster) -> None:
    """Load and compute one team (its pages, already running, read what is saved)."""
    b.loaded = _load(b.params, b.month, data, b.progress, b.paths)
    try:
        with b.progress.step("Compute KPIs, cohorts and forecasts"):
            # the next team is computed first: its output files are written after
            b.ctx = _compute(
                b.params, b.loaded, b.month, b.paths, forecaster, outputs=False, progress=b.progress
            )
        if b.late:
            b.jobs = prepare_notebooks(
                b.params, b.month, b.paths, b.loaded.tables, b.partial, shared=True
            )
    finally:  # the tables are saved for the pages: the engine's memory goes before the next team
        b.loaded.close()


def _raise_if_interrupted() -> None:
    """Inside an ``except`` of one team's failure: an interrupt (Ctrl-C, which DuckDB words
    as its own error while a query runs) stops every team, it is not that team's failure."""
    if INTERRUPTED.is_set():
        raise KeyboardInterrupt


def _failed(team: str, exc: Exception) -> TeamOutcome:
    if isinstance(exc, SalesReportError):
        return TeamOutcome(team, exc.exit_code, error=str(exc))
    return TeamOutcome(team, 1, error=f"unexpected error: {type(exc).__name__}: {exc}")


def _check_notebooks(params: TeamParams) -> None:
    nb_dir = project_root() / "notebooks"
    missing = [a for a in params.audiences if not (nb_dir / f"{a}.ipynb").exists()]
    if missing:
        raise ParameterError(f"no notebook for audiences {missing} in {nb_dir}")


def _run_locked(
    params, month, partial, data, paths: RunPaths, progress: Progress, workers, started
) -> RunResult:
    _new_build(paths)
    ok = ran = False
    loaded = None
    try:
        from salesreport.forecast.process import forecast_process

        jobs, workers_ = [], []
        # the forecast process imports its libraries while the data is loaded
        try:
            with forecast_process(tasks=1) as forecaster:
                loaded = _load(params, month, data, progress, paths)
                # the pages (per AE: the reps table is loaded now) and, for a team of
                # ordinary size, their kernels, which import their libraries while the
                # numbers are computed; each notebook waits for the context (load_context)
                # before it reads it. A large team's kernels start after the numbers.
                jobs = prepare_notebooks(params, month, paths, loaded.tables, partial)
                late = pages_after_numbers(loaded)
                if not late:
                    workers_ = start_workers(start_order(jobs), workers or params.workers)
                with progress.step("Compute KPIs, cohorts and forecasts"):
                    ctx = _compute(params, loaded, month, paths, forecaster, progress=progress)
                if late:
                    workers_ = start_workers(start_order(jobs), workers or params.workers)
        except BaseException:
            _stop(workers_)
            raise

        ran = True  # from here on, a failure keeps the executed notebooks for debugging
        with progress.step("Run notebooks"):
            # the index needs only the computed numbers: written while the notebooks run
            _write_index_pages(ctx, paths, jobs, loaded)
            kept = _Kept.of(ctx, loaded)
            del ctx  # the run's numbers and tables are let go while the pages run
            release_free_memory()
            wait_workers(workers_, jobs, progress, paths.failed_dir)
        result = _publish_run(params, month, partial, data, paths, progress, started, kept, jobs)
        ok = True
        return result
    finally:
        if loaded is not None:  # the engine's file is in the build folder
            loaded.close()
        if not ok and ran:
            _keep_failed(paths)
        shutil.rmtree(paths.build_dir, ignore_errors=True)


#: rows loaded (every table, after the team's filters) from which a run starts its pages'
#: kernels after the numbers rather than while they are computed: a kernel imports its
#: libraries in about 2 s and holds about 230 MB waiting, worth it while the numbers take
#: seconds; for a large team (minutes) the head start is worth nothing, and two waiting
#: kernels, reading the first frames, added 0.5-0.7 GB to the engine's peak (EMEA at 200x
#: the sample: 3.0 -> 2.2 GB for the whole run, 185 s either way)
PAGES_AFTER_ROWS = 1_000_000


def pages_after_numbers(loaded) -> bool:
    """Whether the pages' kernels start after the numbers are computed
    (:data:`PAGES_AFTER_ROWS`)."""
    return sum(r["rows_kept"] for r in loaded.quality.read.values()) > PAGES_AFTER_ROWS


def _new_build(paths: RunPaths) -> None:
    """A fresh build folder (the stage published at the end, the run's work beside it)."""
    shutil.rmtree(paths.build_dir, ignore_errors=True)
    paths.stage.mkdir(parents=True)
    paths.work.mkdir(parents=True)


def _load(params, month: str, data, progress: Progress, paths: RunPaths):
    with progress.step("Load and validate data"):
        from salesreport.data import load_tables  # pandas, pyarrow: once workers start

        loaded = load_tables(
            params, data, month, strict=params.strict, database=paths.work / "engine.duckdb",
            progress=progress.part,
        )  # fmt: skip
        progress.say("    " + loaded.quality.summary_text().replace("\n", "\n    "))
    return loaded


def _write_index_pages(ctx, paths: RunPaths, jobs: list[NotebookJob], loaded) -> None:
    pages = [j.page for j in jobs]
    labels = {j.page: j.label for j in jobs if j.label}
    write_index(ctx, paths.stage, pages, loaded, labels)
    write_definitions(paths.stage)


@dataclass(frozen=True)
class _Kept:
    """What publishing needs of a computed run (:func:`_publish_run`): the headline and the
    load's summary for ``run.json``, the month's forecasts and target chances for the
    ledgers. A run keeps only this once the output files and index are written, and lets
    the rest go (the context, the tables, the engine): at 100 times the sample that is 3
    GB of the run's process not held while the pages run."""

    headline: str
    loaded: object
    forecast: pd.DataFrame
    forecast_targets: pd.DataFrame
    left_out: dict  # what an output file leaves out, by file (salesreport.outputs.write_outputs)

    @classmethod
    def of(cls, ctx, loaded) -> _Kept:
        """What publishing needs of ``ctx``; ``loaded`` is released (its engine closed, its
        tables let go: :meth:`salesreport.data.load.LoadResult.release`)."""
        from salesreport.findings import headline_sentence

        kept = cls(
            headline_sentence(ctx),
            loaded,
            ctx.frames["forecast"],
            ctx.frames["forecast_targets"],
            ctx.notes.get("left_out", {}),
        )
        loaded.release()
        return kept


def release_free_memory() -> None:
    """Collect garbage and give the freed memory back to the system: Arrow's pool, and the C
    heap's free pages (``malloc_trim``, glibc only; elsewhere the rest still runs).

    Called once a run has let its numbers and tables go (:class:`_Kept`): glibc keeps the
    pages of the freed frames mapped otherwise, and the run's process would hold its peak
    (3 GB at 100 times the sample) while the pages' kernels need theirs.
    """
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def _publish_run(
    params, month, partial, data, paths: RunPaths, progress: Progress, started, kept: _Kept, jobs
) -> RunResult:
    """The notebooks have run: run.json, the forecast ledgers, and the atomic publish (the
    ledgers put back when publishing fails)."""
    with progress.step("Write run.json"):
        shutil.copytree(paths.work / "notebooks", paths.stage / "notebooks")
        _copy_section_files(paths)
        write_run_json(
            params,
            month,
            data,
            kept.loaded,
            progress.timings,
            paths.stage,
            started,
            kept.headline,
            partial,
            kept.left_out,
        )
        said: dict[str, list[str]] = {}  # one line for the files a sentence is about
        for file, note in kept.left_out.items():
            said.setdefault(note, []).append(file)
        for note, files in said.items():
            progress.say(f"    {' and '.join(files)}: {note}")

    with progress.step("Publish"):
        undo = []
        if partial:
            progress.say(f"    forecast not recorded: {month} is not over")
        else:
            undo = _record_ledger(params.team, month, kept, paths)
        try:
            publish(paths)
        except BaseException:  # nothing published: the ledgers go back as they were
            _undo_ledger(undo)
            raise
        if paths.archive is not None:
            write_archive(paths.reports_root)
    progress.say(f"Report ready: {paths.out_dir / 'index.html'}")
    pages = [j.page for j in jobs]
    return RunResult(out_dir=paths.out_dir, timings=dict(progress.timings), pages=pages)


def _compute(
    params, loaded, month: str, paths: RunPaths, forecaster=None, outputs=True, progress=None
):
    """Every number of the report, each frame saved where the notebooks read it as soon as it
    is computed: the notebooks start on the tables and the first frames meanwhile; the
    forecasts in ``forecaster``'s process (:class:`salesreport.forecast.process.ForecastProcess`).
    ``outputs``: the output files are written too (else by the caller, later). ``progress``
    (:class:`Progress`) is told each part as it starts."""
    from salesreport.context import ContextWriter, build_context

    writer = ContextWriter(paths.work / "context")
    writer.begin(params, month, loaded.tables)
    ctx = build_context(
        params,
        loaded.tables,
        month,
        quality=loaded.quality.to_frame(),
        quality_rows=loaded.quality.rows(),
        ledger_path=paths.ledger,
        frames=writer.frames,
        engine=loaded.engine_for(params),  # a DuckDB team: the tables are there already
        tables_engine=loaded.engine,  # a server's: streamed from there
        forecaster=forecaster,
        progress=progress.part if progress is not None else None,
    )
    writer.finish(ctx.notes)  # the context is complete
    if outputs:
        from salesreport.outputs import write_outputs

        write_outputs(ctx, paths.stage)  # the CSVs are written while the notebooks run
    return ctx


def _keep_failed(paths: RunPaths) -> None:
    """Keep the executed notebooks of a failed run for debugging (never the published folder)."""
    executed = paths.work / "notebooks"
    if executed.exists() and any(executed.glob("*.ipynb")):
        shutil.rmtree(paths.failed_dir, ignore_errors=True)
        paths.failed_dir.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(executed, paths.failed_dir)


# --------------------------------------------------------------------------- outputs


def _record_ledger(team: str, month: str, kept: _Kept, paths: RunPaths) -> list:
    """Record the month's forecasts and target chances; what :func:`_undo_ledger` needs.

    The ledgers are :attr:`RunPaths.ledger_written` and the target ledger beside it; a ledger
    inside the report's folder (``--out DIR``) starts from the one published there before."""
    from salesreport.forecast.ledger import chance_ledger_path, record_chances, record_forecasts

    target = paths.ledger_written
    target.parent.mkdir(parents=True, exist_ok=True)
    if target != paths.ledger:
        for old, new in ((paths.ledger, target), (chance_ledger_path(paths.ledger), chance_ledger_path(target))):  # fmt: skip
            if old.exists():
                shutil.copyfile(old, new)
    undo = [record_forecasts(target, team, month, kept.forecast)]
    undo.append(record_chances(chance_ledger_path(target), team, month, kept.forecast_targets))
    return undo


def _undo_ledger(undo: list) -> None:
    """Both ledgers back as they were (nothing was published)."""
    from salesreport.forecast.ledger import undo_record

    for u in reversed(undo):
        undo_record(u)


def _copy_section_files(paths: RunPaths) -> None:
    """The full tables behind the pages' cut tables (CSV, :func:`salesreport.pages.section.table`),
    beside the pages that link them."""
    folder = paths.work / "context" / "files"
    for f in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        shutil.copyfile(f, paths.stage / f.name)


def notebook_jobs(
    params: TeamParams,
    month: str,
    paths: RunPaths,
    reps: list[tuple[str, str]],
    partial: bool = False,
    shared: bool = False,
) -> list[NotebookJob]:
    """One job per audience page, plus one ``rep`` page per ``(rep_id, label)`` in ``reps``;
    each job written to ``<work>/jobs/<page>.json`` for the workers. ``partial``: the month
    is not over (``--allow-partial``), which every page's label says. ``shared`` (several
    teams' pages on the same workers): every page runs in one kernel pool
    (:data:`SHARED_POOL`: a kernel per worker, cleared between pages), not only the per-AE
    pages."""
    from salesreport.html import AUDIENCE_TITLES
    from salesreport.words import month_label

    root = project_root()
    nb_dir = root / "notebooks"
    executed = paths.work / "notebooks"
    errors = paths.work / "errors"
    jobs_dir = paths.work / "jobs"
    for d in (executed, errors, jobs_dir):
        d.mkdir(parents=True, exist_ok=True)
    base = {
        "team": params.team,
        "month": month,
        "run_dir": str(paths.work / "context"),
        "data_dir": "",
        "params_file": "",
    }
    label_of_month = month_label(month, partial=partial)
    footer = page_footer(params.title, label_of_month)
    links = tuple(PageLink(f"{a}.html", AUDIENCE_TITLES[a][0]) for a in params.audiences)
    links += (PageLink(DEFINITIONS_PAGE, "KPI definitions"),)
    pages = [(a, a, "", "") for a in params.audiences]
    if "rep" in params.audiences and params.per_rep:
        pages += [
            (name, "rep", r, label) for name, (r, label) in zip(_rep_pages(reps), reps, strict=True)
        ]
    jobs = []
    for page, audience, rep, label in pages:
        title = AUDIENCE_TITLES[audience][0] + (f" · {label}" if rep else "")
        job = NotebookJob(
            page=page,
            input=str(nb_dir / f"{audience}.ipynb"),
            output=str(executed / f"{page}.ipynb"),
            html=str(paths.stage / f"{page}.html"),
            error=str(errors / f"{page}.json"),
            done=str(errors / f"{page}.done"),
            parameters={**base, **({"rep_id": rep} if rep else {})},
            cwd=str(nb_dir),
            title=f"{params.title} · {title} · {label_of_month}",
            team_title=params.title,
            month=label_of_month,
            footer=footer,
            label=label,
            timeout=params.notebook_timeout,
            # the pages of one AE each are one notebook run many times, and with several
            # teams every page runs on the same workers: they share a kernel per worker,
            # cleared between pages, instead of starting one each
            kernel_pool=SHARED_POOL if shared else audience if rep else "",
            links=links,
        )
        jobs.append(job.write(jobs_dir / f"{page}.json"))
    return jobs


#: The kernel pool of every page when several teams' pages share the workers
#: (``--all-teams``): each worker keeps one kernel for all the pages it runs, whatever their
#: audience, cleared between pages (:func:`salesreport.execute._pooled_kernel`), so the
#: libraries are imported once per worker rather than once per audience.
SHARED_POOL = "pages"


#: The order notebooks start in. The context is saved frame by frame while it is computed
#: (forecasts first, then cohorts, then KPIs; see ``context.build_context``), so the
#: notebooks whose first sections read the tables or the forecasts go first, while the
#: KPIs are still being computed, and the executive and manager pages, which open with
#: KPIs, go last. Any other page keeps its place after these.
START_ORDER = ("operations", "forecast", "rep", "sdr", "executive", "manager")


def start_order(jobs: list[NotebookJob]) -> list[NotebookJob]:
    """``jobs`` in the order they should start (:data:`START_ORDER`; per-rep pages with
    ``rep``); the report's index keeps the audience order whatever this order is."""

    def rank(job: NotebookJob) -> int:
        audience = job.audience
        return START_ORDER.index(audience) if audience in START_ORDER else len(START_ORDER)

    return sorted(jobs, key=rank)  # stable: pages of one audience keep their order


def _rep_pages(reps: list[tuple[str, str]]) -> list[str]:
    """``rep-<id>`` page names safe on any file system: characters other than letters,
    digits, ``_`` and ``-`` become ``_``; ids that would collide get a short hash."""
    import hashlib
    import re

    safe = [re.sub(r"[^A-Za-z0-9_-]+", "_", r)[:60] or "rep" for r, _ in reps]
    clash = {n for n in safe if safe.count(n) > 1}
    return [
        f"rep-{n}" + (f"-{hashlib.sha1(r.encode()).hexdigest()[:6]}" if n in clash else "")
        for n, (r, _) in zip(safe, reps, strict=True)
    ]


def page_footer(team_title: str, month_label: str) -> str:
    """The line at the foot of every page of a team's month (and of each printed page): the
    team, the month and when the report was made."""
    return (
        f"salesreport · {team_title} · {month_label} · "
        f"generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def prepare_notebooks(
    params, month, paths: RunPaths, tables, partial: bool = False, shared: bool = False
) -> list[NotebookJob]:
    """The notebook jobs of this run (one per audience, plus one per AE with ``per_rep``);
    ``shared``: every page in the one kernel pool :data:`SHARED_POOL` (:func:`notebook_jobs`)."""
    from salesreport.execute import ensure_kernel

    ensure_kernel()
    reps: list[tuple[str, str]] = []
    if params.per_rep and "rep" in params.audiences and tables is not None:
        from salesreport.analysis import account_executives, rep_label

        reps = [(r, rep_label(tables, r)) for r in account_executives(tables, month)]
    return notebook_jobs(params, month, paths, reps, partial, shared)


def run_jobs(
    jobs: list[NotebookJob], workers: int, progress: Progress, failed_dir: Path | None = None
) -> list[str]:
    """Execute notebook jobs (see :mod:`salesreport.execute`) on ``workers`` child processes."""
    return wait_workers(start_workers(jobs, workers), jobs, progress, failed_dir)


#: the notebook workers' (and their kernels') priority below the run's process (``nice``):
#: while a team's numbers are computed, the pages of the teams before it (``--all-teams``)
#: or its own kernels starting take the CPU the computation leaves, not the reverse (the
#: computation is what every page waits for). ``--all-teams`` on the sample: 18.5 -> 17.7 s
#: (three runs each); one team: unchanged.
WORKER_NICE = 10


def start_workers(
    jobs: list[NotebookJob], workers: int, keep_going: bool = False
) -> list[subprocess.Popen]:
    """Start the worker processes. Each is given every job, in order, and takes the next one
    no other worker has taken (:func:`salesreport.execute.claim`): a worker that finishes a
    short notebook starts the next at once. ``keep_going``: a worker goes on after a page
    fails (:func:`wait_every_job`) instead of stopping."""
    workers = max(1, min(workers, len(jobs)))
    env = dict(os.environ, PYTHONUNBUFFERED="1", MPLBACKEND="Agg")
    command = [sys.executable, "-m", "salesreport.execute"]
    command += ["--nice", str(WORKER_NICE)] if hasattr(os, "nice") else []
    command += ["--keep-going"] if keep_going else []
    command += [j.job_file for j in jobs]
    return [
        subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        for _ in range(workers)
    ]


def wait_workers(
    procs: list[subprocess.Popen],
    jobs: list[NotebookJob],
    progress: Progress,
    failed_dir: Path | None = None,
) -> list[str]:
    """Follow the workers to the end; the first failure stops them all and raises NotebookError."""
    bar = None
    if progress.tty:
        from tqdm import tqdm

        bar = tqdm(
            total=len(jobs), desc="    notebooks", unit="nb", file=progress.stream, leave=False
        )
    seen: set[str] = set()
    failure: Failure | None = None
    stderr: dict[int, str] = {}
    try:
        while True:
            for job in jobs:
                if job.page not in seen and Path(job.done).exists():
                    seen.add(job.page)
                    if bar is not None:
                        bar.update(1)
                    else:
                        progress.say(f"    notebook {job.page}: done")
            alive = [p for p in procs if p.poll() is None]
            for i, proc in enumerate(procs):
                if proc.poll() not in (None, 0) and failure is None:
                    stderr[i] = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
                    failed = next((j for j in jobs if Path(j.error).exists()), None)
                    failed = failed or next(
                        (j for j in jobs if claimed_by(j.job_file) == proc.pid), None
                    )
                    failed = failed or next(j for j in jobs if j.page not in seen)
                    failure = _failure(failed, proc.returncode, stderr[i])
            if failure is not None:
                _stop(p for p in alive)
                break
            if not alive:
                break
            time.sleep(0.05)
    except KeyboardInterrupt:
        _stop(procs)
        raise
    finally:
        if bar is not None:
            bar.close()
    if failure is not None:
        kept = str(failed_dir / f"{failure.page}.ipynb") if failed_dir else ""
        raise NotebookError(failure.text, notebook=failure.notebook, cell=failure.cell, kept=kept)
    return [j.page for j in jobs]


def wait_every_job(
    procs: list[subprocess.Popen], jobs: list[NotebookJob], progress: Progress
) -> dict[str, Failure]:
    """Follow keep-going workers to the end; the failed jobs (by job file) with why."""
    seen: set[str] = set()
    try:
        while True:
            for job in jobs:
                if job.job_file not in seen and Path(job.done).exists():
                    seen.add(job.job_file)
                    progress.say(f"    notebook {job.page} ({job.team_title}): done")
            if all(p.poll() is not None for p in procs):
                break
            time.sleep(0.05)
    except KeyboardInterrupt:
        _stop(procs)
        raise
    said = "\n".join(
        proc.stderr.read().decode("utf-8", "replace") if proc.stderr else "" for proc in procs
    )
    return {
        j.job_file: _failure(j, 1, "" if Path(j.error).exists() else said)
        for j in jobs
        if not Path(j.done).exists()
    }


def _stop(procs) -> None:
    """Interrupt running workers (their kernels shut down with them), then make sure they are gone."""
    procs = list(procs)
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(frozen=True)
class Failure:
    """A failed page: which one, its notebook and cell, and the message for the user."""

    page: str
    notebook: str
    cell: int | None
    text: str


def _failure(job: NotebookJob, code: int, stderr: str) -> Failure:
    err_path = Path(job.error)
    info = {}
    if err_path.exists():
        info = json.loads(err_path.read_text(encoding="utf-8"))
    nb = job.notebook
    cell = info.get("cell")
    where = f"{nb}, cell {cell}" if cell else nb
    exc = info.get("exception") or f"exit code {code}"
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    msg = info.get("message") or (lines or [""])[-1]
    text = f"notebook {where} failed: {exc}: {msg}".rstrip(": ")
    # nbclient's and the worker's own lines about the failed start repeat the message
    printed = [
        line
        for line in lines
        if not line.startswith(("Error occurred while starting new kernel client", "salesreport:"))
    ]
    if info and cell is None and printed:
        # no cell ran (the kernel did not start): what the kernel printed is where the
        # cause is, a missing package or a broken environment
        text += "\n  last lines printed while starting the kernel:\n"
        text += "\n".join(f"    {line}" for line in printed[-6:])
    return Failure(page=job.page, notebook=nb, cell=cell, text=text)


# --------------------------------------------------------------------------- index, run.json


def write_index(
    ctx, stage: Path, pages: list[str], loaded, labels: dict[str, str] | None = None
) -> None:
    """The team's index.html; ``labels`` names the per-rep pages (page -> "Name (id)")."""
    from salesreport import findings, words
    from salesreport.html import AUDIENCE_TITLES, render_index, status_legend, tiles

    reports, rep_pages = [], []
    for page in pages:
        if page.startswith("rep-"):  # one page per AE: listed by name under the audiences
            rep_pages.append({"href": f"{page}.html", "name": (labels or {}).get(page) or page[4:]})
            continue
        title, what = AUDIENCE_TITLES[page]
        reports.append({"href": f"{page}.html", "title": title, "what": what})
    rep_pages.sort(key=lambda r: (r["name"].casefold(), r["href"]))
    left_out = ctx.notes.get("left_out", {})  # salesreport.outputs.write_outputs
    files = [
        {
            "href": name,
            "name": name,
            "what": f"{what}. {left_out[name]}" if name in left_out else what,
        }
        for name, what in FILES_WHAT.items()
        if (stage / name).exists() or name in ("run.json", DEFINITIONS_PAGE)
    ]
    bad, n = findings.quality_problems(ctx.quality)
    if len(bad):
        quality_line = (
            f"{words.count(n['dropped'], 'row')} dropped, {n['repaired']:,} repaired and "
            f"{n['flagged']:,} flagged; details in the operations report."
        )
    else:
        quality_line = "No row was dropped or repaired."
    headline_tiles = findings.headline_tiles(ctx, published=True)
    label = words.month_label(ctx.month, partial=ctx.partial)
    page = render_index(
        team_title=ctx.params.title,
        month_label=label,
        headline=findings.headline_sentence(ctx),
        tiles_html=tiles(headline_tiles) if headline_tiles else "",
        legend_html=status_legend(ctx.params.rag) if any(t.status for t in headline_tiles) else "",
        reports=reports,
        rep_pages=rep_pages,
        files=files,
        quality_line=quality_line,
        quality_rows=bad[["table", "action", "reason", "count"]].to_dict("records")
        if len(bad)
        else [],
        footer=page_footer(ctx.params.title, label),
    )
    (stage / "index.html").write_text(page, encoding="utf-8")


def write_definitions(stage: Path) -> None:
    """``kpis.html``: the KPI definitions (docs/kpis.md, from the catalogue) beside the
    pages, each metric at ``#kpi-<name>``, readable offline; the pages link to it."""
    from salesreport.html import render_definitions

    (stage / DEFINITIONS_PAGE).write_text(render_definitions(), encoding="utf-8")


def _git_commit() -> str | None:
    """The commit of the code that made the report (the package's checkout), ``None`` when it
    is not a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    names = [
        "salesreport", "pandas", "numpy", "scipy", "statsmodels", "scikit-learn", "duckdb",
        "ibis-framework", "pyarrow", "papermill", "nbconvert", "matplotlib", "seaborn", "pydantic",
    ]  # fmt: skip
    out = {"python": sys.version.split()[0]}
    for n in names:
        try:
            out[n] = version(n)
        except PackageNotFoundError:
            out[n] = "not installed"
    return out


def write_run_json(
    params,
    month,
    data,
    loaded,
    timings,
    stage: Path,
    started,
    headline: str = "",
    partial: bool = False,
    left_out: dict | None = None,
) -> None:
    doc = {
        "team": params.team,
        "month": month,
        # a month not over yet (--allow-partial): built from the data up to this day
        "partial": partial,
        "data_up_to": today().isoformat() if partial else None,
        "headline": headline,  # the month's finding, shown beside it in reports/index.html
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "parameters": masked(params),
        "data_source": "bundled sample"
        if loaded.sources.get("_sample")
        else (data or params.data.path),
        "inputs": loaded.to_json(),
        "versions": package_versions(),
        "git_commit": _git_commit(),
        "timings_seconds": timings,
        # what an output file leaves out and why, by file (kpis.csv over kpis_csv_max_rows)
        "left_out": left_out or {},
    }
    (stage / "run.json").write_text(json.dumps(doc, indent=2, default=str), encoding="utf-8")


# --------------------------------------------------------------------------- publishing


def publish(paths: RunPaths) -> None:
    """Swap the built folder into place: the month's folder is whole or absent, never half-written."""
    out, stage = paths.out_dir, paths.stage
    old = paths.build_dir / "previous"
    had_old = out.exists()
    try:
        if had_old:
            os.replace(out, old)
        os.replace(stage, out)
    except BaseException as exc:  # whatever stopped it (Ctrl-C too): the old report goes back
        if had_old and old.exists() and not out.exists():
            os.replace(old, out)
        if isinstance(exc, OSError):
            raise PublishError(
                f"could not publish {out}: {exc}. The previous report is unchanged."
            ) from exc
        raise


def _archive_month(folder: Path) -> dict[str, str]:
    """A published month for the archive: its folder name, ``October 2026`` and the headline
    its run recorded in run.json (empty for reports published before it was recorded)."""
    label, headline, partial = folder.name, "", False
    with contextlib.suppress(OSError, ValueError, AttributeError):
        run = json.loads((folder / "run.json").read_text("utf-8"))
        headline, partial = str(run.get("headline", "")), bool(run.get("partial"))
    with contextlib.suppress(ValueError, ParameterError):
        parse_month(folder.name)
        from salesreport.words import month_label

        label = month_label(folder.name, partial=partial)
    return {"folder": folder.name, "label": label, "headline": headline}


def write_archive(reports_root: Path) -> None:
    """``reports/index.html``: every team and month published, newest first."""
    from salesreport.html import render_archive
    from salesreport.params import TEAM_RE

    entries = []
    for team_dir in sorted(
        p for p in reports_root.iterdir() if p.is_dir() and TEAM_RE.match(p.name)
    ):
        months = sorted(
            (m.name for m in team_dir.iterdir() if m.is_dir() and (m / "index.html").exists()),
            reverse=True,
        )
        if months:
            title = team_dir.name.upper()
            with contextlib.suppress(Exception):
                title = load_params(team_dir.name).title
            entries.append(
                {
                    "team": team_dir.name,
                    "title": title,
                    "months": [_archive_month(team_dir / m) for m in months],
                }
            )
    tmp = reports_root / f".index-{os.getpid()}.html"
    tmp.write_text(render_archive(entries), encoding="utf-8")
    os.replace(tmp, reports_root / "index.html")
