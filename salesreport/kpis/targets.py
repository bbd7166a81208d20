"""Targets of ``kpis.csv``: the targets table and the team's YAML, resolved per window.

Rules (shared/spec/kpis.md and data-contract.md, plus our decisions where they are silent):

* **Sources.** Rows of the ``targets`` table (already filtered to the team by the loader) and
  ``params.targets``. Both are keyed by ``(metric, period, rep_id, region)``, an empty
  ``rep_id``/``region`` meaning "not set"; where both set the same key, the table wins. Within
  one source the last row of a key wins.
* **Periods.** ``2026-10`` (a month), ``2026-Q4`` (a fiscal quarter), ``2026`` (a fiscal year,
  named after the calendar year it ends in), parsed by :func:`salesreport.periods.period_bounds`.
* **Who.** Segment ``all`` uses rows with empty ``rep_id`` and empty ``region``; for an additive
  metric a month with no such row takes the sum of the region rows (empty ``rep_id``, a
  ``region``) of that month instead. ``owner_id=X`` uses rows with ``rep_id`` X (summed over
  their regions for an additive metric; for another, the row without region first).
  ``region=R`` uses rows with empty ``rep_id`` and region R. Other segments have no target.
* **Additive metrics** (catalogue ``additive``): a month's target is the month's row if any,
  else its fiscal quarter's row / 3, else its fiscal year's row / 12; a window's target is the
  sum of its months' targets, empty when any month of the window has none.
* **Other metrics**: the row set for exactly the window's span: the month row for ``month``,
  the fiscal quarter's row for ``qtd`` (at any month of the quarter), the fiscal year's row for
  ``ytd``, and for ``trailing12`` the fiscal year's row when the window is that fiscal year
  (it ends in the year's last month); else empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.params import TeamParams
from salesreport.periods import period_bounds

TARGET_COLUMNS = ["metric", "period", "rep_id", "region", "value", "source"]


def _blank(s: pd.Series) -> pd.Series:
    """Missing / blank text as ''."""
    out = s.astype(object).where(s.notna(), "")
    if pd.api.types.infer_dtype(out, skipna=False) == "string":  # all text: strip each distinct
        codes, uniq = pd.factorize(out.to_numpy(object))
        stripped = np.array([str(u).strip() for u in uniq] + [""], dtype=object)
        return pd.Series(stripped[codes], index=out.index, name=out.name, dtype=object)
    return out.map(lambda v: str(v).strip())


def target_rows(targets, params: TeamParams) -> pd.DataFrame:
    """All targets, one row per ``(metric, period, rep_id, region)``, the table winning.

    Parameters
    ----------
    targets : pandas.DataFrame, Tables or None
        The team's ``targets`` table (or the tables holding it; ``None``: no table).
    params : TeamParams
        ``targets`` of the team's YAML.

    Returns
    -------
    pandas.DataFrame
        ``metric, period, rep_id, region, value, source`` (``source`` is ``table`` or
        ``yaml``; ``rep_id``/``region`` are '' when not set).
    """
    if targets is not None and not isinstance(targets, pd.DataFrame):
        targets = targets.targets
    parts = []
    if params.targets:
        y = pd.DataFrame([t.model_dump() for t in params.targets])
        y["source"] = "yaml"
        parts.append(y)
    if targets is not None and len(targets):
        t = targets.copy()
        for col in ("rep_id", "region"):
            if col not in t.columns:
                t[col] = ""
        t["source"] = "table"
        parts.append(t)
    if not parts:
        return pd.DataFrame(columns=TARGET_COLUMNS)
    df = pd.concat([p.reindex(columns=TARGET_COLUMNS) for p in parts], ignore_index=True)
    for col in ("metric", "period", "rep_id", "region"):
        df[col] = _blank(df[col])
    df["value"] = pd.to_numeric(df["value"], errors="raise").astype(float)
    # yaml first, table after: keep the last row of each key -> the table wins
    df = df.drop_duplicates(["metric", "period", "rep_id", "region"], keep="last")
    return df.reset_index(drop=True)


def _with_bounds(rows: pd.DataFrame, fy_start: int) -> pd.DataFrame:
    """Add ``first``/``last`` month ordinals and ``n`` (months spanned) of each row's period."""
    rows = rows.copy()
    bounds = {p: period_bounds(p, fy_start) for p in rows["period"].unique()}
    rows["first"] = rows["period"].map({p: b[0].ordinal for p, b in bounds.items()})
    rows["last"] = rows["period"].map({p: b[1].ordinal for p, b in bounds.items()})
    rows["first"] = rows["first"].astype(np.int64)
    rows["last"] = rows["last"].astype(np.int64)
    rows["n"] = rows["last"] - rows["first"] + 1
    return rows


