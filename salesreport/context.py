"""Everything a report needs, computed once per run and read by every notebook.

``build_context`` runs the package's computations (KPIs, OKRs, cohorts,
forecasts, trend, data quality) on the loaded tables; ``save_context`` writes
them into the run's working folder and ``load_context`` reads them back in a
notebook's kernel, so six notebooks never recompute the same numbers.
``report_context`` is what a notebook calls: with a ``run_dir`` it loads, and
without one (an analyst in JupyterLab) it loads the data and computes in the
kernel, from the same functions.
"""

from __future__ import annotations

import itertools
import json
import os
import time
import warnings
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_scalar

from salesreport.params import (
    TeamParams,
    check_report_month,
    last_complete_month,
    load_params,
    month_is_partial,
    parse_month,
    validate_params,
)
from salesreport.tables import TABLE_NAMES, Tables

FRAMES = (
    "kpis",
    "kpi_status",
    "okrs",
    "cohorts",
    "forecast",
    "forecast_accuracy",
    "backtest",
    "trend",
    "revenue",
    "quality",
    "quality_rows",
    "missing_metrics",
    "pipeline_forecast",
    "segment_forecasts",
    "submissions",
    "ledger",
    "forecast_changes",
    "forecast_targets",
    "forecast_headline",
)


@dataclass
class ReportContext:
    """The computed report for one team and month (frames may be empty, never missing).

    In a notebook, the numbers are typed attributes: ``ctx.kpis`` (every KPI row with its
    status), ``ctx.okrs``, ``ctx.forecast``, ``ctx.forecast_accuracy``, ``ctx.cohorts``,
    ``ctx.revenue``, ``ctx.trend``, ``ctx.quality`` ..., and views computed from the tables
    on first use: ``ctx.pipeline`` (open pipeline by stage and close month) and
    ``ctx.deals_needing_attention``. ``ctx.kpi("revenue", "ytd")`` is one KPI row. Any
    other frame is ``ctx.frames[name]``.
    """

    params: TeamParams
    month: str
    tables: Tables
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    #: the folder a saved context was read from (:func:`load_context`); sections drawn for
    #: one notebook are kept there for the others (:func:`salesreport.pages.section.shared`)
    folder: Path | None = None
    #: row positions of each metric in :attr:`kpis`, found on the first KPI lookup
    _kpi_positions: dict[str, np.ndarray] | None = field(default=None, init=False, repr=False)
    #: views computed from the tables on first use (:attr:`pipeline` ...)
    _views: dict[str, pd.DataFrame] = field(default_factory=dict, init=False, repr=False)

    def __getattr__(self, name: str) -> pd.DataFrame:
        frames = self.__dict__.get("frames", {})
        if not name.startswith("_") and name in frames:  # (IPython probes _repr_*_ names)
            return frames[name]
        raise AttributeError(name)

    @property
    def currency(self) -> str:
        return self.params.currency

    @property
    def period(self) -> pd.Period:
        return pd.Period(self.month, "M")

    @property
    def partial(self) -> bool:
        """Whether the month is not over yet (a report built with ``--allow-partial``)."""
        return month_is_partial(self.month)

    # ------------------------------------------------------------------ the computed frames

    def _frame(self, name: str) -> pd.DataFrame:
        frame = self.frames.get(name)
        return frame if frame is not None else pd.DataFrame()

    @property
    def kpis(self) -> pd.DataFrame:
        """Every KPI by metric, window, month and segment (kpis.csv's rows) with ``status``,
        ``benchmark`` and ``yoy_change``; the rows of ``kpis.csv`` without them when the
        status was not computed."""
        k = self.frames.get("kpi_status")
        if k is None or k.empty:
            k = self.frames.get("kpis")
        return k if k is not None else pd.DataFrame()

    @property
    def okrs(self) -> pd.DataFrame:
        """OKR objectives and key results with grade, status and due share (okrs.csv)."""
        return self._frame("okrs")

    @property
    def forecast(self) -> pd.DataFrame:
        """Every candidate model's monthly revenue forecast, the published one ``selected``."""
        return self._frame("forecast")

    @property
    def forecast_accuracy(self) -> pd.DataFrame:
        """Realised and backtest accuracy of past forecasts, with summary rows."""
        return self._frame("forecast_accuracy")

    @property
    def cohorts(self) -> pd.DataFrame:
        """Customers by month of first purchase and months since (cohorts.csv)."""
        return self._frame("cohorts")

    @property
    def revenue(self) -> pd.DataFrame:
        """Monthly revenue up to the report month: ``period``, ``revenue``."""
        return self._frame("revenue")

    @property
    def trend(self) -> pd.DataFrame:
        """Monthly revenue's growth, moving averages, STL fit and anomalies."""
        return self._frame("trend")

    @property
    def quality(self) -> pd.DataFrame:
        """Rows dropped, repaired, flagged or filtered while loading, with reasons."""
        return self._frame("quality")

    @property
    def pipeline(self) -> pd.DataFrame:
        """Open pipeline at the end of the month by stage and expected close month
        (:func:`salesreport.analysis.pipeline_by_stage`); empty without opportunities."""
        return self._view("pipeline")

    @property
    def deals_needing_attention(self) -> pd.DataFrame:
        """Open deals whose close date passed, stalled in a stage or without recent activity
        (:func:`salesreport.analysis.deals_needing_attention`), largest first."""
        return self._view("deals_needing_attention")

    def _view(self, name: str) -> pd.DataFrame:
        if name not in self._views:
            from salesreport import analysis

            if not self.tables.has("opportunities"):
                self._views[name] = pd.DataFrame()
            elif name == "pipeline":
                self._views[name] = analysis.pipeline_by_stage(
                    self.tables, self.month, self.params.stage_order
                )
            else:
                t = self.params.thresholds
                self._views[name] = analysis.deals_needing_attention(
                    self.tables, self.month, t.stalled_days, t.no_activity_days
                )
        return self._views[name].copy()

    # ------------------------------------------------------------------ KPI lookups

    def kpi_rows(self, metrics: str | list[str], **where: str) -> pd.DataFrame:
        """The :attr:`kpis` rows of one metric or several, in the frame's order (the index
        is their position in :attr:`kpis`); ``where`` keeps the rows whose columns equal
        the values given (``window="month", segment="all"``).

        Each metric's row positions are found once per context: the frame has a row per
        metric, window, month and segment (170k for the sample, 12 million with a row per
        rep at 100 times its size), and comparing all of its text keys for every lookup
        costs more than what the lookup is for. A saved context (a notebook in a report
        run) reads only the rows asked for from the saved file (:class:`_IndexedRows`)
        unless :attr:`kpis` was read whole: a page needs a few metrics' team rows.
        """
        names = [metrics] if isinstance(metrics, str) else list(metrics)
        saved = self._saved_kpis()
        if saved is not None:
            return saved.rows(names, where)
        k = self.kpis
        if self._kpi_positions is None:
            self._kpi_positions = k.groupby("metric", sort=False).indices if len(k) else {}
        parts = [self._kpi_positions[m] for m in names if m in self._kpi_positions]
        rows = k.iloc[np.sort(np.concatenate(parts)) if parts else np.array([], dtype=np.intp)]
        for column, value in where.items() if len(rows) else ():
            rows = rows[rows[column] == value]
        return rows

    def _saved_kpis(self) -> _IndexedRows | None:
        """The saved KPI rows by metric, when :attr:`kpis` would read them from a saved
        context's file and has not read them yet (same choice of frame as :attr:`kpis`)."""
        indexed = getattr(self.__dict__.get("frames"), "indexed", None)
        if indexed is None:
            return None
        for name in ("kpi_status", "kpis"):
            rows = indexed(name, "metric")
            if rows is not None:
                return rows
        return None

    def kpi(
        self, metric: str, window: str = "month", segment: str = "all", period: str | None = None
    ) -> dict[str, Any]:
        """One KPI row as a dict (value, target, prior, status ...; empty values NaN):
        ``metric`` for ``window`` ending in ``period`` (default the report month)."""
        rows = self.kpi_rows(metric, window=window, segment=segment, period=period or self.month)
        if rows.empty:
            return {"value": np.nan, "target": np.nan, "prior": np.nan}
        return rows.iloc[0].to_dict()


