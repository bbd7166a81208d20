"""One compiler from the catalogue to queries: every KPI, window, month and segment.

:func:`compute_kpis` gives the rows of ``kpis.csv``. The steps, each an Ibis expression run
by the engine (:mod:`salesreport.engine`):

1. **Windows.** Every window (``month``, ``qtd``, ``ytd``, ``trailing12``) ending in each of
   ``history_months`` months up to the report month, plus 24 earlier months (the prior year
   and the prior of year-on-year growth): a small table ``W`` (``wid``, ``window``,
   ``period``, month ordinals ``s`` and ``e``, day numbers ``sd`` and ``ed``).
2. **Measures.** For each source the catalogue reads (:mod:`salesreport.kpis.sources`), one
   table of every measure it needs per segment label and window (:func:`_measure_table`):
   flows grouped by (label, month) then summed over the window's months, stocks summed over
   the rows alive at a month end, and the cohort and tenure kinds. Every label of the source
   gets every window; a flow or stock with no row is 0.
3. **Metrics.** Each catalogue entry's expression over those measures (:mod:`model`),
   rows from its ``rows_from`` source's labels restricted to its segment columns, windows
   ending before the source's first month empty where the entry says so; beside each value
   its ``prior``: the same metric, window kind and segment 12 months earlier.
4. **Rows.** ``target``
   (:mod:`salesreport.kpis.targets`, resolved in pandas: the targets are a small table),
   ``unit``; the history months kept, sorted by ``metric, window, period, segment``.

**A team with more rows than a spreadsheet opens.** The rows are counted before any is
computed (every label of a metric's source gets every window: :meth:`Compilation.row_plan`).
When they are more than the team's ``kpis_csv_max_rows``, the per-rep rows (segment
``owner_id=...``) are computed for the report month only, with the windows a year earlier
that their ``prior`` reads: a thousand reps make millions of rows a month of history, 99.6%
of EMEA's at 100 times the sample, and each month's report already holds that month's. The
rows left out are counted in the run's notes (:data:`NOT_COMPUTED`) and said in ``run.json``
and on the index page (:func:`salesreport.outputs.kpis_csv_rows`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesreport import rules
from salesreport.kpis import sources as S
from salesreport.kpis.model import (
    Const,
    Measure,
    Minus,
    NextMonthTarget,
    Param,
    Ratio,
    Target,
    Times,
    leaves,
    measures,
)
from salesreport.params import TeamParams, parse_month
from salesreport.periods import month_period, windows_frame

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import ibis.expr.types as ir
    import pyarrow as pa

    from salesreport.engine import Engine
    from salesreport.tables import Tables

KPI_COLUMNS = ["metric", "window", "period", "segment", "value", "target", "prior", "unit"]
#: the order of the KPI rows (``_src``: computed rows before ``extra`` rows of equal keys,
#: ``_pos``: an ``extra`` row's position)
ROW_KEYS = ["metric", "window", "period", "segment", "_src", "_pos"]
EXTRA_MONTHS = 12  # months computed before the first reported month: its prior
FLOW_KINDS = ("flow", "stock", "stock_age", "employed", "employed_at_start", "retention")
#: sources read from an optional table: without it their measures are empty
OPTIONAL_SOURCES = {"spend": "spend"}
CHURN_ZERO = 1e-9  # a window's mean churn closer to 0 than this is 0 (no finite lifetime)
NRR_MONTHS = 12
#: the run's notes key (``build_context``'s ``notes``) of the per-rep rows of the months
#: before the report month left uncomputed (:meth:`Compilation.row_plan`)
NOT_COMPUTED = "kpi_rows_not_computed"
#: rows of kpis.csv assembled and ordered by one query (:meth:`Compilation.kpis`): the
#: query's memory grows with them (about 250 bytes a row in DuckDB)
BATCH_ROWS = 1_000_000
SPEND_CATEGORIES = ("sales", "marketing")


def compute_kpis(
    tables: Tables | None,
    params: TeamParams,
    month: str,
    extra: pd.DataFrame | Callable[[], pd.DataFrame | None] | None = None,
    engine: Engine | None = None,
    notes: dict | None = None,
) -> pd.DataFrame:
    """Every catalogue KPI for the report month, as ``kpis.csv`` rows.

    Parameters
    ----------
    tables : Tables
        The team's tables, cut to the report month (:func:`salesreport.data.pit.as_of` is
        applied again; it changes nothing on tables the loader has cut). Ignored when
        ``engine`` is given.
    params : TeamParams
        Fiscal year start, history length, targets, stage probabilities, thresholds.
    month : str
        The report month, ``YYYY-MM``.
    extra : pandas.DataFrame or callable, optional
        More rows with the output's columns (the forecast KPIs), sorted in with the others;
        or a function returning them (or ``None``), called once every metric's values are
        computed, so that they can be made meanwhile.
    engine : Engine, optional
        An engine holding the cut tables; by default an embedded DuckDB with ``tables``.
    notes : dict, optional
        Told the per-rep rows of earlier months left uncomputed (module docstring), under
        :data:`NOT_COMPUTED`; without it, a warning says how many.

    Returns
    -------
    pandas.DataFrame
        ``metric, window, period, segment, value, target, prior, unit``; NaN where a value
        cannot be computed; sorted by ``metric, window, period, segment``.
    """
    parse_month(month)
    own = engine is None
    if own:
        engine = engine_for(tables, month, params)
    try:
        # engine.MEMORY_LIMIT of buffers, spilled beyond; the intermediate tables dropped
        with engine.memory_cap(), engine.scratch():
            return Compilation(engine, params, month, notes=notes).kpis(extra)
    finally:
        if own:  # a server's session (and its temporary tables) ends with the call
            engine.close()


def compute_kpi_batches(
    params: TeamParams,
    month: str,
    engine: Engine,
    extra: pd.DataFrame | Callable[[], pd.DataFrame | None] | None = None,
    notes: dict | None = None,
) -> Iterator[pa.RecordBatch]:
    """:func:`compute_kpis`'s rows on ``engine``, in its order, as consecutive Arrow record
    batches of at most :data:`salesreport.engine.FETCH_ROWS` rows (text ``string``, numbers
    ``double``: :meth:`Compilation.kpi_batches`), for a caller that writes them out as they
    come (a report run at scale: 0.99 M rows for EMEA at 200x the sample, 22.7 M with
    ``kpis_csv_max_rows: 0``, whole they would be 2 GB of the run's memory, and as pandas
    rows a Python string per text value). The
    intermediate tables are dropped once the last batch is fetched. ``notes``: as
    :func:`compute_kpis`'s, told before the first batch."""
    parse_month(month)
    with engine.memory_cap(), engine.scratch():
        yield from Compilation(engine, params, month, notes=notes).kpi_batches(extra)


