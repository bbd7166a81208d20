"""The KPI engine: every catalogue metric, window, month and segment -> ``kpis.csv`` rows.

``compute_kpis`` cuts the tables to the report month (rows dated after it are ignored, so a
re-run for an old month reproduces what was knowable then), builds the windows of
``params.history_months`` months plus 24 earlier months (for the prior year and the prior of
year-on-year growth), calls each metric function for the team (``all``) and for every segment
column its source table has, attaches ``prior`` (the same window and segment 12 months
earlier) and ``target`` (:mod:`salesreport.kpis.targets`), and keeps the history months.

``kpi_status`` adds the RAG status against target, the benchmark and the year-on-year change.

Scale: the per-rep segments give millions of rows. The metric functions' long frames are not
concatenated: their key columns (metric, window, period, segment) become integer codes, from
:func:`~salesreport.kpis.core.long_frame`'s layout where a frame is one it made (checked
unchanged), else by factorising the frame; the codes sort and join (``prior``, ``target``)
and text is made only for the rows of the output frame. ``prior`` and ``target`` are looked up
only for the history months kept. The result is the same frame as concatenating the parts.
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
#: ``kpi_status`` codes 0..3 -> the ``status`` values
STATUS_VALUES = np.array(["green", "amber", "red", None], dtype=object)
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

    return pit_as_of(tables, month, copy=False)[0]  # unchanged tables are not copied


def group_available(group: str, tables: Tables) -> bool:
    """A group runs when its metrics' tables are present (all but the per-rep extras)."""
    metrics = [k for k in CATALOGUE.values() if k.group == group]
    return any(needs_met(k, tables) for k in metrics)


def _period_ords(s: pd.Series) -> np.ndarray:
    """Month ordinals of ``YYYY-MM`` text (parsed once per distinct value)."""
    codes, uniq = pd.factorize(s.to_numpy(object))
    if not len(uniq):
        return np.zeros(0, dtype=np.int64)
    return pd.PeriodIndex(list(uniq), freq="M").asi8.astype(np.int32)[codes]


class _RowKeys:
    """Integer keys of (metric, window, segment, period) for joining and sorting fast.

    Codes and month ordinals are int32 (millions of rows: half the memory of int64); the
    combined key is int64."""

    COLS = ("metric", "window", "segment")

    def __init__(self, df: pd.DataFrame):
        self.codes, self.uniques = {}, {}
        for c in self.COLS:
            codes, uniq = pd.factorize(df[c].to_numpy(object), sort=True)
            self.codes[c], self.uniques[c] = codes.astype(np.int32), pd.Index(uniq)
        self.per = _period_ords(df["period"])
        self.key = self._combine(self.codes, self.per)

    @property
    def month_step(self) -> int:
        """What one month more adds to a key (the period digit sits above the segment's)."""
        return len(self.uniques["segment"]) + 1

    def _combine(self, codes: dict, per: np.ndarray) -> np.ndarray:
        """One integer per row, ordered as (metric, window, period, segment): the keys sort
        rows in the output's order, and the same row a year earlier is ``key - 12 *
        month_step`` (-1 for a row with an unknown metric, window or segment)."""
        # in place: each temporary of millions of rows costs more than the arithmetic
        g = np.zeros(len(per), dtype=np.int64)
        bad = np.zeros(len(per), dtype=bool)
        for c in ("metric", "window"):
            np.multiply(g, len(self.uniques[c]) + 1, out=g)
            np.add(g, codes[c], out=g)
            bad |= codes[c] < 0
        np.multiply(g, 1_000_000, out=g)
        np.add(g, per, out=g)
        np.add(g, 500_000, out=g)
        np.multiply(g, self.month_step, out=g)
        np.add(g, codes["segment"], out=g)
        bad |= codes["segment"] < 0
        g[bad] = -1
        return g

    def of(self, other: pd.DataFrame) -> np.ndarray:
        """Keys of another frame's rows in this frame's coding (-1: unknown)."""
        codes = {
            c: self.uniques[c].get_indexer(other[c].to_numpy(object)).astype(np.int32)
            for c in self.COLS
        }
        return self._combine(codes, _period_ords(other["period"]))

    @property
    def order(self) -> np.ndarray:
        """The rows in the order of their keys (stable), computed once."""
        if getattr(self, "_order", None) is None:
            self._order = np.argsort(self.key, kind="stable")
        return self._order

    def lookup(
        self,
        keys: np.ndarray,
        values: np.ndarray,
        at: np.ndarray,
        keys_order: np.ndarray | None = None,
        at_order: np.ndarray | None = None,
    ) -> np.ndarray:
        """``values`` of the rows with ``keys`` found at keys ``at`` (first of duplicates).

        ``keys_order`` / ``at_order``: a stable argsort of ``keys`` / an order in which ``at``
        is sorted, when known (:attr:`order`); the binary search then runs over sorted
        queries, several times faster on millions of rows than over shuffled ones.
        """
        if keys_order is None:
            keys_order = np.argsort(keys, kind="stable")
        if not len(keys):
            return np.full(len(at), np.nan)
        # the first row (stable order) of each key is the leftmost match in the sorted keys: no
        # array of distinct keys and first rows (several of millions of rows) is needed
        sk = keys[keys_order]
        q = at if at_order is None else at[at_order]
        # ``sk`` is sorted: a binary search finds each key (no hash table)
        pos = np.searchsorted(sk, q, side="left")
        np.minimum(pos, len(sk) - 1, out=pos)
        ok = (sk[pos] == q) & (q >= 0)
        del sk
        v = np.asarray(values, dtype=float)
        found = np.where(ok, v[keys_order[pos]], np.nan)
        if at_order is None:
            return found
        out = np.empty(len(at), dtype=float)
        out[at_order] = found
        return out