#: seconds between two lines saying how many KPI rows are saved (:func:`_save_kpis`)
KPI_PROGRESS_SECONDS = 20.0


def _save_kpis(
    frames: _FrameSink, batches, params: TeamParams, month: str, progress=None
) -> pd.DataFrame:
    """Save the KPI rows ``batches`` (Arrow record batches:
    :func:`salesreport.kpis.compiler.compute_kpi_batches`) with their status
    (:func:`~salesreport.kpis.status.kpi_status_batch`) as they come, one batch at a time,
    never as pandas rows, and keep ``kpis`` as the file's columns of ``kpis.csv``
    (:class:`SavedRows`, what the output files are written from). Returns the report month's
    rows as a frame, all that :func:`grade_okrs` reads; or, without any row, the empty frame
    (saved by the caller as a run without a sink saves it). ``progress(text)`` is told how
    many rows are saved every :data:`KPI_PROGRESS_SECONDS`."""
    import time

    import pyarrow as pa
    import pyarrow.compute as pc

    from salesreport.engine import FrameBuilder
    from salesreport.kpis import KPI_COLUMNS
    from salesreport.kpis.status import kpi_status_batch

    month_rows: list = []

    def with_status():
        n, said = 0, time.perf_counter()
        for batch in batches:
            month_rows.append(batch.filter(pc.equal(batch.column("period"), month)))
            n += batch.num_rows
            if progress is not None and time.perf_counter() - said >= KPI_PROGRESS_SECONDS:
                progress(f"KPIs: {n:,} rows computed and saved")
                said = time.perf_counter()
            yield kpi_status_batch(batch, params)

    statuses = with_status()
    head = [next(statuses)]
    while not head[-1].num_rows:  # (a batch may be empty: one is when there is no row)
        more = next(statuses, None)
        if more is None:  # no row: saved as an empty frame is (by the caller)
            return FrameBuilder(month_rows[0].schema).frame()
        head.append(more)
    frames.save_batches("kpi_status", itertools.chain(head, statuses), runs_of=KPI_RUNS)
    frames.keep_unsaved("kpis", SavedRows(frames.path_of("kpi_status"), KPI_COLUMNS))
    return pa.Table.from_batches(month_rows).to_pandas()


def _safe(step: str, notes: dict, fn, *args, **kwargs):
    """Run an optional computation; record *why* it produced nothing instead of hiding it.

    Only :class:`ValueError` (a documented "cannot compute from this data") and
    :class:`~salesreport.exceptions.ParameterError` (the YAML asks for a column this data
    does not have, e.g. ``cohorts.segment_by: [segment]`` on orders without one) are caught;
    any other exception is a bug and surfaces.
    """
    from salesreport.exceptions import ParameterError

    try:
        return fn(*args, **kwargs)
    except (ValueError, ParameterError) as exc:
        notes.setdefault("unavailable", {})[step] = str(exc)
        return None


def build_context(
    params: TeamParams,
    tables: Tables,
    month: str,
    quality: pd.DataFrame | None = None,
    quality_rows: pd.DataFrame | None = None,
    ledger_path: Path | None = None,
    progress=None,
    frames: MutableMapping[str, pd.DataFrame] | None = None,
    engine=None,
    forecaster=None,
    tables_engine=None,
) -> ReportContext:
    """Compute every frame of the report from already loaded (as-of ``month``) tables.

    ``engine``: the engine to compute in, holding the tables (a DuckDB team's load's own);
    without it the team's engine is opened here and given the tables, streamed from
    ``tables_engine`` (the loader's engine, :attr:`salesreport.data.load.LoadResult.engine`)
    when given, else from the pandas ``tables``; it is closed at the end.

    ``frames`` is where each frame is put as soon as it is computed (a new ``dict`` when
    not given); the pipeline passes :meth:`ContextWriter.frames`, which saves each one at
    once, so the notebooks start on the first frames while the rest are computed. There
    the KPI rows are never held whole (11.7 M rows for EMEA at 100 times the sample): they
    are saved with their status (``kpi_status``) part by part as the engine gives them
    (:func:`salesreport.kpis.compiler.compute_kpi_batches`), and ``kpis`` is that file's
    columns of ``kpis.csv`` (:class:`SavedRows`, not saved again; the output files are
    written from it); without any KPI row both are saved as frames. In a plain ``dict``
    (JupyterLab) both are frames; their rows are the same.

    ``progress(text)``, when given, is told each part as it starts (monthly revenue,
    forecasts, cohorts, KPIs) and, on a long KPI computation, how many rows are saved.

    ``forecaster`` (the pipeline's :class:`salesreport.forecast.process.ForecastProcess`)
    computes the forecasts (:func:`forecast_frames`) in a process of its own while the
    cohorts and KPIs are computed here; without one they are computed here first. The
    frames and notes are the same either way.
    """
    from salesreport import cohorts as cohorts_mod
    from salesreport.kpis import compute_kpis, grade_okrs, kpi_status, missing_metrics
    from salesreport.kpis.compiler import NOT_COMPUTED, compute_kpi_batches, not_computed_warning
    from salesreport.revenue import monthly_revenue

    def step(name: str):
        if progress is not None:
            progress(name)

    parse_month(month)
    own_engine = engine is None
    if own_engine:  # the tables into the team's engine, once for every computation
        from salesreport.kpis.compiler import engine_for

        engine = engine_for(tables, month, params, source=tables_engine)
    notes: dict[str, Any] = {}
    frames = {} if frames is None else frames
    frames["quality"] = quality if quality is not None else pd.DataFrame()
    frames["quality_rows"] = quality_rows if quality_rows is not None else pd.DataFrame()
    frames["missing_metrics"] = missing_metrics(tables)

    step("monthly revenue")
    y = monthly_revenue(engine, end_month=month)
    frames["revenue"] = y.rename("revenue").to_frame().reset_index().astype({"period": str})

    step("forecasts" + (" (in a process of their own)" if forecaster is not None else ""))
    inputs = forecast_inputs(params, tables, month, engine, y, ledger_path)
    frames["ledger"] = inputs.ledger
    frames["revenue_targets"] = inputs.revenue_targets
    # in a process of their own when the run has one (:class:`ForecastProcess`), while the
    # cohorts and the KPIs are computed here; the KPI rows take the forecast KPIs last
    pending = forecaster.submit(forecast_frames, inputs) if forecaster is not None else None
    forecasts = forecast_frames(inputs) if pending is None else None
    del inputs  # the pipeline forecast's columns go before the KPIs are computed
    published = False

    def publish_forecasts(wait: bool) -> ForecastResult | None:
        """The forecasts' frames into the context once they are made (the forecast page
        reads them while the KPIs are computed); ``wait``: wait for them."""
        nonlocal forecasts, published
        if forecasts is None:
            if not wait and not pending.ready():
                return None
            forecasts = pending.result()
        if not published:
            published = True
            for name, df in forecasts.frames.items():
                frames[name] = df
        return forecasts

    publish_forecasts(wait=False)
    # before the KPIs: a notebook started early (operations) reads the cohorts next
    step("cohorts")
    frames["cohorts"] = cohorts_mod.cohort_table(engine, month)
    for col in params.cohorts.segment_by:
        seg = _safe(f"cohorts by {col}", notes, cohorts_mod.cohort_table, engine, month, col)
        if seg is not None:
            frames[f"cohorts_by_{col}"] = seg
    publish_forecasts(wait=False)

    step("KPIs")
    # the forecast KPIs go in as the KPI rows are assembled (no copy of millions of rows)
    extra = lambda: publish_forecasts(wait=True).kpi_rows  # noqa: E731
    if isinstance(frames, _FrameSink):  # saved as they are fetched, never held whole
        kpis = _save_kpis(
            frames,
            compute_kpi_batches(params, month, engine, extra, notes),
            params,
            month,
            progress,
        )
    else:
        kpis = compute_kpis(None, params, month, extra=extra, engine=engine, notes=notes)
        if notes.get(NOT_COMPUTED):  # JupyterLab: said where the analyst sees it
            warnings.warn(not_computed_warning(notes[NOT_COMPUTED], params, month), stacklevel=2)
    done = publish_forecasts(wait=True)  # taken already, unless the KPI engine was replaced
    # the forecasts' notes come first, as when they are made before the cohorts
    later = notes.pop("unavailable", {})
    for key, value in done.notes.items():
        notes[key] = dict(value) if key == "unavailable" else value
    if later:
        notes.setdefault("unavailable", {}).update(later)
    if own_engine:
        engine.close()  # the last query: a server's session (and its temporary tables) ends
    if "kpi_status" not in frames:
        frames["kpis"] = kpis
        frames["kpi_status"] = kpi_status(kpis, params)
    frames["okrs"] = grade_okrs(kpis, params, month)
    return ReportContext(params=params, month=month, tables=tables, frames=frames, notes=notes)