def not_computed_warning(past: int, params: TeamParams, month: str) -> str:
    """What a caller without the run's notes (an analyst in JupyterLab) is told when the
    per-rep rows of earlier months were not computed (:meth:`Compilation.row_plan`)."""
    return (
        f"The KPI rows are more than kpis_csv_max_rows ({params.kpis_csv_max_rows:,}): the "
        f"per-rep rows (segment owner_id=...) of the months before {month} are not computed "
        f"({past:,} rows). Set kpis_csv_max_rows: 0 in the team's YAML to compute them all."
    )


def engine_for(
    tables: Tables, month: str, params: TeamParams | None = None, source: Engine | None = None
) -> Engine:
    """The engine ``params.engine`` names (default: an embedded DuckDB) holding ``tables`` cut
    to ``month`` (point in time). ``source``: the loader's engine, holding the same tables
    already cut (:attr:`salesreport.data.load.LoadResult.engine`): they are streamed from it
    (:meth:`Engine.copy_tables`) instead of made pandas frames here."""
    from salesreport.backends import open_engine
    from salesreport.data.pit import as_of
    from salesreport.params import params_source

    cut = None if source is not None else as_of(tables, month, copy=False)[0]
    spec = params.engine if params is not None else None
    engine = open_engine(spec, params_source(params) if params is not None else "")
    try:
        return engine.register_tables(cut) if cut is not None else engine.copy_tables(source)
    except BaseException:
        engine.close()
        raise


def evaluate(
    engine: Engine,
    params: TeamParams,
    windows: pd.DataFrame,
    metrics: list[str],
    segment: str | None = None,
) -> pd.DataFrame:
    """``metric, window, period, segment, value`` of ``metrics`` for the ``windows`` rows
    (:func:`salesreport.periods.windows_frame`) and one segment column (``None``: the team),
    in the order metric (as listed), window row, segment label."""
    with engine.scratch():
        run = Compilation(engine, params, None, windows=windows, only=metrics, segment=segment)
        values = run.engine.execute(run.values())
    w = run.windows
    values = values.merge(w[["wid", "window", "period"]], on="wid")
    values["_m"] = values["metric"].map({m: i for i, m in enumerate(metrics)})
    values = values.sort_values(["_m", "wid", "seg"], kind="stable")
    return values.rename(columns={"seg": "segment"})[
        ["metric", "window", "period", "segment", "value"]
    ].reset_index(drop=True)