def compute_kpis(
    tables: Tables, params: TeamParams, month: str, extra: pd.DataFrame | None = None
) -> pd.DataFrame:
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
    extra : pandas.DataFrame, optional
        More rows with the output's columns (the forecast KPIs the report adds), placed where
        ``concat([kpis, extra]).sort_values([metric, window, period, segment],
        kind="stable")`` puts them; when their metrics are not catalogue metrics they are
        inserted as blocks while the output is assembled (no copy of the millions of rows).

    Returns
    -------
    pandas.DataFrame
        ``metric, window, period, segment, value, target, prior, unit``: windows ``month``,
        ``qtd``, ``ytd``, ``trailing12`` ending in each of the ``params.history_months`` months
        up to ``month``; segment ``all`` and ``col=value`` for each segment column of the
        metric's source table; ``prior`` the same window 12 months earlier; ``target`` from the
        targets table or the YAML; NaN where a value cannot be computed. Sorted stably by
        ``metric, window, period, segment``. The forecast metrics are not here (the forecast
        module computes them; see ``extra``).
    """
    parse_month(month)
    if extra is not None and not len(extra):
        extra = None
    with shared_work():
        out, merged = _compute(as_of(tables, month), params, month, extra)
    if extra is None or merged:
        return out
    both = pd.concat([out, extra], ignore_index=True)
    return both.sort_values(KPI_COLUMNS[:4], kind="stable").reset_index(drop=True)


def _compute(
    tables: Tables, params: TeamParams, month: str, extra: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, bool]:
    """The KPI rows and whether ``extra`` is among them (see :func:`compute_kpis`)."""
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
    parts = [f for f in frames if len(f)]
    frames.clear()
    coded = _PartKeys.of(parts) if parts else None
    if coded is not None:  # the parts' rows, coded without one frame of millions of rows
        kpis, keys = coded
    else:
        kpis = pd.concat(parts, ignore_index=True) if parts else long_frame(Win.of(windows), [], {})
        known = kpis["metric"].isin(list(CATALOGUE)).to_numpy()
        if not known.all():  # (a copy of a frame of millions of rows only when needed)
            kpis = kpis[known].reset_index(drop=True)
        keys = _RowKeys(kpis)
    parts.clear()  # coded or copied: free them before the next copies
    keep = keys.per >= (month_period(month) - (params.history_months - 1)).ordinal
    # prior and target only for the rows kept (the history months), looked up in key order:
    # sorted queries make the binary searches several times faster on millions of rows
    at = keys.order[keep[keys.order]]
    key_at = keys.key[at]
    in_order = bool((key_at >= 0).all())  # the key order is the output's order
    if in_order:  # the months are only needed to sort the rows otherwise
        keys.per = None
    # in the order of ``at`` (arrays of the kept rows only, not of every computed row)
    prior_at = keys.lookup(
        keys.key,
        kpis["value"].to_numpy(float),
        key_at - 12 * keys.month_step,
        keys_order=keys.order,
    )
    target_at = _targets(kpis, keys, tables, params, windows, at, key_at)
    del key_at
    # the combined keys and their order are not needed any more: free them before the
    # output's columns are made
    keys.key, keys._order = None, None
    units = {k.name: k.unit_label(params.currency) for k in CATALOGUE.values()}
    unit_of = np.array(
        [units.get(m, np.nan) for m in keys.uniques["metric"]] + [np.nan], dtype=object
    )
    if in_order:
        rows = at
        # the new columns stay arrays until the final frame (no column inserts into a long frame)
        added = {"prior": prior_at, "target": target_at}
    else:  # a missing key value: sorted column by column (missing codes first in each)
        n = len(keep)
        prior = np.full(n, np.nan)
        prior[at] = prior_at
        target = np.full(n, np.nan)
        target[at] = target_at
        order = np.lexsort(
            [
                keys.codes["segment"][keep],
                keys.per[keep],
                keys.codes["window"][keep],
                keys.codes["metric"][keep],
            ]
        )
        rows = np.flatnonzero(keep)[order]  # one take per column instead of two frame copies
        added = {"prior": prior[rows], "target": target[rows]}
        del prior, target
    del prior_at, target_at
    # (the rows' metric codes are not kept: made again for the unit, the last column)
    pos = _extra_positions(extra, keys.uniques["metric"], keys.codes["metric"][rows])
    if pos is not None:
        ext = extra.sort_values(KPI_COLUMNS[:4], kind="stable")
        dtypes = {c: v.dtype for c, v in added.items()}
        for c in KPI_COLUMNS[:-1]:
            if c not in added:
                dtypes[c] = _source(kpis[c], rows[:0])[0].dtype
        dtypes["unit"] = unit_of.dtype
        if any(ext[c].to_numpy().dtype != dtypes[c] for c in KPI_COLUMNS):
            pos = None  # a column type the extra rows do not share: concatenated and sorted
    if pos is not None:  # the extra rows go in as each column is taken (one copy)
        out = {}
        for c in KPI_COLUMNS:
            if c == "unit":
                # code -1 (no metric): the NaN at the end
                src, at = unit_of, keys.codes["metric"][rows]
            elif c in added:
                src, at = added.pop(c), None  # (its memory goes once copied)
            else:
                src, at = _source(kpis[c], rows)
            out[c] = _with_rows(src, at, len(rows), pos, ext[c].to_numpy())
            del src, at
    if pos is None:
        out = {c: added[c] if c in added else _take(kpis[c], rows) for c in KPI_COLUMNS[:-1]}
        out["unit"] = unit_of[keys.codes["metric"][rows]]  # code -1: the NaN at the end
    del kpis, keys, added
    # the arrays are new: no copy before the blocks
    return pd.DataFrame(out, copy=False), pos is not None


def _extra_positions(
    extra: pd.DataFrame | None, metrics: pd.Index, metric_codes: np.ndarray
) -> np.ndarray | None:
    """Where each of ``extra``'s rows (sorted stably by the key columns) goes among the output
    rows (its metric's block position: the output rows are sorted by metric code, codes in
    sorted metric order); ``None`` when the rows cannot simply be inserted (a metric also in
    the output or a missing one, unsorted metrics, other columns)."""
    if extra is None or list(extra.columns) != KPI_COLUMNS or not len(metric_codes):
        return None
    names = extra.sort_values(KPI_COLUMNS[:4], kind="stable")["metric"].to_numpy(object)
    uniq = np.asarray(metrics, dtype=object)
    if not all(isinstance(m, str) for m in names) or not all(isinstance(m, str) for m in uniq):
        return None
    if not pd.Index(uniq).is_monotonic_increasing or set(names) & set(uniq):
        return None
    if metric_codes[0] < 0 or (metric_codes[1:] < metric_codes[:-1]).any():
        return None
    return np.searchsorted(metric_codes, np.searchsorted(uniq, names, side="left"), side="left")


def _source(column, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(values, at)`` with ``values[at]`` = :func:`_take` of ``column`` at ``rows``."""
    if isinstance(column, _Lazy):
        return np.asarray(column.uniques), column.codes[rows]
    return column.to_numpy(), rows


