"""Peak memory of a whole report and of each page, summed over every process they start.

A report is several processes at once: the run's own, the notebook workers, their kernels
and the forecast process. Their resident sets are summed every 0.25 s (psutil); the figure
is the largest sum, with each process's share at that moment.

* ``report``: ``salesreport report`` for ``--team`` on the ``--scale`` sample (Parquet,
  written once into ``/tmp/sr-scale-<scale>/`` by :func:`bench_scale.sample_folder`), as a
  user runs it (notebooks and HTML included);
* ``pages``: the team's numbers computed and saved once as a run saves them for its pages
  (:func:`salesreport.pipeline._compute`, the engine in a DuckDB file as a run has it), then
  each audience notebook run alone on them by papermill: the peak of papermill and its kernel.

    .venv/bin/python benchmarks/bench_memory.py --scale 200 [--steps report,pages]
        [--team emea] [--month 2026-10]

At scale 200 each step takes 3-4 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

PAGES = ("executive", "manager", "operations", "rep", "sdr", "forecast")


def _tree(root: int) -> list[tuple[int, str]]:
    """``root`` and its descendants: (resident bytes, command line) of each still running."""
    import psutil

    try:
        top = psutil.Process(root)
        family = [top, *top.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    out = []
    for proc in family:
        try:
            out.append((proc.memory_info().rss, " ".join(proc.cmdline())))
        except (psutil.NoSuchProcess, psutil.AccessDenied):  # ended while read
            continue
    return out


def _kind(cmd: str) -> str:
    for word, kind in (
        ("ipykernel", "kernel"),
        ("salesreport.execute", "worker"),
        ("salesreport.forecast.process", "forecast process"),
        ("papermill", "papermill"),
        ("salesreport", "run"),
    ):
        if word in cmd:
            return kind
    return cmd[:40]


def peak_of(cmd: list[str], cwd: Path) -> tuple[float, float, dict[str, float]]:
    """Run ``cmd``; its wall seconds, the peak of its process tree's summed resident set (MB)
    and, at that moment, MB per kind of process."""
    t0 = time.perf_counter()
    peak, split = 0, {}
    with tempfile.TemporaryFile() as errors:  # a file, not a pipe nobody reads while it runs
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=errors)
        while proc.poll() is None:
            tree = _tree(proc.pid)
            total = sum(rss for rss, _ in tree)
            if total > peak:
                peak, split = total, {}
                for rss, command in tree:
                    kind = _kind(command)
                    split[kind] = split.get(kind, 0) + rss / 2**20
            time.sleep(0.25)
        wall = time.perf_counter() - t0
        if proc.returncode:
            errors.seek(0)
            err = errors.read().decode("utf-8", "replace")[-2000:]
            raise SystemExit(f"{' '.join(cmd[:4])} ... failed (exit {proc.returncode}):\n{err}")
    return wall, peak / 2**20, split


def _split(split: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.0f}" for k, v in sorted(split.items(), key=lambda kv: -kv[1]))


def report(folder: Path, team: str, month: str) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as out:
        cmd = [sys.executable, "-m", "salesreport", "report", "--team", team, "--month", month]
        cmd += ["--data", str(folder), "--out", str(Path(out) / "report"), "--quiet"]
        wall, peak, split = peak_of(cmd, ROOT)
    print(f"report {team} {month}: {wall:6.1f} s, peak {peak:6.0f} MB ({_split(split)})")


def pages(folder: Path, team: str, month: str) -> None:
    from types import SimpleNamespace

    from bench_load import load_options

    from salesreport.data import load_tables
    from salesreport.execute import ensure_kernel
    from salesreport.params import load_params
    from salesreport.pipeline import _compute

    ensure_kernel()
    work = Path(tempfile.mkdtemp(prefix="bench-memory-pages-"))
    try:
        params = load_params(team)
        t0 = time.perf_counter()
        loaded = load_tables(params, folder, month, **load_options(load_tables, True))
        paths = SimpleNamespace(work=work, stage=work / "stage", ledger=None)
        paths.stage.mkdir()
        _compute(params, loaded, month, paths)
        loaded.close()
        print(f"context saved in {time.perf_counter() - t0:.1f} s", flush=True)
        for page in PAGES:
            cmd = [sys.executable, "-m", "papermill", str(ROOT / "notebooks" / f"{page}.ipynb")]
            cmd += [str(work / f"{page}.ipynb"), "-k", "salesreport", "--cwd", "notebooks"]
            cmd += ["-p", "team", team, "-p", "month", month, "-p", "run_dir"]
            cmd += [str(work / "context"), "--no-progress-bar"]
            wall, peak, split = peak_of(cmd, ROOT)
            print(f"page {page:10s} {wall:6.1f} s, peak {peak:6.0f} MB ({_split(split)})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    from bench_scale import sample_folder

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=10.0)
    ap.add_argument("--team", default="emea")
    ap.add_argument("--month", default="2026-10")
    ap.add_argument("--steps", default="report,pages", help="subset of report,pages")
    a = ap.parse_args(argv)
    folder = sample_folder(a.scale, a.month, "parquet")
    for step in a.steps.split(","):
        {"report": report, "pages": pages}[step](folder, a.team, a.month)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
