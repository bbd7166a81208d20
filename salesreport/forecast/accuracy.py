"""Forecast accuracy: realised (from the ledger) and backtest, the forecast KPIs, submissions.

Definitions (A = actual revenue of the target month, F = the forecast of it):

* ``error = F - A`` (positive: the forecast was too high);
* ``ape = |A - F| / |A|``, empty when ``A = 0``;
* over a set of rows: ``MAPE`` = mean of ``ape`` over the rows where it is defined;
  ``WAPE = sum |A - F| / sum |A|``; ``bias = sum (F - A) / sum A`` (positive: forecasts too
  high on balance); ``MASE`` = mean of ``|A - F| / s(o)``, ``s(o)`` being the in-sample
  seasonal-naive MAE of the revenue series *up to and including the forecast's origin o*
  (point in time; see :func:`mase_scales`); ``n`` = the number of rows. A metric whose
  denominator is 0 or that has no rows is empty.

``forecast_accuracy.csv`` (:func:`accuracy_table`) is one tidy table with two kinds of
rows, told apart by ``kind``:

* detail rows (``kind`` = ``realised`` or ``backtest``): one per model, origin and horizon,
  with ``actual, forecast, ape, error``, the target ``period`` and ``method``; ``metric``
  and ``value`` empty.

  - ``realised``: a forecast recorded in the ledger at origin ``o`` (the report month it was
    made in) for a month ``period <= month`` whose actual is known. Ledger rows appear
    under their own model name, and the rows of the method the report showed
    (``selected`` True in the ledger) also under the model name ``selected`` with the
    method actually used in ``method`` (e.g. ``ensemble(ets,theta,arima)``); an ensemble's
    rows appear only as ``selected``.
  - ``backtest``: what a model would have forecast from an origin for which the ledger
    holds no rows of that model (e.g. the months before the suite was introduced), from
    :func:`salesreport.forecast.backtest`; its ``selected`` model is the nested selection.
    Rows whose forecast is empty (the model could not fit) are left out.

* summary rows (``kind`` = ``summary``): one row per model, horizon and metric (``mape``,
  ``wape``, ``mase``, ``bias``, ``n``) in ``metric``/``value``, plus one per model and metric
  over all horizons (``horizon`` empty). ``origin``, ``actual``, ``forecast``... are empty.
  Summaries pool the realised and backtest rows of the model (every origin counts once,
  from the ledger when it has it).

Forecast KPIs (:func:`forecast_kpis`, shared/spec/kpis.md, Forecast section), for month P:
``forecast_accuracy = 1 - |A - F| / A`` and ``forecast_bias = (F - A) / A`` with F the
horizon-1 forecast for P made at origin P-1 by the selected method, from the ledger when it
has one, else from the backtest's nested selection (``source`` says which); empty when
``A = 0``. ``submission_accuracy``: the same formula with F the team's own ``commit``
submission (see :func:`select_submissions`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.forecast.core import SELECTED
from salesreport.forecast.models import MODELS
from salesreport.periods import month_end, period_bounds

SEASON = 12
DETAIL_COLUMNS = [
    "model",
    "origin",
    "horizon",
    "kind",
    "actual",
    "forecast",
    "ape",
    "error",
    "period",
    "method",
    "metric",
    "value",
]
METRICS = ("mape", "wape", "mase", "bias", "n")
#: Model name of the scored target chances' rows in ``forecast_accuracy.csv``.
CHANCE_MODEL = "target_chance"
#: Months the headline accuracy figure looks back over, and the fewest it needs.
HEADLINE_MONTHS = 12
HEADLINE_MIN_MONTHS = 6
KPI_COLUMNS = [
    "metric",
    "window",
    "period",
    "segment",
    "value",
    "source",
    "model",
    "forecast",
    "actual",
]
SUBMISSION_COLUMNS = [
    "period",
    "category",
    "level",
    "submitted_date",
    "submitted",
    "actual",
    "error",
    "ape",
    "complete",
    "keys",
]
LEVEL_ORDER = {"team": 0, "region": 1, "rep": 2}


# --------------------------------------------------------------------------- helpers
def _month(value: str | pd.Period) -> pd.Period:
    return value if isinstance(value, pd.Period) else pd.Period(str(value), "M")


def _as_periods(col: pd.Series) -> pd.Series:
    """A column of months (``Period[M]`` or ``YYYY-MM`` text) as ``Period[M]``."""
    if isinstance(col.dtype, pd.PeriodDtype):
        return col
    return pd.Series(pd.PeriodIndex(col.astype(str), freq="M"), index=col.index)


def _series(actuals: pd.Series) -> pd.Series:
    """Monthly actuals on a ``PeriodIndex`` (a ``DatetimeIndex`` or text is converted)."""
    idx = actuals.index
    if not isinstance(idx, pd.PeriodIndex):
        idx = (
            idx.to_period("M")
            if isinstance(idx, pd.DatetimeIndex)
            else pd.PeriodIndex(idx.astype(str), freq="M")
        )
    out = pd.Series(actuals.to_numpy(dtype=float), index=idx)
    if out.index.has_duplicates:
        raise ValueError("actuals have repeated months; pass one value per month")
    return out


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """Concatenate the non-empty frames (an empty frame with ``columns`` when none)."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.concat(frames, ignore_index=True)


