"""The KPI engine: every catalogue metric, window, month and segment -> ``kpis.csv`` rows.

``compute_kpis`` cuts the tables to the report month (rows dated after it are ignored, so a
re-run for an old month reproduces what was knowable then), builds the windows of
``params.history_months`` months plus 24 earlier months (for the prior year and the prior of
year-on-year growth), calls each metric function for the team (``all``) and for every segment
column its source table has, attaches ``prior`` (the same window and segment 12 months
earlier) and ``target`` (:mod:`salesreport.kpis.targets`), and keeps the history months.

``kpi_status`` adds the RAG status against target, the benchmark and the year-on-year change.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from salesreport.kpis.activity import activity_metrics, lead_metrics, referral_metrics
from salesreport.kpis.catalogue import CATALOGUE, SEGMENT_COLUMNS, needs_met
from salesreport.kpis.core import Win, long_frame, shared_work
from salesreport.kpis.metrics import deal_metrics, revenue_metrics
from salesreport.kpis.pipeline import coverage_metrics, pipeline_metrics
from salesreport.kpis.reps import ramp_metrics, rep_metrics
from salesreport.kpis.targets import target_rows, window_targets
from salesreport.params import TeamParams, parse_month
from salesreport.periods import month_period, windows_frame
from salesreport.tables import Tables

KPI_COLUMNS = ["metric", "window", "period", "segment", "value", "target", "prior", "unit"]
STATUS_COLUMNS = [*KPI_COLUMNS, "status", "benchmark", "yoy_change"]
EXTRA_MONTHS = 24  # history computed before the first reported month: prior and prior growth

MetricFn = Callable[[Tables, pd.DataFrame, TeamParams, "str | None"], pd.DataFrame]


def _cols(df: pd.DataFrame | None, allowed=SEGMENT_COLUMNS) -> list[str]:
    return [] if df is None else [c for c in allowed if c in df.columns]


def _revenue_table(t: Tables) -> pd.DataFrame | None:
    return t.orders if t.orders is not None else t.opportunities


def _purchase_columns(t: Tables) -> list[str]:
    from salesreport.cohorts import ACCOUNT_COLUMNS

    cols = set(_cols(_revenue_table(t)))
    if t.accounts is not None:
        cols |= {c for c in ACCOUNT_COLUMNS if c in t.accounts.columns and c in SEGMENT_COLUMNS}
    return [c for c in SEGMENT_COLUMNS if c in cols]


def _rep_columns(t: Tables) -> list[str]:
    rev = _revenue_table(t)
    cols = [c for c in ("owner_id", "region") if rev is not None and c in rev.columns]
    if "region" not in cols and t.reps is not None and "region" in t.reps.columns:
        cols.append("region")
    return cols


#: group -> (metric function, segment columns of its source table)
GROUPS: dict[str, tuple[MetricFn, Callable[[Tables], list[str]]]] = {
    "revenue": (revenue_metrics, lambda t: _cols(_revenue_table(t))),
    "deals": (deal_metrics, lambda t: _cols(t.opportunities)),
    "pipeline": (pipeline_metrics, lambda t: [*_cols(t.opportunities), "stage"]),
    "coverage": (coverage_metrics, lambda t: [*_cols(t.opportunities), "stage"]),
    "referrals": (
        referral_metrics,
        lambda t: _cols(t.leads if t.leads is not None else t.opportunities),
    ),
    "leads": (lead_metrics, lambda t: _cols(t.leads)),
    "activities": (activity_metrics, lambda t: ["owner_id", *_cols(t.reps, ("region",))]),
    "reps": (rep_metrics, _rep_columns),
    "ramp": (ramp_metrics, lambda t: _cols(t.reps, ("region",))),
}


def as_of(tables: Tables, month: str) -> Tables:
    """The tables as knowable at the end of ``month``: :func:`salesreport.data.pit.as_of`, the
    loader's own point-in-time cut (rows dated after ``month`` dropped, opportunities closed
    later reopened, later stages, conversions and leave dates cleared). Applying it to tables
    the loader has already cut changes nothing; applying it here keeps ``compute_kpis`` point in
    time for any caller.
    """
    from salesreport.data.pit import as_of as pit_as_of

    return pit_as_of(tables, month)[0]


def group_available(group: str, tables: Tables) -> bool:
    """A group runs when its metrics' tables are present (all but the per-rep extras)."""
    metrics = [k for k in CATALOGUE.values() if k.group == group]
    return any(needs_met(k, tables) for k in metrics)


