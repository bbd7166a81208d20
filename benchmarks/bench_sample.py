"""Benchmark: time and size of the sample organisation at growing scales.

Run ``.venv/bin/python benchmarks/bench_sample.py [SCALE ...]`` (default: 1 and 10;
add 100 for the large case, about a minute and a few GB of memory). Prints, per
scale, the generation time, the CSV writing time and the row count of every table.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from salesreport.sample import generate_sample, write_sample

END_MONTH = "2026-10"


def bench(scale: float, write: bool = True) -> dict[str, float]:
    """Seconds to generate (and write as CSV) the sample at ``scale``, plus row counts."""
    t0 = time.perf_counter()
    tables = generate_sample(END_MONTH, scale=scale)
    out: dict[str, float] = {"generate_s": time.perf_counter() - t0}
    out.update({name: float(len(df)) for name, df in tables.items()})
    if write:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            write_sample(Path(tmp), end_month=END_MONTH, scale=scale)
            out["generate_and_write_csv_s"] = time.perf_counter() - t0
    return out


def main(argv: list[str]) -> None:
    scales = [float(a) for a in argv] or [1.0, 10.0]
    for scale in scales:
        res = bench(scale, write=scale <= 10)
        timing = ", ".join(f"{k} {v:.2f}" for k, v in res.items() if k.endswith("_s"))
        rows = ", ".join(f"{k} {int(v)}" for k, v in res.items() if not k.endswith("_s"))
        print(f"scale {scale:g}: {timing}\n  rows: {rows}")


if __name__ == "__main__":
    main(sys.argv[1:])