@dataclass
class ForecastInputs:
    """What the forecasts read (:func:`forecast_inputs`): frames small enough to hand to a
    process of their own, so that :func:`forecast_frames` needs no engine and no tables."""

    params: TeamParams
    month: str
    #: the team's monthly revenue up to the report month
    y: pd.Series
    #: the pipeline forecast's and backtest's tables, their columns only (``None``: no
    #: opportunities table and no backtest to score)
    pipeline: Tables | None
    #: the pipeline forecast is made (there is an opportunities table)
    has_opportunities: bool
    #: the pipeline backtest is scored: it forecasts bookings, which are revenue only
    #: without an orders table, and needs stage history for each deal's stage at an origin
    score_pipeline: bool
    ledger: pd.DataFrame
    #: the chances stated in earlier months (the target ledger), ``None`` without a ledger
    stated: pd.DataFrame | None
    submissions: pd.DataFrame | None
    revenue_targets: pd.DataFrame
    #: per ``forecast.segments`` column: the monthly revenue of each segment value, or the
    #: reason it cannot be computed (a ``ValueError``'s or ``ParameterError``'s text)
    segments: dict[str, pd.DataFrame | str] = field(default_factory=dict)


@dataclass
class ForecastResult:
    """The forecasts' context frames (in the order they were made), their notes, and the
    forecast KPIs in the ``kpis.csv`` shape (``None``: none)."""

    frames: dict[str, pd.DataFrame]
    notes: dict[str, Any]
    kpi_rows: pd.DataFrame | None


def forecast_inputs(
    params: TeamParams, tables: Tables, month: str, engine, y: pd.Series, ledger_path
) -> ForecastInputs:
    """Read what :func:`forecast_frames` needs from the engine, the tables and the ledgers."""
    from salesreport.forecast import ledger as ledger_mod
    from salesreport.forecast.pipeline_forecast import read_tables
    from salesreport.revenue import monthly_revenue

    has_opportunities = tables.has("opportunities")
    score_pipeline = not tables.has("orders") and tables.has("stage_history")
    ledger = (
        ledger_mod.read_ledger(ledger_path, params.team, month)
        if ledger_path is not None and Path(ledger_path).exists()
        else pd.DataFrame()
    )
    chance_path = ledger_mod.chance_ledger_path(ledger_path) if ledger_path is not None else None
    segments: dict[str, pd.DataFrame | str] = {}
    why: dict[str, Any] = {}  # _safe's reasons, noted where the segments are forecast
    for col in params.forecast.segments:
        step = f"segment forecasts by {col}"
        wide = _safe(step, why, monthly_revenue, engine, month, None, col)
        segments[col] = wide if wide is not None else why["unavailable"][step]
    return ForecastInputs(
        params=params,
        month=month,
        y=y,
        # the columns the pipeline forecast reads, made once for both and let go after them
        pipeline=read_tables(tables) if has_opportunities or score_pipeline else None,
        has_opportunities=has_opportunities,
        score_pipeline=score_pipeline,
        ledger=ledger,
        stated=ledger_mod.read_chances(chance_path, params.team, month) if chance_path else None,
        submissions=tables.forecast_submissions if tables.has("forecast_submissions") else None,
        revenue_targets=monthly_revenue_targets(tables, params, month, params.forecast.horizon),
        segments=segments,
    )