def _resolved_months(rows: pd.DataFrame) -> pd.DataFrame:
    """Each key's target per month: month row, else quarter / 3, else year / 12."""
    rep = np.repeat(np.arange(len(rows)), rows["n"].to_numpy())
    offs = np.arange(len(rep)) - np.repeat(
        np.cumsum(rows["n"].to_numpy()) - rows["n"].to_numpy(), rows["n"].to_numpy()
    )
    ex = rows.iloc[rep].reset_index(drop=True)
    ex["month"] = ex["first"].to_numpy() + offs
    ex["value"] = ex["value"] / ex["n"]
    ex = ex.sort_values("n", kind="stable")
    ex = ex.drop_duplicates(["rep_id", "region", "month"], keep="first")
    return ex[["rep_id", "region", "month", "value"]]


def _label_rows(rows: pd.DataFrame, label: str) -> pd.DataFrame:
    if label == "all":
        return rows[(rows["rep_id"] == "") & (rows["region"] == "")]
    col, _, val = label.partition("=")
    if col == "owner_id":
        return rows[rows["rep_id"] == val]
    if col == "region":
        return rows[(rows["rep_id"] == "") & (rows["region"] == val)]
    return rows.iloc[0:0]


def monthly_target_matrix(
    rows: pd.DataFrame, metric: str, labels: list[str], lo: int, hi: int, fy_start: int
) -> np.ndarray:
    """Monthly targets of an additive metric, shape ``(len(labels), hi - lo + 1)``, NaN = none.

    ``lo``/``hi`` are month ordinals (``Period.ordinal``). See the module docstring for the
    rules (month row, else quarter / 3, else year / 12; ``all`` falls back to the sum of regions).
    """
    n = hi - lo + 1
    out = np.full((len(labels), n), np.nan)
    if n <= 0:
        return out
    # the same for every segment column, month range and caller: shared within a KPI
    # engine run (each month's sums are the same whatever range is asked for)
    sums = _month_sums(_metric_months(rows, metric, fy_start))
    if sums is None:
        return out
    team_sum, rep_sum, region_sum = (
        s[(m >= lo) & (m <= hi)]
        for s, m in zip(sums[0], sums[1], strict=True)  # each series and its month ordinals
    )
    row_of = pd.Index(labels).unique()
    out = np.full((len(row_of), n), np.nan)
    if "all" in row_of:
        s = team_sum
        out[row_of.get_loc("all"), s.index.to_numpy(np.int64) - lo] = s.to_numpy(float)
    # owner_id=X takes rep X's months, region=R region R's: one scatter per kind, not per label
    for col, sums in (("owner_id", rep_sum), ("region", region_sum)):
        if sums.empty:
            continue
        keys = sums.index.get_level_values(0)
        names = {k: f"{col}={k}" if isinstance(k, str) else None for k in keys.unique()}
        rows_at = row_of.get_indexer(keys.map(names).to_numpy(object))
        ok = rows_at >= 0
        months = sums.index.get_level_values(1).to_numpy(np.int64)
        out[rows_at[ok], months[ok] - lo] = sums.to_numpy(float)[ok]
    return out[row_of.get_indexer(labels)] if len(row_of) < len(labels) else out


