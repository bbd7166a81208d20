"""Record a run's numbers for a set of cases, and compare two recordings.

The proof that a rewrite keeps the numbers: record the outputs of a commit known to be right,
record them again after the change, and compare. Every case is a team, a month and a data
folder; for each, the recorder writes what a report run writes (``kpis.csv``, ``okrs.csv``,
``cohorts.csv``, ``forecast.csv``, ``forecast_accuracy.csv``) and every frame of the report's
context (the numbers the pages show) as Parquet, plus the data-quality counts.

Record the outputs of another commit without checking it out here: the script imports
``salesreport`` from ``--source`` (a ``git worktree`` of that commit), so the same script
records old and new code::

    git worktree add /tmp/base d8ccb52
    python benchmarks/golden.py record /tmp/golden/base --source /tmp/base
    python benchmarks/golden.py record /tmp/golden/new
    python benchmarks/golden.py compare /tmp/golden/base /tmp/golden/new

``compare`` prints, per case and file, ``same bytes``, or the differences: rows only on one
side, and per column the cells that differ (numbers beyond a relative 1e-9 apart, and those
within it, which are summation-order noise), grouped by metric for ``kpis.csv``. It exits 1
when anything differs beyond the tolerance.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CSV_FILES = ("kpis.csv", "okrs.csv", "cohorts.csv", "forecast.csv", "forecast_accuracy.csv")
REL_TOL = 1e-9

#: (case name, team or params text, month, data variant)
CASES = [
    ("emea-2026-10", "emea", "2026-10", "sample"),
    ("emea-2026-03", "emea", "2026-03", "sample"),
    ("emea-2025-12", "emea", "2025-12", "sample"),
    ("na-2026-10", "na", "2026-10", "sample"),
    ("na-2026-01", "na", "2026-01", "sample"),
    ("apac-2026-10", "apac", "2026-10", "sample"),
    ("apac-2026-06", "apac", "2026-06", "sample"),
    ("bare-required-columns-2026-10", "team: bare\n", "2026-10", "required"),
    ("orders-only-2026-10", "team: mine\n", "2026-10", "orders"),
    ("opportunities-only-2026-10", "team: mine\n", "2026-10", "opportunities"),
]


def _data_variants(base: Path) -> dict[str, Path]:
    """The sample (ending 2026-10) and three cut-down copies of it, written once under ``base``."""
    import pandas as pd

    from salesreport.sample import write_sample
    from salesreport.tables import TABLES

    sample = base / "sample"
    if not sample.exists():
        write_sample(sample, end_month="2026-10")
    out = {"sample": sample}
    required = base / "required"
    if not required.exists():
        required.mkdir()
        for path in sorted(sample.glob("*.csv")):
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
            df[TABLES[path.stem].required].to_csv(required / path.name, index=False)
    out["required"] = required
    for table in ("orders", "opportunities"):
        folder = base / table
        if not folder.exists():
            folder.mkdir()
            src = pd.read_csv(sample / f"{table}.csv", dtype=str)
            src = src[src["region"].isin(["DE", "FR", "NL", "ES"])]
            src.to_csv(folder / f"{table}.csv", index=False)
            if table == "opportunities":
                sh = pd.read_csv(sample / "stage_history.csv", dtype=str)
                sh[sh["opportunity_id"].isin(src["opportunity_id"])].to_csv(
                    folder / "stage_history.csv", index=False
                )
        out[table] = folder
    return out


def record(dest: Path, only: list[str] | None) -> None:
    """Write every case's outputs under ``dest/<case>/``."""
    import pandas as pd

    from salesreport.context import build_context
    from salesreport.data import load_tables
    from salesreport.outputs import write_outputs
    from salesreport.params import load_params

    dest.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="golden-"))
    try:
        data = _data_variants(work)
        for name, team, month, variant in CASES:
            if only and name not in only:
                continue
            if "\n" in team:
                pfile = work / f"{name}.yaml"
                pfile.write_text(team)
                params = load_params(None, str(pfile))
            else:
                params = load_params(team)
            loaded = load_tables(params, str(data[variant]), month, strict=False)
            ctx = build_context(
                params,
                loaded.tables,
                month,
                quality=loaded.quality.to_frame(),
                quality_rows=loaded.quality.rows(),
                ledger_path=None,
                engine=getattr(loaded, "engine", None),  # (checkouts before the loader's engine)
            )
            case = dest / name
            shutil.rmtree(case, ignore_errors=True)
            (case / "frames").mkdir(parents=True)
            write_outputs(ctx, case)
            for key, df in ctx.frames.items():
                if isinstance(df, pd.DataFrame):
                    _frame_parquet(df, case / "frames" / f"{key}.parquet")
            (case / "notes.json").write_text(
                json.dumps(ctx.notes, indent=1, sort_keys=True, default=str)
            )
            digest = {f: hashlib.sha256((case / f).read_bytes()).hexdigest() for f in CSV_FILES}
            (case / "sha256.json").write_text(json.dumps(digest, indent=1))
            print(f"recorded {name}", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _frame_parquet(df, path: Path) -> None:
    """A context frame as Parquet (periods and other objects as text, the index as columns)."""
    import pandas as pd

    out = df.copy()
    if not isinstance(out.index, pd.RangeIndex):
        out = out.reset_index()
    out.columns = [str(c) for c in out.columns]
    for c in out.columns:
        if isinstance(out[c].dtype, pd.PeriodDtype) or out[c].dtype == object:
            out[c] = out[c].map(
                lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v)
            )
    out.to_parquet(path, index=False)