def forecast_frames(inp: ForecastInputs) -> ForecastResult:
    """The forecasts, their backtest and accuracy, trend, pipeline forecast, submissions'
    scores, segment forecasts, target chances and forecast KPIs, from ``inp`` alone."""
    from salesreport import forecast as fc_mod
    from salesreport.forecast import accuracy as acc_mod
    from salesreport.forecast import changes as changes_mod
    from salesreport.forecast import ledger as ledger_mod
    from salesreport.forecast import targets as targets_mod
    from salesreport.forecast import trend as trend_mod

    params, month, y, ledger = inp.params, inp.month, inp.y, inp.ledger
    frames: dict[str, pd.DataFrame] = {}
    notes: dict[str, Any] = {}
    bundle = fc_mod.forecast_bundle(
        y,
        horizon=params.forecast.horizon,
        levels=tuple(params.forecast.levels),
        origins=params.forecast.backtest_origins,
    )
    candidates, backtest = bundle.candidates, bundle.backtest
    if bundle.notes:
        notes["forecast"] = list(bundle.notes)
    if inp.score_pipeline and len(backtest):
        from salesreport.forecast.pipeline_forecast import pipeline_backtest

        origins = sorted(backtest["origin"].unique())
        pb = _safe(
            "pipeline backtest", notes, pipeline_backtest, inp.pipeline, origins, 3, params, y
        )
        if pb is not None and len(pb):
            notes["pipeline_backtest"] = pb.attrs.get("caveat", "")
            backtest = pd.concat([backtest, pb[list(backtest.columns)]], ignore_index=True)
    frames["forecast"] = candidates
    frames["backtest"] = backtest
    frames["forecast_accuracy"] = acc_mod.accuracy_table(
        ledger, y, backtest, month, y, chances=targets_mod.score_chances(inp.stated, y, month)
    )
    frames["forecast_changes"] = changes_mod.forecast_changes(
        ledger_mod.with_month(ledger, params.team, month, candidates),
        y,
        month,
        params.fiscal_year_start_month,
    )
    frames["trend"] = trend_mod.trend_table(y, anomaly_z=params.thresholds.anomaly_z).reset_index()
    if inp.has_opportunities:
        from salesreport.forecast.pipeline_forecast import pipeline_forecast

        pf = _safe("pipeline_forecast", notes, pipeline_forecast, inp.pipeline, month, 3, params)
        frames["pipeline_forecast"] = pf if pf is not None else pd.DataFrame()
    if inp.submissions is not None:
        frames["submissions"] = acc_mod.score_submissions(
            inp.submissions, y, fy_start=params.fiscal_year_start_month
        )
    if params.forecast.segments:
        frames["segment_forecasts"] = _segment_forecasts(inp.segments, params, candidates, notes)
    frames["forecast_targets"] = targets_mod.target_chances(
        bundle.outlook, y, inp.revenue_targets, params.fiscal_year_start_month
    )
    fkpis = acc_mod.forecast_kpis(
        ledger, backtest, y, inp.submissions, month, history_months=params.history_months
    )
    frames["forecast_headline"] = pd.DataFrame([acc_mod.headline_accuracy(fkpis, month)])
    return ForecastResult(frames, notes, _forecast_kpi_rows(fkpis))


def monthly_revenue_targets(tables, params: TeamParams, month: str, horizon: int) -> pd.DataFrame:
    """The team's monthly revenue target from 36 months back to the end of the forecast horizon.

    Same rules as the KPI engine (:mod:`salesreport.kpis.targets`): a month's
    row, else its quarter / 3, else its year / 12; the team total falls back to
    the sum of region rows. Columns ``period`` (text) and ``target``; months
    without a target are left out.
    """
    from salesreport.kpis.targets import monthly_target_matrix, target_rows

    end = pd.Period(month, "M")
    periods = pd.period_range(end - 35, end + horizon, freq="M")
    values = monthly_target_matrix(
        target_rows(tables, params),
        "revenue",
        ["all"],
        periods[0].ordinal,
        periods[-1].ordinal,
        params.fiscal_year_start_month,
    )[0]
    out = pd.DataFrame({"period": periods.astype(str), "target": values})
    return out[out["target"].notna()].reset_index(drop=True)


def _segment_forecasts(segments, params, candidates, notes) -> pd.DataFrame:
    """Forecasts per segment value, reconciled so they add up to the team's selected forecast;
    ``segments``: :attr:`ForecastInputs.segments` (a text: why that column has none, noted)."""
    from salesreport.forecast import forecast
    from salesreport.forecast.reconcile import reconcile

    team = candidates[candidates["selected"].astype(bool)]
    frames = []
    for col in params.forecast.segments:
        wide = segments[col]
        if isinstance(wide, str):
            notes.setdefault("unavailable", {})[f"segment forecasts by {col}"] = wide
            continue
        if wide.empty:
            continue
        wide = wide.loc[:, wide.sum() > 0]
        segs = {
            str(name): forecast(
                wide[name], horizon=params.forecast.horizon, levels=tuple(params.forecast.levels)
            )
            for name in wide.columns
        }
        rec = reconcile(team, segs, method="proportional")
        for name, f in rec.items():
            if name == "all":
                continue
            frames.append(f.assign(segment=f"{col}={name}", method="proportional (top-down)"))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _forecast_kpi_rows(fkpis: pd.DataFrame | None) -> pd.DataFrame | None:
    """The forecast KPIs in the kpis.csv shape and column order (``prior`` = the same period
    a year earlier, ``target`` empty, ``unit`` ``ratio``); ``None`` when there are none."""
    from salesreport.kpis.compiler import KPI_COLUMNS

    if fkpis is None or fkpis.empty:
        return None
    f = fkpis[["metric", "window", "period", "segment", "value"]].copy()
    prior = f.assign(period=(pd.PeriodIndex(f["period"], freq="M") + 12).astype(str))
    f = f.merge(
        prior.rename(columns={"value": "prior"}),
        on=["metric", "window", "period", "segment"],
        how="left",
    )
    f["target"] = float("nan")
    f["unit"] = "ratio"
    return f[KPI_COLUMNS]


# --------------------------------------------------------------------------- persistence


#: written once the tables are saved (params, month): a notebook may start reading
BEGIN_FILE = "context-begin.json"
#: written last (notes, the frames' names): the context is complete
FINAL_FILE = "context.json"
#: written by the run when it stops computing a context it had begun (``--all-teams``: that
#: team's load or computation failed): a notebook waiting for it stops at once
STOPPED_FILE = "context-stopped.json"


def save_context(ctx: ReportContext, run_dir: Path) -> None:
    """Write the context's frames and tables into ``run_dir`` (Arrow IPC files), plus a JSON header."""
    writer = ContextWriter(run_dir)
    writer.begin(ctx.params, ctx.month, ctx.tables)
    for name, df in ctx.frames.items():
        writer.frames[name] = df
    writer.finish(ctx.notes)


class ContextWriter:
    """Save a context while it is computed, so notebooks can start before it is complete.

    :meth:`begin` saves the tables and then ``context-begin.json`` (params, month);
    each frame put into :attr:`frames` is saved at once (written to a temporary file and
    renamed, so a reader never sees half a file), except a frame no notebook reads
    (:meth:`_FrameSink.keep_unsaved`: ``kpis``), and the KPI rows are saved part by part
    (:meth:`_FrameSink.save_batches`); :meth:`finish` writes ``context.json``
    (the notes and the names of the frames) last. :func:`load_context` starts after
    ``context-begin.json`` and waits, frame by frame, for what a section reads.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        self.frames = _FrameSink(self.run_dir / "frames")

    def begin(self, params: TeamParams, month: str, tables: Tables) -> None:
        (self.run_dir / "tables").mkdir(parents=True, exist_ok=True)
        (self.run_dir / "frames").mkdir(parents=True, exist_ok=True)
        for name in tables.present():  # a table not made yet is saved part by part, not kept
            path = self.run_dir / "tables" / f"{name}{FRAME_SUFFIX}"
            saved = tables.saved_parts(name, TABLE_PART_ROWS)  # Arrow, when it can be
            if saved is not None and _save_arrow_parts(saved, path):
                continue
            if not _save_in_parts(tables.parts(name, TABLE_PART_ROWS), path):
                _save_frame(tables.peek(name), path)
        write_json(
            self.run_dir / BEGIN_FILE, {"month": month, "params": params.model_dump(mode="json")}
        )

    def stop(self, reason: str) -> None:
        """Tell the notebooks waiting for this context that it will not come."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_json(self.run_dir / STOPPED_FILE, {"reason": reason})

    def finish(self, notes: dict[str, Any]) -> None:
        """Write ``context.json``: the notes, the names of the saved frames (``frames``) and
        of the frames kept in memory only (``not_saved``, see :meth:`_FrameSink.keep_unsaved`)."""
        unsaved = self.frames.unsaved
        write_json(
            self.run_dir / FINAL_FILE,
            {
                "notes": notes,
                "frames": sorted(n for n in self.frames if n not in unsaved),
                "not_saved": sorted(unsaved),
            },
        )


