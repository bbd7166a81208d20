"""``load_tables``: one team's tables, read, mapped, parsed, checked, filtered, converted and cut.

Order of the steps (each counted in :class:`DataQuality`):

1. read every contract table from the folder (or SQL source); a preset's file
   names count as the table's name;
2. rename headers (preset, then ``data.mapping``) and apply the preset's value rules;
3. parse into the contract's dtypes (:mod:`salesreport.tables`);
4. structural checks over the whole files -> one :class:`DataError` listing all;
5. team filters (``filters``), tables without the column following the
   tables they reference -> ``filtered``; then a currency without a rate among
   the team's rows, or filters that keep no opportunity/order, stop the run;
6. row checks on the rows in scope -> ``dropped`` / ``repaired`` / ``flagged``;
   too many bad rows (``thresholds.bad_row_share``, or any with ``strict``)
   -> one :class:`DataError` listing every table over the limit;
7. amounts in other currencies converted with ``fx_rates`` -> ``converted``;
8. the point-in-time cut to the report month (:func:`as_of`) -> ``after_month``.

Which rows each count refers to is unchanged by the memory layout below: ``rows_read``,
structural checks, ``filtered`` and the parent keys that decide ``flagged``/orphan rows use
the whole files; ``dropped``/``repaired``/``flagged``/``converted``/``after_month`` count the
team's rows (the rows in scope), as they always did.

Memory (large files): Parquet text columns are read into Arrow memory
(``pd.ArrowDtype(pa.string())``) and parsed there; whole-file columns stay Arrow (or
numbers/dates) through parsing, structural checks and the team filters (key look-ups use
Arrow's hash join), and only the team's rows become ``object`` text, the contract's dtype, in
step 6 (repeated values share one Python string). Each table's whole-file data is released as
soon as its rows in scope are checked. CSV, Excel and SQL sources are read as ``object`` text
as before.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from salesreport.data.parse import in_keys, is_arrow_text, key_values, objects_frame
from salesreport.data.pit import as_of
from salesreport.data.presets import apply_derive, derive_sources, load_preset, rename_columns
from salesreport.data.quality import DataQuality
from salesreport.data.read import RawTable, ReadError, find_table_files, read_file, read_sql_tables
from salesreport.data.validate import (
    REFERENCES,
    ParsedTable,
    check_references,
    check_rows,
    currency_problems,
    parse_table,
    probability_scale,
    problem,
    problem_line,
    structural_problems,
    threshold_problems,
)
from salesreport.exceptions import DataError
from salesreport.params import TeamParams, params_source, parse_month, project_root
from salesreport.periods import month_period
from salesreport.tables import TABLE_NAMES, TABLES, Tables

# a table without a filter column keeps the rows that reference a kept row of these tables
FOLLOW: dict[str, tuple[tuple[str, str, str], ...]] = {
    "stage_history": (("opportunity_id", "opportunities", "opportunity_id"),),
    "activities": (
        ("rep_id", "reps", "rep_id"),
        ("opportunity_id", "opportunities", "opportunity_id"),
        ("lead_id", "leads", "lead_id"),
    ),
    "orders": (("account_id", "accounts", "account_id"),),
    "forecast_submissions": (("rep_id", "reps", "rep_id"),),
    "targets": (("rep_id", "reps", "rep_id"),),
}
# parents before the tables that follow them
FILTER_ORDER = (
    "reps",
    "accounts",
    "opportunities",
    "leads",
    "orders",
    "spend",
    "stage_history",
    "activities",
    "forecast_submissions",
    "targets",
)


@dataclass
class LoadResult:
    """What :func:`load_tables` returns.

    ``tables``: the team's tables in contract form; ``quality``: every row
    dropped, repaired, flagged, filtered, converted or cut; ``fingerprints``:
    table -> sha256 of the file's bytes (of the query result as CSV for SQL);
    ``sources``: table -> file path (``_sample`` -> the sample folder when the
    bundled sample was used).
    """

    tables: Tables
    quality: DataQuality
    fingerprints: dict[str, str]
    sources: dict[str, str]
    month: str = ""
    ignored_files: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """Plain data for ``run.json``: per table source, fingerprint, rows; issues; ignored files."""
        rows = self.quality.read
        return {
            "month": self.month,
            "sample": self.sources.get("_sample"),
            "tables": {
                t: {
                    "source": self.sources.get(t),
                    "sha256": self.fingerprints.get(t),
                    "rows_read": rows.get(t, {}).get("rows_read"),
                    "rows_kept": rows.get(t, {}).get("rows_kept"),
                }
                for t in TABLE_NAMES
                if t in self.fingerprints
            },
            "quality": self.quality.to_json(),
            "ignored_files": list(self.ignored_files),
        }


#: the tables a report needs one row of (at least one of them), by the date that puts a row
#: in a month
REVENUE_DATES = {"orders": "order_date", "opportunities": "created_date"}


def _nothing_by_month(
    tables: Tables, first_dated: dict[str, pd.Timestamp], files: dict[str, str], month: str
) -> list[dict]:
    """A problem when no orders and no opportunities are dated on or before the end of
    ``month`` (a month before the data starts): there is nothing to report on."""
    present = [t for t in REVENUE_DATES if tables.get(t) is not None]
    if not present or any(len(tables.get(t)) for t in present):
        return []
    firsts = [d for d in first_dated.values() if pd.notna(d)]
    end = month_period(month).end_time
    others = [files[t] for t in present[1:]]
    also = f", and neither is any row of {' or '.join(others)}" if others else ""
    start = f" (the first is in {min(firsts):%B %Y})" if firsts else ""
    fix = f"Choose --month {min(firsts):%Y-%m} or later." if firsts else "Check the dates."
    return [
        problem(
            files[present[0]],
            None,
            [],
            f"no row is dated on or before {end:%-d %B %Y}{also}{start}",
            fix,
        )
    ]


def raise_problems(problems: list[dict]) -> None:
    """Raise one :class:`DataError` naming every problem (nothing when the list is empty)."""
    if not problems:
        return
    lines = [problem_line(p) for p in problems]
    if len(lines) == 1:
        message = lines[0]
    else:
        message = f"{len(lines)} problems in the data:\n" + "\n".join(f"- {line}" for line in lines)
    raise DataError(message, problems)


def _data_folder(params: TeamParams, data_dir: str | Path | None) -> tuple[Path, bool]:
    """The folder to read and whether it is the bundled sample."""
    if data_dir is not None:
        return Path(data_dir), False
    if params.data.path:
        path = Path(params.data.path)
        return (path if path.is_absolute() else project_root() / path), False
    from salesreport.sample import ensure_sample

    return Path(ensure_sample()), True


def read_source(
    params: TeamParams, data_dir: str | Path | None
) -> tuple[dict[str, RawTable], list[str], dict[str, str], list[dict]]:
    """Read the raw tables: ``(raws, ignored files, extra sources, structural problems)``.

    ``data_dir`` wins; else ``data.sql``; else ``data.path``; else the bundled sample.
    """
    preset = load_preset(params.data.preset) if params.data.preset else None
    problems: list[dict] = []
    raws: dict[str, RawTable] = {}
    extra: dict[str, str] = {}
    ignored: list[str] = []
    if data_dir is None and params.data.sql is not None:
        sql = params.data.sql
        try:
            raws = read_sql_tables(sql.url_env, sql.tables)
        except ReadError as exc:
            raise_problems([problem(f"sql (${sql.url_env})", None, [], exc.reason, exc.fix)])
        present = set(raws)
        where = f"data.sql.tables in {params_source(params)}"
    else:
        folder, is_sample = _data_folder(params, data_dir)
        if not folder.is_dir():
            raise_problems(
                [
                    problem(
                        str(folder),
                        None,
                        [],
                        "is not a folder",
                        "Pass --data DIR with the folder holding NAME.csv/.parquet/.xlsx, or set "
                        f"data.path in {params_source(params)}.",
                    )
                ]
            )
        if is_sample:
            extra["_sample"] = str(folder)
        found, ignored = find_table_files(folder, preset.files if preset else None)
        for table, paths in found.items():
            if len(paths) > 1:
                names = " and ".join(p.name for p in paths)
                problems.append(
                    problem(
                        paths[0].name,
                        None,
                        [],
                        f"{names} both hold table {table}",
                        "Keep one file per table: remove or rename the others.",
                    )
                )
                continue
            try:
                raws[table] = read_file(paths[0], table, params.data.encoding)
            except ReadError as exc:
                problems.append(problem(paths[0].name, None, [], exc.reason, exc.fix))
        present = set(found)
        where = str(folder)
    if not present & {"opportunities", "orders"}:
        hint = ""
        if preset:
            names = preset.names_for("opportunities", "orders")
            hint += f" (data.preset {params.data.preset} also reads {', '.join(names)} as .csv/.parquet/.xlsx)"
        if ignored:
            more = ", ..." if len(ignored) > 10 else ""
            hint += f"; files there: {', '.join(ignored[:10])}{more}"
        problems.append(
            problem(
                where,
                None,
                [],
                f"holds neither opportunities nor orders{hint}",
                "Add opportunities.csv or orders.csv (or .parquet/.xlsx); for a CRM export set "
                f"data.preset in {params_source(params)}.",
            )
        )
    unknown_maps = sorted(set(params.data.mapping) - set(TABLE_NAMES))
    if unknown_maps:
        problems.append(
            problem(
                params_source(params),
                None,
                [],
                f"data.mapping names unknown tables {unknown_maps}",
                f"Use the contract's table names: {', '.join(TABLE_NAMES)}.",
            )
        )
    return raws, ignored, extra, problems


def prepare(raw: RawTable, params: TeamParams) -> ParsedTable:
    """Rename, derive and parse one raw table."""
    table = raw.table
    spec = TABLES[table]
    preset = load_preset(params.data.preset) if params.data.preset else None
    user = params.data.mapping.get(table, {})
    contract = [c.name for c in spec.columns]
    frame_in = objects_frame(raw.frame) if preset else raw.frame  # preset rules expect objects
    mapped, applied, dupes = rename_columns(frame_in, table, preset, user, contract)
    derived, skipped = (mapped, []) if dupes else apply_derive(mapped, table, preset)
    if dupes:  # cannot parse a frame with two columns of one name; report and stop later
        derived = mapped.loc[:, ~mapped.columns.duplicated()]
    frame, invalid, unknown, changed = parse_table(table, spec, derived, params.timezone)
    pt = ParsedTable(
        table=table,
        spec=spec,
        file=raw.file,
        path=raw.path,
        sha256=raw.sha256,
        raw=derived,
        frame=frame,
        invalid=invalid,
        unknown=unknown,
        changed=changed,
        applied_mapping=applied,
        duplicate_columns=dupes,
        derive_skipped=skipped,
        derive_sources=derive_sources(preset, table),
        user_mapping=dict(user),
    )
    if "probability" in frame.columns:
        pt.pct_scale = probability_scale(frame["probability"])
    return pt


#: seconds to wait before asking mimalloc again: it gives freed pages back only once they have
#: been free for its purge delay (10 ms by default), so a release right after the frees keeps
#: them (at 100x, 1.4 GB stayed resident after the load)
MIMALLOC_PURGE_WAIT = 0.03


def _release_arrow_memory() -> None:
    """Give the memory of freed Arrow buffers back to the system (the pool keeps it otherwise)."""
    pool = pa.default_memory_pool()
    if not hasattr(pool, "release_unused"):
        return
    pool.release_unused()
    if pool.backend_name == "mimalloc":
        time.sleep(MIMALLOC_PURGE_WAIT)
        pool.release_unused()


#: rows read (all tables) from which :func:`load_tables` ends with :func:`release_free_memory`:
#: below, the temporaries are a few megabytes and the full garbage collection would cost more
#: (0.1 s of CPU on the 1x sample, 150k rows) than the memory it gives back is worth
RELEASE_MIN_ROWS = 1_000_000


def release_free_memory() -> None:
    """Collect garbage and give the C heap's free pages back to the system.

    Loading frees gigabytes of temporaries (whole files, parsed columns, Python strings) that
    glibc's allocator keeps mapped otherwise, so the next step's peak would sit on top of
    them. ``malloc_trim`` is glibc only: elsewhere only the collection runs.
    """
    gc.collect()
    _release_arrow_memory()
    name = ctypes.util.find_library("c")
    if not name:
        return
    libc = ctypes.CDLL(name)
    if hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def _text_in(values: pd.Series, allowed: set[str]) -> pd.Series:
    """``True`` where a value, as text, is one of ``allowed`` (missing values never are)."""
    if is_arrow_text(values):  # already text: no need for Python strings
        return pd.Series(values.isin(allowed), index=values.index, dtype=bool)
    return (values.notna() & values.astype(str).isin(allowed)).astype(bool)


def _labels(mask: pd.Series) -> np.ndarray:
    """The index labels (spreadsheet row numbers) where ``mask`` is true, as an array: the
    rows of a data-quality issue without a Python int per row (millions when filtering)."""
    return mask.index.to_numpy()[mask.to_numpy(dtype=bool)]


def filter_rows(
    parsed: dict[str, ParsedTable], filters: dict[str, list[str]], q: DataQuality
) -> dict[str, pd.Series]:
    """Keep-masks per table for the team's ``filters`` (rows outside are counted ``filtered``).

    A table with a filter column keeps rows whose value is listed (``targets``
    also keeps rows where it is empty). A table with none of the filter
    columns keeps the rows that reference a kept row of a filtered table it
    points at (``FOLLOW``); with no such table it is kept whole.
    """
    keep = {t: pd.Series(True, index=pt.frame.index) for t, pt in parsed.items()}
    if not filters:
        return keep
    filtered: set[str] = set()
    for table in FILTER_ORDER:
        if table not in parsed:
            continue
        pt = parsed[table]
        df = pt.frame
        direct = [c for c in filters if c in df.columns]
        for col in direct:
            allowed = {str(v) for v in filters[col]}
            ok = _text_in(df[col], allowed)
            if table == "targets":
                ok |= df[col].isna()
            gone = keep[table] & ~ok
            q.add(
                table,
                pt.file,
                "filtered",
                f"{col} not in {', '.join(sorted(allowed))}",
                _labels(gone),
                column=col,
            )
            keep[table] &= ok
        if direct:
            filtered.add(table)
            continue
        links = [
            (col, parent, pkey)
            for col, parent, pkey in FOLLOW.get(table, ())
            if parent in filtered and col in df.columns
        ]
        if not links:
            continue
        ok = pd.Series(False, index=df.index)
        for col, parent, pkey in links:
            pf = parsed[parent].frame
            kept_keys = key_values(pf.loc[keep[parent], pkey])
            ok |= in_keys(df[col], kept_keys)
        if table == "targets":
            ok |= df["rep_id"].isna()
        gone = keep[table] & ~ok
        via = ", ".join(f"{col} of {parent}" for col, parent, _ in links)
        q.add(table, pt.file, "filtered", f"not linked to a kept row ({via})", _labels(gone))
        keep[table] &= ok
        filtered.add(table)
    return keep


def convert_currency(
    df: pd.DataFrame, params: TeamParams, table: str, file: str, q: DataQuality
) -> pd.DataFrame:
    """Amounts in another currency times ``fx_rates[code]``; keeps ``original_amount/currency``.

    Rows with an empty ``currency`` are in the team's currency. Afterwards
    ``currency`` is the team's currency on every row.
    """
    if "currency" not in df.columns or "amount" not in df.columns:
        return df
    team = params.currency
    cur = df["currency"].where(df["currency"].notna(), team)
    rates = {**params.fx_rates, team: 1.0}
    out = df.copy()
    out["original_currency"] = cur
    out["original_amount"] = df["amount"]
    out["amount"] = df["amount"] * cur.map(rates).astype(float)
    out["currency"] = team
    for code in sorted(set(cur) - {team}):
        rows = _labels(cur == code)
        q.add(
            table,
            file,
            "converted",
            f"amount converted from {code} at {rates[code]:g} {team}",
            rows,
            column="amount",
        )
    return out


def load_tables(
    params: TeamParams, data_dir: str | Path | None, month: str, *, strict: bool = False
) -> LoadResult:
    """Load one team's tables for the report of ``month``, in contract form.

    Parameters
    ----------
    params : TeamParams
        The team's parameters: ``data`` (path, preset, mapping, sql, encoding),
        ``filters``, ``currency``, ``fx_rates``, ``timezone``, ``thresholds``.
    data_dir : str, Path or None
        Folder of ``NAME.csv``/``.parquet``/``.xlsx`` files. ``None``:
        ``params.data.sql``, else ``params.data.path`` (relative to the
        repository root), else the bundled sample (``_sample`` in ``sources``).
    month : str
        The report month ``YYYY-MM``; rows dated after it are cut (:func:`as_of`).
    strict : bool
        Stop at any bad row instead of above ``thresholds.bad_row_share``.

    Returns
    -------
    LoadResult
        Tables (index 0..n-1; dtypes of :mod:`salesreport.tables`; amounts in
        the team's currency), data quality, fingerprints and sources.

    Raises
    ------
    DataError
        Every structural problem of every table at once (unreadable or empty
        file, two files for one table, missing required column, a column
        mostly unreadable, neither opportunities nor orders, a currency
        without a rate, filters naming no column or keeping nothing), or every
        table with too many bad rows; each names the file, column, first rows
        and the fix.

    Examples
    --------
    >>> from salesreport.params import load_params
    >>> loaded = load_tables(load_params("emea"), "data/emea", "2026-10")  # doctest: +SKIP
    >>> print(loaded.quality.summary_text())  # doctest: +SKIP
    """
    parse_month(month)
    q = DataQuality()
    raws, ignored, extra_sources, problems = read_source(params, data_dir)
    parsed: dict[str, ParsedTable] = {}
    for table in TABLE_NAMES:
        if table not in raws:
            continue
        # popped: the whole file's frame is freed with the parsed table (``release`` below)
        pt = prepare(raws.pop(table), params)
        parsed[table] = pt
        q.set_rows(table, pt.file, len(pt.frame))
        problems += structural_problems(pt, params_source(params))
    for col in params.filters:
        if parsed and not any(col in pt.frame.columns for pt in parsed.values()):
            problems.append(
                problem(
                    params_source(params),
                    col,
                    [],
                    "is a filter column (filters) but no table has it",
                    f"Fix the column name under filters in {params_source(params)} or remove the filter.",
                )
            )
    raise_problems(problems)

    keep = filter_rows(parsed, params.filters, q)
    for main in ("opportunities", "orders"):
        if main in parsed and len(parsed[main].frame) and not keep[main].any():
            cols = [c for c in params.filters if c in parsed[main].frame.columns]
            seen = {
                c: sorted(parsed[main].frame[c].dropna().astype(str).unique())[:10] for c in cols
            }
            problems.append(
                problem(
                    parsed[main].file,
                    ", ".join(cols) or None,
                    [],
                    f"no row is left after the team's filters {dict(params.filters)} (values in the file: {seen})",
                    f"Fix filters in {params_source(params)} to match the values in the data.",
                )
            )
    for table, pt in parsed.items():
        problems += currency_problems(
            pt, params.currency, params.fx_rates, params_source(params), keep[table]
        )
    raise_problems(problems)

    parents = {parent for _, _, parent, _, _ in REFERENCES}  # only these are looked up
    all_keys = {
        t: key_values(pt.frame[TABLES[t].key])
        for t, pt in parsed.items()
        if t in parents and TABLES[t].key and TABLES[t].key in pt.frame.columns
    }
    frames: dict[str, pd.DataFrame] = {}
    in_scope: dict[str, int] = {}
    for table, pt in parsed.items():
        # the team's rows only leave Arrow memory (text as ``object``, the contract's dtype)
        df = objects_frame(pt.frame.loc[keep[table]]).copy()
        in_scope[table] = len(df)
        frames[table] = check_rows(pt, df, q)
        pt.release()  # the whole file is not read again (only the names below)
    del keep
    _release_arrow_memory()
    frames = check_references(frames, all_keys, parsed, q)
    raise_problems(
        threshold_problems(
            parsed, in_scope, q, params.thresholds.bad_row_share, strict, params_source(params)
        )
    )

    files = {t: pt.file for t, pt in parsed.items()}
    fingerprints = {t: pt.sha256 for t, pt in parsed.items()}
    sources = {**{t: pt.path for t, pt in parsed.items()}, **extra_sources}
    # the whole files (every team's rows) are not needed any more: free them before the copies
    del parsed, all_keys
    _release_arrow_memory()
    for table, df in frames.items():
        frames[table] = convert_currency(df, params, table, files[table], q)
    first_dated = {  # the earliest row of each revenue table, before the month's cut
        t: frames[t][col].min() for t, col in REVENUE_DATES.items() if t in frames
    }
    tables, counts = as_of(Tables(**frames), month)
    del frames
    raise_problems(_nothing_by_month(tables, first_dated, files, month))
    for rec in counts.to_dict("records"):
        q.add(rec["table"], files[rec["table"]], "after_month", rec["reason"], rec["rows"])
    final = {}
    for table, df in tables.items():
        q.set_kept(table, len(df))
        # the frames are this function's own copies: renumber in place (no copy of the data)
        df.index = pd.RangeIndex(len(df))
        final[table] = df
    del tables
    if sum(info["rows_read"] for info in q.read.values()) >= RELEASE_MIN_ROWS:
        release_free_memory()
    return LoadResult(
        tables=Tables(**final),
        quality=q,
        fingerprints=fingerprints,
        sources=sources,
        month=month,
        ignored_files=ignored,
    )