def wape(actual: pd.Series, predicted: pd.Series) -> float:
    """Weighted absolute percentage error of one set of forecasts, as ``forecast_accuracy.csv``
    defines it: sum |actual - predicted| / sum |actual| (NaN when the actuals sum to 0)."""
    scale = actual.abs().sum()
    return float((actual - predicted).abs().sum() / scale) if scale else np.nan


def _ratio(num: pd.Series | np.ndarray, den: pd.Series | np.ndarray) -> np.ndarray:
    """``num / den``, NaN where ``den`` is 0 or missing."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(num.shape, np.nan)
    ok = np.isfinite(den) & (den != 0)
    out[ok] = num[ok] / den[ok]
    return out


def mase_scales(y: pd.Series, m: int = SEASON) -> pd.Series:
    """MASE scale at every month: the in-sample seasonal-naive MAE of ``y`` up to that month.

    For month ``t`` (0-based position ``t``), with ``y[:t+1]`` the history up to it:
    ``mean |y[s] - y[s-m]|`` over ``m <= s <= t`` when ``t >= m`` and that is > 0; else the
    naive one-step ``mean |y[s] - y[s-1]|`` when ``t >= 1`` and > 0; else ``mean |y|`` when
    > 0; else 1. This is :func:`salesreport.forecast.models.seasonal_naive_scale` applied to
    every prefix of ``y``, computed with running sums.

    Returns
    -------
    pandas.Series
        On ``y``'s index.
    """
    v = np.asarray(y, dtype=float)
    n = len(v)
    t = np.arange(n)
    out = np.ones(n)
    done = np.zeros(n, dtype=bool)
    cand = []
    for lag in (m, 1):
        d = np.zeros(n)
        if n > lag:
            d[lag:] = np.abs(v[lag:] - v[:-lag])
        s = np.cumsum(d) / np.maximum(t - lag + 1, 1)
        cand.append((t >= lag, s))
    cand.append((n > 0, np.cumsum(np.abs(v)) / (t + 1)))
    for ok, s in cand:
        use = ~done & ok & (s > 0)
        out[use] = s[use]
        done |= use
    return pd.Series(out, index=y.index)


def _ledger_frame(ledger: pd.DataFrame | None) -> pd.DataFrame | None:
    """The ledger with months as periods, or None when it holds nothing."""
    if ledger is None or len(ledger.columns) == 0 or ledger.empty:
        return None
    need = ["made_in", "model", "selected", "period", "horizon", "point"]
    missing = [c for c in need if c not in ledger.columns]
    if missing:
        raise ValueError(
            f"ledger frame lacks the columns {missing}; pass salesreport.forecast.ledger.read_ledger's frame"
        )
    out = ledger.copy()
    out["made_in"] = _as_periods(out["made_in"])
    out["period"] = _as_periods(out["period"])
    out["selected"] = out["selected"].astype(bool)
    return out


def _backtest_frame(backtest: pd.DataFrame | None) -> pd.DataFrame | None:
    if backtest is None or len(backtest.columns) == 0 or backtest.empty:
        return None
    need = ["model", "origin", "horizon", "period", "forecast"]
    missing = [c for c in need if c not in backtest.columns]
    if missing:
        raise ValueError(
            f"backtest frame lacks the columns {missing}; pass salesreport.forecast.backtest's frame"
        )
    out = backtest.copy()
    out["origin"] = _as_periods(out["origin"])
    out["period"] = _as_periods(out["period"])
    return out


# --------------------------------------------------------------------------- accuracy table
def _realised_rows(ledger: pd.DataFrame | None, y: pd.Series, month: pd.Period) -> pd.DataFrame:
    cols = ["model", "origin", "horizon", "period", "forecast", "method"]
    if ledger is None:
        return pd.DataFrame(columns=cols)
    lg = ledger[
        (ledger["period"] <= month) & (ledger["made_in"] <= month) & ledger["period"].isin(y.index)
    ]
    own = lg[~lg["selected"] | lg["model"].isin(list(MODELS))]
    sel = lg[lg["selected"]]
    parts = [
        pd.DataFrame(
            {
                "model": part["model"] if name is None else name,
                "origin": part["made_in"],
                "horizon": part["horizon"].astype(int),
                "period": part["period"],
                "forecast": part["point"].astype(float),
                "method": part["model"],
            }
        )
        for part, name in ((own, None), (sel, SELECTED))
    ]
    return _concat(parts, cols)


def _backtest_rows(
    backtest: pd.DataFrame | None, ledger: pd.DataFrame | None, y: pd.Series, month: pd.Period
) -> pd.DataFrame:
    cols = ["model", "origin", "horizon", "period", "forecast", "method"]
    if backtest is None:
        return pd.DataFrame(columns=cols)
    bt = backtest[
        (backtest["period"] <= month)
        & backtest["period"].isin(y.index)
        & backtest["forecast"].notna()
    ].copy()
    if ledger is not None:
        # (model, origin) pairs the ledger covers, under the names _realised_rows gives them
        covered = pd.concat(
            [
                ledger.loc[
                    ~ledger["selected"] | ledger["model"].isin(list(MODELS)), ["model", "made_in"]
                ],
                ledger.loc[ledger["selected"], ["made_in"]].assign(model=SELECTED),
            ],
            ignore_index=True,
        ).drop_duplicates()
        key = pd.MultiIndex.from_frame(
            covered.rename(columns={"made_in": "origin"})[["model", "origin"]]
        )
        bt = bt[~pd.MultiIndex.from_frame(bt[["model", "origin"]]).isin(key)]
    return pd.DataFrame(
        {
            "model": bt["model"].astype(str),
            "origin": bt["origin"],
            "horizon": bt["horizon"].astype(int),
            "period": bt["period"],
            "forecast": bt["forecast"].astype(float),
            "method": np.where(bt["model"] == SELECTED, None, bt["model"]),
        }
    )


def summarise(detail: pd.DataFrame, scales: pd.Series) -> pd.DataFrame:
    """Summary rows (long form) per model x horizon and per model, from detail rows.

    Parameters
    ----------
    detail : pandas.DataFrame
        Rows with ``model``, ``origin`` (``Period[M]``), ``horizon``, ``actual``, ``forecast``.
    scales : pandas.Series
        MASE scale by origin month (:func:`mase_scales`); a row whose origin has no scale
        is left out of MASE only.

    Returns
    -------
    pandas.DataFrame
        ``model, horizon, metric, value``; ``horizon`` empty (``<NA>``) on the rows over all
        horizons. Metrics as in the module docstring.
    """
    d = detail.copy()
    d["abs_err"] = (d["forecast"] - d["actual"]).abs()
    d["abs_act"] = d["actual"].abs()
    d["signed"] = d["forecast"] - d["actual"]
    d["ape"] = _ratio(d["abs_err"], d["abs_act"])
    d["scaled"] = d["abs_err"].to_numpy() / d["origin"].map(scales).to_numpy(dtype=float)
    out = []
    for keys in (["model", "horizon"], ["model"]):
        g = d.groupby(keys, sort=True)
        agg = g.agg(
            mape=("ape", "mean"),
            sum_abs_err=("abs_err", "sum"),
            sum_abs_act=("abs_act", "sum"),
            sum_signed=("signed", "sum"),
            sum_act=("actual", "sum"),
            mase=("scaled", "mean"),
            n=("actual", "size"),
        ).reset_index()
        agg["wape"] = _ratio(agg["sum_abs_err"], agg["sum_abs_act"])
        agg["bias"] = _ratio(agg["sum_signed"], agg["sum_act"])
        agg["n"] = agg["n"].astype(float)
        if "horizon" not in agg.columns:
            agg["horizon"] = pd.NA
        long = agg.melt(id_vars=["model", "horizon"], value_vars=list(METRICS), var_name="metric")
        out.append(long)
    res = pd.concat(out, ignore_index=True)
    res["horizon"] = res["horizon"].astype("Int64")
    res["_m"] = res["metric"].map({m: i for i, m in enumerate(METRICS)})
    res["_all"] = res["horizon"].isna()
    res = res.sort_values(["model", "_all", "horizon", "_m"], kind="stable")
    return res.drop(columns=["_m", "_all"]).reset_index(drop=True)


def _chance_rows(scored: pd.DataFrame | None) -> pd.DataFrame:
    """Detail and summary rows for scored target chances (see :func:`accuracy_table`)."""
    if scored is None or scored.empty:
        return pd.DataFrame(columns=DETAIL_COLUMNS)
    made = pd.PeriodIndex(scored["made_in"].astype(str), freq="M")
    last = pd.PeriodIndex(scored["last_month"].astype(str), freq="M")
    detail = pd.DataFrame(
        {
            "model": CHANCE_MODEL,
            "origin": scored["made_in"].astype(str).to_numpy(),
            "horizon": np.asarray([(a - b).n for a, b in zip(last, made, strict=True)]),
            "kind": "target",
            "actual": scored["outcome"].astype(float).to_numpy(),
            "forecast": scored["chance"].astype(float).to_numpy(),
            "ape": np.nan,
            "error": scored["error"].astype(float).to_numpy(),
            "period": scored["period"].astype(str).to_numpy(),
            "method": scored["kind"].astype(str).to_numpy(),
            "metric": None,
            "value": np.nan,
        }
    )
    brier = scored["brier"].astype(float)
    summary = pd.DataFrame(
        {
            "model": CHANCE_MODEL,
            "horizon": pd.NA,
            "kind": "summary",
            "metric": ["brier", "n"],
            "value": [float(brier.mean()), float(len(brier))],
        }
    )
    return pd.concat([detail, summary], ignore_index=True)


def accuracy_table(
    ledger: pd.DataFrame | None,
    actuals: pd.Series,
    backtest: pd.DataFrame | None,
    month: str | pd.Period,
    y_insample: pd.Series | None = None,
    chances: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """``forecast_accuracy.csv``: realised and backtest detail rows, then summary rows.

    Parameters
    ----------
    ledger : pandas.DataFrame or None
        :func:`salesreport.forecast.ledger.read_ledger`'s frame (rows made after ``month``
        are ignored here too); ``None`` or an empty frame when there is no ledger yet.
    actuals : pandas.Series
        Monthly revenue on a ``PeriodIndex`` (:func:`salesreport.revenue.monthly_revenue`).
        A month is *known* when it is in this index and not after ``month``.
    backtest : pandas.DataFrame or None
        :func:`salesreport.forecast.backtest`'s frame (``model, origin, horizon, period,
        actual, forecast``).
    month : str or pandas.Period
        The report month.
    y_insample : pandas.Series, optional
        The series whose prefixes give the MASE scales (default ``actuals``).
    chances : pandas.DataFrame, optional
        Scored target chances (:func:`salesreport.forecast.targets.score_chances`): one
        ``target`` detail row each (model ``target_chance``, ``origin`` the report month
        that stated it, ``period`` the quarter or year, ``method`` its kind, ``forecast``
        the chance, ``actual`` 1 when the target was reached else 0, ``error`` their
        difference, ``horizon`` months from ``origin`` to the period's last month) and two
        summary rows, ``brier`` (mean squared error of the chances) and ``n``.

    Returns
    -------
    pandas.DataFrame
        :data:`DETAIL_COLUMNS`; see the module docstring for the row kinds. ``origin`` and
        ``period`` are ``YYYY-MM`` text, ``horizon`` nullable int. Detail rows are ordered
        realised then backtest, each by model, origin and horizon; summary rows by model,
        horizon (all horizons last) and metric.
    """
    m = _month(month)
    y = _series(actuals)
    y = y[y.index <= m]
    ins = _series(y_insample) if y_insample is not None else y
    lg = _ledger_frame(ledger)
    bt = _backtest_frame(backtest)
    realised = _realised_rows(lg, y, m).assign(kind="realised")
    backt = _backtest_rows(bt, lg, y, m).assign(kind="backtest")
    detail = _concat([realised, backt], list(realised.columns) + ["kind"])
    detail["origin"] = _as_periods(detail["origin"]) if len(detail) else detail["origin"]
    detail["actual"] = detail["period"].map(y).astype(float)
    detail["forecast"] = detail["forecast"].astype(float)
    detail["error"] = detail["forecast"] - detail["actual"]
    detail["ape"] = _ratio((detail["actual"] - detail["forecast"]).abs(), detail["actual"].abs())
    detail["_k"] = detail["kind"].map({"realised": 0, "backtest": 1})
    detail = detail.sort_values(["_k", "model", "origin", "horizon"], kind="stable").drop(
        columns="_k"
    )
    summary = (
        summarise(detail, mase_scales(ins)).assign(kind="summary")
        if len(detail)
        else pd.DataFrame(columns=["model", "horizon", "metric", "value", "kind"])
    )
    detail = detail.assign(
        origin=detail["origin"].astype(str),
        period=detail["period"].astype(str),
        metric=None,
        value=np.nan,
    )
    out = _concat([detail, summary, _chance_rows(chances)], DETAIL_COLUMNS)
    for col in DETAIL_COLUMNS:
        if col not in out.columns:
            out[col] = np.nan
    out["horizon"] = pd.array(out["horizon"], dtype="Int64")
    for col in ("actual", "forecast", "ape", "error", "value"):
        out[col] = out[col].astype(float)
    return out[DETAIL_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------- submissions
def _has(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df.columns:
        return pd.Series(False, index=df.index)
    return df[col].notna() & (df[col].astype(str).str.strip() != "")


def select_submissions(
    submissions: pd.DataFrame,
    cutoff: str = "period_end",
    categories: tuple[str, ...] | None = None,
    fy_start: int = 1,
) -> pd.DataFrame:
    """The team's call for each submitted period and category, one row each.

    Rules:

    * a row's *level* is ``rep`` when it has a ``rep_id``, else ``region`` when it has a
      ``region``, else ``team``;
    * only submissions dated on or before the cutoff count: ``cutoff="period_end"`` -> the
      last day of the period (a call made after the period is over is not a forecast);
      ``cutoff="before_period"`` -> the last day of the month before the period starts (the
      "made one month earlier" rule of ``submission_accuracy``);
    * per period, category, level and key (the rep or the region) the *latest* submission
      counts; between submissions of the same date, the last in table order;
    * per period and category the team's amount comes from the highest level present: a
      team-level row when there is one, else the sum over regions, else the sum over reps
      (levels are never added together, so a team that submits by rep and by region is not
      counted twice). ``submitted_date`` is the latest date among the rows used.

    Parameters
    ----------
    submissions : pandas.DataFrame
        The ``forecast_submissions`` table (``submitted_date``, ``period`` text ``YYYY-MM``,
        ``YYYY-QN`` or ``YYYY``, ``category``, ``amount``; optional ``rep_id``, ``region``).
    cutoff : {"period_end", "before_period"}
    categories : tuple of str, optional
        Keep only these categories (lower case); default all.
    fy_start : int
        First month of the fiscal year (quarters and years are fiscal).

    Returns
    -------
    pandas.DataFrame
        ``period`` (text), ``category``, ``level``, ``submitted_date``, ``submitted``,
        ``keys`` (the regions or reps whose calls were added up, comma-separated; empty for a
        team-level call), ``first_month``, ``last_month`` (``Period[M]``), sorted by period
        and category.
    """
    need = ["submitted_date", "period", "category", "amount"]
    missing = [c for c in need if c not in submissions.columns]
    if missing:
        raise ValueError(
            f"forecast_submissions lacks the columns {missing}; the data contract requires "
            "submitted_date, period, category and amount"
        )
    if cutoff not in ("period_end", "before_period"):
        raise ValueError(f"cutoff must be 'period_end' or 'before_period', got {cutoff!r}")
    s = submissions.copy()
    s["category"] = s["category"].astype(str).str.lower()
    if categories is not None:
        s = s[s["category"].isin(categories)]
    if s.empty:  # no call at all (or none dated by the report month)
        cols = ["period", "category", "level", "submitted_date", "submitted", "keys"]
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols}).assign(
            first_month=pd.Series(dtype="period[M]"), last_month=pd.Series(dtype="period[M]")
        )
    s["period"] = s["period"].astype(str)
    bounds = {p: period_bounds(p, fy_start) for p in s["period"].unique()}
    s["first_month"] = s["period"].map(lambda p: bounds[p][0])
    s["last_month"] = s["period"].map(lambda p: bounds[p][1])
    edge = s["last_month"] if cutoff == "period_end" else s["first_month"] - 1
    # a few distinct months: each month's last day worked out once, not once per row
    s["cutoff"] = edge.map({m: month_end(m) for m in edge.unique()})
    s = s[pd.to_datetime(s["submitted_date"]) <= s["cutoff"]]
    rep, region = _has(s, "rep_id"), _has(s, "region")
    s["level"] = np.where(rep, "rep", np.where(region, "region", "team"))
    s["key"] = np.where(
        rep,
        s.get("rep_id", pd.Series("", index=s.index)).astype(str),
        np.where(region, s.get("region", pd.Series("", index=s.index)).astype(str), ""),
    )
    s["_rank"] = s["level"].map(LEVEL_ORDER)
    latest = (
        s.sort_values("submitted_date", kind="stable")
        .groupby(["period", "category", "level", "key"], sort=False)
        .tail(1)
    )
    top = latest.groupby(["period", "category"])["_rank"].transform("min")
    used = latest[latest["_rank"] == top]
    out = (
        used.groupby(["period", "category"], sort=True)
        .agg(
            level=("level", "first"),
            submitted_date=("submitted_date", "max"),
            submitted=("amount", "sum"),
            keys=("key", lambda k: ",".join(sorted(set(k) - {""}))),
            first_month=("first_month", "first"),
            last_month=("last_month", "first"),
        )
        .reset_index()
    )
    return out


def score_submissions(
    submissions: pd.DataFrame, actuals: pd.Series, fy_start: int = 1
) -> pd.DataFrame:
    """The team's own forecast calls scored against actual revenue, per period and category.

    Each period's call is the latest submitted on or before the period's last day
    (:func:`select_submissions` with ``cutoff="period_end"``). ``actual`` is the revenue
    summed over the period's months (a month before the first month of ``actuals`` counts
    as 0); it is empty, and ``complete`` False, while the period ends after the last month
    of ``actuals`` (the report month). ``error = submitted - actual``;
    ``ape = |actual - submitted| / |actual|``, empty when ``actual`` is 0 or unknown.

    Returns
    -------
    pandas.DataFrame
        :data:`SUBMISSION_COLUMNS`, sorted by period and category.
    """
    y = _series(actuals)
    sel = select_submissions(submissions, "period_end", None, fy_start)
    if sel.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SUBMISSION_COLUMNS})
    last = y.index.max() if len(y) else None
    cum = y.cumsum()

    def total_to(p: pd.Period) -> float:
        # revenue of months <= p (0 before the series starts)
        return float(cum[cum.index <= p].iloc[-1]) if (cum.index <= p).any() else 0.0

    months = pd.unique(pd.concat([sel["first_month"] - 1, sel["last_month"]]))
    totals = {p: total_to(p) for p in months}
    sel["complete"] = sel["last_month"] <= last if last is not None else False
    actual = sel["last_month"].map(totals) - (sel["first_month"] - 1).map(totals)
    sel["actual"] = actual.where(sel["complete"]).astype(float)
    sel["error"] = sel["submitted"] - sel["actual"]
    sel["ape"] = _ratio((sel["actual"] - sel["submitted"]).abs(), sel["actual"].abs())
    return sel[SUBMISSION_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------- KPIs
def _kpi_rows(f: pd.DataFrame, y: pd.Series, metrics: dict[str, str]) -> list[pd.DataFrame]:
    """f: columns period (Period), forecast, source, model -> KPI rows per metric."""
    a = f["period"].map(y).astype(float).to_numpy()
    fc = f["forecast"].astype(float).to_numpy()
    values = {
        "accuracy": 1 - _ratio(np.abs(a - fc), a),
        "bias": _ratio(fc - a, a),
    }
    return [
        pd.DataFrame(
            {
                "metric": name,
                "window": "month",
                "period": f["period"].astype(str).to_numpy(),
                "segment": "all",
                "value": values[kind],
                "source": f["source"].to_numpy(),
                "model": f["model"].to_numpy(),
                "forecast": fc,
                "actual": a,
            }
        )
        for name, kind in metrics.items()
    ]


def forecast_kpis(
    ledger: pd.DataFrame | None,
    backtest: pd.DataFrame | None,
    actuals: pd.Series,
    submissions: pd.DataFrame | None = None,
    month: str | pd.Period | None = None,
    history_months: int | None = None,
) -> pd.DataFrame:
    """``forecast_accuracy``, ``forecast_bias`` and ``submission_accuracy`` by month.

    For each month P up to ``month`` whose actual A is known:

    * ``forecast_accuracy = 1 - |A - F| / A`` and ``forecast_bias = (F - A) / A``, F being the
      forecast for P made one month earlier (origin P-1, horizon 1) by the selected method:
      the ledger's ``selected`` row when the ledger has one (``source`` = ``ledger``), else
      the backtest's nested ``selected`` method (``source`` = ``backtest``); no row when
      neither has one;
    * ``submission_accuracy = 1 - |A - F| / A`` with F the team's ``commit`` call for month P
      submitted on or before the last day of P-1 (:func:`select_submissions` with
      ``cutoff="before_period"``; quarterly and yearly calls are not monthly KPIs)
      (``source`` = ``submissions``);
    * a value is empty (NaN) when A = 0.

    With ``history_months`` (e.g. ``params.history_months``), every month of the
    ``history_months`` months up to ``month`` that ``actuals`` covers gets a row for each
    metric, empty (``source`` empty) where there is no F, so that kpis.csv has the full
    monthly history; ``submission_accuracy`` rows only when ``submissions`` is given.

    Returns
    -------
    pandas.DataFrame
        :data:`KPI_COLUMNS`: ``window`` ``month``, ``segment`` ``all``, ``period`` ``YYYY-MM``;
        ``model`` is the method (the ledger's model name, ``selected`` for the backtest,
        ``commit`` for submissions); sorted by metric and period.
    """
    y = _series(actuals)
    if month is not None:
        y = y[y.index <= _month(month)]
    lg = _ledger_frame(ledger)
    bt = _backtest_frame(backtest)
    cols = ["period", "forecast", "source", "model"]
    from_ledger = pd.DataFrame(columns=cols)
    if lg is not None:
        r = lg[lg["selected"] & (lg["horizon"] == 1) & (lg["made_in"] == lg["period"] - 1)]
        from_ledger = pd.DataFrame(
            {"period": r["period"], "forecast": r["point"], "source": "ledger", "model": r["model"]}
        )
    from_bt = pd.DataFrame(columns=cols)
    if bt is not None:
        r = bt[(bt["model"] == SELECTED) & (bt["horizon"] == 1) & bt["forecast"].notna()]
        from_bt = pd.DataFrame(
            {
                "period": r["period"],
                "forecast": r["forecast"],
                "source": "backtest",
                "model": SELECTED,
            }
        )
    f = _concat([from_ledger, from_bt], cols)
    f = f[f["period"].isin(y.index)].drop_duplicates("period", keep="first")
    parts = (
        _kpi_rows(f, y, {"forecast_accuracy": "accuracy", "forecast_bias": "bias"})
        if len(f)
        else []
    )
    if submissions is not None and len(submissions):
        sel = select_submissions(submissions, "before_period", ("commit",))
        sel = sel[sel["first_month"] == sel["last_month"]]
        sf = pd.DataFrame(
            {
                "period": sel["first_month"],
                "forecast": sel["submitted"],
                "source": "submissions",
                "model": sel["category"],
            }
        )
        sf = sf[sf["period"].isin(y.index)]
        if len(sf):
            parts += _kpi_rows(sf, y, {"submission_accuracy": "accuracy"})
    if history_months is not None and len(y):
        last = _month(month) if month is not None else y.index.max()
        grid = pd.period_range(end=last, periods=int(history_months), freq="M")
        grid = grid[grid.isin(y.index)].astype(str)
        names = ["forecast_accuracy", "forecast_bias"]
        names += ["submission_accuracy"] if submissions is not None else []
        have = _concat(parts, KPI_COLUMNS)
        full = pd.MultiIndex.from_product([names, grid], names=["metric", "period"]).to_frame(
            index=False
        )
        missing = full.merge(have[["metric", "period"]], how="left", indicator=True)
        missing = missing[missing["_merge"] == "left_only"].drop(columns="_merge")
        if len(missing):
            parts.append(
                missing.assign(
                    window="month",
                    segment="all",
                    value=np.nan,
                    source=None,
                    model=None,
                    forecast=np.nan,
                    actual=missing["period"].map(lambda p: y[pd.Period(p, "M")]).astype(float),
                )[KPI_COLUMNS]
            )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in KPI_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values(["metric", "period"], kind="stable").reset_index(drop=True)[KPI_COLUMNS]


def headline_accuracy(fkpis: pd.DataFrame, month: str | pd.Period) -> dict:
    """The one answer to "how good is our forecast?": accuracy over the last 12 months.

    ``1 - sum |A - F| / sum A`` over the months of the :data:`HEADLINE_MONTHS` up to
    ``month`` that have a ``forecast_accuracy`` row with a value (F the forecast made one
    month earlier, A the revenue: the same F and A as the monthly KPI), i.e. one minus the
    WAPE of the one-month-ahead forecasts. Needs :data:`HEADLINE_MIN_MONTHS` such months,
    else ``value`` is NaN.

    Returns
    -------
    dict
        ``value``, ``months`` (how many months counted), ``first``, ``last`` (``YYYY-MM``),
        ``source`` (``ledger``, ``backtest`` or ``ledger and backtest``).
    """
    m = _month(month)
    out = {"value": np.nan, "months": 0, "first": None, "last": None, "source": None}
    if fkpis is None or fkpis.empty:
        return out
    f = fkpis[(fkpis["metric"] == "forecast_accuracy") & fkpis["value"].notna()].copy()
    per = pd.PeriodIndex(f["period"].astype(str), freq="M")
    f = f[(per <= m) & (per > m - HEADLINE_MONTHS)]
    if len(f) < HEADLINE_MIN_MONTHS:
        return out | {"months": len(f)}
    w = wape(f["actual"].astype(float), f["forecast"].astype(float))
    sources = sorted(set(f["source"].dropna()))
    return {
        "value": 1 - w,
        "months": len(f),
        "first": str(f["period"].min()),
        "last": str(f["period"].max()),
        "source": " and ".join(sources),
    }