class _FrameSink(dict):
    """A dict of frames that saves each DataFrame to ``<name>.arrow`` when it is set.

    :meth:`keep_unsaved` puts a frame in without saving it: one no notebook reads from a
    saved context (:func:`build_context` keeps ``kpis`` so when it has rows, as the columns of
    ``kpis.csv`` in the saved ``kpi_status`` file: the sections read ``kpi_status``). A
    reader of the saved context finds such a frame absent (``KeyError`` once
    ``context.json`` is written); the pipeline's output files, written by the run, have it.

    :meth:`save_batches` saves a frame part by part without ever holding it: the sink then
    reads it from its file when it is asked for (whole), and :meth:`indexed` gives its rows
    by a key as a saved context does.
    """

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self._folder = folder
        #: names of the frames put in with :meth:`keep_unsaved`
        self.unsaved: set[str] = set()
        self._indexed: dict[tuple[str, str], _IndexedRows | None] = {}

    def keep_unsaved(self, name: str, df) -> None:
        """Put ``df`` in under ``name`` without saving it (see the class docstring)."""
        self._new(name)
        super().__setitem__(name, df)
        self.unsaved.add(name)

    def __setitem__(self, name: str, df) -> None:
        self._new(name)
        super().__setitem__(name, df)
        if isinstance(df, pd.DataFrame):
            tmp = self._folder / f".{name}{FRAME_SUFFIX}.tmp"
            _save_frame(df, tmp)
            os.replace(tmp, self._folder / f"{name}{FRAME_SUFFIX}")

    def save_batches(self, name: str, batches, runs_of: tuple[str, ...] = ()) -> int:
        """Save the Arrow record batches ``batches`` (one schema; text ``string``) one after
        the other as the frame ``name`` (on a RangeIndex, as :meth:`__setitem__` would save
        them concatenated), one batch held at a time and no row made a Python object.
        ``runs_of``: text columns whose runs of equal values are written beside the file
        (:func:`_runs_path`, before it), for :class:`_IndexedRows`. Returns the number of
        rows."""
        import pyarrow as pa

        from salesreport.engine import arrow_codes

        self._new(name)
        path = self.path_of(name)
        tmp = self._folder / f".{name}{FRAME_SUFFIX}.tmp"
        rows, writer = 0, None
        runs: list[list] | None = [] if runs_of else None
        try:
            for batch in batches:
                if writer is None:
                    writer = pa.ipc.new_file(str(tmp), batch.schema)
                if runs is not None:
                    coded = [arrow_codes(batch.column(c)) for c in runs_of]
                    _add_runs(runs, coded, batch.num_rows, rows)
                writer.write_batch(batch)
                rows += batch.num_rows
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise ValueError(f"context frame {name!r}: no batch to save")
        if runs is not None:
            write_json(_runs_path(path, runs_of[0]), {"columns": list(runs_of), "runs": runs})
        os.replace(tmp, path)
        super().__setitem__(name, SavedRows(path))
        return rows

    def path_of(self, name: str) -> Path:
        """The file a frame is saved in."""
        return self._folder / f"{name}{FRAME_SUFFIX}"

    def _new(self, name: str) -> None:
        if name in self:
            # a notebook may already have read the first version
            raise RuntimeError(f"context frame {name!r} was computed twice")

    def __getitem__(self, name: str):
        value = super().__getitem__(name)
        return value.to_pandas() if _on_file(name, value, self.unsaved) else value

    def get(self, name: str, default=None):
        if name not in self:  # (dict.get would not read a frame from its file)
            return default
        return self[name]

    def indexed(self, name: str, key: str) -> _IndexedRows | None:
        """The rows by ``key`` of a frame saved by :meth:`save_batches` (as
        :meth:`_SavedFrames.indexed`); None for any other frame."""
        value = super().get(name)
        if not _on_file(name, value, self.unsaved):
            return None
        if (name, key) not in self._indexed:
            self._indexed[(name, key)] = _IndexedRows.read(value.path, key)
        return self._indexed[(name, key)]


def _on_file(name: str, value, unsaved: set[str]) -> bool:
    """Whether a sink's ``value`` is a frame it saved part by part (read from its file)."""
    return isinstance(value, SavedRows) and name not in unsaved


#: rows of a DuckDB vector: :meth:`SavedRows.reader` gives batches of that many rows (the
#: last fewer), so that DuckDB cuts a Parquet file's row groups where it cuts them for a
#: frame of the rows, and holds little while it scans them (DuckDB keeps several batches of
#: an Arrow stream: writing 100x's KPI rows took 1.9 GB with batches of 200,000 rows, 0.6 GB
#: with batches of a vector)
VECTOR_ROWS = 2048


class SavedRows:
    """Rows saved in an Arrow file (:meth:`_FrameSink.save_batches`), read a record batch at a
    time: the file of millions of KPI rows is never in memory whole (not even mapped: the
    pages of a mapped file would count in the process's memory as they are read).

    ``columns``: the columns read (default all)."""

    def __init__(self, path: Path, columns: list[str] | None = None) -> None:
        self.path = Path(path)
        self.columns = columns

    @property
    def schema(self):
        import pyarrow as pa

        with pa.OSFile(str(self.path)) as f:
            schema = pa.ipc.open_file(f).schema
        return pa.schema([schema.field(c) for c in self.columns]) if self.columns else schema

    @property
    def num_rows(self) -> int:
        """How many rows are saved (from the file's batch headers, without reading the rows)."""
        import pyarrow as pa

        with pa.memory_map(str(self.path)) as f:
            file = pa.ipc.open_file(f)
            return sum(file.get_batch(i).num_rows for i in range(file.num_record_batches))

    def reader(self):
        """A ``pyarrow.RecordBatchReader`` of the rows (read once)."""
        import pyarrow as pa

        schema = self.schema

        def batches():
            left = None  # fewer rows than a vector, carried over to the next batch
            with pa.OSFile(str(self.path)) as f:
                file = pa.ipc.open_file(f)
                for i in range(file.num_record_batches):
                    batch = file.get_batch(i)
                    batch = batch.select(schema.names) if self.columns else batch
                    at = 0
                    if left is not None:
                        at = VECTOR_ROWS - left.num_rows
                        joined = pa.Table.from_batches([left, batch.slice(0, at)])
                        left = joined.combine_chunks().to_batches()[0]
                        if left.num_rows < VECTOR_ROWS:
                            continue
                        yield left
                    while at + VECTOR_ROWS <= batch.num_rows:
                        yield batch.slice(at, VECTOR_ROWS)
                        at += VECTOR_ROWS
                    left = batch.slice(at) if at < batch.num_rows else None
            if left is not None:
                yield left

        return pa.RecordBatchReader.from_batches(schema, batches())

    def to_pandas(self) -> pd.DataFrame:
        """Every row, as the frame saved (text as ``object``, missing numbers NaN)."""
        return self.reader().read_all().to_pandas()