def _period_ords(s: pd.Series) -> np.ndarray:
    """Month ordinals of ``YYYY-MM`` text (parsed once per distinct value)."""
    codes, uniq = pd.factorize(s.to_numpy(object))
    if not len(uniq):
        return np.zeros(0, dtype=np.int64)
    return pd.PeriodIndex(list(uniq), freq="M").asi8.astype(np.int64)[codes]


class _RowKeys:
    """Integer keys of (metric, window, segment, period) for joining and sorting fast."""

    COLS = ("metric", "window", "segment")

    def __init__(self, df: pd.DataFrame):
        self.codes, self.uniques = {}, {}
        for c in self.COLS:
            codes, uniq = pd.factorize(df[c].to_numpy(object), sort=True)
            self.codes[c], self.uniques[c] = codes.astype(np.int64), pd.Index(uniq)
        self.per = _period_ords(df["period"])
        self.key = self._combine(self.codes, self.per)

    def _combine(self, codes: dict, per: np.ndarray) -> np.ndarray:
        g = np.zeros(len(per), dtype=np.int64)
        bad = np.zeros(len(per), dtype=bool)
        for c in self.COLS:
            g = g * (len(self.uniques[c]) + 1) + codes[c]
            bad |= codes[c] < 0
        return np.where(bad, -1, g * 1_000_000 + (per + 500_000))

    def of(self, other: pd.DataFrame) -> np.ndarray:
        """Keys of another frame's rows in this frame's coding (-1: unknown)."""
        codes = {
            c: self.uniques[c].get_indexer(other[c].to_numpy(object)).astype(np.int64)
            for c in self.COLS
        }
        return self._combine(codes, _period_ords(other["period"]))

    def lookup(self, keys: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
        """``values`` of the rows with ``keys`` found at keys ``at`` (first of duplicates)."""
        right, first = np.unique(keys, return_index=True)
        v = np.asarray(values, dtype=float)[first]
        if not len(v):
            return np.full(len(at), np.nan)
        # ``right`` is sorted and unique: a binary search finds each key (no hash table)
        pos = np.minimum(np.searchsorted(right, at), len(right) - 1)
        ok = (right[pos] == at) & (at >= 0)
        return np.where(ok, v[pos], np.nan)


def compute_kpis(tables: Tables, params: TeamParams, month: str) -> pd.DataFrame:
    """Every catalogue KPI for the report month, as ``kpis.csv`` rows.

    Parameters
    ----------
    tables : Tables
        The team's tables (amounts in the team currency); rows dated after ``month`` are
        ignored.
    params : TeamParams
        Fiscal year start, history length, targets, stage probabilities, thresholds.
    month : str
        The report month, ``YYYY-MM``.

    Returns
    -------
    pandas.DataFrame
        ``metric, window, period, segment, value, target, prior, unit``: windows ``month``,
        ``qtd``, ``ytd``, ``trailing12`` ending in each of the ``params.history_months`` months
        up to ``month``; segment ``all`` and ``col=value`` for each segment column of the
        metric's source table; ``prior`` the same window 12 months earlier; ``target`` from the
        targets table or the YAML; NaN where a value cannot be computed. Sorted stably by
        ``metric, window, period, segment``. The forecast metrics are not here (the forecast
        module computes them).
    """
    parse_month(month)
    with shared_work():
        return _compute(as_of(tables, month), params, month)


def _compute(tables: Tables, params: TeamParams, month: str) -> pd.DataFrame:
    fy = params.fiscal_year_start_month
    windows = windows_frame(month, params.history_months + EXTRA_MONTHS, fy)
    frames = []
    for group, (fn, seg_cols) in GROUPS.items():
        if not group_available(group, tables):
            continue
        for col in [None, *seg_cols(tables)]:
            frames.append(fn(tables, windows, params, col))
    if tables.orders is not None or tables.opportunities is not None:
        from salesreport.customers import customer_kpis

        for col in [None, *_purchase_columns(tables)]:
            frames.append(customer_kpis(tables, windows, params, col))
    kpis = (
        pd.concat([f for f in frames if len(f)], ignore_index=True)
        if frames
        else long_frame(Win.of(windows), [], {})
    )
    frames.clear()  # the parts are copied into ``kpis``: free them before the next copies
    known = kpis["metric"].isin(list(CATALOGUE)).to_numpy()
    if not known.all():  # (a copy of a frame of millions of rows only when needed)
        kpis = kpis[known].reset_index(drop=True)
    keys = _RowKeys(kpis)
    # the new columns stay arrays until the final frame (no column inserts into a long frame)
    added = {
        "prior": keys.lookup(keys.key, kpis["value"].to_numpy(float), keys.key - 12),
        "target": _targets(kpis, keys, tables, params, windows),
    }
    units = {k.name: k.unit_label(params.currency) for k in CATALOGUE.values()}
    unit_of = np.array(
        [units.get(m, np.nan) for m in keys.uniques["metric"]] + [np.nan], dtype=object
    )
    added["unit"] = unit_of[keys.codes["metric"]]  # code -1 (no metric) -> the NaN at the end
    keep = keys.per >= (month_period(month) - (params.history_months - 1)).ordinal
    order = np.lexsort(
        [
            keys.codes["segment"][keep],
            keys.per[keep],
            keys.codes["window"][keep],
            keys.codes["metric"][keep],
        ]
    )
    rows = np.flatnonzero(keep)[order]  # one take per column instead of two frame copies
    return pd.DataFrame(
        {c: (added[c] if c in added else kpis[c].to_numpy())[rows] for c in KPI_COLUMNS}
    )


def _targets(
    kpis: pd.DataFrame, keys: _RowKeys, tables: Tables, params: TeamParams, windows: pd.DataFrame
) -> np.ndarray:
    """The ``target`` column: each metric's targets for its segments and windows."""
    rows = target_rows(tables, params)
    out = np.full(len(kpis), np.nan)
    if rows.empty:
        return out
    win = Win.of(windows)
    parts = []
    metric_code = {m: i for i, m in enumerate(keys.uniques["metric"])}
    for metric in sorted(set(rows["metric"]) & set(metric_code)):
        seg_codes = np.unique(keys.codes["segment"][keys.codes["metric"] == metric_code[metric]])
        labels = sorted(keys.uniques["segment"][seg_codes[seg_codes >= 0]])
        t = window_targets(
            rows,
            metric,
            windows,
            labels,
            params.fiscal_year_start_month,
            CATALOGUE[metric].additive,
        )
        parts.append(long_frame(win, labels, {metric: t}))
    if not parts:
        return out
    tf = pd.concat(parts, ignore_index=True)
    return keys.lookup(keys.of(tf), tf["value"].to_numpy(float), keys.key)


def kpi_status(kpis: pd.DataFrame, params: TeamParams) -> pd.DataFrame:
    """``kpis`` plus ``status``, ``benchmark`` and ``yoy_change``.

    * status (against ``target``, ``params.rag``): for a metric where higher is better,
      r = value / target; where lower is better, r = target / value (a value <= 0 counts as
      meeting the target); ``green`` when r >= rag.green, ``amber`` when r >= rag.amber, else
      ``red``. A target <= 0 is met (green) when value >= target (higher is better) or value <=
      target (lower is better), else red. Empty without value or target.
    * benchmark: ``params.benchmarks[metric]`` (empty when not set).
    * yoy_change: value / prior - 1, empty when prior is 0 or empty.
    """
    df = kpis.copy()
    v = df["value"].to_numpy(float)
    t = df["target"].to_numpy(float)
    hib = df["metric"].map({k.name: k.higher_is_better for k in CATALOGUE.values()})
    hib = hib.fillna(True).astype(bool).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(hib, v / t, np.where(v > 0, t / v, np.inf))
    met_nonpos = np.where(hib, v >= t, v <= t)
    g, a = params.rag.green, params.rag.amber
    status = np.where(r >= g, "green", np.where(r >= a, "amber", "red")).astype(object)
    status = np.where(t <= 0, np.where(met_nonpos, "green", "red"), status).astype(object)
    status[np.isnan(v) | np.isnan(t)] = None
    df["status"] = status
    df["benchmark"] = df["metric"].map(params.benchmarks).astype(float)
    p = df["prior"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        df["yoy_change"] = np.where((p != 0) & ~np.isnan(p), v / p - 1.0, np.nan)
    return df
