"""Whole-report speed against its floor, measured in the same run.

Floor: six papermill runs (same workers, same kernel, the same executor,
``salesreport.pipeline.run_jobs``) of a notebook that only imports the libraries the audience
notebooks import, each converted to HTML. Report: `salesreport report` for
EMEA on the sample, run as a user runs it (a fresh process, which imports its libraries). Prints both wall times and the ratio, and the CPU seconds each
used (this process and every worker and kernel it started): CPU time varies less
than wall time when the machine is shared.

    .venv/bin/python benchmarks/bench_report.py [--team emea] [--month 2026-10] [--repeat 3]
        [--per-rep]    (then also the report with a page per AE, timed once)
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

IMPORTS = """from salesreport.charts import set_theme
from salesreport.context import report_context
from salesreport.pages import executive as page
import pandas, matplotlib, seaborn
set_theme()"""


def cpu_seconds() -> float:
    """User + system CPU of this process and of its finished children (the report process,
    workers, kernels)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def floor(workers: int, n: int = 6) -> tuple[float, float]:
    import nbformat

    from salesreport.execute import ensure_kernel

    ensure_kernel()
    tmp = Path(tempfile.mkdtemp(prefix="sr-floor-"))
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell('team: str = "emea"')
    p.metadata["tags"] = ["parameters"]
    nb.cells = [
        p,
        nbformat.v4.new_code_cell(IMPORTS),
        nbformat.v4.new_code_cell("page.Section('floor', 'floor')"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "salesreport",
        "display_name": "Python (salesreport)",
        "language": "python",
    }
    nbformat.write(nb, tmp / "floor.ipynb")
    from salesreport.jobs import NotebookJob
    from salesreport.pipeline import Progress, run_jobs

    jobs = [
        NotebookJob(
            page=f"floor{i}", input=str(tmp / "floor.ipynb"), output=str(tmp / f"out{i}.ipynb"),
            html=str(tmp / f"out{i}.html"), error=str(tmp / f"err{i}.json"), done=str(tmp / f"done{i}"),
            parameters={"team": "emea"}, timeout=600, kernel="salesreport", cwd=str(tmp),
            title="floor", team_title="floor", month="-", footer="-",
        ).write(tmp / f"job{i}.json")
        for i in range(n)
    ]  # fmt: skip
    t0, c0 = time.perf_counter(), cpu_seconds()
    run_jobs(jobs, workers, Progress(quiet=True))
    dt, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    shutil.rmtree(tmp, ignore_errors=True)
    return dt, cpu


def report(
    team: str, month: str, data: str, params: Path | None = None
) -> tuple[float, dict, float]:
    """``salesreport report`` as a user runs it: a fresh process (its imports included);
    with ``params``, that parameter file instead of the team's."""
    import subprocess

    out = Path(tempfile.mkdtemp(prefix="sr-bench-")) / "out"
    cmd = [sys.executable, "-m", "salesreport", "report", "--month", month]
    cmd += ["--params", str(params)] if params else ["--team", team]
    cmd += ["--data", data, "--out", str(out), "--quiet"]
    t0, c0 = time.perf_counter(), cpu_seconds()
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    dt, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    timings = json.loads((out / "run.json").read_text())["timings_seconds"]
    # the index and the KPI definitions are not pages
    timings["pages"] = len(
        [p for p in out.glob("*.html") if p.name not in ("index.html", "kpis.html")]
    )
    shutil.rmtree(out.parent, ignore_errors=True)
    return dt, timings, cpu


def per_rep(team: str, month: str, data: str) -> None:
    """The team's report with ``per_rep: true`` (a page per AE besides the audiences')."""
    import yaml

    from salesreport.params import read_yaml

    tmp = Path(tempfile.mkdtemp(prefix="sr-bench-params-"))
    params = tmp / f"{team}.yaml"
    values = read_yaml(ROOT / "params" / f"{team}.yaml")
    params.write_text(yaml.safe_dump({**values, "team": team, "per_rep": True}))
    dt, timings, cpu = report(team, month, data, params)
    shutil.rmtree(tmp, ignore_errors=True)
    pages = timings["pages"]
    print(
        f"report {team} {month} with per_rep: {dt:6.1f} s   ({cpu:5.1f} CPU s), {pages} pages, "
        f"{dt / pages:.2f} s a page"
    )


def main() -> None:
    from salesreport.params import last_complete_month, load_params
    from salesreport.sample import ensure_sample

    ap = argparse.ArgumentParser()
    ap.add_argument("--team", default="emea")
    ap.add_argument("--month", default=last_complete_month())
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--per-rep", action="store_true", help="also time the per-AE pages")
    a = ap.parse_args()
    data = str(ensure_sample(a.month))
    workers = load_params(a.team).workers
    report(a.team, a.month, data)  # warm: caches, kernel spec, imports on disk
    rows = []
    for _ in range(a.repeat):
        f, f_cpu = floor(workers)
        r, timings, r_cpu = report(a.team, a.month, data)
        rows.append((f, r, timings, f_cpu, r_cpu))
    for i, (f, r, _, f_cpu, r_cpu) in enumerate(rows, 1):
        print(
            f"run {i}: floor {f:5.1f} s ({f_cpu:4.1f} CPU s), report {r:5.1f} s "
            f"({r_cpu:4.1f} CPU s), ratio {r / f:.2f}"
        )
    best_f = min(x[0] for x in rows)
    best_r = min(x[1] for x in rows)
    cpu_f = min(x[3] for x in rows)
    cpu_r = min(x[4] for x in rows)
    print(f"workers: {workers}")
    print(f"floor (6 import-only notebooks + HTML): {best_f:6.1f} s   ({cpu_f:5.1f} CPU s)")
    print(f"report {a.team} {a.month}:              {best_r:6.1f} s   ({cpu_r:5.1f} CPU s)")
    print(
        f"ratio report / floor:                  {best_r / best_f:6.2f}    (CPU {cpu_r / cpu_f:.2f})"
    )
    # each run's floor and report ran back to back: their ratio cancels the machine's
    # drifts in speed that the best-of figures above mix between runs
    ratios = sorted(r / f for f, r, *_ in rows)
    print(f"median of the runs' ratios:            {ratios[len(ratios) // 2]:6.2f}")
    print("report step timings (s):", json.dumps(rows[-1][2]))
    if a.per_rep:
        per_rep(a.team, a.month, data)


if __name__ == "__main__":
    main()