def _with_rows(
    src: np.ndarray, at: np.ndarray | None, n: int, pos: np.ndarray, ext: np.ndarray
) -> np.ndarray | None:
    """``src[at]`` (``src`` itself when ``at`` is ``None``; ``n`` values) with ``ext[i]``
    placed before value ``pos[i]`` (``pos`` sorted; equal positions keep ``ext``'s order),
    filled piece by piece into one new array (``ext`` has ``src``'s dtype)."""
    out = np.empty(n + len(ext), dtype=src.dtype)
    done = prev = 0
    bounds = np.unique(pos).tolist()
    for b in bounds if bounds and bounds[-1] == n else [*bounds, n]:
        if b > prev:
            dst = out[done + prev : done + b]
            if at is None:
                dst[...] = src[prev:b]
            else:
                np.take(src, at[prev:b], out=dst)
        lo, hi = np.searchsorted(pos, b, "left"), np.searchsorted(pos, b, "right")
        out[done + b : done + b + hi - lo] = ext[lo:hi]
        done += hi - lo
        prev = b
    return out


def _take(column, rows: np.ndarray) -> np.ndarray:
    """``column.to_numpy()[rows]``; a coded column makes text for those rows only."""
    if isinstance(column, _Lazy):
        return column.uniques[column.codes[rows]]
    return column.to_numpy()[rows]


