"""The same numbers on DuckDB, PostgreSQL and Spark, timed; and every team in one command.

For each engine, on the sample at ``--scale`` (``--teams``, default EMEA; ``--months``,
default 2026-10):

- **load**: the files read, checked and cut by the loader (the same for every engine);
  for ``postgres-sql`` the sample is first copied into typed tables of the server (time
  shown apart, as a CRM database would already hold them) and the tables are read from it
  with ``data.sql`` (``engine: postgres`` beside ``data.sql``, as a user configures it);
- **upload**: the cut tables put into the engine (DuckDB: in memory; PostgreSQL: temporary
  tables of a real server started here, as the tests start it; Spark: a local session's
  cached views), shown apart from the computation;
- **compute**: every frame of the report (``build_context``: KPIs, cohorts, revenue,
  forecasts) with the queries run by that engine;
- the largest relative difference of ``kpis`` against DuckDB's (the tests require 1e-9).

Then ``salesreport report --all-teams`` against the three teams one by one (fresh processes,
as a user runs them), wall and CPU seconds.

    .venv/bin/python benchmarks/bench_engines.py [--scale 1] [--engines duckdb,postgres,spark]
        [--teams emea,na,apac] [--months 2026-10,2026-09] [--no-all-teams] [--repeat 3]
        [--upload-only]
        (engines: duckdb, postgres, postgres-sql, spark, spark-staging, spark-driver: the
        last two on a standalone cluster started here; PySpark keeps one session a process,
        so run each Spark engine in a process of its own, e.g. --engines duckdb,spark-staging)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MONTH = "2026-10"
PG_ENV = "SALESREPORT_BENCH_PG_URL"

from salesreport.outputs import CSV_FILES  # noqa: E402


def cpu() -> float:
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def rel_diff(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = ~(np.isnan(a) & np.isnan(b))
    if (np.isnan(a[ok]) | np.isnan(b[ok])).any():
        return float("inf")
    d = np.abs(a[ok] - b[ok]) / np.maximum(np.maximum(np.abs(a[ok]), np.abs(b[ok])), 1e-9)
    return float(d.max()) if d.size else 0.0


#: the report's files compared between engines (kpis.csv, okrs.csv, cohorts.csv, ...)
REPORT_FRAMES = tuple(n.removesuffix(".csv") for n in CSV_FILES)


def engines(
    scale: float,
    names: list[str],
    teams: tuple[str, ...] = ("emea",),
    months: tuple[str, ...] = (MONTH,),
    upload_only: bool = False,
) -> None:
    """Every engine of ``names`` on every team and month (the sample written once, ending in
    :data:`MONTH`; an earlier month is the point-in-time cut of the same files).
    ``upload_only``: the tables put into each engine, nothing computed."""
    data = Path(tempfile.mkdtemp(prefix="sr-bench-engines-"))
    from salesreport.sample import write_sample

    write_sample(data, end_month=MONTH, scale=scale)
    for team in teams:
        for month in months:
            _engines_on(data, scale, names, team, month, upload_only)


def _engines_on(
    data: Path, scale: float, names: list[str], team: str, month: str, upload_only: bool = False
) -> None:
    from salesreport.backends import open_engine
    from salesreport.context import build_context
    from salesreport.data import load_tables
    from salesreport.data.pit import as_of
    from salesreport.params import EngineParams, SqlSource, load_params
    from tests.servers import copy_folder_to_postgres, postgres_server
    from tests.test_engines import assert_same_frames

    params = load_params(team)
    t0 = time.perf_counter()
    loaded = load_tables(params, data, month)
    load_s = time.perf_counter() - t0
    tables = as_of(loaded.tables, month, copy=False)[0]
    rows = sum(len(getattr(tables, t)) for t in tables.present())
    print(f"\nsample x{scale:g}, {team.upper()} {month}: {rows:,} rows after the team filter and "
          f"the cut; load {load_s:.1f} s (the same for every engine)")  # fmt: skip
    print(f"{'engine':<12} {'read s':>7} {'connect s':>9} {'upload s':>9} {'compute s':>10} "
          f"{'kpi rows':>9} {'max rel diff vs duckdb':>23}")  # fmt: skip
    base = None
    for name in names:
        with contextlib.ExitStack() as stack:
            spec = {"kind": name.removesuffix("-sql")}
            read_s, cut = load_s, tables
            if name.startswith("postgres"):
                os.environ[PG_ENV] = stack.enter_context(postgres_server())
                spec["url_env"] = PG_ENV
            if name == "spark":  # the whole report's plans need more than the default 3g
                spec["master"] = "local[2]"
                spec["options"] = {"spark.driver.memory": "8g"}
            if name.startswith("spark-"):  # a standalone cluster on this machine
                spec = _cluster_spec(stack, name, data)
            p = params.model_copy(update={"engine": EngineParams(**spec)})
            if name == "postgres-sql":
                t0 = time.perf_counter()
                names_in = copy_folder_to_postgres(os.environ[PG_ENV], data, "crm")
                print(f"  (the sample copied into the server's schema crm beforehand: "
                      f"{time.perf_counter() - t0:.1f} s)")  # fmt: skip
                sql = SqlSource(url_env=PG_ENV, tables={t: f"crm.{t}" for t in names_in})
                p = p.model_copy(update={"data": p.data.model_copy(update={"sql": sql})})
                t0 = time.perf_counter()
                cut = as_of(load_tables(p, None, month).tables, month, copy=False)[0]
                read_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            engine = open_engine(p.engine)
            t1 = time.perf_counter()
            engine.register_tables(cut)
            t2 = time.perf_counter()
            if upload_only:
                engine.close()
                print(f"{name:<12} {read_s:7.1f} {t1 - t0:9.1f} {t2 - t1:9.1f} {'-':>10}")
                if name.startswith("spark"):
                    print(f"  ({_driver_peak()})")
                continue
            ctx = build_context(p, cut, month, engine=engine)
            t3 = time.perf_counter()
            engine.close()
        kpis = ctx.frames["kpis"]
        frames = {n: ctx.frames[n] for n in REPORT_FRAMES}
        if base is None:
            base, base_frames = kpis, frames
            diff = "-"
        else:
            same = len(kpis) == len(base) and (kpis["metric"] == base["metric"]).all()
            diff = f"{rel_diff(kpis['value'], base['value']):.1e}" if same else "rows differ"
            try:  # every file of the report, as the tests compare them
                assert_same_frames(frames, base_frames, name)
                diff += f"; all {len(frames)} files equal"
            except AssertionError as exc:
                diff += f"; DIFFER: {str(exc)[:200]}"
        print(f"{name:<12} {read_s:7.1f} {t1 - t0:9.1f} {t2 - t1:9.1f} {t3 - t2:10.1f} "
              f"{len(kpis):9,} {diff:>23}", flush=True)  # fmt: skip
        if name.startswith("spark"):
            print(f"  ({_driver_peak()})")


def _cluster_spec(stack: contextlib.ExitStack, name: str, data: Path) -> dict:
    """``spark-staging`` / ``spark-driver``: a standalone master and worker on the loopback
    address (4g for executors), the tables given through ``engine.staging`` (a ``file://``
    folder) or through the driver; the driver's heap 8g for both."""
    from tests.servers import spark_cluster

    url = stack.enter_context(spark_cluster(cores=2, memory="4g"))
    options = {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1",
               "spark.driver.memory": "8g", "spark.executor.memory": "4g"}  # fmt: skip
    spec = {"kind": "spark", "master": url, "options": options}
    if name == "spark-staging":
        staging = data.parent / f"{data.name}-staging"
        staging.mkdir(exist_ok=True)
        spec["staging"] = staging.as_uri()
    return spec


