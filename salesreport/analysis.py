"""Operational analyses for the audience reports (frames in, frames out; no plotting).

An opportunity is open at a date when it was created on or before it and not
won or lost on or before it; its stage then is the last stage entered by that
date (:func:`salesreport.forecast.pipeline_forecast.stage_at`).

Each function documents which dates put a row in the month and what it
excludes. ``month`` is the report month (``YYYY-MM``); tables are already cut
to it (point in time) by the loader.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from salesreport.forecast.pipeline_forecast import COLUMNS, OPEN_COLUMNS, open_at, stage_at
from salesreport.periods import month_end, month_period, month_start
from salesreport.tables import Tables, closed_leads, filled

if TYPE_CHECKING:
    from salesreport.params import TeamParams


def _bounds(month: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    p = month_period(month)
    return month_start(p), month_end(p)


def pipeline_by_stage(
    tables: Tables, month: str, stage_order: list[str] | None = None
) -> pd.DataFrame:
    """Open pipeline at the end of ``month`` by stage and expected close month.

    Columns ``stage``, ``close_month`` (``YYYY-MM``; overdue expected dates count
    in the report month), ``value`` (sum of ``amount``), ``count``.
    """
    opps = tables.peek("opportunities", COLUMNS["opportunities"])  # what open_at, stage_at read
    _, end = _bounds(month)
    opened = opps.loc[open_at(opps, end)]
    df = opened[["opportunity_id", "close_date", "amount"]].copy()
    if df.empty:  # no open deal (an AE without any opportunity yet, say)
        return pd.DataFrame(
            {"stage": [], "close_month": [], "value": pd.Series(dtype=float), "count": []}
        )
    # a deal's stage at the end comes from its own history rows: only the open deals' are read
    history = tables.rows_with(
        "stage_history", "opportunity_id", df["opportunity_id"], COLUMNS["stage_history"]
    )
    df["stage"] = stage_at(Tables(opportunities=opened, stage_history=history), end)
    close = df["close_date"].where(df["close_date"] >= month_start(month_period(month)), end)
    df["close_month"] = close.dt.to_period("M").astype(str)
    out = df.groupby(["stage", "close_month"], as_index=False).agg(
        value=("amount", "sum"), count=("amount", "size")
    )
    if stage_order:
        rank = {s: i for i, s in enumerate(stage_order)}
        out["_r"] = out["stage"].map(rank).fillna(len(rank))
        out = out.sort_values(["_r", "close_month"], kind="stable").drop(columns="_r")
    return out.reset_index(drop=True)


def deals_needing_attention(
    tables: Tables, month: str, stalled_days: int = 30, no_activity_days: int = 14
) -> pd.DataFrame:
    """Open deals at the end of ``month`` that a manager should look at, one row per deal.

    Reasons: *close date passed* (expected ``close_date`` before the end of the
    month, still open); *stalled* (in its current stage for more than
    ``stalled_days``, needs stage history); *no activity* (no activity linked to
    the deal in the last ``no_activity_days``, needs activities with
    ``opportunity_id``). Sorted by amount, largest first.
    """
    cols = ["opportunity_id", "account_id", "owner_id", "stage", "amount", "close_date"]
    opps = tables.peek("opportunities", [*cols, *OPEN_COLUMNS])
    _, end = _bounds(month)
    df = opps.loc[open_at(opps, end)].copy()
    reasons: dict[str, list[str]] = {oid: [] for oid in df["opportunity_id"]}
    for oid in df.loc[df["close_date"] < end, "opportunity_id"]:
        reasons[oid].append("close date passed")
    sh = tables.rows_with(
        "stage_history", "opportunity_id", reasons, ["opportunity_id", "entered_date"]
    )
    if sh is not None and len(sh):
        h = sh[sh["entered_date"] <= end]
        entered = h.groupby("opportunity_id")["entered_date"].max()
        days = (end - entered).dt.days
        for oid, d in days[days > stalled_days].items():
            reasons[oid].append(f"{int(d)} days in stage")
    # only the activities of the last no_activity_days days can clear a deal
    cutoff = end + pd.Timedelta(days=1) - pd.Timedelta(days=no_activity_days)
    act = tables.rows_in(
        "activities",
        "timestamp",
        cutoff,
        end + pd.Timedelta(days=1),
        ["opportunity_id", "timestamp"],
    )
    if act is not None and "opportunity_id" in act.columns:
        a = act[act["opportunity_id"].isin(reasons)]
        last = a.groupby("opportunity_id")["timestamp"].max()
        for oid in df["opportunity_id"]:
            t = last.get(oid)
            if t is None or t < cutoff:
                reasons[oid].append(f"no activity in {no_activity_days} days")
    df["reasons"] = df["opportunity_id"].map(lambda o: "; ".join(reasons[o]))
    df = df[df["reasons"] != ""]
    cols = [*cols, "reasons"]
    return df.sort_values("amount", ascending=False, kind="stable")[cols].reset_index(drop=True)


def converted_leads(leads: pd.DataFrame, end: pd.Timestamp) -> pd.Series | None:
    """Leads converted by ``end``: with an ``opportunity_id`` (a lead becomes an opportunity),
    or, when the table has no such column, with a ``converted_date`` on or before ``end``.
    ``None`` when the table has neither optional column (nothing tells a converted lead)."""
    if "opportunity_id" in leads.columns:
        return pd.Series(filled(leads["opportunity_id"]), index=leads.index)
    if "converted_date" in leads.columns:
        return leads["converted_date"] <= end
    return None


def open_leads(leads: pd.DataFrame, end: pd.Timestamp) -> pd.Series:
    """Leads open at ``end`` (the open-lead age KPI's rule, docs/kpis.md): created on or before
    ``end``, no ``converted_date`` on or before it, and a status that is not a closed one
    (:func:`salesreport.tables.closed_leads`)."""
    mask = (leads["created_date"] <= end) & ~closed_leads(leads)
    if "converted_date" in leads.columns:
        mask &= ~(leads["converted_date"] <= end)
    return mask


def funnel(tables: Tables, month: str, months: int = 12) -> pd.DataFrame:
    """Lead → opportunity → won over the ``months`` months ending with ``month``.

    Leads by ``created_date``; opportunities by ``created_date``; won deals by
    ``close_date``. "Leads converted": of the leads created, those converted by the end
    of ``month`` (:func:`converted_leads`). Columns ``step``, ``count``. Steps whose table
    (or, for converted leads, whose optional columns) are absent are left out.
    """
    p = month_period(month)
    start, end = month_start(p - (months - 1)), month_end(p)
    rows = []
    if tables.has("leads"):
        leads = tables.peek("leads", ["created_date", "opportunity_id", "converted_date"])
        created = leads[leads["created_date"].between(start, end)]
        rows.append(("Leads created", len(created)))
        converted = converted_leads(created, end)
        if converted is not None:
            rows.append(("Leads converted", int(converted.sum())))
    if tables.has("opportunities"):
        o = tables.peek("opportunities", ["created_date", "status", "close_date"])
        rows.append(("Opportunities created", int(o["created_date"].between(start, end).sum())))
        won = (o["status"] == "won") & o["close_date"].between(start, end)
        rows.append(("Deals won", int(won.sum())))
    return pd.DataFrame(rows, columns=["step", "count"])


#: the stage of a won or lost deal without stage history before its close
NO_STAGE = "(no stage history)"


def _is_closed_stage(stage: pd.Series) -> pd.Series:
    """Stage names that are outcomes, not stages: ``Closed Won``, ``Closed Lost``, ``closed``
    (a missing stage is not). Each distinct name is looked at once (millions of history rows
    share a few names)."""
    codes, names = pd.factorize(stage.to_numpy(object))
    closed = pd.Series(names, dtype=object).astype(str).str.strip().str.lower()
    closed = np.append(closed.str.startswith("closed").to_numpy(bool), False)
    return pd.Series(closed[codes], index=stage.index)  # code -1 (missing): the False after


def _nan_quantile(values: np.ndarray, q: float) -> float:
    """The ``q`` quantile of ``values`` without the missing ones, interpolated linearly as
    pandas' ``quantile`` does; missing when none is left."""
    values = values[~np.isnan(values)]
    return float(np.quantile(values, q)) if len(values) else np.nan


def stage_conversion(
    tables: Tables, month: str, months: int = 12, stage_order=None
) -> pd.DataFrame:
    """Where deals go from each open stage, and how long they stay, over the ``months``
    months ending with ``month``.

    Stages whose name starts with "closed" are outcomes, not stages. Per open stage:

    * ``entered``: entries into the stage dated in the window (stage history);
    * ``moved_on``: moves out of it in the window into a later open stage (its next entry,
      dated in the window; later in ``stage_order``, a stage not in it counting as later);
      ``moved_back``: into an earlier one;
    * ``won`` / ``lost``: opportunities won / lost with ``close_date`` in the window, each
      at the last open stage it entered on or before its close date (``(no stage
      history)`` when it has none), so a deal lost from Proposal counts in Proposal's
      ``lost``, never as moved on. Summed over the stages these are the window's deals won
      and lost (the ``deals_won`` and ``deals_lost`` KPIs over the trailing 12 months), and
      won / (won + lost) is its win rate;
    * ``conversion`` = (moved_on + won) / (moved_on + won + lost): of the deals that left
      the stage forward or closed from it, the share that moved on or were won (empty when
      none did);
    * ``median_days``, ``p75_days``: days from an entry in the window to the deal's next
      entry (entries not left by the end of ``month`` excluded).

    Rows in ``stage_order`` (others after, then ``(no stage history)``).
    """
    sh = tables.peek("stage_history", ["opportunity_id", "stage", "entered_date"])
    if sh is None or not len(sh):
        raise ValueError("stage conversion needs the stage_history table")
    p = month_period(month)
    start, end = month_start(p - (months - 1)), month_end(p)
    # Each deal and each stage name as a number (-1: missing), the entries up to the end of
    # the window in deal and date order (ties in the table's order): millions of history
    # rows are a few arrays of numbers, not frames of text (the 200x sample's 3.6M rows).
    kept = (sh["entered_date"] <= end).to_numpy()
    deal, deals = pd.factorize(sh["opportunity_id"].to_numpy(object)[kept])
    stage, names = pd.factorize(sh["stage"].to_numpy(object)[kept])
    when = sh["entered_date"].to_numpy("datetime64[ns]")[kept]
    del sh
    by_deal = np.lexsort((when, deal))
    deal, stage, when = deal[by_deal], stage[by_deal], when[by_deal]
    # per stage name (and -1, missing, last): an outcome? its place in stage_order
    closed = np.append(_is_closed_stage(pd.Series(names, dtype=object)).to_numpy(bool), False)
    order = list(stage_order or [])
    rank = {s: i for i, s in enumerate(order)}
    rank_of = np.array([rank.get(n, len(rank)) for n in names] + [len(rank)])
    # the deal's next entry, if any (an entry of a missing deal has none)
    has_next = np.zeros(len(deal), bool)
    has_next[:-1] = (deal[1:] == deal[:-1]) & (deal[:-1] >= 0)
    next_stage = np.full(len(deal), -1)
    next_stage[:-1] = stage[1:]
    next_stage[~has_next] = -1
    next_when = np.full(len(deal), np.datetime64("NaT"), "datetime64[ns]")
    next_when[:-1] = when[1:]
    next_when[~has_next] = np.datetime64("NaT")
    # the next entry is an open stage (a move), not an outcome, a missing stage or nothing
    next_open = (next_stage >= 0) & ~closed[next_stage]
    opened = ~closed[stage]
    start64, end64 = start.to_datetime64(), end.to_datetime64()
    in_window = (when >= start64) & (when <= end64)
    moves = (next_when >= start64) & (next_when <= end64) & next_open
    forward = moves & (rank_of[next_stage] > rank_of[stage])
    back = moves & (rank_of[next_stage] < rank_of[stage])
    days = np.full(len(deal), np.nan)  # whole days to the next entry (pandas' .dt.days)
    timed = in_window & has_next
    days[timed] = (next_when[timed] - when[timed]) // np.timedelta64(1, "D")
    # per open stage named in the history (sorted by name, as a group-by gives them)
    rows = opened & (stage >= 0)
    stages = sorted(set(names[np.unique(stage[rows])]))
    code_of = {n: i for i, n in enumerate(names)}
    counted = {"entered": in_window, "moved_on": forward, "moved_back": back}
    of = [rows & (stage == code_of[n]) for n in stages]
    out = pd.DataFrame(
        {
            **{
                col: np.array([flags[m].sum() for m in of], dtype=np.int64)
                for col, flags in counted.items()
            },
            "median_days": np.array([_nan_quantile(days[m], 0.5) for m in of], dtype=float),
            "p75_days": np.array([_nan_quantile(days[m], 0.75) for m in of], dtype=float),
        },
        index=pd.Index(stages, dtype=object, name="stage"),
    )
    # outcomes: every deal won or lost in the window, at its last open stage by its close
    o = tables.peek("opportunities", ["opportunity_id", "status", "close_date"])
    if o is not None and len(o):
        ended = o[o["status"].isin(["won", "lost"]) & o["close_date"].between(start, end)]
        code = pd.Index(deals).get_indexer(ended["opportunity_id"].to_numpy(object))
        # each deal's close (the latest, should a deal be listed twice), as nanoseconds
        close_at = np.full(len(deals) + 1, np.iinfo(np.int64).min)
        ns = ended["close_date"].to_numpy("datetime64[ns]").view(np.int64)
        np.maximum.at(close_at, code[code >= 0], ns[code >= 0])
        # an open, named stage entered on or before the deal's close
        before = rows & (deal >= 0) & (when.view(np.int64) <= close_at[deal])
        last = np.flatnonzero(before)
        last = last[np.append(deal[last][1:] != deal[last][:-1], True)[: len(last)]]  # per deal
        stage_at = np.full(len(deals) + 1, -1)  # and -1 (no history) last
        stage_at[deal[last]] = stage[last]
        named = np.append(np.asarray(names, dtype=object), NO_STAGE)
        where = np.where(code >= 0, stage_at[code], -1)
        outcome = pd.crosstab(pd.Series(named[where], index=ended.index), ended["status"]).reindex(
            columns=["won", "lost"], fill_value=0
        )
        out = out.join(outcome, how="outer")
    for col in ("entered", "moved_on", "moved_back", "won", "lost"):
        out[col] = (out[col] if col in out else pd.Series(0, index=out.index)).fillna(0)
        out[col] = out[col].astype(int)
    left = out["moved_on"] + out["won"] + out["lost"]
    out["conversion"] = ((out["moved_on"] + out["won"]) / left).where(left > 0)
    out = out.rename_axis("stage").reset_index()
    key = out["stage"].map(rank).fillna(len(rank)) + (out["stage"] == NO_STAGE)
    out = out.assign(_r=key).sort_values(["_r"], kind="stable").drop(columns="_r")
    cols = ["stage", "entered", "moved_on", "moved_back", "won", "lost", "conversion",
            "median_days", "p75_days"]  # fmt: skip
    return out[cols].reset_index(drop=True)


def pipeline_waterfall(tables: Tables, month: str) -> pd.DataFrame:
    """How open pipeline value moved during ``month``.

    ``Open at start`` (open at the end of the previous month) + ``Created``
    (created in the month) − ``Won`` − ``Lost`` (closed in the month, of any age)
    = ``Open at end``. Also ``Slipped``: open at the end although its expected
    close date fell in the month; ``Advanced``: open at the end and entered a stage in the
    month (any time on its last day) after its creation, a stage that is not an outcome
    (:func:`_is_closed_stage`, as in the stage conversion; stage history only). Slipped and
    advanced are shown beside the bridge, not in it.
    """
    o = tables.peek("opportunities", [*OPEN_COLUMNS, "amount"])
    start, end = _bounds(month)
    before = start - pd.Timedelta(days=1)
    in_m = o["close_date"].between(start, end)
    rows = [
        ("Open at start", float(o.loc[open_at(o, before), "amount"].sum())),
        ("Created", float(o.loc[o["created_date"].between(start, end), "amount"].sum())),
        ("Won", -float(o.loc[in_m & (o["status"] == "won"), "amount"].sum())),
        ("Lost", -float(o.loc[in_m & (o["status"] == "lost"), "amount"].sum())),
    ]
    open_end = open_at(o, end)
    rows.append(("Open at end", float(o.loc[open_end, "amount"].sum())))
    rows.append(("Slipped", float(o.loc[open_end & in_m, "amount"].sum())))
    # the month's entries only (any time on its last day), into a stage that is not an outcome
    columns = ["opportunity_id", "stage", "entered_date"]
    moved = tables.rows_in(
        "stage_history", "entered_date", start, end + pd.Timedelta(days=1), columns
    )
    if moved is not None and (len(moved) or len(tables.peek("stage_history", ["entered_date"]))):
        moved = moved[~_is_closed_stage(moved["stage"])]
        first = o.set_index("opportunity_id")["created_date"]
        moved = moved[moved["entered_date"] > moved["opportunity_id"].map(first)]
        ids = moved["opportunity_id"].unique()
        rows.append(
            ("Advanced", float(o.loc[o["opportunity_id"].isin(ids) & open_end, "amount"].sum()))
        )
    return pd.DataFrame(rows, columns=["step", "value"])


def _activities_in(tables: Tables, month: str, columns: list[str]) -> pd.DataFrame | None:
    """The activities whose ``timestamp`` falls in ``month`` (any time on its last day), with
    ``columns`` (:meth:`salesreport.tables.Tables.rows_in`: a page reads only those rows and
    columns of a large table); ``None`` without an activities table."""
    start, end = _bounds(month)
    return tables.rows_in("activities", "timestamp", start, end + pd.Timedelta(days=1), columns)


def activity_by_rep(tables: Tables, month: str, reps: pd.DataFrame | None = None) -> pd.DataFrame:
    """Activities per rep and type in ``month`` (by ``timestamp``). Columns rep, rep_id, type, count."""
    a = _activities_in(tables, month, ["rep_id", "type"])
    if a is None:
        raise ValueError("activity needs the activities table")
    out = a.groupby(["rep_id", "type"], as_index=False).size().rename(columns={"size": "count"})
    names = rep_names(tables)
    out["rep"] = out["rep_id"].map(names).fillna(out["rep_id"])
    return out[["rep", "rep_id", "type", "count"]]


def fold_columns(wide: pd.DataFrame, order: list, most: int, rest: str) -> pd.DataFrame:
    """``wide``'s columns in ``order``; beyond ``most`` of them, the first ``most - 1`` and
    the others summed into one column named ``rest`` (a table stays readable)."""
    order = list(order)
    if len(order) <= most:
        return wide[order]
    keep, folded = order[: most - 1], order[most - 1 :]
    return wide[keep].assign(**{rest: wide[folded].sum(axis=1)})


#: activity types in the order tables show them: touches, then meetings, then proposals
ACTIVITY_ORDER = ("call", "email", "linkedin", "meeting", "proposal")


def team_activity(tables: Tables, month: str, max_types: int = 5) -> pd.DataFrame:
    """Every rep's activities in ``month`` (by ``timestamp``), one column per type.

    Rows: each rep who logged an activity in the month and, with a reps table, each
    account executive and SDR (``role`` ``ae`` or ``sdr``) employed at some point in the
    month (:func:`employed`) who logged none, with zeros: a manager coaching the team
    needs to see who is quiet, not only who is busy. Columns: ``rep_id``, ``rep``
    (:func:`rep_names`), ``role`` (with a reps table; empty for a rep it does not list),
    the types in :data:`ACTIVITY_ORDER` that occur in the month, any other type after
    them by volume (beyond ``max_types`` type columns the smallest are summed into
    ``other``), and ``total``. Sorted by total, busiest first, then by rep. No rows when
    nobody logged anything and no AE or SDR was employed.
    """
    a = activity_by_rep(tables, month)
    wide = a.pivot_table(index="rep_id", columns="type", values="count", aggfunc="sum")
    wide = wide.fillna(0).astype(int)
    known = [t for t in ACTIVITY_ORDER if t in wide.columns]
    others = wide.drop(columns=known).sum().sort_values(ascending=False, kind="stable")
    wide = fold_columns(wide, known + others.index.tolist(), max_types, "other")
    types = list(wide.columns)
    ids = set(wide.index)
    if tables.reps is not None:
        ids |= set(employed(tables, month, "ae")) | set(employed(tables, month, "sdr"))
    out = wide.reindex(sorted(ids), fill_value=0)
    out.index.name, out.columns.name = "rep_id", None
    out["total"] = out[types].sum(axis=1).astype(int)
    out = out.reset_index()
    out.insert(1, "rep", out["rep_id"].map(rep_names(tables)).fillna(out["rep_id"]))
    if tables.reps is not None and "role" in tables.reps.columns:
        roles = tables.reps.drop_duplicates("rep_id").set_index("rep_id")["role"]
        out.insert(2, "role", out["rep_id"].map(roles).fillna("").astype(str))
    order = np.lexsort((out["rep"].to_numpy(str), -out["total"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def account_executives(tables: Tables, month: str) -> list[str]:
    """The account executives who get their own page (``per_rep: true``), sorted by id.

    With a reps table: ``role`` ``ae`` or an alias (:func:`_has_role`) and employed at some
    point in ``month`` (:func:`employed`: a rep who left in 2023 gets no page in 2026). Without one: every ``owner_id`` with an opportunity open at
    the end of the month or closed (won or lost) in it.
    """
    start, end = _bounds(month)
    if tables.reps is not None:
        return employed(tables, month, "ae")
    if tables.has("opportunities"):
        o = tables.peek("opportunities", [*OPEN_COLUMNS, "owner_id"])
        closed_in = o["status"].isin(["won", "lost"]) & o["close_date"].between(start, end)
        ids = o.loc[open_at(o, end) | closed_in, "owner_id"]
        return sorted(ids.dropna().astype(str).unique())
    return []


def _has_role(reps: pd.DataFrame, role: str) -> pd.Series:
    """Rows of the reps table whose ``role`` is ``role`` or one of its aliases, by the rule of
    :func:`salesreport.rules.has_role` (trimmed, any case, spaces and hyphens as ``_``)."""
    from salesreport.rules import ROLE_ALIASES, ROLE_SEPARATORS

    norm = reps["role"].astype("string").str.strip().str.lower()
    norm = norm.str.replace(ROLE_SEPARATORS, "_", regex=True)
    return norm.isin(ROLE_ALIASES.get(role, (role,))).fillna(False).astype(bool)


def employed(tables: Tables, month: str, role: str) -> list[str]:
    """Reps of ``role`` (case-insensitive) employed at some point in ``month``, sorted, by the
    rule of :func:`salesreport.rules.employed` that the KPIs use: ``hire_date`` on/before its
    last day (an unknown hire date is not employed; the loader drops such rows, the column
    being required), ``leave_date`` empty or on/after its first day. A frame without a
    ``hire_date`` column (made by hand in a notebook) counts every rep as hired. Empty without
    a reps table."""
    r = tables.reps
    if r is None:
        return []
    start, end = _bounds(month)
    hired = r["hire_date"] <= end if "hire_date" in r else pd.Series(True, index=r.index)
    left = r["leave_date"] if "leave_date" in r else pd.Series(pd.NaT, index=r.index)
    keep = _has_role(r, role) & hired & (left.isna() | (left >= start))
    return sorted(r.loc[keep, "rep_id"].dropna().astype(str).unique())


def rep_label(tables: Tables, rep_id: str) -> str:
    """``"Grace Kelly (R0291)"``, or the id alone when the reps table has no name for it."""
    name = _names(tables.reps, "rep_id", unique=False).get(rep_id)
    return f"{name} ({rep_id})" if isinstance(name, str) and name and name != rep_id else rep_id


def rep_activity(tables: Tables, month: str, rep_id: str) -> pd.DataFrame:
    """One rep's activities in ``month`` by type beside the team's per-rep median.

    Columns ``type``, ``count`` (this rep), ``team_median`` (median over the reps
    who logged at least one activity of any type in the month, a rep without that
    type counting 0; with a reps table, only reps of the same ``role``, so an AE
    is not set against SDRs' call volumes) and ``reps`` (how many reps that median
    is over). Every type logged by those reps in the month appears; types in the
    contract's order first.
    """
    a = activity_by_rep(tables, month)
    r = tables.reps
    if r is not None and rep_id in set(r["rep_id"]):
        role = r.loc[r["rep_id"] == rep_id, "role"].astype(str).str.lower().iloc[0]
        peers = set(r.loc[r["role"].astype(str).str.lower() == role, "rep_id"])
        a = a[a["rep_id"].isin(peers)]
    if a.empty:
        return pd.DataFrame(columns=["type", "count", "team_median", "reps"])
    wide = a.pivot_table(index="rep_id", columns="type", values="count", aggfunc="sum")
    wide = wide.fillna(0)
    order = ["call", "email", "linkedin", "meeting", "proposal"]
    types = [t for t in order if t in wide.columns] + sorted(c for c in wide if c not in order)
    mine = wide.loc[rep_id] if rep_id in wide.index else pd.Series(0.0, index=wide.columns)
    return pd.DataFrame(
        {
            "type": types,
            "count": [int(mine[t]) for t in types],
            "team_median": [float(wide[t].median()) for t in types],
            "reps": len(wide),
        }
    )


def _names(frame: pd.DataFrame | None, key: str, unique: bool = True) -> pd.Series:
    """``key`` -> the row's ``name`` (first row per key; the key itself where the name is
    empty); empty without the table or its ``name`` column.

    With ``unique``, a name that two or more keys share gets its key in brackets
    (``"Grace de Vries (R0336)"``, ``"Grace de Vries (R0354)"``): tables and charts label
    rows by name, and two people must never read, or be grouped, as one.
    """
    if frame is None or "name" not in frame.columns:
        return pd.Series(dtype=object)
    f = frame.drop_duplicates(key).set_index(key)
    ids = pd.Series(f.index.astype(str), index=f.index)
    names = f["name"].where(f["name"].astype(str).str.strip() != "").fillna(ids).astype(str)
    if unique:
        shared = names.duplicated(keep=False) & (names != ids)
        names = names.where(~shared, names + " (" + ids + ")")
    return names


def rep_names(tables: Tables) -> pd.Series:
    """``rep_id`` -> the rep's name (the id where it is empty); a name two reps share
    carries the id in brackets."""
    return _names(tables.reps, "rep_id")


def account_names(tables: Tables) -> pd.Series:
    """``account_id`` -> the account's optional ``name`` (the id where it is empty); a name
    two accounts share carries the id in brackets."""
    return _names(tables.peek("accounts", ["account_id", "name"]), "account_id")


def bookings_leaderboard(
    tables: Tables, month: str, params: TeamParams | None = None
) -> pd.DataFrame:
    """Per account executive employed in the month: won bookings month and year to date
    against quota.

    Bookings = sum of ``amount`` of won opportunities by ``close_date``. Quota YTD = the
    rep's monthly ``revenue`` targets over the fiscal year to date, each month resolved by
    the KPI engine's rules (:mod:`salesreport.kpis.targets`: the targets table and the YAML;
    a month's row, else its quarter's / 3, else its year's / 12), summed over the months
    that have one (a rep hired during the year is measured from then on; ``kpis.csv``'s
    ``owner_id`` ``ytd`` target, a window's target, is empty unless every month has one). ``attainment`` = YTD bookings / YTD quota. Also deals won YTD, win rate YTD
    (won / (won + lost) closed YTD) and open pipeline at the end of the month. With a reps
    table the rows are the AEs of :func:`account_executives` (role ``ae`` or an alias,
    employed at some point in the month); without one, every owner.
    """
    from salesreport.periods import fiscal_year_start

    fy_start = params.fiscal_year_start_month if params is not None else 1
    o = tables.peek("opportunities", [*OPEN_COLUMNS, "owner_id", "amount"])
    p = month_period(month)
    ms, end = _bounds(month)
    ys = month_start(fiscal_year_start(p, fy_start))
    ytd = o["close_date"].between(ys, end)
    won = o["status"] == "won"
    lost = o["status"] == "lost"
    g = pd.DataFrame(
        {
            "bookings_month": o.loc[won & o["close_date"].between(ms, end)]
            .groupby("owner_id")["amount"]
            .sum(),
            "bookings_ytd": o.loc[won & ytd].groupby("owner_id")["amount"].sum(),
            "deals_won_ytd": o.loc[won & ytd].groupby("owner_id").size(),
            "deals_lost_ytd": o.loc[lost & ytd].groupby("owner_id").size(),
            "pipeline_open": o.loc[open_at(o, end)].groupby("owner_id")["amount"].sum(),
        }
    ).fillna(0.0)
    denom = g["deals_won_ytd"] + g["deals_lost_ytd"]
    g["win_rate_ytd"] = (g["deals_won_ytd"] / denom).where(denom > 0)
    if tables.reps is not None:
        g = g[g.index.isin(account_executives(tables, month))]
    g["quota_ytd"] = _quota(tables, params, list(g.index), fiscal_year_start(p, fy_start), p)
    g["attainment"] = (g["bookings_ytd"] / g["quota_ytd"]).where(g["quota_ytd"] > 0)
    g.index.name = "owner_id"
    g = g.reset_index()
    g.insert(1, "rep", g["owner_id"].map(rep_names(tables)).fillna(g["owner_id"]))
    return g.sort_values("bookings_ytd", ascending=False, kind="stable").reset_index(drop=True)


def _quota(tables: Tables, params, reps: list, first: pd.Period, last: pd.Period) -> np.ndarray:
    """Each rep's ``revenue`` target summed over the months ``first`` to ``last`` that have
    one, each month resolved as the KPI engine resolves it
    (:func:`salesreport.kpis.targets.monthly_target_matrix`); NaN when no month has one."""
    from salesreport.kpis.targets import monthly_target_matrix, target_rows
    from salesreport.params import TeamParams
    from salesreport.rules import REP_SEGMENT

    if not reps:
        return np.full(0, np.nan)
    rows = target_rows(tables, params if params is not None else TeamParams(team="quota"))
    fy_start = params.fiscal_year_start_month if params is not None else 1
    labels = [f"{REP_SEGMENT}={r}" for r in reps]
    months = monthly_target_matrix(rows, "revenue", labels, first.ordinal, last.ordinal, fy_start)
    # the months with a quota (a rep hired in the year has quota from then on); none: NaN
    has = ~np.isnan(months)
    return np.where(has.any(axis=1), np.nansum(months, axis=1), np.nan)


def sdr_table(tables: Tables, month: str) -> pd.DataFrame:
    """Per SDR in ``month``: calls, emails, LinkedIn requests, meetings (activities by timestamp),
    leads created in the month and, of those, converted by its end (:func:`converted_leads`;
    the column is absent when the leads table cannot tell), meeting rate (meetings / (calls +
    emails + linkedin)) and the mean age in days at month end of the SDR's open leads
    (:func:`open_leads`, the rule of the ``average_lead_age_days`` KPI).

    With a reps table the rows are the SDRs (``role`` sdr) employed in the month
    plus any SDR who logged an activity or created a lead in it (an SDR who left
    years ago does not fill the table with zeros); without one, every rep with
    activity or leads. Counts are integers."""
    start, end = _bounds(month)
    rows = []
    a = _activities_in(tables, month, ["rep_id", "type", "activity_id"])
    if a is not None:
        pv = a.pivot_table(
            index="rep_id", columns="type", values="activity_id", aggfunc="count", fill_value=0
        )
        rows.append(pv.reindex(columns=["call", "email", "linkedin", "meeting"], fill_value=0))
    if tables.has("leads"):
        cols = ["created_date", "owner_id", "opportunity_id", "converted_date", "status"]
        lds = tables.peek("leads", cols)
        in_month = lds["created_date"].between(start, end)
        lm = lds[in_month]
        counts = {"leads_created": lm.groupby("owner_id").size()}
        converted = converted_leads(lm, end)
        if converted is not None:
            counts["leads_converted"] = lm[converted.to_numpy(bool)].groupby("owner_id").size()
        rows.append(pd.DataFrame(counts))
        open_ = lds[open_leads(lds, end)]
        rows.append(
            pd.DataFrame(
                {
                    "lead_age_days": (end - open_["created_date"])
                    .dt.days.groupby(open_["owner_id"])
                    .mean()
                }
            )
        )
    if not rows:
        raise ValueError("the SDR view needs the activities or leads table")
    out = pd.concat(rows, axis=1)
    out.index.name = "rep_id"
    if tables.reps is not None:
        # SDRs employed in the month, and any SDR who logged activity or created leads in it
        r = tables.reps.drop_duplicates("rep_id").set_index("rep_id")
        sdrs = r.index[_has_role(r, "sdr")]
        busy = out.drop(columns=["lead_age_days"], errors="ignore").fillna(0).sum(axis=1) > 0
        now = set(employed(tables, month, "sdr"))
        out = out[out.index.isin(sdrs) & (out.index.isin(now) | busy)]
        out = out.reindex(out.index.union(pd.Index(sorted(now), name=out.index.name)))
    counts = [c for c in out.columns if c not in ("lead_age_days", "meeting_rate")]
    out[counts] = out[counts].fillna(0).astype(int)
    if {"call", "email", "linkedin", "meeting"} <= set(out.columns):
        touches = out["call"] + out["email"] + out["linkedin"]
        out["meeting_rate"] = (out["meeting"] / touches).where(touches > 0)
    out = out.reset_index()
    out.insert(1, "rep", out["rep_id"].map(rep_names(tables)).fillna(out["rep_id"]))
    sort = "meeting" if "meeting" in out.columns else out.columns[-1]
    return out.sort_values(sort, ascending=False, kind="stable").reset_index(drop=True)


def sdr_funnel(tables: Tables, month: str) -> pd.DataFrame:
    """The SDR team's month as a funnel: touches -> meetings booked -> opportunities.

    The SDRs: reps with ``role`` sdr (case-insensitive) with a reps table, else the owners
    of leads. Steps, each left out when its data is absent:

    * ``Touches``: their calls, emails and LinkedIn requests in ``month`` (activities by
      ``timestamp``);
    * ``Meetings booked``: their ``meeting`` activities in ``month``;
    * ``Opportunities from their leads``: opportunities created in ``month`` whose id is the
      ``opportunity_id`` of a lead an SDR owns (needs opportunities and that optional leads
      column); without both, ``Leads converted``: their leads with a ``converted_date`` in
      ``month``.

    Columns ``step``, ``count``.
    """
    start, end = _bounds(month)
    if tables.reps is not None:
        sdrs = set(tables.reps.loc[_has_role(tables.reps, "sdr"), "rep_id"])
    else:
        leads = tables.peek("leads", ["owner_id"])
        sdrs = set(leads["owner_id"].dropna()) if leads is not None else set()
    rows = []
    a = _activities_in(tables, month, ["rep_id", "type"])
    if a is not None:
        a = a[a["rep_id"].isin(sdrs)]
        kind = a["type"].astype(str).str.lower()
        rows.append(("Touches", int(kind.isin(["call", "email", "linkedin"]).sum())))
        rows.append(("Meetings booked", int((kind == "meeting").sum())))
    if tables.has("leads"):
        lds = tables.peek("leads", ["owner_id", "opportunity_id", "converted_date"])
        lds = lds[lds["owner_id"].isin(sdrs)]
        opps = tables.peek("opportunities", ["created_date", "opportunity_id"])
        if opps is not None and "opportunity_id" in lds.columns:
            ids = set(lds["opportunity_id"].dropna().astype(str))
            new = opps["created_date"].between(start, end) & opps["opportunity_id"].isin(ids)
            rows.append(("Opportunities from their leads", int(new.sum())))
        elif "converted_date" in lds.columns:
            rows.append(("Leads converted", int(lds["converted_date"].between(start, end).sum())))
    return pd.DataFrame(rows, columns=["step", "count"])


def lost_reasons(tables: Tables, month: str, months: int = 12) -> pd.DataFrame:
    """Lost deals by ``lost_reason`` over the ``months`` months to ``month`` (by ``close_date``).

    Columns ``lost_reason`` (missing shown as "(not given)"), ``deals``, ``value``, ``share``.
    """
    o = tables.peek("opportunities", ["status", "close_date", "amount", "lost_reason"])
    if o is None or "lost_reason" not in o.columns:
        raise ValueError("win/loss reasons need the opportunities table's lost_reason column")
    p = month_period(month)
    start, end = month_start(p - (months - 1)), month_end(p)
    lost = o[(o["status"] == "lost") & o["close_date"].between(start, end)]
    out = (
        lost.assign(lost_reason=lost["lost_reason"].fillna("(not given)"))
        .groupby("lost_reason", as_index=False)
        .agg(deals=("amount", "size"), value=("amount", "sum"))
    )
    out["share"] = out["deals"] / out["deals"].sum() if len(out) else []
    return out.sort_values("deals", ascending=False, kind="stable").reset_index(drop=True)