def _month_sums(
    res: pd.DataFrame | None,
) -> tuple[tuple[pd.Series, pd.Series, pd.Series], tuple[np.ndarray, ...]] | None:
    """The monthly sums :func:`monthly_target_matrix` scatters, over every month of ``res``
    (:func:`_metric_months`): the team's (its own row, else the sum of the regions'), by
    ``(rep_id, month)`` and by ``(region, month)``; with each one's month ordinals (a range
    of months is a mask on them). ``None`` when the metric has no rows."""
    if res is None:
        return None
    team = res[(res["rep_id"] == "") & (res["region"] == "")]
    regions = res[(res["rep_id"] == "") & (res["region"] != "")]
    reps = res[res["rep_id"] != ""]
    rep_sum = reps.groupby(["rep_id", "month"])["value"].sum()
    region_sum = regions.groupby(["region", "month"])["value"].sum()
    team_sum = team.set_index("month")["value"].combine_first(
        regions.groupby("month")["value"].sum()
    )
    months = (
        team_sum.index.to_numpy(np.int64),
        rep_sum.index.get_level_values(1).to_numpy(np.int64),
        region_sum.index.get_level_values(1).to_numpy(np.int64),
    )
    return (team_sum, rep_sum, region_sum), months


def _metric_months(rows: pd.DataFrame, metric: str, fy_start: int) -> pd.DataFrame | None:
    """:func:`_resolved_months` of ``metric``'s rows (``None`` when it has none)."""
    r = rows[rows["metric"] == metric]
    if r.empty:
        return None
    return _resolved_months(_with_bounds(r, fy_start))


def window_targets(
    rows: pd.DataFrame,
    metric: str,
    windows: pd.DataFrame,
    labels: list[str],
    fy_start: int,
    additive: bool,
) -> np.ndarray:
    """Target of ``metric`` for every segment label and window row: shape ``(labels, windows)``.

    Parameters
    ----------
    rows : pandas.DataFrame
        :func:`target_rows` output.
    windows : pandas.DataFrame
        :func:`salesreport.periods.windows_frame` rows (``window``, ``start_month``,
        ``end_month``).
    labels : list of str
        ``all`` or ``col=value``; only ``all``, ``owner_id=`` and ``region=`` can have targets.
    additive : bool
        The catalogue's ``additive`` flag, choosing the rule (module docstring).
    """
    out = np.full((len(labels), len(windows)), np.nan)
    r = rows[rows["metric"] == metric]
    if r.empty or len(windows) == 0:
        return out
    s_ord = _ords(windows["start_month"])
    e_ord = _ords(windows["end_month"])
    if additive:
        lo, hi = int(s_ord.min()), int(e_ord.max())
        m = monthly_target_matrix(rows, metric, labels, lo, hi, fy_start)
        val = np.cumsum(np.nan_to_num(m), axis=1)
        have = np.cumsum(~np.isnan(m), axis=1)
        val = np.concatenate([np.zeros((len(labels), 1)), val], axis=1)
        have = np.concatenate([np.zeros((len(labels), 1), dtype=np.int64), have], axis=1)
        tot = val[:, e_ord - lo + 1] - val[:, s_ord - lo]
        cnt = have[:, e_ord - lo + 1] - have[:, s_ord - lo]
        full = cnt == (e_ord - s_ord + 1)[None, :]
        out[full] = tot[full]
        return out
    b = _with_bounds(r, fy_start)
    kind = np.select([b["n"] == 1, b["n"] == 3, b["n"] == 12], ["month", "quarter", "year"], "")
    b = b.assign(kind=kind).sort_values("region", kind="stable")
    win = windows["window"].to_numpy()
    want_kind = np.select(
        [win == "month", win == "qtd", win == "ytd", win == "trailing12"],
        ["month", "quarter", "year", "year"],
        "",
    )
    # span of the row wanted: month -> the month; qtd -> quarter start; ytd -> year start;
    # trailing12 -> a year starting 11 months before the end (only a fiscal year end matches)
    want_first = np.where(win == "trailing12", e_ord - 11, s_ord)
    want_first = np.where(win == "month", e_ord, want_first)
    for i, label in enumerate(labels):
        lr = _label_rows(b, label).drop_duplicates(["kind", "first"], keep="first")
        if lr.empty:
            continue
        look = pd.Series(
            lr["value"].to_numpy(float), index=pd.MultiIndex.from_arrays([lr["kind"], lr["first"]])
        )
        keys = pd.MultiIndex.from_arrays([want_kind, want_first])
        out[i] = look.reindex(keys).to_numpy(float)
    return out


def _ords(s: pd.Series) -> np.ndarray:
    """Month ordinals of a ``Period[M]`` column."""
    return np.asarray([p.ordinal for p in s], dtype=np.int64) if s.dtype == object else s.array.asi8