def _driver_peak() -> str:
    """The Spark driver's (PySpark's Java gateway's) peak resident memory so far."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    proc = getattr(gateway, "proc", None)
    if proc is None:
        return "driver's peak memory unknown"
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return (
                f"the driver's peak resident memory so far: {int(line.split()[1]) / 2**20:.2f} GB"
            )
    return "driver's peak memory unknown"


def all_teams(repeat: int = 1) -> None:
    """``--all-teams`` against the teams one by one, ``repeat`` times in turn (the ratio's
    median printed: this shared machine's speed varies from minute to minute)."""
    from salesreport.params import list_teams
    from salesreport.sample import write_sample
    from tests.conftest import _project

    data = Path(tempfile.mkdtemp(prefix="sr-bench-all-"))
    write_sample(data, end_month=MONTH)
    teams = list_teams()

    def run(*args: str) -> tuple[float, float]:
        root = _project(Path(tempfile.mkdtemp(prefix="sr-bench-home-")))
        env = {**os.environ, "SALESREPORT_HOME": str(root), "CI": "1"}
        c0, t0 = cpu(), time.perf_counter()
        subprocess.run([sys.executable, "-m", "salesreport", "report", *args, "--month", MONTH,
                        "--data", str(data)], env=env, check=True, capture_output=True)  # fmt: skip
        return time.perf_counter() - t0, cpu() - c0

    ratios = []
    for _ in range(repeat):
        one = {t: run("--team", t) for t in teams}
        together = run("--all-teams")
        print(f"\n{'run':<24} {'wall s':>7} {'CPU s':>7}")
        for t, (w, c) in one.items():
            print(f"{'--team ' + t:<24} {w:7.1f} {c:7.1f}")
        w1 = sum(w for w, _ in one.values())
        c1 = sum(c for _, c in one.values())
        print(f"{'the teams one by one':<24} {w1:7.1f} {c1:7.1f}")
        print(f"{'--all-teams':<24} {together[0]:7.1f} {together[1]:7.1f}")
        ratios.append(together[0] / (w1 / len(one)))
        print(f"--all-teams / one team's mean wall time: {ratios[-1]:.2f} "
              "(issue 19 asks at most 1.5)", flush=True)  # fmt: skip
    if repeat > 1:
        print(
            f"\nmedian of {repeat} ratios: {statistics.median(ratios):.2f} "
            f"({', '.join(f'{r:.2f}' for r in ratios)})"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--engines", default="duckdb,postgres,spark")
    ap.add_argument("--teams", default="emea", help="comma-separated teams (default emea)")
    ap.add_argument("--months", default=MONTH, help=f"comma-separated months (default {MONTH})")
    ap.add_argument("--no-all-teams", action="store_true")
    ap.add_argument("--upload-only", action="store_true", help="put the tables in, compute nothing")
    ap.add_argument("--repeat", type=int, default=1, help="--all-teams comparisons (median)")
    a = ap.parse_args()

    def listed(text: str) -> list[str]:
        return [e.strip() for e in text.split(",") if e.strip()]

    engines(
        a.scale, listed(a.engines), tuple(listed(a.teams)), tuple(listed(a.months)), a.upload_only
    )
    if not a.no_all_teams:
        all_teams(a.repeat)


if __name__ == "__main__":
    main()
