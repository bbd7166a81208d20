"""A bottom-up forecast from the open pipeline, next to the statistical one.

For report month ``M`` (end = the last day of ``M``), months ``M+1 .. M+horizon``:

* **open pipeline**: the opportunities open at the end of ``M`` (``created_date <= end`` and
  not won or lost on or before ``end``, as in the pipeline KPIs of shared/spec/kpis.md),
  each contributing ``amount x win rate of its stage at the end of M`` to the month of its
  ``close_date`` (the expected close date). A deal whose expected close date is already past
  (on or before ``end``, still open) is counted in ``M+1``; a deal expected after
  ``M+horizon`` is not counted.
* **run rate**: deals created *and* won in the same month never appear in an open pipeline;
  each forecast month gets the mean monthly amount of such deals over the
  :data:`RUN_RATE_MONTHS` (6) months ending with ``M`` (from the first month with an
  opportunity when the data is shorter), months without any counted as 0.
* **total** = open pipeline + run rate.

Not counted: deals created after ``M`` and won in a later month than their creation month
(neither in the open pipeline nor in the run rate), so the forecast leans low for months
further out; the backtest shows by how much.

The stage at the end of ``M``: with ``stage_history``, the last stage entered on or before
``end`` (an opportunity whose first recorded stage was entered later takes that first stage;
one without history its current ``stage``); without it, the current ``stage``.

Stage win rates (:func:`stage_win_rates`), learned point in time from the opportunities
won or lost on or before ``end``:

* with ``stage_history``: for stage ``s``, the share won among closed opportunities that
  were ever in ``s`` (a stage_history row for ``s`` entered on or before ``end``), used when
  at least ``min_closed`` (default 5) such opportunities exist (``source`` ``learned``);
* otherwise, and always without ``stage_history`` (an opportunity's final stage says
  nothing about the stages a lost deal passed through): the team's
  ``stage_probabilities`` for ``s`` (``source`` ``params``), else the overall win rate
  ``won / (won + lost)`` of all opportunities closed by ``end`` (``source`` ``overall``).

What this forecasts is the value of won opportunities (bookings); it is revenue when revenue
comes from won opportunities (no orders table). Amounts and expected close dates are the
current ones: the data contract keeps no history of them, so :func:`pipeline_backtest`
uses the final amount and, for deals closed since, the actual close month (a known optimism
of that backtest, documented in its output's ``attrs["caveat"]``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesreport.periods import month_end
from salesreport.rules import CLOSED_STATUSES
from salesreport.tables import Tables

if TYPE_CHECKING:
    from salesreport.params import TeamParams

RUN_RATE_MONTHS = 6
MIN_CLOSED = 5
COMPONENTS = ("open pipeline", "run rate", "total")
CLOSED = CLOSED_STATUSES  # won or lost: salesreport.rules
#: the columns :func:`pipeline_forecast` and :func:`pipeline_backtest` read
COLUMNS = {
    "opportunities": ("opportunity_id", "created_date", "close_date", "stage", "status", "amount"),
    "stage_history": ("opportunity_id", "stage", "entered_date"),
}


def read_tables(tables: Tables) -> Tables:
    """The tables the pipeline forecast reads, with the columns it reads (:data:`COLUMNS`):
    a table not made a frame yet is made with those columns only, for this reader alone
    (:meth:`salesreport.tables.Tables.peek`), so the frames go when the forecast is made.

    ``opportunity_id`` is a number in both (:func:`coded_ids`): what the forecasts read of an
    id is only which rows share it. The forecasts are the same; the frames sent to the
    forecast process are smaller (EMEA at 200 times the sample, 0.76 M opportunities and
    3.6 M stage rows: that process's peak 745 -> 654 MB)."""
    frames = {name: tables.peek(name, cols) for name, cols in COLUMNS.items()}
    return Tables(**coded_ids(frames))


def coded_ids(frames: dict[str, pd.DataFrame | None]) -> dict[str, pd.DataFrame | None]:
    """``frames`` with ``opportunity_id`` as a number: the same id the same number across the
    frames (``0, 1, ...`` in order of first appearance), a missing id missing (NaN). Frames
    are not changed: coded copies are returned."""
    present = {n: f for n, f in frames.items() if f is not None and "opportunity_id" in f}
    if not present:
        return dict(frames)
    ids = pd.concat([f["opportunity_id"] for f in present.values()], ignore_index=True)
    codes, _ = pd.factorize(ids.astype(object))
    coded = np.where(codes >= 0, codes, np.nan)
    out, at = dict(frames), 0
    for name, f in present.items():
        out[name] = f.assign(opportunity_id=coded[at : at + len(f)])
        at += len(f)
    return out


def _month(value: str | pd.Period) -> pd.Period:
    return value if isinstance(value, pd.Period) else pd.Period(str(value), "M")


def _opportunities(tables: Tables) -> pd.DataFrame:
    opp = tables.opportunities
    if opp is None or opp.empty:
        raise ValueError("the pipeline forecast needs an opportunities table with rows")
    return opp


#: the columns :func:`open_at` reads (and the id)
OPEN_COLUMNS = ("opportunity_id", "created_date", "close_date", "status")


def open_at(opp: pd.DataFrame, end: pd.Timestamp) -> pd.Series:
    """Opportunities open at ``end``: created on or before it, not won/lost on or before it."""
    closed = opp["status"].isin(CLOSED) & (opp["close_date"] <= end)
    return (opp["created_date"] <= end) & ~closed


class _History:
    """``stage_history`` coded once against the opportunities (shared by one forecast's steps).

    ``opp_codes``: each opportunity row's id code (``n``, one past the last, for a missing
    id); ``codes``: each stage_history row's code of the same id (``n`` when no opportunity
    has it); per-code arrays have ``n + 1`` entries, the last for "no id"; ``order``:
    the history rows stably sorted by ``entered_date``, missing dates last (the order of
    ``sort_values("entered_date", kind="stable")``). The codes and the order are 32-bit
    integers below 2**31 rows (EMEA at 200 times the sample, 3.6 M history rows: the
    forecast's peak 655 -> 590 MB, the same results).
    """

    def __init__(self, opp: pd.DataFrame, sh: pd.DataFrame):
        self.sh = sh
        opp_codes, uniq = pd.factorize(opp["opportunity_id"])
        self.n = n = len(uniq)
        small = np.int32 if max(n, len(sh)) < np.iinfo(np.int32).max else np.int64
        self.opp_codes = np.where(opp_codes >= 0, opp_codes, n).astype(small)
        codes = pd.Index(uniq).get_indexer(sh["opportunity_id"])
        self.codes = np.where(codes >= 0, codes, n).astype(small)
        when = sh["entered_date"].to_numpy("datetime64[ns]").view(np.int64).copy()
        when[np.isnat(sh["entered_date"].to_numpy("datetime64[ns]"))] = np.iinfo(np.int64).max
        self.order = np.argsort(when, kind="stable").astype(small)

    def entered_by(self, end: pd.Timestamp) -> np.ndarray:
        """``True`` for the history rows entered on or before ``end``."""
        return (self.sh["entered_date"] <= end).to_numpy(bool)


def _pick(codes: np.ndarray, rows: np.ndarray, n: int, last: bool) -> np.ndarray:
    """For each code ``0..n-1``, the first (or ``last``) of ``rows`` with it, else ``-1``
    (``n + 1`` entries: the last, for "no id", is ``-1``)."""
    out = np.full(n + 1, -1, dtype=np.int64)
    if last:
        codes, rows = codes[::-1], rows[::-1]
    found, at = np.unique(codes, return_index=True)  # first occurrence of each code
    out[found] = rows[at]
    return out


def stage_at(tables: Tables, end: pd.Timestamp) -> pd.Series:
    """Each opportunity's stage at ``end`` (rules in the module docstring), on its index."""
    opp = _opportunities(tables)
    sh = tables.stage_history
    if sh is None or sh.empty:
        return opp["stage"].copy()
    return _stage_at(opp, _History(opp, sh), end)


def _stage_at(opp: pd.DataFrame, hist: _History, end: pd.Timestamp) -> pd.Series:
    """:func:`stage_at` from the coded history: per id, the last stage (in entered order)
    entered on or before ``end``, else its first stage, else the opportunity's ``stage``
    (a missing stage in the history never counts, as in ``groupby().last()/first()``)."""
    stage = hist.sh["stage"].to_numpy(object)
    usable = (hist.codes < hist.n) & pd.notna(stage)
    rows = hist.order[usable[hist.order]]  # usable history rows, in entered order
    first = _pick(hist.codes[rows], rows, hist.n, last=False)
    rows = rows[hist.entered_by(end)[rows]]
    known = _pick(hist.codes[rows], rows, hist.n, last=True)
    c = hist.opp_codes
    at = known[c]
    at = np.where(at < 0, first[c], at)
    values = np.where(at >= 0, stage[np.maximum(at, 0)], opp["stage"].to_numpy(object))
    return pd.Series(values, index=opp.index, name="opportunity_id", dtype=object)


def stage_win_rates(
    tables: Tables,
    month: str | pd.Period,
    params: TeamParams | None = None,
    min_closed: int = MIN_CLOSED,
    stages: list[str] | None = None,
    _hist: _History | None = None,
) -> pd.DataFrame:
    """Win rate per stage, learned from what was closed by the end of ``month``.

    Parameters
    ----------
    tables : Tables
        ``opportunities`` required; ``stage_history`` used when present.
    month : str or pandas.Period
        Only opportunities won or lost on or before the last day of this month count.
    params : TeamParams, optional
        Its ``stage_probabilities`` fill stages without enough closed history.
    min_closed : int
        Fewest closed opportunities ever in a stage for its learned rate to be used.
    stages : list of str, optional
        Stages to report besides those learned or configured (e.g. the open ones).
    _hist : _History, optional
        ``stage_history`` already coded against ``tables.opportunities`` (internal).

    Returns
    -------
    pandas.DataFrame
        ``stage, closed, won, win_rate, source`` (``learned``, ``params`` or ``overall``;
        ``win_rate`` empty with ``source`` ``none`` when nothing can be said), sorted by stage.
    """
    opp = _opportunities(tables)
    end = month_end(_month(month))
    is_closed = (opp["status"].isin(CLOSED) & (opp["close_date"] <= end)).to_numpy(bool)
    closed = opp[is_closed]
    n_closed = len(closed)
    overall = float((closed["status"] == "won").sum()) / n_closed if n_closed else np.nan
    sh = tables.stage_history
    if sh is not None and not sh.empty and _hist is not None and _unique_ids(closed):
        learned = _learned(closed, is_closed, _hist, end)
    elif sh is not None and not sh.empty:
        won = closed.set_index("opportunity_id")["status"].eq("won")
        ever = sh.loc[
            sh["opportunity_id"].isin(won.index) & (sh["entered_date"] <= end),
            ["opportunity_id", "stage"],
        ].drop_duplicates()
        ever["won"] = ever["opportunity_id"].map(won)
        learned = ever.groupby("stage").agg(closed=("won", "size"), won=("won", "sum"))
    else:
        learned = pd.DataFrame({"closed": pd.Series(dtype=int), "won": pd.Series(dtype=int)})
    probs = dict(params.stage_probabilities) if params is not None else {}
    names = sorted(set(learned.index) | set(probs) | set(stages or []))
    out = pd.DataFrame({"stage": names})
    out["closed"] = out["stage"].map(learned["closed"]).fillna(0).astype(int)
    out["won"] = out["stage"].map(learned["won"]).fillna(0).astype(int)
    use_learned = out["closed"] >= max(int(min_closed), 1)
    use_params = ~use_learned & out["stage"].isin(list(probs))
    use_overall = ~use_learned & ~use_params & np.isfinite(overall)
    out["win_rate"] = np.select(
        [use_learned, use_params, use_overall],
        [out["won"] / out["closed"].clip(lower=1), out["stage"].map(probs), overall],
        np.nan,
    ).astype(float)
    out["source"] = np.select(
        [use_learned, use_params, use_overall], ["learned", "params", "overall"], "none"
    )
    return out


def _unique_ids(closed: pd.DataFrame) -> bool:
    """The closed opportunities' ids are present and distinct (the coded path's condition)."""
    ids = closed["opportunity_id"]
    return bool(ids.notna().all()) and ids.is_unique


def _learned(
    closed: pd.DataFrame, is_closed: np.ndarray, hist: _History, end: pd.Timestamp
) -> pd.DataFrame:
    """Per stage: ``closed`` = distinct closed opportunities with a history row for it entered
    on or before ``end``, ``won`` = how many of them were won (index: the stages)."""
    won = np.full(hist.n + 1, -1, dtype=np.int64)  # per id code: -1 not closed, 0 lost, 1 won
    won[hist.opp_codes[is_closed]] = closed["status"].eq("won").to_numpy(np.int64)
    rows = np.flatnonzero((won[hist.codes] >= 0) & hist.entered_by(end))
    s_codes, names = pd.factorize(hist.sh["stage"].to_numpy(object)[rows])  # missing: -1
    rows, s_codes = rows[s_codes >= 0], s_codes[s_codes >= 0]
    ns = max(len(names), 1)
    pairs = np.sort(hist.codes[rows].astype(np.int64) * ns + s_codes)
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]][: len(pairs)]]  # distinct (id, stage)
    stage = pairs % ns
    n_closed = np.bincount(stage, minlength=len(names))
    n_won = np.bincount(stage, weights=won[pairs // ns], minlength=len(names))
    learned = pd.DataFrame(
        {"closed": n_closed.astype(np.int64), "won": n_won.astype(np.int64)},
        index=pd.Index(names, dtype=object, name="stage"),
    )
    return learned[learned["closed"] > 0]


def _run_rate(opp: pd.DataFrame, m: pd.Period, months: int) -> float:
    """Mean monthly amount of deals created and won in the same month, over ``months`` months."""
    first = opp["created_date"].min().to_period("M")
    start = max(m - (months - 1), first)
    if start > m:
        return 0.0
    created_m = opp["created_date"].dt.to_period("M")
    close_m = opp["close_date"].dt.to_period("M")
    same = (opp["status"] == "won") & (created_m == close_m) & (close_m >= start) & (close_m <= m)
    n = (m - start).n + 1
    return float(opp.loc[same, "amount"].sum()) / n


def _components(
    tables: Tables,
    m: pd.Period,
    horizon: int,
    params: TeamParams | None,
    run_rate_months: int,
    min_closed: int,
    hist: _History | None = None,
) -> pd.DataFrame:
    """Wide frame: index = forecast months, columns = COMPONENTS (``hist``: the coded
    stage history, made here when not given; the backtest codes it once for every origin)."""
    opp = _opportunities(tables)
    end = month_end(m)
    is_open = open_at(opp, end)
    sh = tables.stage_history
    if hist is None and sh is not None and not sh.empty:
        hist = _History(opp, sh)
    stage = (opp["stage"] if hist is None else _stage_at(opp, hist, end))[is_open]
    rates = stage_win_rates(
        tables, m, params, min_closed, sorted(stage.dropna().unique()), _hist=hist
    )
    rate = stage.map(rates.set_index("stage")["win_rate"])
    missing = sorted(stage[rate.isna()].dropna().unique().tolist())
    if missing:
        raise ValueError(
            f"no win rate for stages {missing} at the end of {m}: no opportunity was closed by "
            "then and the team's stage_probabilities do not name them. Add them to "
            "stage_probabilities in the team's YAML."
        )
    op = opp[is_open]
    close_m = op["close_date"].dt.to_period("M")
    close_m = close_m.where(close_m > m, m + 1)
    periods = pd.period_range(m + 1, periods=horizon, freq="M", name="period")
    expected = (op["amount"] * rate).groupby(close_m).sum()
    out = pd.DataFrame(index=periods)
    out["open pipeline"] = expected.reindex(periods, fill_value=0.0).astype(float)
    out["run rate"] = _run_rate(opp, m, run_rate_months)
    out["total"] = out["open pipeline"] + out["run rate"]
    return out


def pipeline_forecast(
    tables: Tables,
    month: str | pd.Period,
    horizon: int = 3,
    params: TeamParams | None = None,
    run_rate_months: int = RUN_RATE_MONTHS,
    min_closed: int = MIN_CLOSED,
) -> pd.DataFrame:
    """Forecast of won-opportunity value for ``month+1 .. month+horizon`` from the pipeline.

    Method in the module docstring. Only opportunities created on or before the end of
    ``month`` are read, and win rates use only what was closed by then.

    Parameters
    ----------
    tables : Tables
        ``opportunities`` required (dtypes as :mod:`salesreport.tables` states);
        ``stage_history`` optional.
    month : str or pandas.Period
        The report month.
    horizon : int
        Months to forecast (>= 1).
    params : TeamParams, optional
        ``stage_probabilities`` for stages without enough closed history.
    run_rate_months : int
        Months averaged for the run rate.
    min_closed : int
        See :func:`stage_win_rates`.

    Returns
    -------
    pandas.DataFrame
        ``period`` (``Period[M]``), ``component`` (``open pipeline``, ``run rate``,
        ``total``), ``value``; one row per month and component, by month then component.

    Raises
    ------
    ValueError
        No opportunities, ``horizon < 1``, or an open stage without any win rate.
    """
    if int(horizon) < 1:
        raise ValueError(f"horizon must be at least 1 month, got {horizon}")
    wide = _components(tables, _month(month), int(horizon), params, run_rate_months, min_closed)
    long = (
        wide.rename_axis("period")
        .reset_index()
        .melt(id_vars="period", var_name="component", value_name="value")
    )
    long["_c"] = long["component"].map({c: i for i, c in enumerate(COMPONENTS)})
    long = long.sort_values(["period", "_c"], kind="stable").drop(columns="_c")
    return long.reset_index(drop=True)


def pipeline_backtest(
    tables: Tables,
    months: list[str | pd.Period] | pd.PeriodIndex,
    horizon: int = 3,
    params: TeamParams | None = None,
    actuals: pd.Series | None = None,
    run_rate_months: int = RUN_RATE_MONTHS,
    min_closed: int = MIN_CLOSED,
) -> pd.DataFrame:
    """The pipeline forecast made from past origins, scored like the models' backtest.

    Needs ``stage_history``: each origin's open pipeline is taken in the stage each deal was
    in at the end of that origin month (point in time), and win rates are learned only from
    deals closed by then. The amount and, for deals closed since, the close month are the
    final ones (see the module docstring's caveat).

    Parameters
    ----------
    months : list of months
        The origins.
    actuals : pandas.Series, optional
        Monthly actuals on a ``PeriodIndex`` (default
        :func:`salesreport.revenue.monthly_revenue` of ``tables``). Only months in it are
        scored.

    Returns
    -------
    pandas.DataFrame
        ``model`` (``pipeline``), ``origin`` (``Period[M]``), ``horizon`` (1..), ``period``
        (``Period[M]``), ``actual``, ``forecast`` (the ``total`` component), as
        :func:`salesreport.forecast.backtest`; ``attrs["caveat"]`` states the optimism.

    Raises
    ------
    ValueError
        Without ``stage_history`` (a point-in-time pipeline cannot be rebuilt).
    """
    if tables.stage_history is None or tables.stage_history.empty:
        raise ValueError(
            "the pipeline backtest needs a stage_history table: without it the stage each deal "
            "was in at a past month is unknown"
        )
    if actuals is None:
        from salesreport.revenue import monthly_revenue

        actuals = monthly_revenue(tables)
    frames = []
    origins = sorted({_month(m) for m in months})
    # coded once: the same for every origin
    hist = _History(_opportunities(tables), tables.stage_history) if origins else None
    for origin in origins:
        wide = _components(tables, origin, int(horizon), params, run_rate_months, min_closed, hist)
        frames.append(
            pd.DataFrame(
                {
                    "model": "pipeline",
                    "origin": origin,
                    "horizon": np.arange(1, int(horizon) + 1),
                    "period": wide.index,
                    "forecast": wide["total"].to_numpy(),
                }
            )
        )
    cols = ["model", "origin", "horizon", "period", "actual", "forecast"]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    out = pd.concat(frames, ignore_index=True)
    out = out[out["period"].isin(actuals.index)].copy()
    out["actual"] = out["period"].map(actuals).astype(float)
    out = out[cols].reset_index(drop=True)
    out.attrs["caveat"] = (
        "amounts and close months are the final ones, not those known at the origin: the "
        "pipeline backtest is optimistic"
    )
    return out
