"""``load_tables``: one team's tables, read, mapped, parsed, checked, filtered, converted and cut,
each step a query on the engine (:mod:`salesreport.engine`).

Order of the steps (each counted in :class:`DataQuality`):

1. read every contract table from the folder (or SQL source) into the engine
   (:mod:`salesreport.data.read`); a preset's file names count as the table's name;
2. rename headers (preset, then ``data.mapping``) and apply the preset's value rules
   (:mod:`salesreport.data.presets`, SQL over the raw columns);
3. parse into the contract's types (:mod:`salesreport.data.parse`): one table per file,
   ``_line`` its spreadsheet row numbers, the unreadable values kept for messages;
4. structural checks over the whole files -> one :class:`DataError` listing all;
5. team filters (``filters``), tables without the column following the
   tables they reference -> ``filtered``; then a currency without a rate among
   the team's rows, or filters that keep no opportunity/order, stop the run;
6. row checks on the rows in scope -> ``dropped`` / ``repaired`` / ``flagged``;
   too many bad rows (``thresholds.bad_row_share``, or any with ``strict``)
   -> one :class:`DataError` listing every table over the limit;
7. amounts in other currencies converted with ``fx_rates`` -> ``converted``;
8. the point-in-time cut to the report month (:func:`salesreport.data.pit.cut`) ->
   ``after_month``; each table is then one table of the engine, with ``_row`` (its row's
   position in the team's table, in file order) and, under the table's name, the contract's
   columns (what the KPI queries read).

``rows_read``, structural checks, ``filtered`` and the parent keys that decide orphan rows use
the whole files; ``dropped``/``repaired``/``flagged``/``converted``/``after_month`` count the
team's rows (the rows in scope). A bad row's issue keeps every row; the others (filtered,
converted, flagged, normalised, after the month: often most of a table) keep their count and
the first rows as examples.

The pandas tables (:attr:`LoadResult.tables`) are made from the engine when first read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from salesreport.data.parse import ident, install, sql_text, staged_select
from salesreport.data.pit import cut
from salesreport.data.presets import apply_derive, derive_sources, load_preset, rename_columns
from salesreport.data.quality import DataQuality
from salesreport.data.read import (
    Member,
    RawTable,
    ReadError,
    column_letter,
    detect_table,
    find_table_files,
    outside_links,
    read_file,
    read_member,
    read_spark_tables,
    read_sql_tables,
    size_text,
    table_suffix,
)
from salesreport.data.runner import DuckRunner, Runner
from salesreport.data.settle import settle_date_order, settle_decimal
from salesreport.data.validate import (
    EXAMPLE_LINES,
    ParsedTable,
    check_references,
    check_rows,
    check_target_metrics,
    checked_relation,
    currency_problems,
    examples_where,
    lines_where,
    parse_select,
    problem,
    problem_line,
    structural_problems,
    threshold_problems,
)
from salesreport.engine import duckdb_memory_cap
from salesreport.exceptions import DataError
from salesreport.params import TeamParams, params_source, parse_month, project_root
from salesreport.periods import month_period
from salesreport.tables import TABLE_NAMES, TABLES, LazyTables, Tables

if TYPE_CHECKING:  # the engine imports ibis
    import pyarrow as pa

    from salesreport.engine import Engine

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
#: input files smaller than this in all are loaded on one thread: DuckDB's threads cost more
#: than they give on small tables (the sample, 8 MB: 0.6 CPU s on one thread, 0.9-1.0 on two;
#: 10x the sample, 83 MB: 3.1 against 4.5 CPU s on this 2-core machine)
PARALLEL_BYTES = 100 * 2**20


@dataclass
class LoadResult:
    """What :func:`load_tables` returns.

    ``tables``: the team's tables in contract form, as pandas (each made from the engine the
    first time it is read); ``quality``: every row dropped, repaired, flagged, filtered,
    converted or cut; ``fingerprints``: table -> sha256 of the file's bytes (of the query
    result as CSV for SQL); ``sources``: table -> file path (``_sample`` -> the sample folder
    when the bundled sample was used); ``engine``: the engine holding the tables (each under
    its name, in the contract's types, with ``_row``).
    """

    tables: Tables
    quality: DataQuality
    fingerprints: dict[str, str]
    sources: dict[str, str]
    month: str = ""
    ignored_files: list[str] = field(default_factory=list)
    #: the DuckDB connection holding the tables (each under its name), which the engine wraps
    connection: Any = field(default=None, repr=False)
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine | None:
        """The engine holding the tables, each under its name (made on first use: the load
        itself needs no Ibis)."""
        if self._engine is None and self.connection is not None:
            from salesreport.engine import Engine

            self._engine = Engine.from_connection(self.connection, self.tables.present())
        return self._engine

    def engine_for(self, params: TeamParams) -> Engine | None:
        """The engine to compute the team's numbers in, when the load already holds the tables
        there: :attr:`engine` when the team's engine (``engine:`` in its YAML) is DuckDB, the
        default; ``None`` for a server (PostgreSQL, Spark), which
        :func:`salesreport.kpis.compiler.engine_for` opens and gives the tables to."""
        return self.engine if params.engine.kind == "duckdb" else None

    def close(self) -> None:
        """Close the engine's connection (its database file and memory are let go); the pandas
        tables already made stay readable, the others can no longer be made."""
        if self.connection is not None:
            self.connection.close()

    def release(self) -> None:
        """Close the engine and let the pandas tables go: what is left serves ``run.json``
        (:meth:`to_json`). A run calls it once the pages have what they need of the tables,
        so that its memory is free while the pages run."""
        self.close()
        self._engine = None
        self.tables = Tables()

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
    kept: dict[str, int], first_dated: dict[str, Any], files: dict[str, str], month: str
) -> list[dict]:
    """A problem when no orders and no opportunities are dated on or before the end of
    ``month`` (a month before the data starts): there is nothing to report on."""
    present = [t for t in REVENUE_DATES if t in kept]
    if not present or any(kept[t] for t in present):
        return []
    firsts = [pd.Timestamp(d) for d in first_dated.values() if d is not None and pd.notna(d)]
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


def _other_exports(folder: str, names: list[str], preset: str | None) -> list[str]:
    """For the files of a folder without opportunities or orders: which one is a screen export
    another preset reads (``; report.csv is a Salesforce report export: set data.preset:
    salesforce_report``)."""
    from salesreport.data.presets import PRESET_DIR

    out = []
    for path in sorted(PRESET_DIR.glob("*.yaml")):
        other = load_preset(path.stem)
        if other.name == preset or not other.detect:
            continue
        for name in names:
            if table_suffix(name) and detect_table(Path(folder) / name, other.detect):
                out.append(f"; {name} is a {other.label}: set data.preset: {other.name}")
    return out


def _repeated(raw: RawTable, fix: str, letters: bool = False) -> list[dict]:
    """A problem for each name ``raw``'s header gives to more than one column."""
    out = []
    for header, where in raw.repeats:
        at = " and ".join(f"{p} ({column_letter(p)})" if letters else str(p) for p in where)
        out.append(
            problem(
                raw.file, header, [], f"is the header of more than one column: columns {at}", fix
            )
        )
    return out


def _first(values) -> str:
    return str(next(iter(values), "<value>"))


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
    con, params: TeamParams, data_dir: str | Path | None, scratch: Path | None = None
) -> tuple[dict[str, RawTable], list[str], dict[str, str], list[dict]]:
    """Read the raw tables into the engine connection ``con``: ``(raws, ignored files, extra
    sources, structural problems)``.

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
            if sql.url_env is None:  # the tables of the Spark session's catalog
                from salesreport.backends import spark_session

                source = "spark"
                raws = read_spark_tables(
                    con, spark_session(params.engine), sql.tables, params.engine.staging
                )
            else:
                source = f"${sql.url_env}"
                raws = read_sql_tables(con, sql.url_env, sql.tables)
        except ReadError as exc:
            raise_problems([problem(f"sql ({source})", None, [], exc.reason, exc.fix)])
        present = set(raws)
        for table, raw in list(raws.items()):
            if raw.repeats:
                problems += _repeated(
                    raw, f"Give each column of data.sql.tables.{table} its own name (AS ...); "
                    "which one holds the values is not guessed",
                )  # fmt: skip
                raws.pop(table).release(con)
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
        if not params.data.allow_links:
            for name, target in outside_links(folder):
                problems.append(
                    problem(
                        name,
                        None,
                        [],
                        f"is a symbolic link to {target}, outside the data folder {folder}",
                        "Copy the file into the folder, or add the line `allow_links: true` "
                        f"under data: in {params_source(params)} to follow such links",
                    )
                )
            if problems:
                raise_problems(problems)
        found, ignored = find_table_files(
            folder, preset.files if preset else None, preset.detect if preset else None
        )
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
                if isinstance(paths[0], Member):
                    raw = read_member(con, paths[0], table, params.data.encoding, scratch)
                else:
                    raw = read_file(con, paths[0], table, params.data.encoding, scratch)
            except ReadError as exc:
                problems.append(problem(paths[0].name, None, [], exc.reason, exc.fix))
                continue
            if raw.repeats:
                problems += _repeated(
                    raw, "Rename or remove all but one of them; which one holds the values is "
                    "not guessed", letters=True,
                )  # fmt: skip
                raw.release(con)
                continue
            raws[table] = raw
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
            hint += "".join(_other_exports(where, ignored, params.data.preset))
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


def prepare(con, raw: RawTable, params: TeamParams) -> ParsedTable:
    """Rename, derive and parse one raw table into a table of the engine (the raw rows are
    then dropped)."""
    from salesreport.data.parse import Raw

    table = raw.table
    spec = TABLES[table]
    preset = load_preset(params.data.preset) if params.data.preset else None
    user = params.data.mapping.get(table, {})
    contract = [c.name for c in spec.columns]
    names, applied, dupes = rename_columns(raw.columns, table, preset, user, contract)
    columns: dict[str, Raw] = {}
    for i, (name, kind) in enumerate(zip(names, raw.kinds, strict=True)):
        if name not in columns:  # two headers on one name: the first is kept (and reported)
            columns[name] = Raw(f"c{i}", kind)
    for col, value in params.data.defaults.items():  # the team's constants win the preset's
        if col in contract and col not in columns:
            columns[col] = Raw(sql_text(value))
    stages = params.data.stages.model_dump() if params.data.stages else None
    derived, skipped = (columns, []) if dupes else apply_derive(columns, table, preset, stages)
    defaulted = {
        r["column"]: str(r["value"])
        for r in (preset.derive.get(table, []) if preset else [])
        if r["rule"] == "default" and r["column"] not in columns
    }
    source = params_source(params)
    reading: dict[str, str] = {}
    order, how = settle_date_order(con, raw, spec, derived, params.data.date_order, source)
    if how:
        reading["date_order"] = how
    comma, how = settle_decimal(con, raw, spec, derived, params.data.decimal, source)
    if how:
        reading["decimal"] = how
    parsers, outputs, present, checked, changed, extras = parse_select(
        table, spec, list(derived.items()), params.timezone, date_order=order, decimal_comma=comma
    )
    if raw.blank:
        outputs.append(f"coalesce({raw.blank}, false) AS _blank")
    if raw.footer_rows:  # a footer line is one cell (or none) of the file's line
        others = " AND ".join(f"c{i} IS NULL" for i in range(1, len(raw.columns)))
        outputs.append(f"({others}) AS _one_cell")
    name = f"_sr_parsed_{table}"
    raw.run(
        con,
        lambda source: (
            f"CREATE OR REPLACE TEMP TABLE {ident(name)} AS "
            + staged_select(source, [], parsers, outputs)
        ),
    )
    made = [name]
    footer = list(raw.footer)
    if raw.footer_rows:
        k = raw.footer_rows
        last = f"rowid >= (SELECT count(*) FROM {ident(name)}) - {k}"
        n_one = con.execute(
            f"SELECT count(*) FILTER (WHERE _one_cell) FROM {ident(name)} WHERE {last}"
        ).fetchone()[0]
        if n_one == k:
            con.execute(f"DELETE FROM {ident(name)} WHERE {last}")
        else:  # the engine's rows do not end with the footer's lines: they are data
            footer = []
        con.execute(f"ALTER TABLE {ident(name)} DROP COLUMN _one_cell")
    n, blanks = con.execute(
        f"SELECT count(*), {'count(*) FILTER (WHERE _blank)' if raw.blank else '0'} FROM {ident(name)}"
    ).fetchone()
    rows = n - blanks
    if rows == 0:
        con.execute(f"DROP TABLE {ident(name)}")
        raise ReadError(
            "has no data rows",
            "Export the table again with its header row and data, or remove the file.",
        )
    if blanks:  # lines of only spaces are not rows: number the rows without them
        lined = f"{name}_lines"
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {ident(lined)} AS SELECT row_number() OVER (ORDER BY rowid) + 1 "
            f"AS _line, * EXCLUDE (_blank) FROM {ident(name)} WHERE NOT _blank"
        )
        con.execute(f"DROP TABLE {ident(name)}")
        made = [lined]
        relation = ident(lined)
    else:  # the table keeps the file's order: a row's number is its position + 2
        exclude = " EXCLUDE (_blank)" if raw.blank else ""
        relation = f"(SELECT rowid + 2 AS _line, *{exclude} FROM {ident(name)})"
    return ParsedTable(
        table=table,
        spec=spec,
        file=raw.file,
        path=raw.path,
        sha256=raw.sha256,
        relation=relation,
        rows=rows,
        columns=present,
        checked=checked,
        changed=changed,
        extras=extras,
        applied_mapping=applied,
        duplicate_columns=dupes,
        derive_skipped=skipped,
        derive_sources=derive_sources(preset, table),
        user_mapping=dict(user),
        scope=relation,
        in_scope=rows,
        made=made,
        footer=footer,
        reading=reading,
        defaulted=defaulted,
    )


def _missing_lines(run: Runner, pt: ParsedTable, limit: int) -> np.ndarray:
    """The first ``limit`` rows of the whole file that are not among the team's rows (the
    file's rows are numbered 2, 3, ... without gaps)."""
    kept = run.arrays(f"SELECT _line FROM {pt.scope}")["_line"]
    mask = np.ones(pt.rows, dtype=bool)
    mask[np.asarray(kept, dtype=np.int64) - 2] = False
    return np.flatnonzero(mask)[:limit] + 2


