"""The domain rules, each in one place, as Ibis expressions.

Every KPI of the catalogue (:mod:`salesreport.kpis.catalogue`) and every table that states
the same thing is built from these rules, so that "open", "won", "employed" or "an AE" mean
the same on every page and in every file. Each rule takes Ibis tables or columns of the
engine's tables (contract columns, contract types: :mod:`salesreport.engine`) and returns an
Ibis expression; none runs a query.

Time is counted in whole months and days so that every engine computes the same integers:

* a *month ordinal* is months since January 1970 (``pandas.Period(..., "M").ordinal``):
  :func:`month_of`;
* a *day number* is days since 1970-01-01: :func:`day_of`.

Rules (the wording of ``docs/kpis.md``):

* **won / lost / closed**: ``status`` ``won`` / ``lost`` / either (:func:`is_won`,
  :func:`is_lost`, :func:`is_closed`). "Closed in P" is closed with ``close_date`` in P.
* **open at the end of a month** k: created on or before its last day and not closed on or
  before it; in months, ``created month <= k < close month`` for a closed opportunity and
  ``created month <= k`` for an open one (:func:`open_months`).
* **stage at the end of a month**: with stage history, the last stage entered on or before
  that day (several in one month: the latest ``entered_date``, then the later row of the
  file); before its first entry, the first stage it entered; without history rows, its
  ``stage`` column (:func:`stage_runs`).
* **employed in a window** [first day, last day]: ``hire_date`` on or before the last day and
  ``leave_date`` empty or on or after the first day (:func:`employed`). Employed *at* a day:
  the window of that one day.
* **role**: the ``role`` text, trimmed, lower case, spaces and hyphens as ``_``, then the
  aliases of :data:`ROLE_ALIASES` (``account executive`` is an ``ae``) (:func:`has_role`).
* **touches**: activities of type ``call``, ``email`` or ``linkedin``; ``meeting`` is a
  meeting booked, ``proposal`` a proposal sent (:data:`ACTIVITY_TYPES`, :data:`TOUCH_TYPES`).
* **closed lead**: a status in :data:`CLOSED_LEAD_STATUSES` or starting with ``closed``
  (trimmed, any case); ``converted`` with a ``converted_date`` is dated by it, so it is not
  closed before that day (:func:`lead_closed`).
* **referral**: ``source`` ``referral`` (trimmed, any case) (:func:`is_referral`).
* **contract length**: ``contract_months`` where it is above 0, else 12
  (:func:`contract_months`).

The pages' tables (:mod:`salesreport.analysis`) and the pipeline forecast work on small
pandas frames at a date: their "open at a date" and "stage at a date"
(:func:`salesreport.forecast.pipeline_forecast.open_at` and ``stage_at``) use the statuses
defined here, and a property test (``tests/test_rules.py``) holds them equal to
:func:`open_months` and :func:`stage_runs` at every month end on random pipelines. The
loader's point-in-time cut (:mod:`salesreport.data.pit`) uses the same statuses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ibis.expr.types as ir

#: a month ordinal later than any real date ("never"); and before any ("always")
FAR = 10**7

#: the segment column of a rep's rows: a KPI row of rep R012 has segment ``owner_id=R012``
REP_SEGMENT = "owner_id"

WON, LOST, OPEN = "won", "lost", "open"
CLOSED_STATUSES = (WON, LOST)

#: the contract's activity types by KPI name
ACTIVITY_TYPES = {
    "calls": "call",
    "emails": "email",
    "meetings": "meeting",
    "linkedin": "linkedin",
    "proposals": "proposal",
}
#: the activity types that count as a touch (an SDR reaching out)
TOUCH_TYPES = ("call", "email", "linkedin")

#: role names (normalised: trimmed, lower case, spaces and hyphens as ``_``) by role
ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "ae": ("ae", "account_executive"),
    "sdr": (
        "sdr",
        "sales_development_representative",
        "bdr",
        "business_development_representative",
    ),
    "manager": ("manager", "sales_manager"),
}

#: lead statuses that take a lead out of the open leads (trimmed, lower case; any status
#: starting with "closed" counts too)
CLOSED_LEAD_STATUSES = (
    "converted",
    "closed",
    "disqualified",
    "unqualified",
    "lost",
    "dead",
    "junk",
    "rejected",
)


# --------------------------------------------------------------------------- time


def month_of(d: ir.Value) -> ir.IntegerValue:
    """Months since January 1970 of a date or timestamp (NULL stays NULL), a 64-bit integer."""
    return ((d.year().cast("int64") - 1970) * 12 + d.month().cast("int64") - 1).cast("int64")


def months(value: int) -> ir.IntegerValue:
    """A month ordinal (or :data:`FAR`) as a 64-bit literal, to combine with :func:`month_of`."""
    import ibis

    return ibis.literal(int(value), type="int64")


def day_of(d: ir.DateValue) -> ir.IntegerValue:
    """Days since 1970-01-01 of a date, a 64-bit integer."""
    return d.epoch_days().cast("int64")


def month_or(d: ir.Value, default: int) -> ir.IntegerValue:
    """:func:`month_of`, ``default`` where the date is missing."""
    return month_of(d).fill_null(months(default))


def flag(condition: ir.BooleanValue) -> ir.IntegerValue:
    """1 where ``condition`` holds, else 0 (NULL counts as not): a column to count by summing
    (every engine sums integers; PostgreSQL does not cast a boolean to an integer)."""
    import ibis

    return ibis.ifelse(condition.fill_null(False), 1, 0).cast("int64")


def exact_type(places: int = 12) -> str:
    """The decimal type :func:`total` adds in, with ``places`` places."""
    return f"decimal(38, {places})"


#: the type :func:`total` adds money in (a running total kept exact: :func:`total`'s reasons)
EXACT = exact_type()


def total(value: ir.NumericValue, places: int = 12) -> ir.FloatingValue:
    """The sum of ``value``, computed exactly (in decimals with ``places`` places, up to
    10^(38 - places)) and returned as a float: the same bits whatever order an engine adds
    the rows in, on every run and every engine. A float sum over rows split between threads
    differs in its last bits from run to run; a report re-run must give the same bytes.
    Money takes 12 places (sums up to 10^26); rates and means of rates 18 (up to 10^20)."""
    return value.cast(exact_type(places)).sum().cast("float64")


def mean(value: ir.NumericValue) -> ir.FloatingValue:
    """The mean of the non-empty values, from an exact :func:`total` with 18 places (values
    up to 10^20 in sum: rates, monthly means); empty when there is none."""
    import ibis

    n = value.count()
    return ibis.ifelse(n > 0, total(value, 18) / n.cast("float64"), ibis.null("float64"))


# --------------------------------------------------------------------------- opportunities


def is_won(opp: ir.Table) -> ir.BooleanValue:
    return opp.status == WON


def is_lost(opp: ir.Table) -> ir.BooleanValue:
    return opp.status == LOST


def is_closed(opp: ir.Table) -> ir.BooleanValue:
    return opp.status.isin(CLOSED_STATUSES)


def open_months(opp: ir.Table) -> tuple[ir.IntegerValue, ir.IntegerValue]:
    """``(first, stop)`` month ordinals: open at the end of month k iff ``first <= k < stop``.

    No ``created_date``: never open; not closed (or no ``close_date``): open for good.
    """
    import ibis

    first = month_or(opp.created_date, FAR)
    stop = ibis.ifelse(
        is_closed(opp) & opp.close_date.notnull(), month_of(opp.close_date), months(FAR)
    )
    return first, stop


def contract_months(opp: ir.Table) -> ir.FloatingValue:
    """``contract_months`` as a float, 12 where the column or the value is absent or not above 0."""
    import ibis

    if "contract_months" not in opp.columns:
        return ibis.literal(12.0)
    cm = opp.contract_months.cast("float64")
    return ibis.ifelse(cm.notnull() & (cm > 0), cm, 12.0)


def stage_runs(opp: ir.Table, history: ir.Table | None) -> ir.Table:
    """Runs of month ends in one stage: ``_row`` (the opportunity's row), ``stage``,
    ``p_first``, ``p_stop`` (the stage holds at the end of month k for ``p_first <= k <
    p_stop``). Rules in the module docstring.

    ``opp`` and ``history`` carry ``_row`` (their file order). A history row whose
    ``opportunity_id`` is the id of several opportunities belongs to the first of them.
    """
    import ibis

    base = opp.select("_row", "stage", p_first=months(-FAR), p_stop=months(FAR))
    if history is None:
        return base
    owner = opp.group_by("opportunity_id").agg(row=opp._row.min())
    h = history.filter(history.entered_date.notnull())
    h = h.join(owner, "opportunity_id").select(
        row="row", stage=h.stage, entered=h.entered_date, seq=h._row, m=month_of(h.entered_date)
    )
    by_time = ibis.window(group_by="row", order_by=["entered", "seq"])
    h = h.mutate(
        n=ibis.row_number().over(by_time),
        last_of_month=ibis.row_number().over(
            ibis.window(group_by=["row", "m"], order_by=[ibis.desc("entered"), ibis.desc("seq")])
        ),
    )
    first = h.filter(h.n == 0)
    kept = h.filter(h.last_of_month == 0)
    kept = kept.mutate(
        p_stop=kept.m.lead().over(ibis.window(group_by="row", order_by="m")).fill_null(months(FAR))
    )
    runs = ibis.union(
        first.select(_row="row", stage="stage", p_first=months(-FAR), p_stop="m"),
        kept.select(_row="row", stage="stage", p_first="m", p_stop="p_stop"),
        distinct=False,
    )
    with_history = runs.select(r="_row").distinct()
    rest = base.anti_join(with_history, base._row == with_history.r)
    return ibis.union(runs, rest, distinct=False)


# --------------------------------------------------------------------------- reps


#: runs of these in a role are one ``_`` (``Account Executive``, ``account-executive``)
ROLE_SEPARATORS = r"[\s\-]+"


def normalised_role(role: ir.StringValue) -> ir.StringValue:
    return role.strip().lower().re_replace(ROLE_SEPARATORS, "_")


def has_role(reps: ir.Table, role: str) -> ir.BooleanValue:
    """The rep's ``role`` is ``role`` or one of its aliases (:data:`ROLE_ALIASES`)."""
    return normalised_role(reps.role).isin(ROLE_ALIASES.get(role, (role,)))


def employed(reps: ir.Table, first_day, last_day) -> ir.BooleanValue:
    """Employed at some point in [``first_day``, ``last_day``] (dates or date expressions)."""
    hired = reps.hire_date <= last_day
    if "leave_date" not in reps.columns:
        return hired
    return hired & (reps.leave_date.isnull() | (reps.leave_date >= first_day))


def employed_days(hire_day, leave_day, first_day, last_day):
    """:func:`employed` on day numbers (``leave_day`` NULL while employed)."""
    return (hire_day <= last_day) & (leave_day.isnull() | (leave_day >= first_day))


# --------------------------------------------------------------------------- leads, activities


def lead_closed(leads: ir.Table) -> ir.BooleanValue:
    """Closed by its status (module docstring); a dated ``converted`` status is not."""
    status = leads.status.strip().lower()
    closed = status.isin(CLOSED_LEAD_STATUSES) | status.startswith("closed")
    closed = closed.fill_null(False)
    if "converted_date" in leads.columns:
        closed = closed & ~((status == "converted") & leads.converted_date.notnull()).fill_null(
            False
        )
    return closed


def has_text(value: ir.StringValue) -> ir.BooleanValue:
    """A text value that is present and not blank (an optional link such as a lead's
    ``opportunity_id``)."""
    return value.notnull() & (value.cast("string").strip() != "")


def is_referral(source: ir.StringValue) -> ir.BooleanValue:
    return (source.strip().lower() == "referral").fill_null(False)


def is_type(activities: ir.Table, type_: str) -> ir.BooleanValue:
    return (activities.type == type_).fill_null(False)