class _Columns:
    """Read-only ``frame[column].to_numpy()`` stand-in over coded key columns and values."""

    def __init__(self, keys: _RowKeys, values: pd.Series, period_text: np.ndarray):
        self._keys, self._values, self._period = keys, values, period_text

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, col: str) -> pd.Series:
        if col == "value":
            return self._values
        if col == "period":
            return _Lazy(self._period, self._keys.period_codes)
        uniq = np.asarray(self._keys.uniques[col], dtype=object)
        return _Lazy(uniq, self._keys.codes[col])


class _Lazy:
    """``uniques[codes]`` materialised only by ``to_numpy()``."""

    def __init__(self, uniques: np.ndarray, codes: np.ndarray):
        self.uniques, self.codes = uniques, codes

    def to_numpy(self, dtype=None) -> np.ndarray:
        return self.uniques[self.codes]


class _PartKeys:
    """:class:`_RowKeys` of the rows of several long frames, as if concatenated.

    The key columns of a frame made by :func:`~salesreport.kpis.core.long_frame` are coded
    from its layout (no hashing); the other frames' columns are factorised one by one. The
    codes are those ``pd.factorize(..., sort=True)`` gives the concatenated column.
    """

    @staticmethod
    def of(parts: list[pd.DataFrame]) -> tuple[_Columns, _RowKeys] | None:
        """``(columns, keys)``, or ``None`` when the plain path must decide (a missing key
        value, a metric outside the catalogue). Once coded, ``parts`` is emptied (the frames
        are not needed any more: their memory goes before the keys' arrays are made)."""
        from salesreport.kpis.core import layout_of

        layouts = [layout_of(p) for p in parts]
        local: dict[str, list[tuple[np.ndarray, np.ndarray | None]]] = {}
        for col in (*_RowKeys.COLS, "period"):
            local[col] = []
            for p, lay in zip(parts, layouts, strict=True):
                if lay is not None:
                    local[col].append((lay.uniques(col), None))
                else:
                    codes, uniq = pd.factorize(p[col].to_numpy(object))
                    if (codes < 0).any():
                        return None
                    local[col].append((np.asarray(uniq, dtype=object), codes))
        coding = {}  # column -> (code of each part's distinct values, sorted distinct values)
        for col in (*_RowKeys.COLS, "period"):
            all_uniq = np.concatenate([u for u, _ in local[col]])
            g_codes, g_uniq = pd.factorize(all_uniq, sort=col != "period")
            if (g_codes < 0).any():
                return None
            coding[col] = (g_codes, g_uniq)
        if not np.isin(np.asarray(coding["metric"][1], dtype=object), list(CATALOGUE)).all():
            return None
        values = pd.concat([p["value"] for p in parts], ignore_index=True)
        parts.clear()
        keys = _RowKeys.__new__(_RowKeys)
        keys.codes, keys.uniques = {}, {}
        period_text = None
        for col in (*_RowKeys.COLS, "period"):
            g_codes, g_uniq = coding[col]
            pieces, at = [], 0
            for (uniq, codes), lay in zip(local[col], layouts, strict=True):
                recode = g_codes[at : at + len(uniq)].astype(np.int32)
                at += len(uniq)
                pieces.append(lay.codes(col, recode) if lay is not None else recode[codes])
            codes = np.concatenate(pieces).astype(np.int32, copy=False)
            del pieces
            if col == "period":
                period_text = np.asarray(g_uniq, dtype=object)
                keys.period_codes = codes
                ords = pd.PeriodIndex(list(g_uniq), freq="M").asi8.astype(np.int32)
                keys.per = ords[codes]
            else:
                keys.codes[col], keys.uniques[col] = codes, pd.Index(g_uniq)
        keys.key = keys._combine(keys.codes, keys.per)
        return _Columns(keys, values, period_text), keys