# --------------------------------------------------------------------------- compare


def _compare_frames(a, b, key_cols: list[str]) -> dict:
    """Differences between two frames read from files: rows on one side only, and per column
    the cells that differ beyond the tolerance and within it."""
    import numpy as np
    import pandas as pd

    out: dict = {}
    if list(a.columns) != list(b.columns):
        out["columns"] = {"before": list(a.columns), "after": list(b.columns)}
        common = [c for c in a.columns if c in b.columns]
        a, b = a[common], b[common]
    keys = [c for c in key_cols if c in a.columns]
    if keys:
        ka = a[keys].astype(str).agg("\x1f".join, axis=1)
        kb = b[keys].astype(str).agg("\x1f".join, axis=1)
        if ka.duplicated().any() or kb.duplicated().any():
            keys = []
    if not keys:  # positional
        n = min(len(a), len(b))
        if len(a) != len(b):
            out["row_count"] = {"before": len(a), "after": len(b)}
        a2, b2 = a.iloc[:n].reset_index(drop=True), b.iloc[:n].reset_index(drop=True)
    else:
        only_a, only_b = ~ka.isin(set(kb)), ~kb.isin(set(ka))
        if only_a.any():
            out["rows_only_before"] = a[only_a.to_numpy()]
        if only_b.any():
            out["rows_only_after"] = b[only_b.to_numpy()]
        a2 = a[~only_a.to_numpy()].set_axis(ka[~only_a].to_numpy()).sort_index()
        b2 = b[~only_b.to_numpy()].set_axis(kb[~only_b].to_numpy()).sort_index()
        order_same = (
            (ka[~only_a].to_numpy() == kb[~only_b].to_numpy()).all()
            if ((~only_a).sum() == (~only_b).sum())
            else False
        )
        if not order_same:
            out["order"] = "rows in another order"
    cells = {}
    for c in a2.columns:
        if c in keys:
            continue
        x, y = a2[c], b2[c]
        xn = pd.to_numeric(x, errors="coerce")
        yn = pd.to_numeric(y, errors="coerce")
        numeric = xn.notna().sum() >= x.notna().sum() and yn.notna().sum() >= y.notna().sum()
        if numeric:
            xv, yv = xn.to_numpy(float), yn.to_numpy(float)
            both_nan = np.isnan(xv) & np.isnan(yv)
            diff = ~both_nan & ~(xv == yv)
            scale = np.maximum(np.abs(xv), np.abs(yv))
            with np.errstate(invalid="ignore"):
                close = diff & (np.abs(xv - yv) <= REL_TOL * scale)
            far = diff & ~close
            if diff.any():
                cells[c] = {"far": far, "close": close}
        else:
            xs, ys = x.astype(str).where(x.notna(), ""), y.astype(str).where(y.notna(), "")
            far = (xs != ys).to_numpy()
            if far.any():
                cells[c] = {"far": far, "close": np.zeros(len(far), bool)}
    if cells:
        out["cells"] = (a2, b2, cells)
    return out


KEYS = {
    "kpis.csv": ["metric", "window", "period", "segment"],
    "okrs.csv": ["objective", "key_result", "segment"],
    "cohorts.csv": ["cohort", "months_since"],
    "forecast.csv": ["period", "model"],
    "forecast_accuracy.csv": ["model", "origin", "horizon", "kind", "period", "method", "metric"],
}


