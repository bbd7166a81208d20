"""Time ``compute_kpis`` on generated data.

Usage::

    python benchmarks/bench_kpis.py            # 1x: a few thousand rows
    python benchmarks/bench_kpis.py --large    # 1M opportunities, 10M activities

Prints the rows of every table, the rows of the KPI frame and the seconds taken. The large
size uses a few GB of memory; run it rarely (the CPU is shared).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from salesreport.kpis import compute_kpis  # noqa: E402
from tests.test_kpis_fixtures import make_params, make_tables  # noqa: E402

SIZES = {
    "1x": dict(n_opps=4_000, n_leads=3_000, n_acts=40_000, n_reps=40, n_orders=3_000),
    "large": dict(
        n_opps=1_000_000, n_leads=500_000, n_acts=10_000_000, n_reps=400, n_orders=1_000_000
    ),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--large", action="store_true", help="1M opportunities and 10M activities")
    ap.add_argument("--month", default="2026-10")
    args = ap.parse_args(argv)
    size = "large" if args.large else "1x"
    t0 = time.perf_counter()
    # the loader hands over tables already cut to the report month: generate up to its end
    end = str(pd.Period(args.month, "M").to_timestamp(how="end").date())
    tables = make_tables(seed=0, stage_history=True, end=end, **SIZES[size])
    gen = time.perf_counter() - t0
    for name, df in tables.items():
        print(f"{name:>14}: {len(df):>11,} rows")
    params = make_params(
        targets=[{"metric": "revenue", "period": "2026", "value": 1.0e9}],
    )
    t0 = time.perf_counter()
    kpis = compute_kpis(tables, params, args.month)
    secs = time.perf_counter() - t0
    print(
        f"size {size}: generated in {gen:.1f} s; compute_kpis -> {len(kpis):,} rows in {secs:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
