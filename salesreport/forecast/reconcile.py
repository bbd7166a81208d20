"""Make segment forecasts add up to the team forecast.

Each segment (e.g. each region) is forecast on its own; the sum of those points rarely
equals the team's own forecast. :func:`reconcile` makes them coherent:

``proportional`` (top-down, the default)
    For each month ``p`` with team point ``T`` and segment points ``S_i`` (sum ``S``), every
    column of segment ``i`` (``point`` and each ``lo``/``hi`` bound) is multiplied by
    ``r = T / S``. The points then add up to ``T`` (the last float rounding is put on the
    segment with the largest point) and each segment keeps its share ``S_i / S`` of the
    month and its intervals' width relative to its point. When ``S = 0`` the team's month is
    split equally: each segment gets ``1/n`` of the team's point and bounds. The team total
    (key ``all``) is the team forecast unchanged.

``bottom_up``
    The segments are kept as they are and the total (key ``all``) becomes their sum: the
    point is the sum of the points; each bound is the summed point minus (plus) the square
    root of the sum of the segments' squared distances from point to bound, i.e. segments
    are treated as independent (a sum of bounds would assume they always miss together).

Inputs are forecast frames as :func:`salesreport.forecast.forecast` returns them
(``period``, ``model``, ``point``, ``lo<L>``, ``hi<L>``); a frame with a ``selected`` column
(:func:`salesreport.forecast.forecast_candidates`) is reduced to its selected rows. Every
segment must cover exactly the team's months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

METHODS = ("proportional", "bottom_up")
TOTAL = "all"


def _selected(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    if "period" not in frame.columns or "point" not in frame.columns:
        raise ValueError(f"forecast {name!r} lacks a 'period' or 'point' column")
    out = frame[frame["selected"].astype(bool)] if "selected" in frame.columns else frame
    if out["period"].duplicated().any():
        raise ValueError(
            f"forecast {name!r} has several rows for the same month; pass one model's forecast "
            "(salesreport.forecast.forecast) or a frame with a 'selected' column"
        )
    return out.set_index("period").sort_index()


def _bound_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c[:2] in ("lo", "hi") and c[2:].isdigit()]


def reconcile(
    team_forecast: pd.DataFrame,
    segment_forecasts: dict[str, pd.DataFrame],
    method: str = "proportional",
) -> dict[str, pd.DataFrame]:
    """Segment forecasts that add up to the team forecast (methods in the module docstring).

    Parameters
    ----------
    team_forecast : pandas.DataFrame
        The team total's forecast.
    segment_forecasts : dict of str to pandas.DataFrame
        One forecast per segment value (e.g. ``{"region=DE": ..., "region=UK": ...}``).
    method : {"proportional", "bottom_up"}

    Returns
    -------
    dict of str to pandas.DataFrame
        The reconciled segments under their keys plus the total under ``"all"``; each frame
        has ``period`` and the input's ``model`` (when present), ``point`` and bound columns,
        one row per month. Per month the segments' points add up to the total's point.

    Raises
    ------
    ValueError
        Unknown method, no segments, a segment whose months differ from the team's, or a
        segment lacking one of the team's bound columns.
    """
    if method not in METHODS:
        raise ValueError(f"unknown reconciliation method {method!r}; use one of {METHODS}")
    if not segment_forecasts:
        raise ValueError("reconcile needs at least one segment forecast")
    if TOTAL in segment_forecasts:
        raise ValueError(f"a segment may not be called {TOTAL!r}: that key holds the total")
    team = _selected(team_forecast, TOTAL)
    cols = ["point"] + _bound_columns(team)
    names = list(segment_forecasts)
    segs = {k: _selected(v, k) for k, v in segment_forecasts.items()}
    for k, s in segs.items():
        if not s.index.equals(team.index):
            raise ValueError(
                f"segment {k!r} covers months {list(s.index.astype(str))} but the team forecast "
                f"covers {list(team.index.astype(str))}; forecast every segment over the same months"
            )
        lacking = [c for c in cols if c not in s.columns]
        if lacking:
            raise ValueError(f"segment {k!r} lacks the columns {lacking} of the team forecast")
    # stack: array (segments, months, columns)
    arr = np.stack([segs[k][cols].to_numpy(dtype=float) for k in names])
    team_arr = team[cols].to_numpy(dtype=float)
    n = len(names)
    if method == "proportional":
        seg_sum = arr[:, :, 0].sum(axis=0)
        safe = np.where(seg_sum != 0, seg_sum, 1.0)
        ratio = np.where(seg_sum != 0, team_arr[:, 0] / safe, np.nan)
        scaled = arr * ratio[None, :, None]
        equal = np.broadcast_to(team_arr / n, arr.shape)
        out = np.where((seg_sum == 0)[None, :, None], equal, scaled)
        # put the last rounding on the largest segment so points add up exactly
        big = np.argmax(np.abs(out[:, :, 0]), axis=0)
        months = np.arange(out.shape[1])
        others = np.where(np.arange(n)[:, None] == big[None, :], 0.0, out[:, :, 0]).sum(axis=0)
        delta = (team_arr[:, 0] - others) - out[big, months, 0]
        out[big, months, :] += delta[:, None]
        total = team_arr
    else:
        out = arr
        point = arr[:, :, 0].sum(axis=0)
        total = np.empty_like(team_arr)
        total[:, 0] = point
        for j, c in enumerate(cols[1:], start=1):
            dist = np.sqrt(((arr[:, :, j] - arr[:, :, 0]) ** 2).sum(axis=0))
            total[:, j] = point - dist if c.startswith("lo") else point + dist
    result: dict[str, pd.DataFrame] = {}
    frames = [(k, out[i], segs[k]) for i, k in enumerate(names)] + [(TOTAL, total, team)]
    for key, values, src in frames:
        df = pd.DataFrame(values, columns=cols)
        df.insert(0, "period", src.index.to_numpy())
        if "model" in src.columns:
            df.insert(1, "model", src["model"].to_numpy())
        result[key] = df
    return result