def compare(before: Path, after: Path, detail: int) -> int:
    import pandas as pd

    bad = 0
    for case_dir in sorted(p for p in before.iterdir() if p.is_dir()):
        other = after / case_dir.name
        print(f"== {case_dir.name}")
        if not other.exists():
            print("   missing in the second recording")
            bad += 1
            continue
        files = [*CSV_FILES, *sorted(f"frames/{p.name}" for p in (case_dir / "frames").glob("*"))]
        for f in files:
            pa_, pb_ = case_dir / f, other / f
            if not pb_.exists():
                print(f"   {f}: missing after")
                bad += 1
                continue
            if pa_.read_bytes() == pb_.read_bytes():
                continue
            if f.endswith(".csv"):
                a = pd.read_csv(pa_, dtype=str, keep_default_na=False)
                b = pd.read_csv(pb_, dtype=str, keep_default_na=False)
                a, b = a.replace("", None), b.replace("", None)
            else:
                a, b = pd.read_parquet(pa_), pd.read_parquet(pb_)
                if a.equals(b):
                    continue
            res = _compare_frames(
                a,
                b,
                KEYS.get(f, KEYS.get(f.removeprefix("frames/").replace(".parquet", ".csv"), [])),
            )
            far = _report(f, res, detail, "metric" in a.columns)
            bad += far
        for extra in sorted(
            set(p.name for p in (other / "frames").glob("*"))
            - set(p.name for p in (case_dir / "frames").glob("*"))
        ):
            print(f"   frames/{extra}: new after")
    print(
        "no difference beyond a relative 1e-9"
        if not bad
        else f"{bad} file(s) differ beyond a relative 1e-9"
    )
    return 1 if bad else 0


def _report(f: str, res: dict, detail: int, by_metric: bool) -> int:
    import numpy as np
    import pandas as pd

    if not res:
        print(f"   {f}: different bytes, same values")
        return 0
    far_any = False
    lines = []
    for k in ("columns", "row_count", "order"):
        if k in res:
            lines.append(f"{k}: {res[k]}")
            far_any |= k != "order"
    for k in ("rows_only_before", "rows_only_after"):
        if k in res:
            far_any = True
            rows = res[k]
            if by_metric:
                lines.append(
                    f"{k}: {len(rows)} rows; by metric {rows['metric'].value_counts().to_dict()}"
                )
            else:
                lines.append(f"{k}: {len(rows)} rows")
            lines.extend("      " + r for r in rows.head(detail).to_string().splitlines())
    if "cells" in res:
        a2, b2, cells = res["cells"]
        for c, m in cells.items():
            nf, nc = int(m["far"].sum()), int(m["close"].sum())
            far_any |= nf > 0
            msg = f"column {c}: {nf} cells differ beyond 1e-9, {nc} within"
            if nf:
                x = pd.to_numeric(a2.loc[m["far"], c], errors="coerce").to_numpy(float)
                y = pd.to_numeric(b2.loc[m["far"], c], errors="coerce").to_numpy(float)
                gap = np.abs(x - y)
                if np.isfinite(gap).any():
                    msg += f" (largest absolute difference {np.nanmax(gap):.3g})"
                if (np.isnan(x) != np.isnan(y)).any():
                    msg += f"; {int((np.isnan(x) != np.isnan(y)).sum())} empty on one side only"
            if by_metric and nf:
                metrics = a2.loc[m["far"], "metric"].value_counts().to_dict()
                msg += f"; by metric {metrics}"
            lines.append(msg)
            idx = np.flatnonzero(m["far"])[:detail]
            for i in idx:
                lines.append(
                    f"      {a2.index[i]!s:60.60}  {a2[c].iloc[i]!s:>24} -> {b2[c].iloc[i]!s}"
                )
    print(f"   {f}:" + (" (values within 1e-9)" if not far_any else ""))
    for line in lines:
        print("      " + line)
    return int(far_any)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record", help="record every case's outputs into DEST")
    r.add_argument("dest", type=Path)
    r.add_argument("--source", type=Path, help="a checkout whose salesreport package to use")
    r.add_argument("--case", action="append", help="only these cases (repeatable)")
    c = sub.add_parser("compare", help="compare two recordings")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    c.add_argument("--detail", type=int, default=5, help="cells shown per difference")
    args = ap.parse_args(argv)
    if args.cmd == "record":
        source = (args.source or ROOT).resolve()
        sys.path.insert(0, str(source))
        os.environ["SALESREPORT_HOME"] = str(source)
        os.environ.setdefault("CI", "1")
        import salesreport

        print(f"salesreport from {Path(salesreport.__file__).parent}", file=sys.stderr)
        record(args.dest.resolve(), args.case)
        return 0
    return compare(args.before, args.after, args.detail)


if __name__ == "__main__":
    sys.exit(main())
