"""Time and peak memory of loading one team's tables, as the data grows, beside DuckDB's floor.

For every ``--scales`` value the seeded sample (:func:`salesreport.sample.write_sample`) is
written once into ``<--dir>/scale-<scale>-<fmt>/`` (reused when complete), then each step runs
in a fresh child process:

* ``load``: :func:`salesreport.data.load_tables` for ``--team`` (read, map, parse, structural
  and row checks, team filters, currency conversion, point-in-time cut): what a report run
  does before it computes;
* ``tables``: ``load``, then every table as pandas (``LoadResult.tables``), what the consumers
  not moved to the engine yet (cohorts, analysis tables, forecasts, notebooks) ask for;
* ``floor``: DuckDB alone reads the same files, keeps the team's rows (the region filter; the
  activities of the team's reps) and computes monthly counts and sums per rep of every
  table: the least any engine-based load can cost;
* ``sql``: ``load`` with the tables read from a PostgreSQL database (``data.sql``, a table
  name each) instead of the files: the sample is copied beforehand into typed tables of a
  real server started here, as the tests start one (copy time shown apart, as a CRM database
  would already hold them).
* ``spark``: ``load`` with the tables read from a local Spark session (``engine: spark``,
  ``data.sql`` without ``url_env``), each a query over the folder's Parquet file
  (``--fmt parquet``), as a data lake holds them; the session is started before the clock
  (its start-up shown apart); ``cpu s`` and ``peak MB`` are this process's, without Spark's
  Java process;
* ``spark-staging``: the same with ``engine.staging`` (a local folder): each result written
  by Spark as Parquet files and copied, instead of coming through the driver as Arrow.

Seconds are wall time of the step alone, ``cpu s`` its CPU time (user + system, less sensitive
to the shared machine's load); ``peak MB`` the child's maximum resident set (``VmHWM``), so it
includes the interpreter and the imports (``base MB``: the resident set before the step).

``--database``: the engine in a DuckDB file in a temporary folder, as a report run has it (its
buffers capped at ``salesreport.engine.MEMORY_LIMIT``, spilling to disk beyond); by
default in memory. A checkout whose ``load_tables`` takes no ``database`` loads as it always
does.

``--source CHECKOUT`` imports ``salesreport`` from another checkout (a ``git worktree`` of an
older commit), so the same script measures the code before and after a change::

    .venv/bin/python benchmarks/bench_load.py --scales 1,10 --fmt csv
    .venv/bin/python benchmarks/bench_load.py --scales 100 --steps load --source /tmp/base
    .venv/bin/python benchmarks/bench_load.py --scales 10 --steps sql --fmt parquet
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEPS = ("load", "tables", "floor", "sql", "spark", "spark-staging")
SQL_ENV = "SALESREPORT_BENCH_SQL_URL"
SQL_SCHEMA = "crm"
COUNTED = ("opportunities", "activities", "orders", "leads")


def sample_folder(base: Path, scale: float, month: str, fmt: str) -> Path:
    """The sample for ``scale`` and ``fmt``, written once (a marker records month and format)."""
    from salesreport.sample import write_sample

    folder = base / f"scale-{scale:g}-{fmt}"
    marker = folder / ".complete"
    want = f"{month} {fmt}\n"
    if marker.exists() and marker.read_text() == want:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    write_sample(folder, month, scale=scale, fmt=fmt)
    marker.write_text(want)
    size = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
    print(f"# wrote sample scale {scale:g} ({fmt}, {size:,.0f} MB) in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)  # fmt: skip
    return folder


def _status(key: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def load_options(load_tables, database: bool) -> dict:
    """``load_tables`` keywords: with ``database``, a DuckDB file in a temporary folder (removed
    at exit) where the checkout's ``load_tables`` takes one, as a report run does."""
    import inspect

    if not database or "database" not in inspect.signature(load_tables).parameters:
        return {}
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="bench-engine-")
    atexit.register(shutil.rmtree, folder, True)
    return {"database": Path(folder) / "engine.duckdb"}


