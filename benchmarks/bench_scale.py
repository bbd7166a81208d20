"""Time and peak memory of one team's report computations as the data grows.

For every ``--scales`` value the seeded sample (:func:`salesreport.sample.write_sample`,
Parquet by default: it reads several times faster than CSV and holds the same values) is
written once into ``/tmp/sr-scale-<scale>/`` (reused when already complete), then each step
runs for ``--team`` (default EMEA) in a fresh child process:

* ``load``: :func:`salesreport.data.load_tables` (read, map, parse, structural and row checks,
  team filters, currency conversion, point-in-time cut), the tables left in the engine;
* ``tables``: ``load``, then every table made a pandas frame (what the consumers not moved to
  the engine yet read: analysis tables, forecasts, notebooks);
* ``kpis``: :func:`salesreport.kpis.compute_kpis` (customer metrics included);
* ``cohorts``: :func:`salesreport.cohorts.cohort_table`, whole team and per
  ``cohorts.segment_by`` column, as the report does;
* ``forecast``: :func:`salesreport.revenue.monthly_revenue` then
  :func:`salesreport.forecast.forecast_and_backtest`;
* ``context``: :func:`salesreport.context.build_context` (all of the above but the load, plus
  OKRs, trend, pipeline and segment forecasts);
* ``total``: ``load`` then ``context`` in one process: the goal (under 60 s, under 4 GB);
* ``run``: what a report run's own process does before its pages end: ``load``, the context
  computed into a :class:`salesreport.context.ContextWriter` (every frame saved for the
  notebooks as it is computed, the KPI rows part by part) and the output files written
  (:func:`salesreport.outputs.write_outputs`); the notebooks are not run;
* ``floor``: DuckDB alone reads the same files, keeps the team's rows and computes monthly
  counts and sums per rep (:func:`bench_load.floor`): what any engine-based run costs at least;
* ``report``: the whole ``salesreport report`` as a user runs it (load, numbers, the six
  notebooks and their HTML, publishing) on the same files: wall seconds, CPU seconds of the
  whole process tree (the run, its forecast process, notebook workers and kernels) and the
  peak of the tree's summed resident set (:func:`bench_memory.peak_of`, sampled every
  0.25 s). With ``floor`` in the same run, a line per scale gives the report's time as a
  multiple of the floor's beside issue 18's goal (1.5 times, at most 2 GB).

Seconds are wall time of the step alone (``cpu s``: its CPU time, less sensitive to the
shared machine's load). Peak MB is the child's maximum resident set (its
``VmHWM``, the figure ``getrusage(RUSAGE_SELF).ru_maxrss`` gives), so it includes the
interpreter, the imports and the step's inputs: the steps after ``load`` load the tables
themselves before their clock starts (``base MB`` is the resident set then). The 2 cores are
shared: expect noise of 10-20 %.

    .venv/bin/python benchmarks/bench_scale.py --scales 1,10 [--month 2026-10] [--team emea]
    .venv/bin/python benchmarks/bench_scale.py --scales 10 --profile kpis   # cProfile top 30
    # issue 18's benchmark: the whole report against the floor, from CSV
    .venv/bin/python benchmarks/bench_scale.py --fmt csv --scales 1,10,100,200 --steps floor,report

``--database``: the engine in a DuckDB file in a temporary folder, as a report run has it
(:func:`bench_load.load_options`); by default in memory.

``--source CHECKOUT`` imports ``salesreport`` from another checkout (a ``git worktree`` of an
older commit), so the same script measures the code before and after a change; a checkout
whose load holds no engine (before the loader moved into DuckDB) gets its engine the way its
``build_context`` makes it (:func:`salesreport.kpis.compiler.engine_for`), inside the step::

    .venv/bin/python benchmarks/bench_scale.py --scales 1,10 --steps load,total --source /tmp/base
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

STEPS = (
    "load", "tables", "kpis", "cohorts", "forecast", "context", "total", "run", "floor", "report"
)  # fmt: skip
COUNTED = ("opportunities", "activities", "orders", "leads")
GOAL_SECONDS = 60.0
GOAL_MB = 4096.0
#: The whole report's goal (issue 18): at most this multiple of the floor's time, at most
#: REPORT_GOAL_MB across its processes.
REPORT_GOAL_RATIO = 1.5
REPORT_GOAL_MB = 2048.0


def sample_folder(scale: float, month: str, fmt: str, prefix: str = "/tmp/sr-scale") -> Path:
    """The sample for ``scale``, written once into ``/tmp/sr-scale-<scale>/`` (a marker file
    records month and format; a folder without the right marker is written again)."""
    from salesreport.sample import write_sample

    name = f"{scale:g}"
    folder = Path(f"{prefix}-{name}")
    marker = folder / ".complete"
    want = f"{month} {fmt}\n"
    if marker.exists() and marker.read_text() == want:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        if old.suffix in (".csv", ".parquet"):
            old.unlink()
    t0 = time.perf_counter()
    write_sample(folder, month, scale=scale, fmt=fmt)
    marker.write_text(want)
    print(f"# wrote sample scale {name} ({fmt}) in {time.perf_counter() - t0:.1f} s", flush=True)
    return folder


def file_rows(folder: Path) -> dict[str, int]:
    """Rows per table in the whole (organisation-wide) files."""
    import pyarrow.parquet as pq

    out = {}
    for t in COUNTED:
        p = folder / f"{t}.parquet"
        if p.exists():
            out[t] = pq.ParquetFile(p).metadata.num_rows
        elif (folder / f"{t}.csv").exists():
            with open(folder / f"{t}.csv", "rb") as fh:
                out[t] = sum(1 for _ in fh) - 1
    return out


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_step(
    step: str, folder: Path, team: str, month: str, profile: bool, database: bool = False
) -> dict:
    """Run one step in this process (the child); return seconds, rows and resident set."""
    from bench_load import load_options

    from salesreport.data import load_tables
    from salesreport.params import load_params

    params = load_params(team)
    options = load_options(load_tables, database)
    loaded = None
    if step not in ("load", "tables", "total", "run", "floor"):
        loaded = load_tables(params, folder, month, **options)  # the input, before the clock
    # imports before the clock starts
    import salesreport.cohorts as cohorts_mod  # noqa: F401
    import salesreport.context  # noqa: F401
    import salesreport.forecast  # noqa: F401
    import salesreport.kpis  # noqa: F401

    base = _rss_mb()
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    t0, c0 = time.perf_counter(), time.process_time()
    result = _do(step, params, folder, month, loaded, options)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    if prof is not None:
        import pstats

        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
        pstats.Stats(prof, stream=sys.stderr).sort_stats("tottime").print_stats(30)
    out = {"step": step, "seconds": secs, "cpu_seconds": cpu, "base_mb": base}
    if step in ("load", "tables"):
        out["team_rows"] = {t: result.quality.read.get(t, {}).get("rows_kept", 0) for t in COUNTED}
    return out


def _run(params, folder: Path, month: str, options: dict) -> None:
    """The ``run`` step (module docstring): the report run's own computation
    (:func:`salesreport.pipeline._compute`), in a temporary folder."""
    import tempfile
    from types import SimpleNamespace

    from salesreport.data import load_tables
    from salesreport.pipeline import _compute

    with tempfile.TemporaryDirectory(prefix="bench-run-") as work:
        res = load_tables(params, folder, month, **options)
        paths = SimpleNamespace(work=Path(work), stage=Path(work) / "stage", ledger=None)
        paths.stage.mkdir()
        _compute(params, res, month, paths)


def _do(step: str, params, folder: Path, month: str, loaded, options: dict):
    from salesreport import cohorts as cohorts_mod
    from salesreport import forecast as fc_mod
    from salesreport.context import build_context
    from salesreport.data import load_tables
    from salesreport.kpis import compute_kpis
    from salesreport.revenue import monthly_revenue

    if step == "floor":
        from bench_load import floor

        return floor(folder, [str(r) for r in params.filters.get("region", [])])
    if step in ("load", "tables"):
        res = load_tables(params, folder, month, **options)
        if step == "tables":
            for _ in res.tables.items():  # each table made a pandas frame
                pass
        return res
    if step == "run":
        return _run(params, folder, month, options)
    if step == "total":
        res = load_tables(params, folder, month, **options)
        return build_context(
            params,
            res.tables,
            month,
            quality=res.quality.to_frame(),
            quality_rows=res.quality.rows(),
            engine=getattr(res, "engine", None),  # None: build_context makes one
        )
    engine = getattr(loaded, "engine", None)
    if engine is None:  # a checkout whose load holds no engine: as its build_context does
        from salesreport.kpis.compiler import engine_for

        engine = engine_for(loaded.tables, month)
    if step == "kpis":
        return compute_kpis(None, params, month, engine=engine)
    if step == "cohorts":
        out = [cohorts_mod.cohort_table(engine, month)]
        for col in params.cohorts.segment_by:
            out.append(cohorts_mod.cohort_table(engine, month, col))
        return out
    if step == "forecast":
        y = monthly_revenue(engine, end_month=month)
        return fc_mod.forecast_and_backtest(
            y,
            horizon=params.forecast.horizon,
            levels=tuple(params.forecast.levels),
            origins=params.forecast.backtest_origins,
        )
    if step == "context":
        q = loaded.quality
        return build_context(
            params, loaded.tables, month, quality=q.to_frame(), quality_rows=q.rows(), engine=engine
        )
    raise ValueError(f"unknown step {step!r}; use one of {', '.join(STEPS)}")


def report_step(folder: Path, team: str, month: str, source: Path) -> dict:
    """The ``report`` step (module docstring), run by ``source``'s package."""
    import resource
    import tempfile

    from bench_memory import peak_of

    def children_cpu() -> float:
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return ru.ru_utime + ru.ru_stime

    with tempfile.TemporaryDirectory(prefix="bench-scale-report-") as out:
        cmd = [sys.executable, "-m", "salesreport", "report", "--team", team, "--month", month]
        cmd += ["--data", str(folder), "--out", str(Path(out) / "report"), "--quiet"]
        c0 = children_cpu()  # every process of the tree is waited for by its parent
        wall, peak, _ = peak_of(cmd, source)
        cpu = children_cpu() - c0
    return {"step": "report", "seconds": wall, "cpu_seconds": cpu, "peak_mb": peak,
            "base_mb": float("nan")}  # fmt: skip


