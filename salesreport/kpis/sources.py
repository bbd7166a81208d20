"""The semantic models: the relations KPIs are measured on, built from the domain rules.

Each source is one relation of the engine, one row per thing counted (an order, an
opportunity, a run of months in which an opportunity is open in one stage, a lead, an
activity, a rep, a customer's month of purchases), with

* the columns its measures read (amounts, day numbers, flags from :mod:`salesreport.rules`);
* the month ordinals that place a row in a period (``m`` for flows) or bound the month ends
  at which it is alive (``first``, ``stop`` for stocks);
* ``seg``: the segment label. A source is *long*: each row appears once per segment column
  it is split by, labelled ``all`` or ``col=value`` (``col=(none)`` where the value is
  missing), so one query groups every segment at once.

:class:`Source` also names the month its data starts (``start``): windows ending before it
are empty ("the data does not reach them"), and the segment columns it offers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from salesreport import rules

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from salesreport.engine import Engine
    from salesreport.params import TeamParams

#: segment columns ``kpis.csv`` splits by, where the metric's source table has them
SEGMENT_COLUMNS = ("owner_id", "source", "segment", "product", "region")
NONE_LABEL = "(none)"
#: columns taken from the accounts table when the purchase rows lack them
ACCOUNT_COLUMNS = ("segment", "region", "industry", "country")


@dataclass
class Source:
    """A relation to measure, long over its segment columns (module docstring).

    ``rows``: the relation with ``seg`` and the measure columns; ``labels``: every segment
    label it has (a window with no row of a label still gets a row for it); ``start``: the
    first month of its data (``None``: no data, every window empty; not set: never empty
    by data start).
    """

    name: str
    rows: ir.Table
    labels: ir.Table | None
    segments: tuple[str | None, ...]
    start: ir.Scalar | None = None
    more_labels: ir.Table | None = None
    #: the column counting the rows each row of ``rows`` stands for (:func:`grouped`), or
    #: ``None``: each row is one thing counted
    weight: str | None = None


def label(value: ir.Value | None, column: str | None) -> ir.StringValue:
    """``all`` for the team, ``col=value`` for a segment (``col=(none)`` when missing)."""
    import ibis

    if column is None:
        return ibis.literal("all")
    return ibis.literal(f"{column}=") + value.cast("string").fill_null(NONE_LABEL)


def long_rows(
    t: ir.Table, columns: list[str | None], keep: list[str], source: dict[str, str] | None = None
) -> ir.Table:
    """``t`` once per segment column (``None``: the team), with ``seg`` and the ``keep``
    columns. ``source`` maps a segment column to the data column holding it."""
    import ibis

    source = source or {}
    parts = [
        t.select(seg=label(t[source.get(c, c)] if c else None, c), **{k: t[k] for k in keep})
        for c in columns
    ]
    return parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)


def grouped(
    t: ir.Table,
    columns: list[str | None],
    month: str,
    sums: tuple[str, ...] = (),
    source: dict[str, str] | None = None,
) -> ir.Table:
    """``t``'s rows grouped by the data columns of the segments and ``month``: ``n`` (how many
    rows) and the total of each integer column of ``sums`` (exact), for a source whose measures
    are counts and sums placed by ``month`` (flows). Made long over its segments afterwards,
    it has a row per label and month where there was a row per thing (EMEA's activities at
    200 times the sample: 0.6 M rows instead of 11.4 M), and the same totals to the last bit.
    The rows without a ``month`` keep a group: their labels stay."""
    source = source or {}
    by = list(dict.fromkeys([source.get(c, c) for c in columns if c is not None] + [month]))
    return t.group_by(by).agg(n=t.count(), **{name: t[name].sum() for name in sums})


def _present(t: ir.Table, allowed=SEGMENT_COLUMNS) -> list[str]:
    return [c for c in allowed if c in t.columns]


# --------------------------------------------------------------------------- revenue


def revenue_rows(engine: Engine) -> ir.Table:
    """The rows that make revenue: orders (``date`` = ``order_date``) or, with no orders
    table, won opportunities (``date`` = ``close_date``); every other column kept."""
    if engine.has("orders"):
        o = engine.table("orders")
        return o.mutate(date=o.order_date)
    opp = engine.table("opportunities")
    won = opp.filter(rules.is_won(opp))
    return won.mutate(date=won.close_date)


def revenue_table_columns(engine: Engine) -> list[str]:
    """Columns of the table revenue is read from (orders, else every opportunity)."""
    return engine.columns("orders" if engine.has("orders") else "opportunities")


def revenue(engine: Engine, columns: list[str | None]) -> Source:
    r = revenue_rows(engine)
    r = r.mutate(m=rules.month_of(r.date), amount=r.amount.cast("float64"))
    rows = long_rows(r, columns, ["m", "amount"])
    return Source("revenue", rows, None, tuple(columns), start=r.m.min())


# --------------------------------------------------------------------------- opportunities


def opportunities(engine: Engine, columns: list[str | None]) -> Source:
    """Every opportunity: ``close_m``, ``created_m``, ``won``/``lost``/``closed`` flags,
    ``amount``; for won ones (0 otherwise) ``won_amount``, ``won_acv`` (amount x 12 / contract
    months), ``won_cycle`` (close - created, days); ``mrr_first``/``mrr_stop`` (the month ends
    a won contract covers) and ``mrr_amount``."""
    import ibis

    o = engine.table("opportunities")
    cm = rules.contract_months(o)
    won = rules.is_won(o)
    o = o.mutate(
        close_m=rules.month_of(o.close_date),
        created_m=rules.month_of(o.created_date),
        won=rules.flag(won),
        lost=rules.flag(rules.is_lost(o)),
        amount=o.amount.cast("float64"),
        acv_amount=o.amount * 12.0 / cm,
        cycle=(rules.day_of(o.close_date) - rules.day_of(o.created_date)).cast("float64"),
        mrr_amount=o.amount / cm,
        mrr_first=ibis.ifelse(
            won & o.close_date.notnull(), rules.month_of(o.close_date), rules.months(rules.FAR)
        ),
    )
    o = o.mutate(
        mrr_stop=o.mrr_first + cm.cast("int64"),
        closed=o.won + o.lost,
        won_amount=ibis.ifelse(won, o.amount, 0.0),
        won_acv=ibis.ifelse(won, o.acv_amount, 0.0),
        won_cycle=ibis.ifelse(won, o.cycle.fill_null(0.0), 0.0),
    )
    keep = ["close_m", "created_m", "won", "lost", "closed", "amount", "won_amount", "won_acv",
            "won_cycle", "mrr_amount", "mrr_first", "mrr_stop"]  # fmt: skip
    rows = long_rows(o, columns, keep)
    return Source("opportunities", rows, None, tuple(columns), start=o.created_m.min())


def open_runs(engine: Engine, params: TeamParams) -> ir.Table:
    """The runs of month ends in which an opportunity is open in one stage: ``_row``,
    ``stage`` (at those month ends), ``first``, ``stop`` (open there for ``first <= k <
    stop``), ``amount`` and ``weighted`` (amount x probability).

    Probability at a month end: the row's ``probability`` only where it describes the
    opportunity at that day (still open at the report month and then in the stage it has
    now), else the team's ``stage_probabilities`` of the stage it was in (none configured:
    it adds nothing).
    """
    import ibis

    o = engine.table("opportunities")
    history = engine.table("stage_history") if engine.has("stage_history") else None
    runs = rules.stage_runs(o, history)
    first, stop = rules.open_months(o)
    opp = o.mutate(o_first=first, o_stop=stop)
    keep = ["_row", "o_first", "o_stop", "amount", "status", "o_stage"]
    opp = opp.mutate(o_stage=opp.stage)
    has_p = "probability" in o.columns
    if has_p:
        keep.append("probability")
    opp = opp.select(*keep)
    j = runs.join(opp, "_row")
    j = j.mutate(first=ibis.greatest(j.o_first, j.p_first), stop=ibis.least(j.o_stop, j.p_stop))
    j = j.filter(j.first < j.stop)
    by_stage = (
        ibis.cases(
            *[(j.stage == s, float(p)) for s, p in params.stage_probabilities.items()],
            else_=ibis.null("float64"),
        )
        if params.stage_probabilities
        else ibis.null("float64")
    )
    if has_p:
        current = (j.status == rules.OPEN) & (j.stage == j.o_stage)
        prob = ibis.ifelse(
            current.fill_null(False) & j.probability.notnull(), j.probability, by_stage
        )
    else:
        prob = by_stage
    return j.select(
        "_row", "stage", "first", "stop",
        amount=j.amount.cast("float64"),
        weighted=(j.amount * prob).fill_null(0.0),
    )  # fmt: skip


def pipeline(engine: Engine, params: TeamParams, columns: list[str | None]) -> Source:
    """Open runs (:func:`open_runs`), split by the opportunity's segment columns and by
    ``stage`` (the stage at each month end)."""
    o = engine.table("opportunities")
    runs = open_runs(engine, params)
    cols = [c for c in columns if c not in (None, "stage")]
    if cols:
        runs = runs.join(o.select("_row", *[o[c].name(f"_seg_{c}") for c in cols]), "_row")
    if len(columns) > 1:  # computed once, not once per segment column of the long rows
        runs = engine.materialize(runs, "runs")
    source = {c: f"_seg_{c}" for c in cols}
    rows = long_rows(runs, columns, ["first", "stop", "amount", "weighted"], source)
    # labels: the stage column's values too (a stage no run is in, e.g. a closed stage)
    created = opportunities_labels(engine, columns)
    start = rules.month_of(o.created_date).min()
    return Source("pipeline", rows, None, tuple(columns), start=start, more_labels=created)


def opportunities_labels(engine: Engine, columns: list[str | None]) -> ir.Table:
    o = engine.table("opportunities")
    return long_rows(o, columns, []).select("seg").distinct()


def coverage(engine: Engine, columns: list[str | None]) -> Source:
    """Opportunities at the month before their close month (``m``), when created by then:
    the value open at the end of month k with ``close_date`` in month k + 1."""
    o = engine.table("opportunities")
    close_m = rules.month_of(o.close_date)
    o = o.mutate(m=close_m - 1, created_m=rules.month_of(o.created_date))
    o = o.filter(o.created_m.notnull() & o.m.notnull() & (o.created_m <= o.m))
    o = o.mutate(amount=o.amount.cast("float64"))
    rows = long_rows(o, columns, ["m", "amount"])
    return Source("coverage", rows, opportunities_labels(engine, columns), tuple(columns))


# --------------------------------------------------------------------------- leads, activities


def leads(engine: Engine, columns: list[str | None], report_end_day: int) -> Source:
    """Every lead: ``m`` (created month), ``has_opp``, ``converted`` (a ``converted_date`` on
    or before the report month's last day), and its open life for the age stock: ``first``
    (created month, unless its status closes it), ``stop`` (conversion month), ``day``
    (created day number)."""
    import ibis

    t = engine.table("leads")
    has_opp = (
        rules.has_text(t.opportunity_id) if "opportunity_id" in t.columns else ibis.literal(False)
    )
    if "converted_date" in t.columns:
        converted = (rules.day_of(t.converted_date) <= report_end_day).fill_null(False)
        stop = rules.month_or(t.converted_date, rules.FAR)
    else:
        converted, stop = ibis.literal(False), rules.months(rules.FAR)
    created_m = rules.month_of(t.created_date)
    closed = rules.lead_closed(t)
    t = t.mutate(
        m=created_m,
        has_opp=rules.flag(has_opp),
        converted=rules.flag(converted),
        first=ibis.ifelse(t.created_date.notnull() & ~closed, created_m, rules.months(rules.FAR)),
        stop=stop,
        day=rules.day_of(t.created_date).fill_null(0).cast("float64"),
    )
    rows = long_rows(t, columns, ["m", "has_opp", "converted", "first", "stop", "day"])
    return Source("leads", rows, None, tuple(columns), start=created_m.min())


def referrals(engine: Engine, columns: list[str | None]) -> Source:
    """Leads (else opportunities) with ``m`` the created month of the referral rows."""
    import ibis

    t = engine.table("leads") if engine.has("leads") else engine.table("opportunities")
    created_m = rules.month_of(t.created_date)
    t = t.mutate(
        m=ibis.ifelse(rules.is_referral(t.source), created_m, ibis.null("int64")),
    )
    rows = long_rows(grouped(t, columns, "m"), columns, ["m", "n"])
    return Source("referrals", rows, None, tuple(columns), start=created_m.min(), weight="n")


def _rep_region(engine: Engine) -> ir.Table:
    """Each rep's region (the first reps row of each ``rep_id``)."""
    import ibis

    r = engine.table("reps")
    first = r.mutate(n=ibis.row_number().over(ibis.window(group_by="rep_id", order_by="_row")))
    return first.filter(first.n == 0).select(_rep="rep_id", _region="region")


def activities(engine: Engine, columns: list[str | None]) -> Source:
    """Every activity: ``m`` (timestamp month), one 0/1 column per contract type. Split by
    ``owner_id`` (the activity's ``rep_id``) and ``region`` (its rep's ``reps.region``)."""
    a = engine.table("activities")
    a = a.mutate(m=rules.month_of(a.timestamp))
    flags = {name: rules.flag(rules.is_type(a, typ)) for name, typ in rules.ACTIVITY_TYPES.items()}
    a = a.mutate(**flags)
    source = {"owner_id": "rep_id"}
    if "region" in columns:
        regions = _rep_region(engine)
        a = a.left_join(regions, a.rep_id == regions._rep)
        source["region"] = "_region"
    g = grouped(a, columns, "m", tuple(flags), source)
    rows = long_rows(g, columns, ["m", "n", *flags], source)
    return Source("activities", rows, None, tuple(columns), start=a.m.min(), weight="n")


# --------------------------------------------------------------------------- reps


def reps(engine: Engine, columns: list[str | None]) -> Source:
    """Every rep: ``hire``/``leave`` day numbers, ``ae`` (role), ``leave_m``, ``hire_m``.

    ``owner_id`` labels take only the first row of each ``rep_id`` (a rep is one person)."""
    import ibis

    r = engine.table("reps")
    leave = rules.day_of(r.leave_date) if "leave_date" in r.columns else ibis.null("int64")
    r = r.mutate(
        hire=rules.day_of(r.hire_date),
        leave=leave,
        leave_m=rules.month_of(r.leave_date) if "leave_date" in r.columns else ibis.null("int64"),
        ae=rules.has_role(r, "ae").fill_null(False),
        first_of_id=ibis.row_number().over(ibis.window(group_by="rep_id", order_by="_row")) == 0,
    )
    parts = []
    for c in columns:
        t = r.filter(r.first_of_id) if c == "owner_id" else r
        parts.append(
            t.select(
                seg=label(t["rep_id"] if c == "owner_id" else (t[c] if c else None), c),
                hire="hire",
                leave="leave",
                leave_m="leave_m",
                ae="ae",
            )  # fmt: skip
        )
    rows = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    return Source("reps", rows, None, tuple(columns))


# --------------------------------------------------------------------------- customers


def purchases(engine: Engine, hi: int) -> ir.Table:
    """Purchases dated up to month ``hi``: ``account_id``, ``m``, ``amount``, ``_row`` and
    the segment columns (the accounts table's ``segment``, ``region``, ``industry``,
    ``country`` where the purchase rows lack them)."""
    r = revenue_rows(engine)
    r = r.mutate(m=rules.month_of(r.date))
    r = r.filter(r.m <= hi)
    if engine.has("accounts"):
        acc = engine.table("accounts")
        add = [c for c in ACCOUNT_COLUMNS if c in acc.columns and c not in r.columns]
        if add:
            import ibis

            first = acc.mutate(
                n=ibis.row_number().over(ibis.window(group_by="account_id", order_by="_row"))
            )
            first = first.filter(first.n == 0).select("account_id", *add).rename(_acc="account_id")
            r = r.left_join(first, r.account_id == first._acc).drop("_acc")
    return r


def customer_columns(engine: Engine) -> list[str]:
    cols = set(revenue_table_columns(engine))
    if engine.has("accounts"):
        cols |= {c for c in ACCOUNT_COLUMNS if c in engine.columns("accounts")}
    return [c for c in SEGMENT_COLUMNS if c in cols]


def customers(engine: Engine, columns: list[str | None], hi: int, active_months: int) -> Source:
    """One row per customer and month with purchases (``c``, ``m``, ``revenue``), with the
    customer's ``first_m`` (month of its first purchase: the earliest date, ties the first
    row), ``seg`` of that first purchase, and ``active_stop``: the customer is active at the
    ends of months ``m <= k < active_stop`` (``active_months`` months from ``m``, cut short at
    its next month with purchases, so it is counted once). Labels: every value of the
    purchase rows."""
    import ibis

    p = purchases(engine, hi)
    order = ibis.window(group_by="account_id", order_by=["date", "_row"])
    p = p.mutate(n=ibis.row_number().over(order))
    firsts = p.filter(p.n == 0)
    seg_cols = [c for c in columns if c]
    first = firsts.select(c="account_id", first_m="m", **{f"_seg_{c}": firsts[c] for c in seg_cols})
    cm = p.group_by(c=p.account_id, m=p.m).agg(revenue=rules.total(p.amount))
    nxt = cm.m.lead().over(ibis.window(group_by="c", order_by="m"))
    cm = cm.mutate(
        active_stop=ibis.least(cm.m + active_months, nxt.fill_null(cm.m + active_months))
    )
    cm = cm.join(first, "c")
    source = {c: f"_seg_{c}" for c in seg_cols}
    cm = cm.mutate(is_first=rules.flag(cm.m == cm.first_m))
    keep = ["c", "m", "revenue", "first_m", "active_stop", "is_first"]
    rows = long_rows(cm, columns, keep, source)
    labels = long_rows(p, columns, []).select("seg").distinct()
    return Source("customers", rows, labels, tuple(columns), start=first.first_m.min())


def spend(engine: Engine, columns: list[str | None]) -> Source:
    """Sales and marketing spend rows (``category`` sales or marketing, any case): ``k`` the
    month ordinal of ``month`` (``YYYY-MM``), ``amount``. Labels ``all`` and, where spend has
    a ``region`` column, ``region=...``; no other segment."""
    s = engine.table("spend")
    s = s.filter(s.category.strip().lower().isin(("sales", "marketing")))
    k = (s.month.substr(0, 4).cast("int64") - 1970) * 12 + s.month.substr(5, 2).cast("int64") - 1
    s = s.mutate(k=k, amount=s.amount.cast("float64"))
    cols = [c for c in columns if c is None or (c == "region" and "region" in s.columns)]
    rows = long_rows(s, cols, ["k", "amount"]) if cols else None
    if rows is None:
        import ibis

        rows = s.select(seg=ibis.literal("all"), k="k", amount="amount").limit(0)
    return Source("spend", rows, None, tuple(cols))


Builder = Callable[..., Source]


#: how ``docs/kpis.md`` words each measure: source -> {column (None: count of rows): words}
WORDS: dict[str, dict[str | None, str]] = {
    "revenue": {"amount": "revenue (orders' amount, else won opportunities' amount)"},
    "opportunities": {
        None: "opportunities",
        "won": "won opportunities",
        "lost": "lost opportunities",
        "closed": "won or lost opportunities",
        "amount": "the amount of opportunities",
        "won_amount": "the amount of won opportunities",
        "won_acv": "amount x 12 / contract_months of won opportunities",
        "won_cycle": "close_date - created_date (days) of won opportunities",
        "mrr_amount": "amount / contract_months of won contracts running",
    },
    "pipeline": {
        None: "opportunities open",
        "amount": "the amount of opportunities open",
        "weighted": "amount x probability (at the stage then) of opportunities open",
    },
    "coverage": {"amount": "the amount of opportunities open and expected to close the next month"},
    "leads": {
        None: "leads",
        "has_opp": "leads with an opportunity_id",
        "converted": "leads converted by the end of the report month",
        "day": "days since created of leads open",
        "alive": "leads open (not converted, not closed by status)",
    },
    "referrals": {None: "referral leads (else referral opportunities)"},
    "activities": {
        None: "activities",
        **{name: f"activities of type {typ}" for name, typ in rules.ACTIVITY_TYPES.items()},
    },
    "reps": {None: "reps", "ae": "account executives"},
    "customers": {
        None: "customers active (bought in the last active_window_months months)",
        "is_first": "customers making their first purchase",
        "net": "the later 12 months' revenue",
        "base": "the earlier 12 months' revenue",
        "gross": "the later 12 months' revenue capped per customer at the earlier",
    },
    "spend": {},
    "ramp": {},
}
#: the date that places each flow's rows in a month, by the month column
DATES = {
    "m": {"revenue": "order_date (close_date)", "leads": "created_date", "referrals": "created_date",
          "activities": "timestamp", "customers": "first purchase"},
    "close_m": "close_date",
    "created_m": "created_date",
    "leave_m": "leave_date",
}  # fmt: skip
