"""Time ``cohort_table`` (and ``customer_kpis``) on 1M synthetic orders from 200k customers.

Run from the repository root: ``.venv/bin/python -m benchmarks.bench_cohorts`` (prints seconds; target: a few seconds).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from salesreport.cohorts import cohort_table
from salesreport.customers import customer_kpis
from salesreport.params import validate_params
from salesreport.periods import windows_frame
from salesreport.tables import Tables


def synthetic_orders(n_orders: int = 1_000_000, n_customers: int = 200_000, seed: int = 0):
    """Seeded orders over 2022-01-01 .. 2026-10-31 with a segment column."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2022-01-01")
    days = (np.datetime64("2026-10-31") - start).astype(int) + 1
    customer = rng.integers(0, n_customers, n_orders)
    return pd.DataFrame(
        {
            "order_id": np.char.add("O", np.arange(n_orders).astype(str)).astype(object),
            "account_id": np.char.add("A", customer.astype(str)).astype(object),
            "order_date": (start + rng.integers(0, days, n_orders)).astype("datetime64[ns]"),
            "amount": rng.gamma(2.0, 150.0, n_orders),
            "segment": rng.choice(np.array(["smb", "mid", "ent"], dtype=object), n_orders),
        }
    )


def main() -> None:
    orders = synthetic_orders()
    tables = Tables(orders=orders)
    for seg in (None, "segment"):
        t0 = time.perf_counter()
        out = cohort_table(tables, "2026-10", segment_col=seg)
        dt = time.perf_counter() - t0
        print(f"cohort_table(segment_col={seg!r}): {dt:.2f} s, {len(out)} rows")
    windows = windows_frame("2026-10", 24)
    t0 = time.perf_counter()
    out = customer_kpis(tables, windows, validate_params({"team": "bench"}))
    dt = time.perf_counter() - t0
    print(f"customer_kpis (24 months x 4 windows): {dt:.2f} s, {len(out)} rows")


if __name__ == "__main__":
    main()
