"""Vectorised building blocks shared by the KPI metric functions.

Every row is put into a month once (a month *ordinal*: months since 1970-01, as
``Period[M].ordinal``), then accumulated on a ``segments x months`` grid with ``bincount``.

* Flows (sums over the rows dated in a window): cumulative sums along the months, a window's
  sum being ``cum[end] - cum[start - 1]``.
* Stocks (a value at a month end): each row contributes on a run of month ends
  ``first <= k < stop``; ``+v`` at ``first`` and ``-v`` at ``stop`` on a difference grid,
  cumulated along the months, read at each window's end month.

The output of every metric function is long: ``metric, window, period, segment, value``.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from salesreport.kpis.catalogue import NONE_LABEL

OUTPUT_COLUMNS = ["metric", "window", "period", "segment", "value"]
FAR = np.int64(10**7)  # a month ordinal later than any real date ("never")

_CACHE: contextvars.ContextVar[dict | None] = contextvars.ContextVar("kpi_cache", default=None)


@contextlib.contextmanager
def shared_work() -> Iterator[None]:
    """Within this block, per-table work (month ordinals, segment codes, stage runs) is done
    once and reused by every metric function and segment column (the engine's run)."""
    token = _CACHE.set({})
    try:
        yield
    finally:
        _CACHE.reset(token)


def memo(name: str, frames: tuple[pd.DataFrame | None, ...], fn: Callable[[], Any]) -> Any:
    """``fn()``, reused for the same ``frames`` objects inside :func:`shared_work`."""
    cache = _CACHE.get()
    if cache is None:
        return fn()
    key = (name, *(id(f) for f in frames))
    hit = cache.get(key)
    if hit is not None and all(r() is f for r, f in zip(hit[0], frames, strict=True)):
        return hit[1]
    refs = tuple(weakref.ref(f) if f is not None else (lambda: None) for f in frames)
    val = fn()
    cache[key] = (refs, val)
    return val


def month_ords(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Month ordinals of a datetime column and a mask of the rows that have a date."""
    a = values.to_numpy(dtype="datetime64[ns]")
    ok = ~np.isnat(a)
    return a.astype("datetime64[M]").astype(np.int64), ok


def col_months(df: pd.DataFrame, col: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`month_ords` of ``df[col]``, shared within an engine run."""
    return memo(f"months:{col}", (df,), lambda: month_ords(df[col]))


def day_numbers(values: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 of a datetime column (float, NaN where missing)."""
    a = values.to_numpy(dtype="datetime64[ns]")
    out = a.astype("datetime64[D]").astype(np.int64).astype(float)
    out[np.isnat(a)] = np.nan
    return out


def month_end_day(ords: np.ndarray) -> np.ndarray:
    """Day number (days since 1970-01-01) of the last day of each month ordinal."""
    nxt = (np.asarray(ords, dtype=np.int64) + 1).astype("datetime64[M]").astype("datetime64[D]")
    return (nxt.astype(np.int64) - 1).astype(float)


@dataclass
class Win:
    """The window rows as arrays: start/end month ordinals and first/last day numbers."""

    window: np.ndarray
    period: np.ndarray
    s: np.ndarray
    e: np.ndarray
    start_day: np.ndarray
    end_day: np.ndarray

    @classmethod
    def of(cls, windows: pd.DataFrame) -> Win:
        return cls(
            window=windows["window"].to_numpy(object),
            period=windows["period"].astype(str).to_numpy(object),
            s=windows["start_month"].array.asi8.astype(np.int64),
            e=windows["end_month"].array.asi8.astype(np.int64),
            start_day=day_numbers(windows["start"]),
            end_day=day_numbers(windows["end"]),
        )

    def __len__(self) -> int:
        return len(self.e)


def segment_codes(df: pd.DataFrame, segment_col: str | None, column: str | None = None):
    """Codes per row and the sorted labels (``all`` or ``col=value``, missing as ``(none)``).

    ``column`` is the data column holding the segment when it differs from its name
    (activities: ``rep_id`` gives ``owner_id=...``). Shared within an engine run.
    """
    if segment_col is None:
        return np.zeros(len(df), dtype=np.int64), ["all"]
    col = column or segment_col
    return memo(f"seg:{segment_col}:{col}", (df,), lambda: _segment_codes(df[col], segment_col))


def _segment_codes(src: pd.Series, segment_col: str) -> tuple[np.ndarray, list[str]]:
    codes, uniq = pd.factorize(src.to_numpy(object))
    names = [str(u) for u in uniq]
    if (codes < 0).any():
        names.append(NONE_LABEL)
        codes = np.where(codes < 0, len(names) - 1, codes)
    if not names:
        return codes.astype(np.int64), []
    # several raw values may print alike (1 and "1"): one label each
    labels, inverse = np.unique(np.asarray(names, dtype=object).astype(str), return_inverse=True)
    return inverse[codes].astype(np.int64), [f"{segment_col}={v}" for v in labels]


def window_sums(
    codes: np.ndarray,
    n_seg: int,
    months: np.ndarray,
    values: list[np.ndarray | None],
    s: np.ndarray,
    e: np.ndarray,
) -> list[np.ndarray]:
    """Sum of each value over the rows whose month lies in ``[s, e]``, per segment and window.

    ``None`` in ``values`` counts rows. Returns arrays of shape ``(n_seg, len(s))``.
    """
    lo, hi = int(s.min()), int(e.max())
    n = hi - lo + 1
    ok = (months >= lo) & (months <= hi)
    idx = codes[ok] * n + (months[ok] - lo)
    out = []
    for v in values:
        w = None if v is None else np.asarray(v, dtype=float)[ok]
        grid = np.bincount(idx, weights=w, minlength=n_seg * n).reshape(n_seg, n)
        cum = np.concatenate([np.zeros((n_seg, 1)), np.cumsum(grid, axis=1)], axis=1)
        out.append(cum[:, e - lo + 1] - cum[:, s - lo])
    return out


def stocks_at(
    codes: np.ndarray,
    n_seg: int,
    first: np.ndarray,
    stop: np.ndarray,
    values: list[np.ndarray | None],
    e: np.ndarray,
) -> list[np.ndarray]:
    """Sum of each value over the rows alive at the end of month ``e``: ``first <= e < stop``.

    ``None`` in ``values`` counts rows. Returns arrays of shape ``(n_seg, len(e))``.
    """
    lo, hi = int(e.min()), int(e.max())
    n = hi - lo + 1
    f = np.maximum(first, lo)
    st = np.minimum(stop, hi + 1)
    ok = (f < st) & (f <= hi)
    c = codes[ok]
    i_on = c * (n + 1) + (f[ok] - lo)
    i_off = c * (n + 1) + (st[ok] - lo)
    out = []
    for v in values:
        w = np.ones(int(ok.sum())) if v is None else np.asarray(v, dtype=float)[ok]
        grid = np.bincount(i_on, weights=w, minlength=n_seg * (n + 1))
        grid -= np.bincount(i_off, weights=w, minlength=n_seg * (n + 1))
        cum = np.cumsum(grid.reshape(n_seg, n + 1), axis=1)
        out.append(cum[:, e - lo])
    return out


def div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, NaN where ``den`` is 0 or NaN."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    shape = np.broadcast(num, den).shape
    ok = (den != 0) & ~np.isnan(den)
    return np.divide(num, den, out=np.full(shape, np.nan), where=ok)


def blank_before(values: np.ndarray, e: np.ndarray, first_month: int | None) -> np.ndarray:
    """Empty the windows that end before the data's first month (the data does not reach them)."""
    v = np.asarray(values, dtype=float).copy()
    if first_month is None:
        v[:] = np.nan
    else:
        v[:, e < first_month] = np.nan
    return v


def first_month(months: np.ndarray, ok: np.ndarray | None = None) -> int | None:
    """The first month ordinal among rows (``None`` when there is none)."""
    m = months if ok is None else months[ok]
    return int(m.min()) if len(m) else None


def long_frame(
    win: Win, labels: list[str], values: dict[str, np.ndarray], keep: np.ndarray | None = None
) -> pd.DataFrame:
    """Long rows ``metric, window, period, segment, value`` from ``(n_seg, n_windows)`` arrays.

    ``keep`` selects window rows (``revenue_growth_mom``: window ``month`` only).
    """
    if not values:
        return pd.DataFrame(columns=OUTPUT_COLUMNS)
    sel = np.arange(len(win)) if keep is None else np.flatnonzero(keep)
    n_w, n_seg, n_m = len(sel), len(labels), len(values)
    # the four key columns as one 2-D object array, filled by broadcasting (no repeated or
    # tiled temporaries), which the frame takes as its object block without stacking a copy
    keys = np.empty((4, n_m * n_w * n_seg), dtype=object)
    grid = keys.reshape(4, n_m, n_w, n_seg)
    grid[0] = np.asarray(list(values), dtype=object)[:, None, None]
    grid[1] = win.window[sel][None, :, None]
    grid[2] = win.period[sel][None, :, None]
    grid[3] = np.asarray(labels, dtype=object)[None, None, :]
    value = np.concatenate(
        [np.asarray(v, dtype=float)[:, sel].T.reshape(-1) for v in values.values()]
    )
    out = pd.DataFrame(keys.T, columns=OUTPUT_COLUMNS[:4], copy=False)
    out["value"] = value
    LONG_LAYOUT[id(out)] = (weakref.ref(out), LongLayout.of(win, sel, labels, list(values)))
    weakref.finalize(out, LONG_LAYOUT.pop, id(out), None)
    return out


@dataclass
class LongLayout:
    """How :func:`long_frame` laid out its key columns, so that the engine can code them
    without hashing millions of strings: row ``(m, w, s)`` (metric, window row, segment, in
    that nesting) holds ``metrics[m]``, ``windows[w_code[w]]``, ``periods[p_code[w]]`` and
    ``segments[s]``."""

    metrics: np.ndarray
    windows: np.ndarray
    w_code: np.ndarray
    periods: np.ndarray
    p_code: np.ndarray
    segments: np.ndarray

    @classmethod
    def of(cls, win: Win, sel: np.ndarray, labels: list[str], metrics: list[str]) -> LongLayout:
        w_code, windows = pd.factorize(win.window[sel])
        p_code, periods = pd.factorize(win.period[sel])
        return cls(
            metrics=np.asarray(metrics, dtype=object),
            windows=np.asarray(windows, dtype=object),
            w_code=w_code,
            periods=np.asarray(periods, dtype=object),
            p_code=p_code,
            segments=np.asarray(labels, dtype=object),
        )

    def uniques(self, column: str) -> np.ndarray:
        return {
            "metric": self.metrics,
            "window": self.windows,
            "period": self.periods,
            "segment": self.segments,
        }[column]

    def codes(self, column: str, recode: np.ndarray) -> np.ndarray:
        """The column's codes, each local code ``i`` (into :meth:`uniques`) as ``recode[i]``."""
        n_m, n_w, n_seg = len(self.metrics), len(self.w_code), len(self.segments)
        recode = np.asarray(recode)  # (the caller's integer type: int32 for millions of rows)
        if column == "metric":
            return np.repeat(recode, n_w * n_seg)
        if column == "segment":
            return np.tile(recode, n_w * n_m)
        local = self.w_code if column == "window" else self.p_code
        return np.tile(np.repeat(recode[local], n_seg), n_m)


#: id(frame) -> (weak reference, layout) of the frames :func:`long_frame` made
LONG_LAYOUT: dict[int, tuple[weakref.ref, LongLayout]] = {}


def layout_of(df: pd.DataFrame) -> LongLayout | None:
    """The :class:`LongLayout` of a frame made by :func:`long_frame` (``None`` for any other,
    or when its key columns no longer match it)."""
    hit = LONG_LAYOUT.get(id(df))
    if hit is None or hit[0]() is not df or list(df.columns) != OUTPUT_COLUMNS:
        return None
    layout = hit[1]
    shape = (len(layout.metrics), len(layout.w_code), len(layout.segments))
    for col in ("metric", "window", "period", "segment"):
        # each row's expected value, broadcast over the (metric, window row, segment) grid
        if col == "metric":
            expect = layout.metrics[:, None, None]
        elif col == "segment":
            expect = layout.segments[None, None, :]
        else:
            local = layout.w_code if col == "window" else layout.p_code
            expect = layout.uniques(col)[local][None, :, None]
        got = df[col].to_numpy(object)
        if got.shape != (int(np.prod(shape)),):
            return None
        # the very objects long_frame put there (pointers compared: no Python call per cell),
        # else equal values (a cell replaced by an equal string still matches)
        if not _same_objects(got, expect, shape) and not (got.reshape(shape) == expect).all():
            return None  # changed after long_frame made it
    return layout


def _same_objects(got: np.ndarray, expect: np.ndarray, shape: tuple[int, ...]) -> bool:
    """``True`` when every cell of the object array ``got`` (reshaped to ``shape``) is the very
    object ``expect`` broadcasts there: the arrays' pointers compared in C, for millions of
    cells. ``False`` (undecided: compare the values) for anything but a contiguous object
    array."""
    if got.dtype != object or expect.dtype != object or not got.flags.c_contiguous:
        return False
    if not got.size:
        return True
    # an object array holds one PyObject pointer per cell: read them as integers (``got``
    # stays alive, so does the memory read)
    raw = (ctypes.c_char * got.nbytes).from_address(got.ctypes.data)
    pointers = np.frombuffer(raw, dtype=np.uintp).reshape(shape)
    ids = np.array([id(v) for v in expect.ravel()], dtype=np.uintp).reshape(expect.shape)
    return bool((pointers == ids).all())


def contract_months(df: pd.DataFrame) -> np.ndarray:
    """``contract_months`` as float, 12 where the column or the value is absent (or not > 0)."""
    if "contract_months" not in df.columns:
        return np.full(len(df), 12.0)
    cm = pd.to_numeric(df["contract_months"], errors="coerce").astype(float).to_numpy()
    return np.where(np.isnan(cm) | (cm <= 0), 12.0, cm)


def employed(hire_day: np.ndarray, leave_day: np.ndarray, start_day, end_day) -> np.ndarray:
    """Employed in [start, end]: ``hire <= end`` and (no leave or ``leave >= start``).

    Shapes broadcast: reps as rows (``[:, None]``), windows as columns.
    """
    h = hire_day[:, None]
    lv = leave_day[:, None]
    return (h <= end_day[None, :]) & (np.isnan(lv) | (lv >= start_day[None, :]))


def rows_for_labels(matrix: np.ndarray, ids: pd.Series, labels: list[str]) -> np.ndarray:
    """Rows of ``matrix`` (one per id, e.g. per rep) picked for ``col=id`` labels, 0 if unknown.

    The first row of a duplicated id is used.
    """
    keys = ids.astype(str).to_numpy(object)
    uniq, first = np.unique(keys, return_index=True)
    wanted = np.asarray([lab.partition("=")[2] for lab in labels], dtype=object)
    pos = pd.Index(uniq).get_indexer(wanted)
    picked = (
        matrix[first[np.maximum(pos, 0)]].astype(float)
        if len(uniq)
        else np.zeros((len(labels), matrix.shape[1]))
    )
    picked[pos < 0] = 0.0
    return picked


def revenue_table(tables) -> pd.DataFrame:
    """:func:`salesreport.revenue.revenue_rows`, shared within an engine run."""
    from salesreport.revenue import revenue_rows

    return memo("revenue_rows", (tables.orders, tables.opportunities), lambda: revenue_rows(tables))