def spawn(
    step: str, folder: Path, team: str, month: str, profile: bool, source: Path, database: bool
) -> dict:
    """Run ``step`` in a fresh interpreter; add its peak resident set (MB)."""
    cmd = [sys.executable, __file__, "--child", step, "--folder", str(folder), "--team", team]
    cmd += ["--month", month, "--source", str(source)] + (["--profile", step] if profile else [])
    cmd += ["--database"] if database else []
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=source)
    if proc.returncode:
        raise SystemExit(f"step {step} failed in {folder} (exit {proc.returncode})")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["peak_mb"] = out["child_peak_mb"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", default="1,10,100", help="comma-separated sample scales")
    ap.add_argument("--month", default="2026-10")
    ap.add_argument("--team", default="emea")
    ap.add_argument("--fmt", default="parquet", choices=("parquet", "csv"))
    ap.add_argument("--steps", default=",".join(STEPS), help=f"subset of {','.join(STEPS)}")
    ap.add_argument("--profile", default="", help="a step to run under cProfile (stats to stderr)")
    ap.add_argument("--child", default="", help=argparse.SUPPRESS)
    ap.add_argument("--folder", default="", help=argparse.SUPPRESS)
    ap.add_argument("--json", default="", help="also append the rows to this JSON-lines file")
    ap.add_argument(
        "--dir",
        default="",
        help="samples go to DIR-<scale>/ (/tmp/sr-scale, CSV /tmp/sr-scale-csv)",
    )
    ap.add_argument("--source", default=str(ROOT), help="the checkout whose package to measure")
    ap.add_argument("--database", action="store_true", help="the engine in a file, as a run has it")
    args = ap.parse_args(argv)
    source = Path(args.source).resolve()
    sys.path.insert(0, str(source))
    os.environ["SALESREPORT_HOME"] = str(source)

    if args.child:
        out = run_step(
            args.child, Path(args.folder), args.team, args.month, bool(args.profile), args.database
        )
        # the child's own high-water mark (VmHWM = getrusage(RUSAGE_SELF).ru_maxrss of this
        # address space; ru_maxrss would also keep the parent's size from before exec)
        with open("/proc/self/status") as fh:
            hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
        out["child_peak_mb"] = hwm / 1024
        print(json.dumps(out))
        return 0

    steps = [s for s in args.steps.split(",") if s]
    header = (
        f"{'scale':>6} {'step':>9} {'seconds':>8} {'cpu s':>7} {'peak MB':>8} {'base MB':>8}  "
        "rows team (file): opportunities / activities / orders / leads"
    )
    where = "a database file" if args.database else "memory"
    print(f"# source {source}; engine in {where}; load average {os.getloadavg()[0]:.1f}",
          flush=True)  # fmt: skip
    print(header, flush=True)
    prefix = args.dir or ("/tmp/sr-scale-csv" if args.fmt == "csv" else "/tmp/sr-scale")
    for scale in [float(s) for s in args.scales.split(",")]:
        folder = sample_folder(scale, args.month, args.fmt, prefix)
        whole = file_rows(folder)
        team_rows: dict[str, int] = {}
        measured: dict[str, dict] = {}
        for step in steps:
            if step == "report":
                r = report_step(folder, args.team, args.month, source)
            else:
                r = spawn(
                    step, folder, args.team, args.month, args.profile == step, source, args.database
                )
            measured[step] = r
            team_rows = r.get("team_rows", team_rows)
            rows = " / ".join(  # the team's rows once a load step has counted them
                f"{team_rows[t]:,} ({whole.get(t, 0):,})"
                if t in team_rows
                else f"({whole.get(t, 0):,})"
                for t in COUNTED
            )
            flag = ""
            if step == "total":
                ok = r["seconds"] < GOAL_SECONDS and r["peak_mb"] < GOAL_MB
                flag = "  goal met" if ok else "  GOAL MISSED"
            print(
                f"{scale:>6g} {step:>9} {r['seconds']:>8.2f} {r.get('cpu_seconds', float('nan')):>7.1f} "
                f"{r['peak_mb']:>8.0f} "
                f"{r['base_mb']:>8.0f}  {rows}{flag}",
                flush=True,
            )
            if args.json:
                with open(args.json, "a") as fh:
                    rec = {"scale": scale, "database": args.database, **r, "team_rows": team_rows,
                           "file_rows": whole}  # fmt: skip
                    fh.write(json.dumps(rec) + "\n")
        if "report" in measured and "floor" in measured:
            rep, flo = measured["report"], measured["floor"]
            ratio = rep["seconds"] / flo["seconds"]
            ok = ratio <= REPORT_GOAL_RATIO and rep["peak_mb"] <= REPORT_GOAL_MB
            print(
                f"{scale:>6g}  report / floor {ratio:.1f}x ({rep['seconds']:.1f} s / "
                f"{flo['seconds']:.1f} s), report peak {rep['peak_mb']:,.0f} MB: goal "
                f"{REPORT_GOAL_RATIO:g}x and {REPORT_GOAL_MB:,.0f} MB "
                f"{'met' if ok else 'MISSED'}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