def filter_rows(
    run: Runner, parsed: dict[str, ParsedTable], filters: dict[str, list[str]], q: DataQuality
) -> None:
    """The team's rows of each table (``pt.scope``) by the team's ``filters`` (rows outside are
    counted ``filtered``).

    A table with a filter column keeps rows whose value is listed (``targets``
    also keeps rows where it is empty). A table with none of the filter
    columns keeps the rows that reference a kept row of a filtered table it
    points at (``FOLLOW``); with no such table it is kept whole.
    """
    if not filters:
        return
    D = run.dialect
    filtered: set[str] = set()
    for table in FILTER_ORDER:
        if table not in parsed:
            continue
        pt = parsed[table]
        direct = [c for c in filters if c in pt.columns or c in {h for _, h in pt.extras}]
        steps: list[tuple[str, str, str | None]] = []  # (predicate kept, reason, column)
        for col in direct:
            allowed = sorted({str(v) for v in filters[col]})
            engine_col = col if col in pt.columns else next(e for e, h in pt.extras if h == col)
            value = D.text(D.ident(engine_col))
            ok = f"coalesce({value} IN ({', '.join(D.lit(a) for a in allowed)}), false)"
            if table == "targets":
                ok = f"({ok} OR {D.ident(engine_col)} IS NULL)"
            steps.append((ok, f"{col} not in {', '.join(allowed)}", col))
        if not direct:
            links = [
                (col, parent, pkey)
                for col, parent, pkey in FOLLOW.get(table, ())
                if parent in filtered and col in pt.columns
            ]
            if not links:
                continue
            ok = " OR ".join(
                f"coalesce({D.ident(col)} IN (SELECT {D.ident(pkey)} FROM {parsed[parent].scope}), false)"
                for col, parent, pkey in links
            )
            if table == "targets":
                ok = f"({ok}) OR rep_id IS NULL"
            via = ", ".join(f"{col} of {parent}" for col, parent, _ in links)
            steps.append((f"({ok})", f"not linked to a kept row ({via})", None))
        keep = " AND ".join(p for p, _, _ in steps)
        run.create(f"_sr_scope_{table}", f"SELECT * FROM {pt.relation} WHERE {keep}")
        pt.scope = D.ident(f"_sr_scope_{table}")
        pt.made.append(f"_sr_scope_{table}")
        pt.in_scope = run.rows(f"SELECT count(*) AS n FROM {pt.scope}")[0][0]
        if len(steps) == 1:
            n = pt.rows - pt.in_scope
            if n:
                q.add(table, pt.file, "filtered", steps[0][1], _missing_lines(run, pt, EXAMPLE_LINES),
                      column=steps[0][2], count=n)  # fmt: skip
        else:  # several filter columns: each counts the rows it takes out of those left
            before = "true"
            for ok, reason, col in steps:
                gone = f"{before} AND NOT {ok}"
                n, lines = examples_where(run, pt.relation, gone, EXAMPLE_LINES)
                if n:
                    q.add(table, pt.file, "filtered", reason, lines, column=col, count=n)
                before = f"{before} AND {ok}"
        filtered.add(table)


