"""Lead and activity metrics (shared/spec/kpis.md, "Leads and activity", and ``referrals``).

Leads belong to the window containing their ``created_date``; activities to the window
containing their ``timestamp``. Activities are segmented by ``owner_id=<rep_id>`` and, with a
reps table, by ``region`` = the rep's ``reps.region`` (the table has no segment column of its
own; the region split lets OKRs with ``spokes: region`` grade activity key results).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.kpis.catalogue import ACTIVITY_TYPES
from salesreport.kpis.core import (
    FAR,
    Win,
    blank_before,
    col_months,
    day_numbers,
    div,
    employed,
    first_month,
    long_frame,
    memo,
    month_end_day,
    rows_for_labels,
    segment_codes,
    stocks_at,
    window_sums,
)
from salesreport.params import TeamParams
from salesreport.tables import Tables, closed_leads, filled


def lead_metrics(
    tables: Tables, windows: pd.DataFrame, params: TeamParams, segment_col: str | None = None
) -> pd.DataFrame:
    """``leads_created``, ``lead_to_opportunity_ratio``, ``lead_conversion_rate``,
    ``average_lead_age_days``.

    * leads_created: leads with ``created_date`` in P;
    * lead_to_opportunity_ratio: of those, the share with a non-empty ``opportunity_id``;
    * lead_conversion_rate: of those, the share with ``converted_date`` on or before the last
      day of the report month (the last window's end);
    * average_lead_age_days: at the last day L of the window's last month, the mean of
      ``L - created_date`` (days) over leads with ``created_date <= L``, no ``converted_date``
      on or before L, and a status not in :data:`salesreport.tables.CLOSED_LEAD_STATUSES` (nor starting with
      "closed"); a lead with status ``converted`` and a ``converted_date`` counts as open
      until that date (the status is dated by it); other closed statuses carry no date and
      exclude the lead at every month end.

    Counts and ages are empty for windows ending before the first ``created_date`` month.
    """
    win = Win.of(windows)
    leads = tables.leads
    created, c_ok = col_months(leads, "created_date")
    d0 = first_month(created, c_ok)
    months = np.where(c_ok, created, -FAR)
    codes, labels = segment_codes(leads, segment_col)
    n_seg = len(labels)
    report_end = win.end_day.max()
    has_opp = (
        memo("lead_opp", (leads,), lambda: filled(leads["opportunity_id"]).astype(float))
        if "opportunity_id" in leads.columns
        else np.zeros(len(leads))
    )
    if "converted_date" in leads.columns:
        conv_day = day_numbers(leads["converted_date"])
        conv_m, conv_ok = col_months(leads, "converted_date")
    else:
        conv_day = np.full(len(leads), np.nan)
        conv_m, conv_ok = np.zeros(len(leads), np.int64), np.zeros(len(leads), bool)
    converted = (conv_day <= report_end).astype(float)
    n, n_opp, n_conv = window_sums(codes, n_seg, months, [None, has_opp, converted], win.s, win.e)

    closed = memo("closed_leads", (leads,), lambda: closed_leads(leads))
    first = np.where(c_ok & ~closed, created, FAR)
    stop = np.where(conv_ok, conv_m, FAR)
    created_day = np.nan_to_num(day_numbers(leads["created_date"]))
    n_open, day_sum = stocks_at(codes, n_seg, first, stop, [None, created_day], win.e)
    age_sum = n_open * month_end_day(win.e)[None, :] - day_sum
    values = {
        "leads_created": blank_before(n, win.e, d0),
        "lead_to_opportunity_ratio": div(n_opp, n),
        "lead_conversion_rate": div(n_conv, n),
        "average_lead_age_days": blank_before(div(age_sum, n_open), win.e, d0),
    }
    return long_frame(win, labels, values)


def _is_referral(source: pd.Series) -> np.ndarray:
    """True where ``source`` is ``referral`` (stripped, any case)."""
    codes, uniq = pd.factorize(source.to_numpy(object))
    hit = (
        pd.Series(uniq, dtype=object).astype(str).str.strip().str.lower() == "referral"
    ).to_numpy()
    return (codes >= 0) & (hit[np.maximum(codes, 0)] if len(uniq) else False)


def referral_metrics(
    tables: Tables, windows: pd.DataFrame, params: TeamParams, segment_col: str | None = None
) -> pd.DataFrame:
    """``referrals``: leads created in P whose ``source`` is ``referral`` (stripped, any case);
    with no leads table, opportunities created in P with that ``source``.

    Empty for windows ending before the first ``created_date`` month of the table used; no
    rows at all when the opportunities (used for lack of leads) have no ``source`` column.
    """
    win = Win.of(windows)
    df = tables.leads if tables.leads is not None else tables.opportunities
    if "source" not in df.columns:
        return long_frame(win, [], {})
    created, c_ok = col_months(df, "created_date")
    d0 = first_month(created, c_ok)
    is_ref = memo("referral", (df,), lambda: _is_referral(df["source"]))
    codes, labels = segment_codes(df, segment_col)
    (n,) = window_sums(
        codes, len(labels), np.where(c_ok & is_ref, created, -FAR), [None], win.s, win.e
    )
    return long_frame(win, labels, {"referrals": blank_before(n, win.e, d0)})


def _rep_region(act: pd.DataFrame, reps: pd.DataFrame) -> pd.DataFrame:
    """One column ``region``: each activity's rep's ``reps.region`` (first row per rep)."""
    first = reps.drop_duplicates("rep_id", keep="first").set_index("rep_id")["region"]
    return pd.DataFrame({"region": act["rep_id"].map(first).to_numpy(object)})


def activity_metrics(
    tables: Tables, windows: pd.DataFrame, params: TeamParams, segment_col: str | None = None
) -> pd.DataFrame:
    """``calls``, ``emails``, ``meetings``, ``linkedin``, ``proposals`` (activities of type
    call / email / meeting / linkedin / proposal with ``timestamp`` in P) and, with a reps
    table, ``activities_per_rep``: all activities in P / reps of any role employed in P
    (``hire_date`` <= last day of P and ``leave_date`` empty or >= first day of P).

    ``segment_col`` may be ``owner_id`` (the activity's ``rep_id``; for ``owner_id=X``,
    activities_per_rep is X's activities / 1 when X is employed in P, else empty) or
    ``region`` (the rep's ``reps.region``, ``(none)`` for a rep not in the reps table;
    activities_per_rep = the region's activities / reps of that region employed in P).
    Counts are empty for windows ending before the first ``timestamp`` month.
    """
    win = Win.of(windows)
    act = tables.activities
    ts, ok = col_months(act, "timestamp")
    d0 = first_month(ts, ok)
    months = np.where(ok, ts, -FAR)
    reps = tables.reps
    if segment_col == "region":
        if reps is None or "region" not in reps.columns:
            return long_frame(win, [], {})
        # the activity's region is its rep's region (reps.region; unknown rep: (none))
        lookup = memo("act_region", (act, reps), lambda: _rep_region(act, reps))
        codes, labels = segment_codes(lookup, "region")
    else:
        column = "rep_id" if segment_col == "owner_id" else None
        codes, labels = segment_codes(act, segment_col, column)
    type_codes, type_names = memo(
        "act_types", (act,), lambda: pd.factorize(act["type"].to_numpy(object))
    )
    values_in = [None]
    names = list(ACTIVITY_TYPES)
    for typ in ACTIVITY_TYPES.values():
        hit = np.flatnonzero(np.asarray(type_names, dtype=object) == typ)
        values_in.append((type_codes == hit[0]).astype(float) if len(hit) else np.zeros(len(act)))
    sums = window_sums(codes, len(labels), months, values_in, win.s, win.e)
    total = sums[0]
    values = {name: blank_before(v, win.e, d0) for name, v in zip(names, sums[1:], strict=True)}
    if reps is not None:
        hire = day_numbers(reps["hire_date"])
        leave = (
            day_numbers(reps["leave_date"])
            if "leave_date" in reps.columns
            else np.full(len(reps), np.nan)
        )
        emp = employed(hire, leave, win.start_day, win.end_day)
        if segment_col is None:
            n_emp = emp.sum(axis=0)[None, :].astype(float)
        elif segment_col == "region":
            r_codes, r_labels = segment_codes(reps, "region")
            per_label = np.zeros((len(r_labels), len(win)))
            np.add.at(per_label, r_codes, emp.astype(float))
            pos = pd.Index(r_labels).get_indexer(labels)
            n_emp = np.where(pos[:, None] >= 0, per_label[np.maximum(pos, 0)], 0.0)
        else:
            n_emp = rows_for_labels(emp, reps["rep_id"], labels)
        values["activities_per_rep"] = blank_before(div(total, n_emp), win.e, d0)
    return long_frame(win, labels, values)