def write_json(path: Path, data: dict) -> None:
    """Write JSON to a temporary file and rename it into place (readers see all or nothing;
    the temporary name is this process's own, so two writers never share one)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, path)


def _wait_for(paths: list[Path], deadline: float, what: str) -> Path:
    """The first of ``paths`` that exists, polling every 50 ms until ``deadline``, or until
    the run says it stopped (:data:`STOPPED_FILE` in the context's folder: the last of
    ``paths`` is always a file of that folder)."""
    stopped = paths[-1].parent / STOPPED_FILE
    while True:
        for path in paths:
            if path.exists():
                return path
        if stopped.exists():
            reason = json.loads(stopped.read_text(encoding="utf-8")).get("reason", "")
            raise RuntimeError(f"{what}: the run stopped computing this report: {reason}")
        if time.monotonic() > deadline:
            raise FileNotFoundError(
                f"{paths[0]}: {what} not written in time; the pipeline that computes the "
                "context stopped or is too slow (notebook_timeout in the team's YAML)"
            )
        time.sleep(0.05)


def periods_as_text(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every ``Period`` (column values or index) written as text (``2026-10``).

    A ``Period`` column becomes an ``object`` column of text (``None`` where the period is
    missing); an ``object`` column whose first non-missing value is a ``Period`` has each
    ``Period`` in it written as text (other values are kept); a ``PeriodIndex`` becomes an
    index of text. The result is a new frame that shares the unchanged columns' data with
    ``df`` (``df`` itself is never modified); when nothing is a ``Period``, it is ``df``
    itself. Each column is converted through its distinct periods (a few dozen months),
    not value by value.
    """
    changed: dict[int, pd.Series] = {}
    for i in range(df.shape[1]):
        col = df.iloc[:, i]
        if isinstance(col.dtype, pd.PeriodDtype):
            changed[i] = _period_text(col)
        elif col.dtype == object and isinstance(_first_present(col), pd.Period):
            changed[i] = col.map(lambda v: str(v) if isinstance(v, pd.Period) else v)
    period_index = isinstance(df.index, pd.PeriodIndex)
    if not changed and not period_index:
        return df
    out = df.copy(deep=False)
    for i, values in changed.items():
        out.isetitem(i, values)
    if period_index:
        out.index = df.index.astype(str)
    return out


def _period_text(col: pd.Series) -> pd.Series:
    """A ``Period`` column as text (``object``; ``None`` where missing), the same as
    ``col.astype(str).where(col.notna(), None)``, converting each distinct period once."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    text = np.empty(len(uniques) + 1, dtype=object)
    text[:-1] = np.asarray(pd.Index(uniques).astype(str), dtype=object)
    text[-1] = None  # code -1: a missing period
    return pd.Series(text[codes], index=col.index, name=col.name, dtype=object)


def _first_present(col: pd.Series):
    """The first non-missing value of an ``object`` column (``None`` if there is none);
    looks at the first value before scanning the whole column for missing values."""
    if not len(col):
        return None
    first = col.iat[0]
    if not (is_scalar(first) and pd.isna(first)):
        return first
    present = col.dropna()
    return present.iat[0] if len(present) else None


#: file suffix of the run's saved tables and frames: Arrow IPC ("Feather v2"), uncompressed.
#: The files live only as long as the run; written and read in about half the time of
#: Parquet (no encoding, no compression), read by every notebook's kernel.
FRAME_SUFFIX = ".arrow"


def _save_frame(df: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa
    from pyarrow import feather

    df = periods_as_text(df)
    table = pa.Table.from_pandas(df, preserve_index=not isinstance(df.index, pd.RangeIndex))
    feather.write_feather(table, str(path), compression="uncompressed")


#: rows of a table saved at a time (:meth:`ContextWriter.begin`): at 200 times the sample the
#: activities table (3.8 M rows) made whole and converted took 2 GB of the run's memory
TABLE_PART_ROWS = 250_000


def _save_arrow_parts(parts, path: Path) -> bool:
    """Save the Arrow tables ``parts`` (one schema: :meth:`salesreport.tables.Tables.saved_parts`)
    one after the other in one file; ``False`` (and nothing saved) when there is no part or
    a part cannot be made (``ValueError``): the caller then saves the table's frames."""
    import pyarrow as pa

    writer = None
    done = False
    try:
        for part in parts:
            if writer is None:
                writer = pa.ipc.new_file(str(path), part.schema)
            writer.write_table(part)
        done = writer is not None
    except ValueError:
        pass
    finally:
        if writer is not None:
            writer.close()
            if not done:  # also when interrupted: no half file is left
                path.unlink()
    return done


def _save_in_parts(parts, path: Path) -> bool:
    """Save the frames ``parts`` one after the other as :func:`_save_frame` saves them
    concatenated (on a RangeIndex), holding one at a time; ``False`` (and nothing saved)
    when there is no part, when a part has an index of its own, or when a part's columns
    convert to other Arrow types than the parts before, which the whole frame would settle
    differently (a number column that has missing values in some parts only): then the
    caller saves the whole. Parts whose column is missing throughout (no type yet) are held
    until a part gives it one."""
    import pyarrow as pa

    held: list[pd.DataFrame] = []
    writer = schema = None

    def give_up() -> bool:
        nonlocal writer
        if writer is not None:
            writer.close()
            writer = None
            path.unlink()
        return False

    try:
        for part in parts:
            part = periods_as_text(part)
            if not isinstance(part.index, pd.RangeIndex):  # an index of its own: kept whole
                return give_up()
            if writer is None:
                held.append(part)
                first = pa.Schema.from_pandas(part, preserve_index=False)
                if any(pa.types.is_null(f.type) for f in first):
                    continue  # its type is known once a part has a value
                table = pa.Table.from_pandas(
                    pd.concat(held, ignore_index=True) if len(held) > 1 else part,
                    preserve_index=False,
                )
                schema, held = table.schema, []
                writer = pa.ipc.new_file(str(path), schema)
                writer.write_table(table)
                continue
            table = pa.Table.from_pandas(part, preserve_index=False)
            same = table.schema.names == schema.names and all(
                f.type == g.type or pa.types.is_null(f.type)
                for f, g in zip(table.schema, schema, strict=True)
            )
            if not same:
                return give_up()
            writer.write_table(table.cast(schema))
    finally:
        if writer is not None:
            writer.close()
    if schema is not None:
        return True
    if not held:  # no part at all
        return False
    _save_frame(pd.concat(held, ignore_index=True), path)  # a column without any value
    return True


def _read_frame(path: Path) -> pd.DataFrame:
    return pd.read_feather(path)


RUNS_SUFFIX = "-runs.json"


#: the columns whose runs of equal values the KPI rows are saved with: the rows come one
#: metric after another, within a metric one window row (window, period) after another
#: (:func:`salesreport.kpis.compiler.compute_kpi_batches`)
KPI_RUNS = ("metric", "window", "period")


def _runs_path(path: Path, key: str) -> Path:
    """The file beside a saved frame's ``path`` holding the runs of its rows by ``key`` (the
    first of the columns the runs are of)."""
    return path.with_name(f"{path.name.removesuffix(FRAME_SUFFIX)}.{key}{RUNS_SUFFIX}")