def converted(
    run: Runner, pt: ParsedTable, params: TeamParams, q: DataQuality
) -> tuple[str, list[str]]:
    """The checked rows with amounts in the team's currency (``fx_rates``): a ``FROM`` item and
    its columns; ``_orig_currency``/``_orig_amount`` keep what was read. Rows with an empty
    ``currency`` are in the team's currency."""
    D = run.dialect
    rel = checked_relation(pt)
    cols = ["_line", *pt.columns, *(e for e, _ in pt.extras)]
    if "currency" not in pt.columns or "amount" not in pt.columns:
        return rel, cols
    team = params.currency
    rates = {**params.fx_rates, team: 1.0}
    cur = f"coalesce(currency, {D.lit(team)})"
    rate = (
        "CASE "
        + " ".join(f"WHEN {cur} = {D.lit(c)} THEN {float(r)!r}" for c, r in rates.items())
        + " END"
    )
    codes = run.rows(
        f"SELECT {D.binary(cur)} AS cur, count(*) AS n FROM {rel} WHERE {cur} <> {D.lit(team)} "
        "GROUP BY 1 ORDER BY 1"
    )
    for code, n in codes:
        lines = lines_where(run, rel, f"{cur} = {D.lit(code)}", EXAMPLE_LINES)
        q.add(pt.table, pt.file, "converted", f"amount converted from {code} at {rates[code]:g} {team}",
              lines, column="amount", count=n)  # fmt: skip
    select = ", ".join(
        f"amount * {rate} AS amount" if c == "amount"
        else f"{D.lit(team)} AS currency" if c == "currency"
        else D.ident(c)
        for c in cols
    )  # fmt: skip
    rel = f"(SELECT {select}, {cur} AS _orig_currency, amount AS _orig_amount FROM {rel}) AS _sr_converted"
    return rel, [*cols, "_orig_currency", "_orig_amount"]