class Compilation:
    """The queries of one report month (or one set of windows), built and run once each."""

    def __init__(
        self,
        engine: Engine,
        params: TeamParams,
        month: str | None,
        windows: pd.DataFrame | None = None,
        only: list[str] | None = None,
        segment: str | None | bool = False,
        notes: dict | None = None,
    ) -> None:
        from salesreport.kpis.catalogue import CATALOGUE

        self.engine, self.params, self.month = engine, params, month
        fy = params.fiscal_year_start_month
        if windows is None:
            windows = windows_frame(month, params.history_months + EXTRA_MONTHS, fy)
        self.frame = windows.reset_index(drop=True)
        self.windows = _window_table(self.frame)
        self.W = engine.memtable(self.windows, "windows")
        self.report_end_day = int(self.windows["ed"].max())
        self.hi = int(self.windows["e"].max())
        self.lo = int(self.windows["s"].min()) - 1  # the month before the first window
        wanted = only or [m for m, k in CATALOGUE.items() if k.definition is not None]
        self.metrics = {
            m: CATALOGUE[m]
            for m in wanted
            if CATALOGUE[m].definition is not None and self._available(CATALOGUE[m])
        }
        self.segment = segment  # False: every segment column of each metric
        self._sources: dict[str, S.Source] = {}
        self._tables: dict[str, ir.Table] = {}
        self._targets: dict[str, ir.Table] = {}
        self._alive: dict[tuple, ir.Table] = {}
        self._months: ir.Table | None = None
        self._prior: ir.Table | None = None
        self.notes = notes
        #: the month ordinals of the windows a rep's rows are computed for (``None``: every
        #: window; else the report month's and a year earlier's: :meth:`row_plan`)
        self.rep_ends: list[int] | None = None

    # ------------------------------------------------------------------ what runs

    def row_plan(self, first_kept: int) -> tuple[int, int]:
        """The KPI rows of the windows ending in ``first_kept`` or later (the forecast KPIs
        aside) and, of them, the per-rep rows of the months before the report month:
        counted from the sources' labels, before any measure is computed (every label of a
        metric's source gets every window of its kinds; :meth:`values`)."""
        import ibis

        w = self.windows
        reported = w[w["e"] >= first_kept]
        named = [n for n in self.metrics if self.segments_of(n)]
        sources = []  # (a source whose table is absent has no row: :meth:`measure_table`)
        for name in named:
            src = self.metrics[name].definition.rows_from
            table = OPTIONAL_SOURCES.get(src)
            if src not in sources and (table is None or self.engine.has(table)):
                sources.append(src)
        counts: dict[tuple[str, str], int] = {}
        if sources:  # one query: each source's labels by segment column
            parts = []
            for src in sources:
                labels = self.source(src).labels
                parts.append(
                    labels.select(src=ibis.literal(src), kind=labels.seg.re_extract(r"^([^=]*)", 1))
                )
            u = ibis.union(*parts, distinct=False)
            n = self.engine.execute(u.group_by(["src", "kind"]).agg(n=u.count()))
            counts = {(s, k): int(c) for s, k, c in zip(n["src"], n["kind"], n["n"], strict=True)}
        total = past = 0
        for name in named:
            d = self.metrics[name].definition
            windows = (
                reported if d.windows is None else reported[reported["window"].isin(d.windows)]
            )
            for c in self.segments_of(name):
                n_labels = counts.get((d.rows_from, c or "all"), 0)
                total += n_labels * len(windows)
                if c == rules.REP_SEGMENT:
                    past += n_labels * int((windows["e"] < self.hi).sum())
        return total, past

    def keep(self, t: ir.Table, report_month_only: bool = False) -> ir.Table:
        """The rows of a ``seg, wid`` table that are computed: a rep's only in the windows
        of :attr:`rep_ends` (``report_month_only``: of the report month) when set."""
        if self.rep_ends is None:
            return t
        w = self.windows
        ends = [self.hi] if report_month_only else self.rep_ends
        wids = [int(i) for i in w.loc[w["e"].isin(ends), "wid"]]
        return t.filter(~t.seg.startswith(f"{rules.REP_SEGMENT}=") | t.wid.isin(wids))

    def _plan(self, first_kept: int) -> None:
        """Over the team's ``kpis_csv_max_rows``, a rep's rows in the report month only
        (module docstring): :attr:`rep_ends` set, and the rows left out told."""
        import warnings

        limit = self.params.kpis_csv_max_rows
        if not limit:
            return
        total, past = self.row_plan(first_kept)
        if total <= limit or not past:
            return
        self.rep_ends = [self.hi, self.hi - 12]
        if self.notes is not None:
            self.notes[NOT_COMPUTED] = past
        else:
            warnings.warn(not_computed_warning(past, self.params, self.month), stacklevel=3)

    def _available(self, kpi) -> bool:
        from salesreport.kpis.catalogue import needs_met

        return needs_met(kpi, self.engine)

    def segments_of(self, name: str) -> list[str | None]:
        """The segment columns (``None``: the team) metric ``name`` is split by."""
        d = self.metrics[name].definition
        cols = list(d.segments(self.engine))
        if self.segment is False:
            return [None, *cols]
        return [self.segment] if self.segment is None or self.segment in cols else []

    def _columns_of(self, source: str) -> list[str | None]:
        """Every segment column a source is needed with (its metrics' and its readers')."""
        cols: list[str | None] = []
        for name, kpi in self.metrics.items():
            d = kpi.definition
            used = {d.rows_from} | {m.source for m in measures(d.value)}
            if source in used:
                for c in self.segments_of(name):
                    if c not in cols:
                        cols.append(c)
        return cols

    def source(self, name: str) -> S.Source:
        if name not in self._sources:
            cols = self._columns_of(name)
            e, p = self.engine, self.params
            builders = {
                "revenue": lambda: S.revenue(e, cols),
                "opportunities": lambda: S.opportunities(e, cols),
                "pipeline": lambda: S.pipeline(e, p, cols),
                "coverage": lambda: S.coverage(e, cols),
                "leads": lambda: S.leads(e, cols, self.report_end_day),
                "referrals": lambda: S.referrals(e, cols),
                "activities": lambda: S.activities(e, cols),
                "reps": lambda: S.reps(e, cols),
                "customers": lambda: S.customers(e, cols, self.hi, p.active_window_months),
                "spend": lambda: S.spend(e, cols),
                "ramp": lambda: S.reps(e, cols),
            }
            src = builders[name]()
            # the rows once, in a table of their own: every measure reads them (smaller
            # queries to compile, and the rules applied once, not once per measure)
            src.rows = self.engine.materialize(src.rows, f"rows_{name}")
            if src.labels is None:
                labels = src.rows.select("seg")
                if src.more_labels is not None:
                    labels = labels.union(src.more_labels)
                src.labels = labels.distinct()
            src.labels = self.engine.materialize(src.labels, f"labels_{name}")
            self._sources[name] = src
        return self._sources[name]

    # ------------------------------------------------------------------ measures

    def measure_table(self, source: str) -> ir.Table:
        """Every measure of ``source`` the metrics read, per label and window (materialised);
        no rows when the source's table is absent (``spend``: the measure is empty)."""
        if source not in self._tables:
            import ibis

            wanted: dict[str, Measure] = {}
            for kpi in self.metrics.values():
                for m in measures(kpi.definition.value):
                    if m.source == source:
                        wanted[m.key] = m
            table = OPTIONAL_SOURCES.get(source)
            if table is not None and not self.engine.has(table):
                nulls = {k: ibis.null("float64") for k in wanted}
                self._tables[source] = self.W.select(
                    seg=ibis.literal("all"), wid="wid", start=ibis.null("int64"), **nulls
                ).limit(0)
                return self._tables[source]
            self._tables[source] = self.engine.materialize(
                _measure_table(self, self.source(source), list(wanted.values())), source
            )
        return self._tables[source]

    def alive(self, source: S.Source, first: str, stop: str, columns: list[str]) -> ir.Table:
        """``seg, k, n`` and ``sum_i, known_i`` per column ``i`` of ``columns``: for every
        label of ``source`` and month ``k`` from the month before the first window's start
        to the last window's end, the rows alive at k's end (``first <= k < stop``), the
        exact sum (:data:`salesreport.rules.EXACT`) of each column over them and how many
        of its values are not empty (materialised, once per source, bounds and columns).

        Worked out as running totals per label of what arrives (at ``first``) less what
        leaves (at ``stop``), not as the rows joined with every month they are alive in (at
        100 times the sample the open leads alone made 21.9 M joined rows). The same sums to
        the last digit: the values are added exactly, in any order."""
        import ibis

        key = (source.name, first, stop, tuple(columns))
        if key in self._alive:
            return self._alive[key]
        lo, hi = self.lo, self.hi
        r = source.rows
        f, s = r[first], r[stop]
        r = r.filter(f.notnull() & s.notnull() & (f < s) & (f <= hi) & (s > lo))

        def moves(t: ir.Table, k, sign: int) -> ir.Table:
            cols = {"n": ibis.literal(sign, "int64")}
            for i, c in enumerate(columns):
                v = t[c].cast(rules.EXACT)
                cols[f"sum_{i}"] = v if sign > 0 else -v
                cols[f"known_{i}"] = ibis.ifelse(t[c].isnull(), 0, sign).cast("int64")
            return t.select(seg=t.seg, k=k.cast("int64"), **cols)

        leaving = r.filter(r[stop] <= hi)
        m = ibis.union(
            moves(r, ibis.greatest(r[first], lo), 1),
            moves(leaving, leaving[stop], -1),
            distinct=False,
        )
        sums = [c for c in m.columns if c not in ("seg", "k")]
        by_month = m.group_by(["seg", "k"]).agg(**{c: m[c].sum() for c in sums})
        months = self.months()
        grid = left_join(source.labels.cross_join(months), by_month, ["seg", "k"])
        running = ibis.cumulative_window(group_by="seg", order_by="k")
        zero = {c: ibis.literal(0).cast(by_month[c].type()) for c in sums}
        out = grid.select(
            "seg",
            "k",
            **{
                c: grid[c].fill_null(zero[c]).sum().over(running).cast(by_month[c].type())
                for c in sums
            },
        )
        self._alive[key] = self.engine.materialize(out, f"alive_{source.name}")
        return self._alive[key]

    def months(self) -> ir.Table:
        """``k``: every month ordinal from the month before the first window's start to the
        last window's end (a small engine table, made once)."""
        if self._months is None:
            self._months = self.engine.memtable(
                pd.DataFrame({"k": np.arange(self.lo, self.hi + 1, dtype=np.int64)}), "months"
            )
        return self._months

    # ------------------------------------------------------------------ metrics

    def values(self, first_kept: int | None = None) -> ir.Table:
        """``metric, wid, seg, value, prior`` of every metric (materialised): ``prior`` the
        value of the same window kind ending 12 months earlier. ``first_kept``: only the
        windows ending in that month ordinal or later (the earlier ones are computed for the
        priors only: a third of the rows at a report's 24 + 12 months).

        The metrics whose rows come from the same source are computed in one wide table
        (its labels and windows, every measure and target they read joined once, one column
        per metric), then stacked, each metric keeping its own segment columns and windows.
        """
        import ibis

        by_source: dict[str, list[str]] = defaultdict(list)
        for name in self.metrics:
            if self.segments_of(name):
                by_source[self.metrics[name].definition.rows_from].append(name)
        reported = None
        if first_kept is not None:
            w = self.windows
            reported = [int(i) for i in w.loc[w["e"] >= first_kept, "wid"]]
        parts = []
        for source, names in by_source.items():
            wide = self._wide(source, names)
            if reported is not None:
                wide = self.keep(wide.filter(wide.wid.isin(reported)), report_month_only=True)
            for name in names:
                d = self.metrics[name].definition
                cols = self.segments_of(name)
                keep = ibis.literal(False)
                if None in cols:
                    keep = keep | (wide.seg == "all")
                for c in cols:
                    if c is not None:
                        keep = keep | wide.seg.startswith(f"{c}=")
                if d.windows is not None:
                    keep = keep & wide.window.isin(d.windows)
                part = wide.filter(keep)
                parts.append(
                    part.select(
                        metric=ibis.literal(name),
                        wid=part.wid,
                        seg=part.seg,
                        value=part[name],
                        prior=part[f"prior__{name}"],
                    )
                )
        if not parts:
            return self.engine.memtable(
                pd.DataFrame(
                    {
                        "metric": pd.Series(dtype=str),
                        "wid": pd.Series(dtype=np.int64),
                        "seg": pd.Series(dtype=str),
                        "value": pd.Series(dtype=float),
                        "prior": pd.Series(dtype=float),
                    }
                ),
                "values",
            )
        return self.engine.materialize(ibis.union(*parts, distinct=False), "values")

    def _wide(self, source: str, names: list[str]) -> ir.Table:
        """``seg, wid, window`` of ``source``'s labels and windows and one column per metric
        of ``names`` (materialised)."""
        import ibis

        t = self.measure_table(source)
        t = t.join(self.W.select("wid", "window", "e"), "wid")
        readers: dict[str, None] = {}
        targets: dict[str, None] = {}
        next_targets: dict[str, None] = {}
        for name in names:
            d = self.metrics[name].definition
            readers.update(dict.fromkeys(m.source for m in measures(d.value)))
            targets.update(dict.fromkeys(t.metric for t in leaves(d.value, Target)))
            next_targets.update(dict.fromkeys(t.metric for t in leaves(d.value, NextMonthTarget)))
        t = t.rename(
            {
                f"{source}__{c}": c
                for c in t.columns
                if c not in ("seg", "wid", "window", "e", "start")
            }
        )
        for other_source in readers:
            if other_source == source:
                continue
            other = self.measure_table(other_source)
            t = left_join(
                t,
                other.rename(
                    {f"{other_source}__{c}": c for c in other.columns if c not in ("seg", "wid")}
                ),
                ["seg", "wid"],
            )
        for metric in targets:
            t = left_join(t, self.window_targets(metric), ["seg", "wid"])
        for metric in next_targets:
            t = left_join(t, self.next_month_targets(metric), ["seg", "wid"])
        columns = {}
        for name in names:
            d = self.metrics[name].definition
            value = self._expr(d.value, t).cast("float64")
            if d.blank:
                first = t[f"{d.rows_from}__start"] if d.rows_from != source else t.start
                value = ibis.ifelse(first.isnull() | (t.e < first), ibis.null("float64"), value)
            columns[name] = value
        wide = t.select("seg", "wid", "window", **columns)
        # each metric's value 12 months before (the same window kind ending 12 months
        # earlier), joined here once per source and label, not once per KPI row
        before = wide.select(p_seg=wide.seg, p_wid=wide.wid, **{f"p__{n}": wide[n] for n in names})
        j = wide.join(self.prior_windows(), "wid")
        j = j.left_join(before, [j.seg == before.p_seg, j.pwid == before.p_wid])
        return self.engine.materialize(
            j.select(
                "seg", "wid", "window", *names, **{f"prior__{n}": j[f"p__{n}"] for n in names}
            ),
            f"wide_{source}",
        )

    def prior_windows(self) -> ir.Table:
        """``wid, pwid``: each window and the same kind of window ending 12 months earlier
        (``pwid`` -1 when that one is not computed)."""
        if self._prior is None:
            w = self.windows
            at = {(k, e): i for i, k, e in zip(w["wid"], w["window"], w["e"], strict=True)}
            pwid = [at.get((k, e - 12), -1) for k, e in zip(w["window"], w["e"], strict=True)]
            self._prior = self.engine.memtable(
                pd.DataFrame({"wid": w["wid"], "pwid": np.asarray(pwid, dtype=np.int64)}),
                "prior",
            )
        return self._prior

    def _expr(self, e, t: ir.Table):
        import ibis

        if isinstance(e, Measure):
            col = t[f"{e.source}__{e.key}"]
            return col.fill_null(0) if e.kind in FLOW_KINDS else col
        if isinstance(e, Ratio):
            num, den = self._expr(e.num, t), self._expr(e.den, t)
            ok = (den > 0) if e.positive else (den != 0)
            return ibis.ifelse(ok.fill_null(False), num / den, ibis.null("float64"))
        if isinstance(e, Minus):
            return self._expr(e.left, t) - self._expr(e.right, t)
        if isinstance(e, Times):
            return self._expr(e.left, t) * self._expr(e.right, t)
        if isinstance(e, Const):
            return ibis.literal(float(e.value))
        if isinstance(e, Param):
            return ibis.literal(float(getattr(self.params, e.name)))
        if isinstance(e, Target):
            return t[f"target__{e.metric}"]
        if isinstance(e, NextMonthTarget):
            return t[f"next_target__{e.metric}"]
        raise TypeError(f"not a metric expression: {e!r}")

    # ------------------------------------------------------------------ targets

    def _target_rows(self) -> pd.DataFrame:
        if "_rows" not in self.__dict__:
            from salesreport.kpis.targets import target_rows

            targets = (
                self.engine.execute(self.engine.table("targets"))
                if self.engine.has("targets")
                else None
            )
            self._rows = target_rows(targets, self.params)
        return self._rows

    def labels_of(self, source: str) -> list[str]:
        return sorted(
            self.engine.execute(self.measure_table(source).select("seg").distinct())["seg"]
        )

    def window_targets(self, metric: str, labels: list[str] | None = None) -> ir.Table:
        """``seg, wid, target__<metric>``: the metric's target per label and window."""
        from salesreport.kpis.catalogue import CATALOGUE
        from salesreport.kpis.targets import window_targets

        key = f"window:{metric}"
        if key not in self._targets:
            if labels is None:
                labels = self.labels_of(CATALOGUE[metric].definition.rows_from)
            values = window_targets(
                self._target_rows(),
                metric,
                self.frame,
                labels,
                self.params.fiscal_year_start_month,
                CATALOGUE[metric].additive,
            )
            df = _long(values, labels, self.windows["wid"].to_numpy(), f"target__{metric}")
            self._targets[key] = self.engine.memtable(df, "targets")
        return self._targets[key]

    def next_month_targets(self, metric: str) -> ir.Table:
        """``seg, wid, next_target__<metric>``: the monthly target of the month after each
        window's last month."""
        from salesreport.kpis.targets import monthly_target_matrix

        key = f"next:{metric}"
        if key not in self._targets:
            labels = self.labels_of("coverage")
            e = self.windows["e"].to_numpy()
            lo, hi = int(e.min()) + 1, int(e.max()) + 1
            m = monthly_target_matrix(
                self._target_rows(), metric, labels, lo, hi, self.params.fiscal_year_start_month
            )
            values = m[:, e + 1 - lo]
            df = _long(values, labels, self.windows["wid"].to_numpy(), f"next_target__{metric}")
            self._targets[key] = self.engine.memtable(df, "targets")
        return self._targets[key]

    # ------------------------------------------------------------------ rows

    def kpis(
        self, extra: pd.DataFrame | Callable[[], pd.DataFrame | None] | None = None
    ) -> pd.DataFrame:
        """The ``kpis.csv`` frame (module docstring, step 4), with the rows of ``extra`` (the
        output's columns) sorted in after the computed rows of equal keys.

        Every row is assembled in the engine (prior, target and unit joined, ``extra``
        stacked, the rows ordered), a few metrics a query (:meth:`_row_queries`), and
        fetched batch by batch into the frame's columns, allocated once for the rows counted
        (:meth:`salesreport.engine.Engine.to_frame`): at scale the result has millions of rows
        (11.7 M for EMEA at 100x the sample), and each pandas step on it (a join, a concat, a
        sort, a column selection, a new index) would copy them.
        """
        queries, rows = self._row_queries(extra)
        df = self.engine.to_frame(queries, rows)  # on a RangeIndex
        return df if self.engine.name == "duckdb" else _ordered(df)

    def kpi_batches(
        self, extra: pd.DataFrame | Callable[[], pd.DataFrame | None] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """The rows of :meth:`kpis`, in its order, as consecutive Arrow record batches of at
        most :data:`salesreport.engine.FETCH_ROWS` rows (at least one, empty when there are no
        rows): on DuckDB as the engine gives them, one at a time in memory; a server's rows
        are ordered here (:meth:`kpis`), then cut."""
        queries, rows = self._row_queries(extra)
        if self.engine.name == "duckdb":
            yield from self.engine.batches(queries)
            return
        import pyarrow as pa

        from salesreport.engine import FETCH_ROWS

        df = _ordered(self.engine.to_frame(queries, rows))
        schema = queries[0].select(*KPI_COLUMNS).schema().to_pyarrow()
        batches = pa.Table.from_pandas(df, schema=schema, preserve_index=False).to_batches(
            FETCH_ROWS
        )
        yield from batches or [pa.RecordBatch.from_pylist([], schema=schema)]

    def _row_queries(
        self, extra: pd.DataFrame | Callable[[], pd.DataFrame | None] | None
    ) -> tuple[list[ir.Table], int]:
        """The queries of :meth:`kpis`'s rows, one per group of metrics, ordered by DuckDB (a
        server's are ordered after fetching: :func:`_ordered`), and their number of rows."""
        from salesreport.kpis.catalogue import CATALOGUE

        first_kept = month_period(self.month).ordinal - (self.params.history_months - 1)
        self._plan(first_kept)
        v = self.values(first_kept)
        targets = self._target_table(self._reported(v, first_kept))
        units = pd.DataFrame(
            {
                "metric": list(CATALOGUE),
                "unit": [k.unit_label(self.params.currency) for k in CATALOGUE.values()],
            }
        )
        units = self.engine.memtable(units, "units")
        if callable(extra):  # made meanwhile (the forecast KPIs, in a process of their own)
            extra = extra()
        more, more_rows = None, {}
        if extra is not None and len(extra):
            more_rows = extra["metric"].value_counts().to_dict()
            more = extra[KPI_COLUMNS].astype({c: float for c in ("value", "target", "prior")})
            more = more.assign(_src=np.int64(1), _pos=np.arange(len(more), dtype=np.int64))
            more = self.engine.memtable(more.reset_index(drop=True), "extra")
        queries = []
        batches, rows = self._metric_batches(v, first_kept, more_rows)
        for batch in batches:
            out = self._kpi_rows(v.filter(v.metric.isin(batch)), first_kept, targets, units)
            if more is not None:
                out = out.union(
                    more.filter(more.metric.isin(batch)).select(*out.columns), distinct=False
                )
            if self.engine.name == "duckdb":  # text ordered by code point, as pandas orders it
                queries.append(out.order_by(ROW_KEYS).select(*KPI_COLUMNS))
            else:  # a server's collation may order text by locale: ordered here
                queries.append(out)
        return queries, rows

    def _reported(self, v: ir.Table, first_kept: int) -> ir.Table:
        """The ``values`` rows ``v`` of the reported months, with their window's columns."""
        rows = v.join(self.W, "wid")
        return rows.filter(rows.e >= first_kept)

    def _metric_batches(
        self, v: ir.Table, first_kept: int, more_rows: dict
    ) -> tuple[list[list[str]], int]:
        """The metrics of the reported ``values`` rows ``v`` and of ``more_rows`` (metric ->
        rows) in code-point order, in consecutive groups of at most :data:`BATCH_ROWS` rows
        (a metric with more is a group of its own): each group is assembled and ordered by
        one query, whose memory grows with its rows. Also the number of rows of all groups
        (the rows of ``kpis.csv``)."""
        kept = self._reported(v, first_kept)
        n = self.engine.execute(kept.group_by("metric").agg(n=kept.count()))
        counts = dict(zip(n["metric"], n["n"].astype(int), strict=True))
        for name, k in more_rows.items():
            counts[name] = counts.get(name, 0) + int(k)
        batches: list[list[str]] = []
        size = 0
        for name in sorted(counts):
            if not batches or size + counts[name] > BATCH_ROWS:
                batches.append([])
                size = 0
            batches[-1].append(name)
            size += counts[name]
        return batches or [[]], sum(counts.values())

    def _kpi_rows(self, v: ir.Table, first_kept: int, targets: ir.Table, units: ir.Table):
        """``kpis.csv``'s columns (and ``_src``, ``_pos``: 0) of the ``values`` rows ``v`` in
        the reported months: ``prior`` as :meth:`values` gives it, ``target`` from
        ``targets``, ``unit`` from ``units``."""
        import ibis

        out = self._reported(v, first_kept)
        out = left_join(out, targets, ["metric", "seg", "wid"])
        out = left_join(out, units, ["metric"])
        return out.select(
            metric=out.metric,
            window=out.window,
            period=out.period,
            segment=out.seg,
            value=out.value.cast("float64"),
            target=out.target.cast("float64"),
            prior=out.prior.cast("float64"),
            unit=out.unit.cast("string"),
            _src=ibis.literal(0, "int64"),
            _pos=ibis.literal(0, "int64"),
        )

    def _target_table(self, kept: ir.Table) -> ir.Table:
        """``metric, seg, wid, target`` of the metrics with target rows (no row where the
        target is empty), for the labels and windows each has in ``kept``."""
        from salesreport.kpis.catalogue import CATALOGUE
        from salesreport.kpis.targets import window_targets

        rows = self._target_rows()
        parts = []
        names = sorted(set(rows["metric"]) & set(self.metrics)) if not rows.empty else []
        if names:
            mine = kept.filter(kept.metric.isin(names))
            segs = self.engine.execute(mine.select("metric", "seg").distinct())
            wids = self.engine.execute(mine.select("metric", "wid").distinct())
            for metric in sorted(set(segs["metric"])):
                labels = sorted(set(segs.loc[segs["metric"] == metric, "seg"]))
                at = np.unique(wids.loc[wids["metric"] == metric, "wid"].to_numpy(np.int64))
                t = window_targets(
                    rows, metric, self.frame.iloc[at], labels,
                    self.params.fiscal_year_start_month, CATALOGUE[metric].additive,
                )  # fmt: skip
                long = _long(t, labels, at, "target")
                parts.append(long[long["target"].notna()].assign(metric=metric))
        if parts:
            df = pd.concat(parts, ignore_index=True)[["metric", "seg", "wid", "target"]]
        else:
            df = pd.DataFrame(
                {
                    "metric": pd.Series(dtype=object),
                    "seg": pd.Series(dtype=object),
                    "wid": pd.Series(dtype=np.int64),
                    "target": pd.Series(dtype=float),
                }
            )
        return self.engine.memtable(df, "targets")


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    """A server's fetched KPI rows (with ``_src``, ``_pos``) in :data:`ROW_KEYS` order (pandas
    orders text by code point, as DuckDB does), with ``kpis.csv``'s columns."""
    return df.sort_values(ROW_KEYS, kind="stable")[KPI_COLUMNS].reset_index(drop=True)


def left_join(t: ir.Table, other: ir.Table, keys: list[str]) -> ir.Table:
    """``t`` left-joined with ``other`` on equal ``keys`` (the right side's copies dropped)."""
    out = t.left_join(other, keys)
    return out.drop(*[f"{k}_right" for k in keys if f"{k}_right" in out.columns])


def _long(values: np.ndarray, labels: list[str], wids: np.ndarray, column: str) -> pd.DataFrame:
    """A ``(labels, windows)`` array as rows ``seg, wid, <column>``."""
    n_w = len(wids)
    return pd.DataFrame(
        {
            "seg": np.repeat(np.asarray(labels, dtype=object), n_w).astype(str),
            "wid": np.tile(np.asarray(wids, dtype=np.int64), len(labels)),
            column: np.asarray(values, dtype=float).reshape(-1),
        }
    )


def _window_table(windows: pd.DataFrame) -> pd.DataFrame:
    """``windows_frame`` rows as ``wid, window, period, s, e, sd, ed`` (ordinals, day numbers)."""
    start = pd.to_datetime(windows["start"]).to_numpy("datetime64[D]").astype(np.int64)
    end = pd.to_datetime(windows["end"]).to_numpy("datetime64[D]").astype(np.int64)
    return pd.DataFrame(
        {
            "wid": np.arange(len(windows), dtype=np.int64),
            "window": windows["window"].astype(str).to_numpy(),
            "period": windows["period"].astype(str).to_numpy(),
            "s": np.asarray([p.ordinal for p in windows["start_month"]], dtype=np.int64),
            "e": np.asarray([p.ordinal for p in windows["end_month"]], dtype=np.int64),
            "sd": start,
            "ed": end,
        }
    )


# --------------------------------------------------------------------------- measures


def _measure_table(run: Compilation, source: S.Source, wanted: list[Measure]) -> ir.Table:
    """``seg, wid`` for every label of the source and window, one column per measure, and
    ``start``: the first month of the source's data (NULL: none, or not a data start)."""
    import ibis

    W = run.W
    start = source.start if source.start is not None else ibis.null("int64")
    grid = run.keep(source.labels.cross_join(W.select("wid")).mutate(start=start.cast("int64")))
    by_kind: dict[str, list[Measure]] = defaultdict(list)
    for m in wanted:
        by_kind[m.kind].append(m)
    if source.weight and set(by_kind) - {"flow"}:  # a grouped row is several things
        raise ValueError(
            f"source {source.name} is grouped by month ({source.weight} rows a row): only flows "
            f"can measure it, not {sorted(set(by_kind) - {'flow'})}; build it ungrouped"
        )
    tables = []
    flows = by_kind.pop("flow", [])
    for month_col in sorted({m.month for m in flows}):
        tables.append(_flows(run, source, [m for m in flows if m.month == month_col], month_col))
    stocks = by_kind.pop("stock", []) + by_kind.pop("stock_age", [])
    for bounds in sorted({(m.first, m.stop) for m in stocks}):
        tables.extend(_stocks(run, source, [m for m in stocks if (m.first, m.stop) == bounds]))
    for kind, ms in by_kind.items():
        tables.append(SPECIAL[kind](run, source, ms))
    out = grid
    for t in tables:  # (a rep's windows the grid leaves out are not computed either)
        out = left_join(out, run.keep(t), ["seg", "wid"])
    return out


def _flows(run: Compilation, source: S.Source, ms: list[Measure], month_col: str) -> ir.Table:
    """Flows placed by ``month_col``: grouped by (label, month), summed over each range."""
    import ibis

    r = source.rows
    r = r.filter(r[month_col].notnull())
    aggs = {}
    for m in ms:
        aggs[f"v__{m.column or 'n'}"] = (
            rules.total(r[m.column])
            if m.column
            else (r[source.weight].sum() if source.weight else r.count()).cast("float64")
        )
    by_month = r.group_by(seg=r.seg, k=r[month_col]).agg(**aggs)
    W = run.W
    j = by_month.join(W, (by_month.k >= W.s - 12) & (by_month.k <= W.e))
    ranges = {
        "window": (j.k >= j.s) & (j.k <= j.e),
        "year_before": (j.k >= j.s - 12) & (j.k <= j.e - 12),
        "previous_month": j.k == j.e - 1,
        "end_month": j.k == j.e,
    }
    out = {
        m.key: rules.total(ibis.ifelse(ranges[m.range], j[f"v__{m.column or 'n'}"], 0.0))
        for m in ms
    }
    return j.group_by(["seg", "wid"]).agg(**out)


def _stocks(run: Compilation, source: S.Source, ms: list[Measure]) -> list[ir.Table]:
    """Stocks: the rows alive at a month end (``first <= k < stop``), at each window's last
    month (``end``) or the month before its first (``start``); ``stock_age`` sums the days
    from ``column`` (whole days) to that month's last day. A label with no row alive at a
    month has no row there (0 once joined); a sum over values all empty is empty."""
    import ibis

    W = run.W
    first, stop = ms[0].first, ms[0].stop
    columns = sorted({m.column for m in ms if m.column})
    alive = run.alive(source, first, stop, columns)
    at = alive.filter(alive.n > 0).mutate(kday=_month_end_day(alive.k))
    values = {}
    for m in ms:
        name = f"v__{m.kind}__{m.column or 'n'}"
        if m.column is None:
            values[name] = at.n.cast("float64")
            continue
        i = columns.index(m.column)
        total, known = at[f"sum_{i}"], at[f"known_{i}"]
        if m.kind == "stock_age":  # sum of (kday - day) = kday x rows - sum of days
            total = (at.kday * known).cast(rules.EXACT) - total
        values[name] = ibis.ifelse(known > 0, total.cast("float64"), ibis.null("float64"))
    at = at.select("seg", "k", **values)
    out = []
    for rng in sorted({m.range for m in ms}):
        sel = W.select("wid", k=W.e if rng == "end" else W.s - 1)
        part = sel.join(at, "k")
        out.append(
            part.select(
                "seg",
                "wid",
                **{m.key: part[f"v__{m.kind}__{m.column or 'n'}"] for m in ms if m.range == rng},
            )  # fmt: skip
        )
    return out


def _month_end_day(k):
    """Day number of the last day of month ordinal ``k``."""
    import ibis

    first_next = ibis.date(
        ((k + 1) // 12 + 1970).cast("int32"), ((k + 1) % 12 + 1).cast("int32"), 1
    )
    return first_next.epoch_days() - 1


def _employed(run: Compilation, source: S.Source, ms: list[Measure]) -> ir.Table:
    """Reps employed at some point in the window (``employed``) or at its first day
    (``employed_at_start``): hire on or before the last day, leave empty or on or after the
    first. ``column`` (``ae``) counts only the rows where it is true."""
    W = run.W
    r = source.rows
    out = {}
    j = r.join(W, r.hire <= W.ed)
    for m in ms:
        if m.kind == "employed":
            ok = j.leave.isnull() | (j.leave >= j.sd)
        else:
            ok = (j.hire <= j.sd) & (j.leave.isnull() | (j.leave >= j.sd))
        flag = ok & j[m.column] if m.column else ok
        out[m.key] = rules.flag(flag).sum().cast("float64")
    return j.group_by(["seg", "wid"]).agg(**out)


def _retention(run: Compilation, source: S.Source, ms: list[Measure]) -> ir.Table:
    """Net and gross revenue retention at each window's last month e: the customers with a
    purchase in months e-23 .. e-12; ``base`` their revenue then, ``net`` their revenue in
    months e-11 .. e, ``gross`` the same capped per customer at its earlier revenue.

    A customer's figures are worked out once, from its months (the same rows under each of
    its labels: ``all``, its product, its region...), then added up under each label: at 200
    times the sample, 15 s for every label's rows joined with every end, 4 s this way."""
    import ibis

    W = run.W
    ends = W.select(e=W.e).distinct()
    r = source.rows
    months = r.select("c", "m", "revenue").distinct()
    j = months.join(ends, (months.m >= ends.e - (2 * NRR_MONTHS - 1)) & (months.m <= ends.e))
    early = j.m <= j.e - NRR_MONTHS
    per = j.group_by(["c", "e"]).agg(
        earlier=rules.total(ibis.ifelse(early, j.revenue, 0.0)),
        later=rules.total(ibis.ifelse(early, 0.0, j.revenue)),
        bought=rules.flag(early).sum(),
    )
    per = per.filter(per.bought > 0)
    per = per.join(r.select("seg", "c").distinct(), "c")
    at = per.group_by(["seg", "e"]).agg(
        base=rules.total(per.earlier),
        net=rules.total(per.later),
        gross=rules.total(ibis.least(per.later, per.earlier)),
    )
    sel = W.select("wid", "e").join(at, "e")
    return sel.select("seg", "wid", **{m.key: sel[m.column] for m in ms})


def _clv(run: Compilation, source: S.Source, ms: list[Measure]) -> ir.Table:
    """Customer lifetime value: ARPA x gross_margin / churn, ARPA and churn the means over the
    window's months of each month's (revenue / active customers at its end) and (1 - (active
    at its end - new in it) / active at the end of the month before), each over the months
    where it is defined; empty when churn is not above 0 (within 1e-9 of 0 counts as 0)."""
    import ibis

    W = run.W
    r = source.rows
    # every label and month, with its active customers (0 where none)
    alive = run.alive(source, "m", "active_stop", [])
    active = alive.select("seg", "k", active=alive.n.cast("float64"))
    flow = r.group_by(seg=r.seg, k=r.m).agg(
        rev=rules.total(r.revenue), new=rules.flag(r.m == r.first_m).sum().cast("float64")
    )
    g = left_join(active, flow, ["seg", "k"])
    g = g.mutate(active=g.active.fill_null(0.0), rev=g.rev.fill_null(0.0), new=g.new.fill_null(0.0))
    prev = g.active.lag().over(ibis.window(group_by="seg", order_by="k"))
    g = g.mutate(
        arpa=ibis.ifelse(g.active != 0, g.rev / g.active, ibis.null("float64")),
        churn=ibis.ifelse(
            prev.fill_null(0.0) != 0, 1.0 - (g.active - g.new) / prev, ibis.null("float64")
        ),
    )
    j = g.join(W, (g.k >= W.s) & (g.k <= W.e))
    per = j.group_by(["seg", "wid"]).agg(arpa=rules.mean(j.arpa), churn=rules.mean(j.churn))
    churn = ibis.ifelse(per.churn.abs() < CHURN_ZERO, 0.0, per.churn)
    gm = float(run.params.gross_margin)
    clv = ibis.ifelse(
        per.arpa.notnull() & churn.notnull() & (churn > 0),
        per.arpa * gm / churn,
        ibis.null("float64"),
    )
    return per.select("seg", "wid", **{m.key: clv for m in ms})


def _new_customer_arpu(run: Compilation, source: S.Source, ms: list[Measure]) -> ir.Table:
    """Mean, over the customers new in the window, of their revenue from their first month
    through the window's last month divided by the number of those months. Each customer's
    figure is worked out once, then averaged under each of its labels (as in
    :func:`_retention`)."""
    W = run.W
    r = source.rows
    months = r.select("c", "m", "revenue", "first_m").distinct()
    firsts = months.filter(months.m == months.first_m).select("c", "first_m")
    nw = firsts.join(W, (firsts.first_m >= W.s) & (firsts.first_m <= W.e)).select(
        "c", "first_m", "wid", "e"
    )
    rev = months.select(c2="c", m="m", revenue="revenue")
    j = nw.join(rev, (nw.c == rev.c2) & (rev.m <= nw.e))
    per = j.group_by(["c", "wid", "e", "first_m"]).agg(rev=rules.total(j.revenue))
    per = per.mutate(pm=per.rev / (per.e - per.first_m + 1).cast("float64"))
    per = per.join(r.select("seg", "c").distinct(), "c")
    at = per.group_by(["seg", "wid"]).agg(v=rules.mean(per.pm))
    return at.select("seg", "wid", **{m.key: at.v for m in ms})


def _spend(run: Compilation, source: S.Source, ms: list[Measure]) -> ir.Table:
    """Sales and marketing spend summed over the window; empty when some month of it has no
    such spend row (spend unknown, not zero). Labels ``all`` and, when spend has a region
    column, ``region=...``."""
    import ibis

    W = run.W
    r = source.rows
    by_month = r.group_by(["seg", "k"]).agg(amount=rules.total(r.amount))
    j = by_month.join(W, (by_month.k >= W.s) & (by_month.k <= W.e))
    at = j.group_by(["seg", "wid"]).agg(total=rules.total(j.amount), months=j.k.nunique())
    at = at.join(W.select("wid", n=W.e - W.s + 1), "wid")
    value = ibis.ifelse(at.months == at.n, at.total, ibis.null("float64"))
    return at.select("seg", "wid", **{m.key: value for m in ms})


def _ramp(run: Compilation, source: S.Source, ms: list[Measure]) -> ir.Table:
    """Ramp time at each window's last month e: the mean, over reps hired in months e-23 .. e
    who reached it by e, of the months from the hire month to the first month (hire month
    included) in which their won revenue reached ``ramp_threshold`` x their monthly quota."""
    import ibis

    from salesreport.kpis.targets import monthly_target_matrix

    W = run.W
    e_all = run.windows["e"].to_numpy()
    lo, hi = int(e_all.min()) - 23, int(e_all.max())
    reps = run.engine.table("reps")
    ids = run.engine.execute(reps.select("rep_id").distinct())["rep_id"].dropna().astype(str)
    ids = sorted(ids)
    quota = monthly_target_matrix(
        run._target_rows(), "revenue", [f"{rules.REP_SEGMENT}={i}" for i in ids], lo, hi,
        run.params.fiscal_year_start_month,
    )  # fmt: skip
    rr, kk = np.nonzero(~np.isnan(quota) & (np.nan_to_num(quota) > 0))
    q = pd.DataFrame(
        {
            "q_rep": np.asarray(ids, dtype=object)[rr].astype(str),
            "k": (kk + lo).astype(np.int64),
            "quota": quota[rr, kk].astype(float),
        }
    )
    Q = run.engine.memtable(q, "quota")
    o = run.engine.table("opportunities")
    o = o.filter(rules.is_won(o) & o.close_date.notnull())
    o = o.mutate(k=rules.month_of(o.close_date))
    o = o.filter((o.k >= lo) & (o.k <= hi))
    won = o.group_by(w_rep=o.owner_id, k=o.k).agg(won=rules.total(o.amount))
    qw = Q.left_join(won, (Q.q_rep == won.w_rep) & (Q.k == won.k)).select(
        "q_rep", k=Q.k, quota=Q.quota, won=ibis._.won.fill_null(0.0)
    )
    reached = qw.filter(qw.won >= float(run.params.ramp_threshold) * qw.quota)
    rp = reps.mutate(hire_m=rules.month_of(reps.hire_date))
    seg_cols = [c for c in source.segments if c]
    rp = rp.select("_row", "rep_id", "hire_m", **{f"_seg_{c}": rp[c] for c in seg_cols})
    hit = rp.join(reached, (rp.rep_id == reached.q_rep) & (reached.k >= rp.hire_m))
    ramp = hit.group_by("_row").agg(r=hit.k.min())
    rows = rp.join(ramp, "_row")
    rows = S.long_rows(
        rows, list(source.segments), ["hire_m", "r"], {c: f"_seg_{c}" for c in seg_cols}
    )
    j = rows.join(W, (rows.hire_m >= W.e - 23) & (rows.hire_m <= W.e) & (rows.r <= W.e))
    at = j.group_by(["seg", "wid"]).agg(v=rules.mean((j.r - j.hire_m).cast("float64")))
    return at.select("seg", "wid", **{m.key: at.v for m in ms})


SPECIAL = {
    "employed": _employed,
    "employed_at_start": _employed,
    "retention": _retention,
    "clv": _clv,
    "new_customer_arpu": _new_customer_arpu,
    "spend": _spend,
    "ramp": _ramp,
}