def floor(folder: Path, regions: list[str], threads: int | None = None) -> dict[str, int]:
    """DuckDB reads the files, keeps the team's rows and aggregates per rep and month."""
    import duckdb

    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")

    def src(name: str) -> str:
        for ext, fn in ((".parquet", "read_parquet"), (".csv", "read_csv")):
            p = folder / f"{name}{ext}"
            if p.exists():
                return f"{fn}('{p}')"
        raise FileNotFoundError(name)

    inlist = ", ".join(f"'{r}'" for r in regions)
    con.execute(
        f"CREATE TEMP TABLE reps AS SELECT rep_id FROM {src('reps')} WHERE region IN ({inlist})"
    )
    queries = {
        "opportunities": f"SELECT owner_id, date_trunc('month', TRY_CAST(created_date AS DATE)) m, "
        f"count(*), sum(TRY_CAST(replace(CAST(amount AS VARCHAR), ',', '') AS DOUBLE)) FROM {src('opportunities')} "
        f"WHERE region IN ({inlist}) GROUP BY ALL",
        "leads": f"SELECT owner_id, date_trunc('month', TRY_CAST(created_date AS DATE)) m, count(*) "
        f"FROM {src('leads')} WHERE region IN ({inlist}) GROUP BY ALL",
        "orders": f"SELECT account_id IS NULL, date_trunc('month', TRY_CAST(order_date AS DATE)) m, "
        f"count(*), sum(TRY_CAST(replace(CAST(amount AS VARCHAR), ',', '') AS DOUBLE)) FROM {src('orders')} "
        f"WHERE region IN ({inlist}) GROUP BY ALL",
        "activities": f"SELECT rep_id, date_trunc('month', TRY_CAST(timestamp AS TIMESTAMP)) m, "
        f"type, count(*) FROM {src('activities')} WHERE rep_id IN (SELECT rep_id FROM reps) "
        "GROUP BY ALL",
        "stage_history": f"SELECT stage, date_trunc('month', TRY_CAST(entered_date AS DATE)) m, "
        f"count(*) FROM {src('stage_history')} GROUP BY ALL",
    }
    return {t: len(con.execute(q).fetchall()) for t, q in queries.items()}


def run_step(step: str, folder: Path, team: str, month: str, database: bool = False) -> dict:
    """One step in this (child) process: seconds, CPU seconds, rows, resident sets.

    The clock starts before the loader is imported (pandas and pyarrow, which every run
    imports anyway, are imported before): ``import_seconds`` is its share."""
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401

    from salesreport.params import load_params

    params = load_params(team)
    if step == "sql":  # every table of the folder from the server the parent started
        from salesreport.params import SqlSource

        names = [p.name.split(".")[0] for p in folder.iterdir() if not p.name.startswith(".")]
        sql = SqlSource(url_env=SQL_ENV, tables={t: f"{SQL_SCHEMA}.{t}" for t in sorted(names)})
        params = params.model_copy(update={"data": params.data.model_copy(update={"sql": sql})})
        folder = None
    started = 0.0
    if step.startswith("spark"):  # every table of the folder as a query Spark runs on its file
        from salesreport.backends import spark_session
        from salesreport.params import TeamParams

        files = sorted(p for p in folder.iterdir() if p.suffix == ".parquet")
        if not files:
            raise SystemExit("the spark step reads Parquet files: give --fmt parquet")
        data = params.model_dump(exclude_unset=True)
        data["engine"] = {"kind": "spark", "master": "local[2]"}
        if step == "spark-staging":  # the results written as files, not through the driver
            staging = Path(tempfile.mkdtemp(prefix="sr-bench-staging-"))
            data["engine"]["staging"] = staging.as_uri()
        data["data"] = {"sql": {"tables": {p.stem: f"select * from parquet.`{p}`" for p in files}}}
        params = TeamParams.model_validate(data)
        t = time.perf_counter()
        spark_session(params.engine)  # the session the load then uses
        started = time.perf_counter() - t
        folder = None
    base = _status("VmRSS")
    t0, c0 = time.perf_counter(), _cpu()
    from salesreport.data import load_tables

    imported = time.perf_counter() - t0
    rows: dict[str, int] = {}
    if step == "floor":
        rows = floor(folder, [str(r) for r in params.filters.get("region", [])])
    else:
        res = load_tables(params, folder, month, **load_options(load_tables, database))
        if step == "tables":
            rows = {t: len(df) for t, df in res.tables.items() if t in COUNTED}
        else:
            rows = {t: res.quality.read[t]["rows_kept"] for t in COUNTED if t in res.quality.read}
    secs, cpu = time.perf_counter() - t0, _cpu() - c0
    return {"step": step, "seconds": secs, "cpu_seconds": cpu, "import_seconds": imported,
            "base_mb": base, "rows": rows, "start_seconds": started}  # fmt: skip