def load_tables(
    params: TeamParams,
    data_dir: str | Path | None,
    month: str,
    *,
    strict: bool = False,
    database: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> LoadResult:
    """Load one team's tables for the report of ``month`` into the engine, in contract form.

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
        The report month ``YYYY-MM``; rows dated after it are cut (:mod:`salesreport.data.pit`).
    strict : bool
        Stop at any bad row instead of above ``thresholds.bad_row_share``.
    database : str or Path, optional
        A DuckDB database file for the engine (the run's work folder): its tables are kept on
        disk and read as queries need them, with at most
        :data:`salesreport.engine.MEMORY_LIMIT` of buffers while loading (and a CSV
        transcoded to UTF-8 is written beside it). By default the engine is in memory.
    progress : callable, optional
        Told what the load does while it runs long: each file copied from a folder given by
        URI (:mod:`salesreport.data.remote`), and, for input files of
        :data:`PARALLEL_BYTES` or more, each table as it is read and checked.

    Returns
    -------
    LoadResult
        The engine with the tables, the same as pandas tables (index 0..n-1; dtypes of
        :mod:`salesreport.tables`; amounts in the team's currency; made when first read),
        data quality, fingerprints and sources.

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
    import duckdb

    from salesreport.data.remote import fetched

    parse_month(month)
    scratch = Path(database).parent if database else None
    with fetched(params, data_dir, scratch, progress) as (data_dir, copied):  # a URI's folder
        con = duckdb.connect(str(database) if database else ":memory:")
        small = _input_bytes(params, data_dir) < PARALLEL_BYTES
        if small:
            con.execute("SET threads = 1")
        try:
            with duckdb_memory_cap(con):  # with a database file; put back for what follows
                say = None if small else progress  # a small load is over before it is read
                loaded = _load(con, params, data_dir, month, strict, scratch, say)
        except BaseException:
            con.close()
            raise
    if small:
        con.execute("RESET threads")  # the engine's queries after the load use every core
    if copied:  # run.json names the files the cluster reads, not the run's copies
        loaded.sources = {t: copied.get(p, p) for t, p in loaded.sources.items()}
    return loaded


def _size_text(path) -> str:
    """`` (412 MB)`` for a file (nothing when its size cannot be read: a zip's member, a
    table of a database)."""
    try:
        return f" ({size_text(Path(path).stat().st_size)})"
    except OSError:
        return ""


def _input_bytes(params: TeamParams, data_dir) -> float:
    """The size of the files to read (a SQL source: unknown, infinite)."""
    if data_dir is None and params.data.sql is not None:
        return float("inf")
    try:
        folder, _ = _data_folder(params, data_dir)
        return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    except OSError:
        return 0


def _load(
    con,
    params: TeamParams,
    data_dir,
    month: str,
    strict: bool,
    scratch: Path | None,
    say: Callable[[str], None] | None = None,
) -> LoadResult:
    install(con)
    source = params_source(params)
    q = DataQuality()
    raws, ignored, extra_sources, problems = read_source(con, params, data_dir, scratch)
    parsed: dict[str, ParsedTable] = {}
    for table in TABLE_NAMES:
        if table not in raws:
            continue
        raw = raws.pop(table)
        if say is not None:  # the rows are read, parsed and checked here
            say(f"loading {raw.file}{_size_text(raw.path)}")
        try:
            pt = prepare(con, raw, params)
        except ReadError as exc:
            problems.append(problem(raw.file, None, [], exc.reason, exc.fix))
            continue
        finally:
            raw.release(con)
        parsed[table] = pt
        q.set_rows(table, pt.file, pt.rows)
        if pt.footer:
            shown = "; ".join(f"'{line}'" for line in pt.footer[:3])
            more = ", ..." if len(pt.footer) > 3 else ""
            q.add(table, pt.file, "skipped", f"lines of the report's footer under the rows "
                  f"(not rows): {shown}{more}", [], count=len(pt.footer))  # fmt: skip
        if pt.reading:
            q.reading[table] = dict(pt.reading)
        problems += structural_problems(DuckRunner(con), pt, source)
    for col in params.filters:
        holders = [
            pt for pt in parsed.values() if col in pt.columns or col in {h for _, h in pt.extras}
        ]
        supply = (
            f"when the export lacks it, add the line `defaults: {{{col}: <value>}}` under data: "
            f"in {source} (the value of every row), or map the export's column that holds it: "
            f"`mapping: {{<table>: {{<their column>: {col}}}}}` under data:"
        )
        if parsed and not holders:
            problems.append(
                problem(
                    source,
                    col,
                    [],
                    "is a filter column (filters) but no table has it",
                    f"Fix the column name under filters in {source} or remove the filter; "
                    + supply,
                )
            )
        for pt in holders:
            if col in pt.defaulted:
                problems.append(
                    problem(
                        pt.file,
                        col,
                        [],
                        f"is a filter column (filters) but the export has no {col} column "
                        f"(data.preset {params.data.preset} fills it with "
                        f"'{pt.defaulted[col]}')",
                        f"Add the line `defaults: {{{col}: {_first(params.filters[col])}}}` under "
                        f"data: in {source} (every row of the export is the team's), or map the "
                        f"export's column that holds it: `mapping: {{{pt.table}: {{<their column>: "
                        f"{col}}}}}` under data:",
                    )
                )
    raise_problems(problems)

    filter_rows(DuckRunner(con), parsed, params.filters, q)
    for main in ("opportunities", "orders"):
        pt = parsed.get(main)
        if pt is not None and pt.rows and not pt.in_scope:
            cols = [c for c in params.filters if c in pt.columns]
            seen = {
                c: [r[0] for r in con.execute(
                    f"SELECT DISTINCT CAST({ident(c)} AS VARCHAR) AS v FROM {pt.relation} "
                    "WHERE v IS NOT NULL ORDER BY v LIMIT 10"
                ).fetchall()]
                for c in cols
            }  # fmt: skip
            problems.append(
                problem(
                    pt.file,
                    ", ".join(cols) or None,
                    [],
                    f"no row is left after the team's filters {dict(params.filters)} (values in the file: {seen})",
                    f"Fix filters in {source} to match the values in the data.",
                )
            )
    for pt in parsed.values():
        problems += currency_problems(DuckRunner(con), pt, params.currency, params.fx_rates, source)
    raise_problems(problems)

    run = DuckRunner(con)
    check_rows(run, parsed, q)
    check_references(run, parsed, q)
    check_target_metrics(run, parsed, q)
    th = params.thresholds
    raise_problems(
        threshold_problems(parsed, q, th.bad_row_share, strict, source, th.bad_rows_floor)
    )

    relations = {t: converted(run, pt, params, q) for t, pt in parsed.items()}
    first_dated = {  # the earliest row of each revenue table, before the month's cut
        t: con.execute(f"SELECT min({ident(col)}) FROM {relations[t][0]}").fetchone()[0]
        for t, col in REVENUE_DATES.items()
        if t in relations and col in relations[t][1]
    }
    selects, counts = cut(run, relations, month, limit=EXAMPLE_LINES)
    kept: dict[str, int] = {}
    for table, select in selects.items():
        # ``_row``: the row's position among the kept rows by ``_line``, numbered on the
        # ``_line`` column alone and joined back (numbered with every column carried through
        # the ordering, EMEA's activities at 200 times the sample took 2-3 times as long);
        # the table's own order is the engine's: its readers order by ``_row``
        cut_rows = ident(f"_sr_cut_{table}")
        n = con.execute(f"CREATE OR REPLACE TEMP TABLE {cut_rows} AS {select}").fetchone()[0]
        kept[table] = con.execute(
            f"CREATE OR REPLACE TEMP TABLE {ident(f'_sr_table_{table}')} AS "
            f"SELECT c.*, n._row FROM {cut_rows} AS c JOIN (SELECT _line, row_number() OVER "
            f"(ORDER BY _line) - 1 AS _row FROM {cut_rows}) AS n USING (_line)"
        ).fetchone()[0]
        con.execute(f"DROP TABLE {cut_rows}")
        if kept[table] != n:  # a file's row numbers are unique: joined back, each row once
            raise RuntimeError(f"{table}: {n} rows kept but {kept[table]} numbered")
    files = {t: pt.file for t, pt in parsed.items()}
    raise_problems(_nothing_by_month(kept, first_dated, files, month))
    for rec in counts:
        q.add(
            rec["table"],
            files[rec["table"]],
            "after_month",
            rec["reason"],
            rec["rows"],
            count=rec["count"],
        )
    makers = {}
    for table, pt in parsed.items():
        q.set_kept(table, kept[table])
        spec_cols = ", ".join(ident(c) for c in pt.columns)
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {ident(table)} AS SELECT {spec_cols}, _row FROM {ident(f'_sr_table_{table}')}"
        )
        makers[table] = _Frame(con, table, pt, "_orig_amount" in relations[table][1])
    for pt in parsed.values():  # the intermediate tables
        for name in pt.made:
            con.execute(f"DROP TABLE IF EXISTS {ident(name)}")
    return LoadResult(
        tables=LazyTables(makers),
        quality=q,
        fingerprints={t: pt.sha256 for t, pt in parsed.items()},
        sources={**{t: pt.path for t, pt in parsed.items()}, **extra_sources},
        month=month,
        ignored_files=ignored,
        connection=con,
    )


class _Frame:
    """Makes one loaded table a pandas frame in the contract's in-memory form
    (:mod:`salesreport.tables`): contract columns in their dtypes, then the extra columns as
    read, then ``original_currency``/``original_amount`` where amounts were converted."""

    def __init__(self, con, table: str, pt: ParsedTable, converted: bool) -> None:
        self.con, self.table = con, table
        self.columns = list(pt.columns)
        self.types = {c.name: c.type for c in pt.spec.columns}
        self.extras = list(pt.extras)
        self.converted = converted

    def __call__(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The frame; with ``columns``, only those of the contract columns (no extra or
        original-currency column)."""
        names = self._names(columns)
        with duckdb_memory_cap(self.con):  # the ordering's buffers spill beyond the cap
            data = self.con.execute(self._query(names)).to_arrow_table()
        return self._frame(data, columns is None)

    def parts(self, rows: int) -> Iterator[pd.DataFrame]:
        """The whole frame as consecutive frames of at most ``rows`` rows (each on a RangeIndex
        of its own), fetched and converted one after the other: only one is in memory."""
        for data in self._whole_in_parts(rows):
            yield self._frame(data, True)

    def _whole_in_parts(self, rows: int) -> Iterator[pa.Table]:
        """Every column of the table, in the file's row order, as Arrow tables of at most
        ``rows`` rows, fetched one after the other (:meth:`parts`, :meth:`saved_parts`)."""
        import pyarrow as pa

        with duckdb_memory_cap(self.con):  # the ordering's buffers spill beyond the cap
            reader = self.con.execute(self._query(self._names(None))).fetch_record_batch(rows)
            for batch in reader:
                yield pa.Table.from_batches([batch])

    def saved_parts(self, rows: int) -> Iterator[pa.Table]:
        """The whole table as :meth:`parts` gives it, each part as the Arrow table
        ``pyarrow.Table.from_pandas(part, preserve_index=False)`` makes of it, converted in
        Arrow without the frame (:func:`_saved_column`: the same types and values; the
        columns' pandas metadata that of the first part, which goes through pandas as
        before). Raises :class:`ValueError` when a column cannot be given so (the first
        part has a column without any value, whose type pandas leaves open, or a later
        part's column does not convert to the first part's type): the caller then saves
        the frames of :meth:`parts`. Twice as fast at 200 times the sample."""
        import pyarrow as pa

        schema = None
        for data in self._whole_in_parts(rows):
            if schema is None:  # the first part through pandas: the types and metadata
                first = pa.Table.from_pandas(self._frame(data, True), preserve_index=False)
                if any(pa.types.is_null(f.type) for f in first.schema):
                    raise ValueError(f"{self.table}: a column without a type")
                schema = first.schema
                yield first
                continue
            try:
                yield pa.Table.from_arrays(
                    [
                        _saved_column(c, f.type)
                        for c, f in zip(self._arrow(data), schema, strict=True)
                    ],
                    schema=schema,
                )
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise ValueError(f"{self.table}: {exc}") from exc

    def _arrow(self, data) -> list:
        """The columns of :meth:`_frame`, in its order, as Arrow columns (the engine's)."""
        cols = [data[n] for n in self.columns if n in data.column_names]
        cols += [data[engine_name] for engine_name, _ in self.extras]
        if self.converted:
            cols += [data["_orig_currency"], data["_orig_amount"]]
        return cols

    def _names(self, columns: Sequence[str] | None) -> list[str]:
        whole = columns is None
        contract = self.columns if whole else [c for c in self.columns if c in set(columns)]
        extras = self.extras if whole else []
        names = [*contract, *(e for e, _ in extras)]
        if self.converted and whole:
            names += ["_orig_currency", "_orig_amount"]
        return names

    def _query(self, names: list[str]) -> str:
        select = ", ".join(ident(n) for n in names) or "_row"
        return f"SELECT {select} FROM {ident(f'_sr_table_{self.table}')} ORDER BY _row"

    def _frame(self, data, whole: bool) -> pd.DataFrame:
        out: dict[str, pd.Series] = {}
        n = data.num_rows
        for name in self.columns:
            if name in data.column_names:
                out[name] = _contract_column(data[name], self.types[name])
        for engine_name, header in self.extras if whole else []:
            out[header] = _extra_column(data[engine_name])
        if self.converted and whole:
            out["original_currency"] = _contract_column(data["_orig_currency"], "string")
            out["original_amount"] = _contract_column(data["_orig_amount"], "number")
        return pd.DataFrame(out, index=pd.RangeIndex(n))


def _contract_column(col, type_: str) -> pd.Series:
    import pyarrow as pa

    if type_ in ("date", "timestamp"):
        values = col.cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False)
        return pd.Series(values, dtype="datetime64[ns]")
    if type_ == "number":
        return pd.Series(col.to_numpy(zero_copy_only=False), dtype="float64")
    if type_ == "integer":
        return pd.Series(
            col.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get), dtype="Int64"
        )
    if type_ == "bool":
        return pd.Series(col.to_pandas(), dtype=object)
    return pd.Series(col.to_pandas(), dtype=object)


def _saved_column(col, type_):
    """An engine column as ``pyarrow.Table.from_pandas`` saves the pandas column
    :func:`_contract_column` or :func:`_extra_column` makes of it, given that column's Arrow
    ``type_`` (from the table's first part): a missing value null, a NaN null too (pandas
    writes NaN as null), timestamps in nanoseconds; a value that does not convert raises."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_floating(col.type):
        col = pc.if_else(pc.is_nan(col), pa.scalar(None, col.type), col)
    return col.cast(type_, safe=True)


def _extra_column(col) -> pd.Series:
    import pyarrow as pa

    if pa.types.is_timestamp(col.type) and col.type.tz is None:
        return pd.Series(col.cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False))
    return col.to_pandas()