def _targets(
    kpis: pd.DataFrame,
    keys: _RowKeys,
    tables: Tables,
    params: TeamParams,
    windows: pd.DataFrame,
    at: np.ndarray | None = None,
    at_keys: np.ndarray | None = None,
) -> np.ndarray:
    """The ``target`` column: each metric's targets for its segments and windows.

    ``at``: only these rows (positions; fastest in key order), else every row; ``at_keys``:
    ``keys.key[at]`` when the caller has it.
    """
    rows = target_rows(tables, params)
    out = np.full(len(kpis) if at is None else len(at), np.nan)
    if rows.empty:
        return out
    win = Win.of(windows)
    # the keys of the rows ``long_frame(win, labels, {metric: t})`` would give, made from the
    # window and label codes (no frame of text keys to hash): rows metric, window, segment
    w_codes = keys.uniques["window"].get_indexer(win.window).astype(np.int32)
    w_per = _period_ords(pd.Series(win.period, dtype=object))
    key_parts, value_parts = [], []
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
        n_seg = len(labels)
        codes = {
            "metric": np.full(len(win) * n_seg, metric_code[metric], dtype=np.int32),
            "window": np.repeat(w_codes, n_seg),
            "segment": np.tile(
                keys.uniques["segment"].get_indexer(labels).astype(np.int32), len(win)
            ),
        }
        key_parts.append(keys._combine(codes, np.repeat(w_per, n_seg)))
        value_parts.append(np.asarray(t, dtype=float).T.reshape(-1))  # window-major, as long_frame
    if not key_parts:
        return out
    t_keys, t_values = np.concatenate(key_parts), np.concatenate(value_parts)
    if at is None:
        return keys.lookup(t_keys, t_values, keys.key, at_order=keys.order)
    return keys.lookup(t_keys, t_values, keys.key[at] if at_keys is None else at_keys)


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
    # a shallow copy: the new columns go into this frame only, the millions of rows of kpis'
    # own columns are shared (neither frame is changed in place afterwards)
    df = kpis.copy(deep=False)
    v = df["value"].to_numpy(float)
    t = df["target"].to_numpy(float)
    # per distinct metric, spread back by code: one hash pass over millions of rows, not two
    m_codes, m_uniq = pd.factorize(df["metric"].to_numpy(object))
    better = {k.name: k.higher_is_better for k in CATALOGUE.values()}
    hib = np.array([bool(better.get(m, True)) for m in m_uniq] + [True], dtype=bool)[m_codes]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(hib, v / t, np.where(v > 0, t / v, np.inf))
    met_nonpos = np.where(hib, v >= t, v <= t)
    g, a = params.rag.green, params.rag.amber
    # a small code per row, then one shared string per status (no Python string per row)
    code = np.full(len(v), 2, dtype=np.int8)  # red
    code[r >= a] = 1  # amber
    code[r >= g] = 0  # green (wins over amber whatever the thresholds)
    del r
    nonpos = t <= 0
    code[nonpos] = np.where(met_nonpos[nonpos], 0, 2)
    del met_nonpos, nonpos
    code[np.isnan(v) | np.isnan(t)] = 3  # empty
    df["status"] = STATUS_VALUES[code]
    bench = np.array([params.benchmarks.get(m, np.nan) for m in m_uniq] + [np.nan], dtype=float)
    df["benchmark"] = bench[m_codes]
    p = df["prior"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        df["yoy_change"] = np.where((p != 0) & ~np.isnan(p), v / p - 1.0, np.nan)
    return df