@contextlib.contextmanager
def sql_server(folder: Path, steps: list[str]):
    """With a ``sql`` step: a PostgreSQL server holding ``folder``'s tables (its URL in
    :data:`SQL_ENV` for the children); else nothing."""
    if "sql" not in steps:
        yield
        return
    sys.path.insert(0, str(ROOT))  # the tests' server, from this checkout
    from tests.servers import copy_folder_to_postgres, postgres_server

    with postgres_server() as url:
        t0 = time.perf_counter()
        names = copy_folder_to_postgres(url, folder, SQL_SCHEMA)
        print(f"# {len(names)} tables copied into the server in {time.perf_counter() - t0:.1f} s",
              flush=True)  # fmt: skip
        os.environ[SQL_ENV] = url
        try:
            yield
        finally:
            os.environ.pop(SQL_ENV, None)


def spawn(step: str, folder: Path, team: str, month: str, source: Path, database: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", step, "--folder", str(folder), "--team", team,
           "--month", month, "--source", str(source)] + (["--database"] if database else [])  # fmt: skip
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=source)
    if proc.returncode:
        raise SystemExit(f"step {step} failed in {folder} (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", default="1,10,100", help="comma-separated sample scales")
    ap.add_argument("--month", default="2026-10")
    ap.add_argument("--team", default="emea")
    ap.add_argument("--fmt", default="csv", choices=("csv", "parquet"))
    ap.add_argument("--steps", default="load,floor", help=f"subset of {','.join(STEPS)}")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each step")
    ap.add_argument("--dir", default="/tmp/salesreport-bench-load", help="where samples are kept")
    ap.add_argument("--source", default=str(ROOT), help="the checkout whose package to measure")
    ap.add_argument("--database", action="store_true", help="the engine in a file, as a run has it")
    ap.add_argument("--child", default="", help=argparse.SUPPRESS)
    ap.add_argument("--folder", default="", help=argparse.SUPPRESS)
    ap.add_argument("--json", default="", help="also append the rows to this JSON-lines file")
    args = ap.parse_args(argv)
    source = Path(args.source).resolve()
    sys.path.insert(0, str(source))
    os.environ["SALESREPORT_HOME"] = str(source)

    if args.child:
        out = run_step(args.child, Path(args.folder), args.team, args.month, args.database)
        out["peak_mb"] = _status("VmHWM")
        print(json.dumps(out))
        return 0

    where = "a database file" if args.database else "memory"
    print(f"# source {source}; engine in {where}; load average {os.getloadavg()[0]:.1f}",
          flush=True)  # fmt: skip
    print(f"{'scale':>6} {'step':>7} {'seconds':>8} {'import':>7} {'cpu s':>7} {'peak MB':>8} "
          f"{'base MB':>8}  "
          "team rows: opportunities / activities / orders / leads", flush=True)  # fmt: skip
    for scale in [float(s) for s in args.scales.split(",")]:
        folder = sample_folder(Path(args.dir), scale, args.month, args.fmt)
        steps = [s for s in args.steps.split(",") if s]
        with sql_server(folder, steps):
            for step, _ in [(s, i) for s in steps for i in range(args.repeat)]:
                r = spawn(step, folder, args.team, args.month, source, args.database)
                rows = " / ".join(f"{r['rows'].get(t, 0):,}" for t in COUNTED)
                print(f"{scale:>6g} {step:>7} {r['seconds']:>8.2f} {r['import_seconds']:>7.2f} "
                      f"{r['cpu_seconds']:>7.1f} "
                      f"{r['peak_mb']:>8.0f} {r['base_mb']:>8.0f}  {rows}", flush=True)  # fmt: skip
                if r.get("start_seconds"):
                    print(f"{'':>6} {'':>7} (the Spark session started in "
                          f"{r['start_seconds']:.1f} s before the clock)", flush=True)  # fmt: skip
                if args.json:
                    with open(args.json, "a") as fh:
                        rec = {"scale": scale, "fmt": args.fmt, "database": args.database, **r}
                        fh.write(json.dumps(rec) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