def _add_runs(runs: list[list], coded: list, n: int, offset: int) -> None:
    """Add to ``runs`` (``[*values, start, stop]``, in row order) the runs of the ``n`` rows
    (rows ``offset``, ``offset + 1``, ...) of a part whose columns, given ``coded`` (each a
    column's codes, -1 for missing, and its distinct values), are equal; a run that
    continues the previous part's extends it."""
    cuts = sorted(
        {int(i) + 1 for codes, _ in coded for i in np.flatnonzero(codes[1:] != codes[:-1])}
    )
    for a, b in zip([0, *cuts], [*cuts, n], strict=True):
        if a == b:
            continue
        key = [None if codes[a] < 0 else uniq[codes[a]] for codes, uniq in coded]
        if runs and runs[-1][:-2] == key and runs[-1][-1] == offset + a:
            runs[-1][-1] = offset + b
        else:
            runs.append([*key, offset + a, offset + b])


class _IndexedRows:
    """A saved frame's rows by the values of one key column, read from its Arrow file
    mapped in memory: only the rows asked for become pandas rows.

    Each value's row positions come from the runs :meth:`_FrameSink.save_batches` wrote beside
    the file as it saved it (:func:`_runs_path`), else from the key column, read once. The
    rows of a value (contiguous in the KPI frame, one metric after another) are zero-copy
    slices of the mapped file, filtered by ``where`` there, so a page that needs a few
    metrics' team rows neither reads nor converts the millions of rows per rep (and with the
    runs, does not read the key column of every row: at 200x the sample 23M rows, 750 MB of
    the mapped file). What :meth:`rows` returns equals the whole frame read with pandas and
    then selected (a test compares them).
    """

    def __init__(self, table, key: str, labels: tuple[int, int], runs: dict | None = None):
        self._table = table
        self._start, self._step = labels  # the saved RangeIndex: label = start + step * row
        self._runs: dict[tuple, list[tuple[int, int]]] | None = None
        if runs is not None and runs["columns"][0] == key:
            # by the key's value alone, and by the values of every column the runs are of
            self._columns = runs["columns"]
            self._runs = {}
            for *values, a, b in runs["runs"]:
                self._runs.setdefault((values[0],), []).append((a, b))
                self._runs.setdefault(tuple(values), []).append((a, b))
        else:
            import pyarrow.compute as pc

            # one dictionary for every record batch; a missing key is code -1
            chunks = table[key].dictionary_encode().unify_dictionaries().chunks
            values = chunks[0].dictionary.to_pylist() if chunks else []
            self._names = {v: i for i, v in enumerate(values)}
            self._codes = np.concatenate(
                [pc.fill_null(c.indices, -1).to_numpy() for c in chunks] or [np.array([], np.int64)]
            )

    def _positions(self, value: str, where: dict[str, str]) -> np.ndarray | None:
        """The rows whose key is ``value``, in order (with runs: of those, the rows that
        ``where`` keeps when it gives every column the runs are of); None when none."""
        if self._runs is not None:
            rest = self._columns[1:]
            exact = all(isinstance(where.get(c), str) for c in rest)
            key = (value, *(where[c] for c in rest)) if exact else (value,)
            runs = self._runs.get(key)
            return np.concatenate([np.arange(a, b) for a, b in runs]) if runs else None
        code = self._names.get(value)
        return None if code is None else np.flatnonzero(self._codes == code)

    @classmethod
    def read(cls, path: Path, key: str) -> _IndexedRows | None:
        """The file's rows by ``key``; None without rows or when the frame was saved with
        an index of its own (then the whole frame is read)."""
        import pyarrow as pa

        with pa.memory_map(str(path)) as source:
            table = pa.ipc.open_file(source).read_all()
        index = (table.schema.pandas_metadata or {}).get("index_columns", [])
        if not table.num_rows or any(not isinstance(c, dict) for c in index):
            return None
        labels = (index[0]["start"], index[0]["step"]) if index else (0, 1)
        runs = _runs_path(path, key)
        runs = json.loads(runs.read_text(encoding="utf-8")) if runs.exists() else None
        return cls(table, key, labels, runs)

    def rows(self, values: list[str], where: dict[str, str]) -> pd.DataFrame:
        import pyarrow as pa
        import pyarrow.compute as pc

        found = (self._positions(v, where) for v in values)
        parts = [p for p in found if p is not None]
        positions = np.sort(np.concatenate(parts)) if parts else np.array([], dtype=np.intp)
        kept, slices = [], []
        for run in np.split(positions, np.flatnonzero(np.diff(positions) != 1) + 1):
            if not len(run):
                continue
            part = self._table.slice(int(run[0]), len(run))
            keep = np.ones(len(run), dtype=bool)
            for column, value in where.items():
                keep &= pc.fill_null(pc.equal(part[column], value), False).to_numpy()
            slices.append(part.filter(pa.array(keep)))
            kept.append(run[keep])
        table = pa.concat_tables(slices) if slices else self._table.slice(0, 0)
        frame = table.to_pandas()
        rows = np.concatenate(kept) if kept else np.array([], dtype=np.intp)
        frame.index = pd.Index(self._start + self._step * rows)
        return frame


class _SavedTables(Tables):
    """Saved tables, each read from its Arrow file the first time it is used: a notebook
    reads only the tables its sections need (the executive report needs no activities)."""

    def __init__(self, paths: dict[str, Path]) -> None:
        super().__init__()
        object.__setattr__(self, "_unread", dict(paths))

    def __getattribute__(self, name: str):
        unread = object.__getattribute__(self, "__dict__").get("_unread")
        if unread and name in unread:
            object.__setattr__(self, name, _read_frame(unread.pop(name)))
        return object.__getattribute__(self, name)

    def has(self, name: str) -> bool:
        return name in self.__dict__["_unread"] or super().has(name)

    def peek(self, name, columns=None):
        """As :meth:`Tables.peek`; a table not read yet is not read whole: only those of
        ``columns`` it has are read from its file (and its index), for the caller alone (not
        kept), as :class:`salesreport.tables.LazyTables` does."""
        path = self.__dict__["_unread"].get(name)
        if path is None or columns is None:
            return super().peek(name, columns)
        return _file_columns(path, columns, index=True).to_pandas()

    def rows_in(self, name, column, start, stop, columns):
        """As :meth:`Tables.rows_in`; a table not read yet is not read whole: only the
        columns asked for, and only the rows in the range become pandas rows."""
        path = self.__dict__["_unread"].get(name)
        if path is None:
            return super().rows_in(name, column, start, stop, columns)
        import pyarrow as pa
        import pyarrow.compute as pc

        table = _file_columns(path, [*columns, column])
        values = table[column]
        keep = pc.less(values, pa.scalar(stop, type=values.type))
        if start is not None:
            keep = pc.and_(keep, pc.greater_equal(values, pa.scalar(start, type=values.type)))
        return _kept_rows(table, keep, columns)

    def rows_with(self, name, column, values, columns):
        """As :meth:`Tables.rows_with`; a table not read yet is not read whole: only the
        columns asked for, and only the rows that match, become pandas rows."""
        path = self.__dict__["_unread"].get(name)
        if path is None:
            return super().rows_with(name, column, values, columns)
        import pyarrow as pa
        import pyarrow.compute as pc

        from salesreport.tables import present_values

        table = _file_columns(path, [*columns, column])
        kind = table[column].type
        kind = kind.value_type if pa.types.is_dictionary(kind) else kind
        try:
            wanted = pa.array(present_values(values), type=kind)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # values of another type than the file's
            return super().rows_with(name, column, values, columns)
        return _kept_rows(table, pc.is_in(table[column], value_set=wanted), columns)


def _kept_rows(table, keep, columns) -> pd.DataFrame:
    """The rows of the Arrow ``table`` where ``keep`` is true (a missing answer is false) as a
    frame of those of ``columns`` it has, on the rows' positions in the table."""
    import pyarrow.compute as pc

    keep = pc.fill_null(keep, False)
    frame = table.filter(keep).to_pandas()
    frame.index = pd.Index(np.flatnonzero(keep.to_numpy(zero_copy_only=False)))
    return frame[[c for c in columns if c in frame.columns]]


def _file_columns(path: Path, columns, index: bool = False):
    """Those of ``columns`` a saved frame's file has (each once), mapped in memory, as an
    Arrow table; with ``index``, also the columns of an index of its own (``to_pandas``
    then gives the frame's labels)."""
    import pyarrow as pa
    from pyarrow import feather

    with pa.memory_map(str(path)) as source:
        schema = pa.ipc.open_file(source).schema
    meta = (schema.pandas_metadata or {}).get("index_columns", []) if index else []
    stored = [i for i in meta if isinstance(i, str)]
    wanted = [c for c in dict.fromkeys(columns) if c in schema.names and c not in stored]
    return feather.read_table(path, columns=wanted + stored, memory_map=True)


class _SavedFrames(MutableMapping):
    """Saved frames by name, each read from its Arrow file the first time it is used.

    While the pipeline is still computing (no ``context.json`` yet), asking for a frame
    that is not saved yet waits for it; once ``context.json`` is there, a frame without a
    file is absent (``KeyError``). Listing the frames waits for ``context.json``.
    """

    def __init__(self, folder: Path, final: Path, deadline: float) -> None:
        self._folder = folder
        self._final = final
        self._deadline = deadline
        self._dropped: set[str] = set()
        self._read: dict[str, Any] = {}
        self._indexed: dict[tuple[str, str], _IndexedRows | None] = {}

    def _path(self, name: str) -> Path | None:
        """The frame's file, waiting for it while the context is incomplete; None if absent."""
        if name in self._dropped or not isinstance(name, str):
            return None
        path = self._folder / f"{name}{FRAME_SUFFIX}"
        _wait_for([path, self._final], self._deadline, f"context frame {name!r}")
        return path if path.exists() else None

    def _names(self) -> set[str]:
        _wait_for([self._final], self._deadline, "the report context")
        saved = {p.stem for p in self._folder.glob(f"*{FRAME_SUFFIX}")} - self._dropped
        return saved | set(self._read)

    def indexed(self, name: str, key: str) -> _IndexedRows | None:
        """The frame's rows by ``key`` read from its file (:class:`_IndexedRows`); None
        when the frame is absent, has no rows, or was read or replaced in memory."""
        if name in self._read:
            return None
        if (name, key) not in self._indexed:
            path = self._path(name)
            self._indexed[(name, key)] = _IndexedRows.read(path, key) if path else None
        return self._indexed[(name, key)]

    def __getitem__(self, name: str):
        if name not in self._read:
            path = self._path(name)
            if path is None:
                raise KeyError(name)
            self._read[name] = _read_frame(path)
        return self._read[name]

    def __setitem__(self, name: str, value) -> None:
        self._dropped.add(name)
        self._read[name] = value

    def __delitem__(self, name: str) -> None:
        if name not in self:
            raise KeyError(name)
        self._dropped.add(name)
        self._read.pop(name, None)

    def __iter__(self):
        return iter(sorted(self._names()))

    def __len__(self) -> int:
        return len(self._names())

    def __contains__(self, name: object) -> bool:
        return name in self._read or self._path(name) is not None  # type: ignore[arg-type]


class _SavedNotes(MutableMapping):
    """The context's notes, read from ``context.json`` when first used (waiting for it)."""

    def __init__(self, final: Path, deadline: float) -> None:
        self._final = final
        self._deadline = deadline
        self._notes: dict[str, Any] | None = None

    def _get(self) -> dict[str, Any]:
        if self._notes is None:
            _wait_for([self._final], self._deadline, "the report context")
            self._notes = json.loads(self._final.read_text(encoding="utf-8"))["notes"]
        return self._notes

    def __getitem__(self, key: str):
        return self._get()[key]

    def __setitem__(self, key: str, value) -> None:
        self._get()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._get()[key]

    def __iter__(self):
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def load_context(run_dir: str | Path, wait_seconds: float = 600.0) -> ReportContext:
    """Read a saved context; in a pipeline run, start before the pipeline has finished it.

    The pipeline starts the notebooks' kernels while it loads and computes: a notebook
    waits here for the tables (``context-begin.json``), and then each frame or the
    notes wait, when first used, until the pipeline has saved them (see
    :class:`ContextWriter`). The pipeline stops the notebooks if the computation fails;
    ``wait_seconds`` bounds every wait.
    """
    run_dir = Path(run_dir)
    deadline = time.monotonic() + wait_seconds
    _wait_for([run_dir / BEGIN_FILE], deadline, "the report context")
    header = json.loads((run_dir / BEGIN_FILE).read_text(encoding="utf-8"))
    params = validate_params(header["params"], source=str(run_dir / BEGIN_FILE))
    tables = _SavedTables(
        {
            n: run_dir / "tables" / f"{n}{FRAME_SUFFIX}"
            for n in TABLE_NAMES
            if (run_dir / "tables" / f"{n}{FRAME_SUFFIX}").exists()
        }
    )
    final = run_dir / FINAL_FILE
    frames = _SavedFrames(run_dir / "frames", final, deadline)
    return ReportContext(
        params=params,
        month=header["month"],
        tables=tables,
        frames=frames,
        notes=_SavedNotes(final, deadline),  # type: ignore[arg-type]
        folder=run_dir,
    )


def report_context(
    team: str = "emea",
    month: str = "",
    run_dir: str = "",
    data_dir: str = "",
    params_file: str = "",
    allow_partial: bool = False,
) -> ReportContext:
    """The notebooks' entry point.

    In a pipeline run ``run_dir`` is set and the precomputed context is read.
    Alone in JupyterLab (``run_dir`` empty) the team's data is loaded and
    everything computed in the kernel with the same functions; a month that is not over
    is refused unless ``allow_partial`` (then the current month is computed to date).
    """
    if run_dir:
        return load_context(run_dir)
    from salesreport.data import load_tables

    params = load_params(team or None, params_file or None)
    month = month or last_complete_month()
    check_report_month(month, allow_partial)
    loaded = load_tables(params, data_dir or None, month)
    return build_context(
        params,
        loaded.tables,
        month,
        quality=loaded.quality.to_frame(),
        quality_rows=loaded.quality.rows(),
        engine=loaded.engine_for(params),
        tables_engine=loaded.engine,
    )
