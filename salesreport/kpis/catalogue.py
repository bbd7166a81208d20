"""The KPI catalogue: one entry per metric of shared/spec/kpis.md, in one place.

Each entry is data: the words of ``docs/kpis.md`` (title, unit, formula, tables needed,
leading or lagging, audiences, direction, whether it adds up across months, whether it is a
stock read at a window's end) and its :class:`~salesreport.kpis.model.Definition`: the
measures of a source (:mod:`salesreport.kpis.sources`) it is computed from and how they
combine. :mod:`salesreport.kpis.compiler` turns every entry into queries for every window
and segment; the targets, the status bands, the OKRs and ``docs/kpis.md`` read the same
entries. Nothing else lists metrics. A new KPI is one entry here (and its test).

``needs`` lists tables; ``"a|b"`` means either table is enough.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from salesreport.kpis.model import (
    Const,
    Definition,
    Measure,
    Minus,
    NextMonthTarget,
    Param,
    Ratio,
    Target,
    Times,
)
from salesreport.kpis.sources import (
    NONE_LABEL,
    SEGMENT_COLUMNS,
    customer_columns,
    revenue_table_columns,
)
from salesreport.rules import ACTIVITY_TYPES

__all__ = ["ACTIVITY_TYPES", "CATALOGUE", "KPI", "NONE_LABEL", "SEGMENT_COLUMNS"]

EXEC, MGR, OPS, REP, SDR, FC = "executive", "manager", "operations", "rep", "sdr", "forecast"


@dataclass(frozen=True)
class KPI:
    """One catalogue entry.

    ``unit`` is ``currency`` (written as the team's currency code in ``kpis.csv``),
    ``count``, ``ratio``, ``days`` or ``months``. ``additive``: the metric sums across segments
    and across months (a flow), so a window's target is the sum of its months' targets.
    ``point_in_time``: a stock read at the end of the window's last month, whatever the
    window's length. ``definition``: how the engine computes it; ``None`` for the forecast
    metrics, which the forecast module computes from the ledger.
    """

    name: str
    title: str
    unit: str
    formula: str
    needs: tuple[str, ...]
    kind: str  # leading | lagging
    audiences: tuple[str, ...]
    higher_is_better: bool
    additive: bool
    point_in_time: bool
    definition: Definition | None = None

    @property
    def computed_by(self) -> str:
        return "salesreport.kpis" if self.definition else "salesreport.forecast.accuracy"

    def unit_label(self, currency: str) -> str:
        """The ``unit`` column of ``kpis.csv``: the currency code for money, else the unit."""
        return currency if self.unit == "currency" else self.unit


# --------------------------------------------------------------------------- segment columns
# (each takes the engine and lists the segment columns of the metric's source table)


def _present(columns, allowed=SEGMENT_COLUMNS) -> list[str]:
    return [c for c in allowed if c in columns]


def _revenue_cols(engine) -> list[str]:
    return _present(revenue_table_columns(engine))


def _opportunity_cols(engine) -> list[str]:
    return _present(engine.columns("opportunities"))


def _pipeline_cols(engine) -> list[str]:
    return [*_opportunity_cols(engine), "stage"]


def _referral_table(engine) -> str:
    return "leads" if engine.has("leads") else "opportunities"


def _referral_cols(engine) -> list[str]:
    return _present(engine.columns(_referral_table(engine)))


def _has_referral_source(engine) -> bool:
    return "source" in engine.columns(_referral_table(engine))


def _lead_cols(engine) -> list[str]:
    return _present(engine.columns("leads"))


def _activity_cols(engine) -> list[str]:
    return ["owner_id", *(["region"] if "region" in engine.columns("reps") else [])]


def _rep_revenue_cols(engine) -> list[str]:
    return _present(revenue_table_columns(engine), ("owner_id", "region"))


def _rep_cols(engine) -> list[str]:
    return ["region"] if "region" in engine.columns("reps") else []


# --------------------------------------------------------------------------- measures


REV = Measure("revenue", "amount")
REV_YEAR_BEFORE = Measure("revenue", "amount", range="year_before")
REV_MONTH_BEFORE = Measure("revenue", "amount", range="previous_month")


def _closed(column: str) -> Measure:
    """A flow of the opportunities placed by their close month."""
    return Measure("opportunities", column, month="close_m")


WON = _closed("won")
LEADS = Measure("leads")
NEW_CUSTOMERS = Measure("customers", "is_first")
ACTIVE = Measure("customers", None, "stock", "end", first="m", stop="active_stop")
ACTIVE_AT_START = Measure("customers", None, "stock", "start", first="m", stop="active_stop")
CAC = Ratio(Measure("spend", kind="spend"), NEW_CUSTOMERS)
ATTRITION = Ratio(Measure("reps", month="leave_m"), Measure("reps", kind="employed_at_start"))


def _retention(column: str) -> Measure:
    return Measure("customers", column, kind="retention")


def _activity(name: str) -> Definition:
    return Definition(Measure("activities", name), "activities", _activity_cols)


_FLOW = "Windows: every row dated in the window counts (month, fiscal qtd, fiscal ytd, trailing 12 months)."
_RATIO = "A ratio of window sums (not a mean of monthly ratios); empty when the denominator is 0."
_STOCK = "A stock: every window takes the value at the last day of the window's last month."
_NODATA = "Empty for windows ending before the first month of the source table's data."

_ENTRIES: list[KPI] = [
    KPI(
        name="revenue",
        title="Revenue",
        unit="currency",
        formula=(
            "Sum of orders' amount with order_date in P; with no orders table, sum of won "
            "opportunities' amount with close_date in P. Windows: every row dated in the "
            "window counts (month, fiscal qtd, fiscal ytd, trailing 12 months). Empty for "
            "windows ending before the first month of the source table's data."
        ),
        needs=("orders|opportunities",),
        kind="lagging",
        audiences=("executive", "manager", "rep", "forecast"),
        higher_is_better=True,
        additive=True,
        point_in_time=False,
        definition=Definition(REV, "revenue", _revenue_cols),
    ),
    KPI(
        name="revenue_growth_yoy",
        title="Revenue growth, year on year",
        unit="ratio",
        formula=(
            "revenue(P) / revenue(the same window ending 12 months earlier) - 1; empty when "
            "that earlier revenue is 0 or unknown."
        ),
        needs=("orders|opportunities",),
        kind="lagging",
        audiences=("executive", "manager"),
        higher_is_better=True,
        additive=False,
        point_in_time=False,
        definition=Definition(
            Minus(Ratio(REV, REV_YEAR_BEFORE), Const(1)), "revenue", _revenue_cols
        ),
    ),
    KPI(
        name="revenue_growth_mom",
        title="Revenue growth, month on month",
        unit="ratio",
        formula=(
            "revenue(month P) / revenue(the month before) - 1; window 'month' only (no rows "
            "for other windows); empty when the previous month's revenue is 0 or unknown."
        ),
        needs=("orders|opportunities",),
        kind="lagging",
        audiences=("executive", "manager"),
        higher_is_better=True,
        additive=False,
        point_in_time=False,
        definition=Definition(
            Minus(Ratio(REV, REV_MONTH_BEFORE), Const(1)),
            "revenue",
            _revenue_cols,
            windows=("month",),
        ),
    ),
    KPI(
        name="target_attainment",
        title="Target attainment",
        unit="ratio",
        formula=(
            "revenue(P) / revenue target of the same window and segment (see Targets); empty "
            "without a revenue target."
        ),
        needs=("orders|opportunities",),
        kind="lagging",
        audiences=("executive", "manager", "rep"),
        higher_is_better=True,
        additive=False,
        point_in_time=False,
        definition=Definition(Ratio(REV, Target("revenue")), "revenue", _revenue_cols),
    ),
    KPI(
        name="deals_won",
        title="Deals won",
        unit="count",
        formula=(
            "Count of opportunities with status won and close_date in P. Windows: every row "
            "dated in the window counts (month, fiscal qtd, fiscal ytd, trailing 12 months). "
            "Empty for windows ending before the first month of the source table's data."
        ),
        needs=("opportunities",),
        kind="lagging",
        audiences=("executive", "manager", "rep"),
        higher_is_better=True,
        additive=True,
        point_in_time=False,
        definition=Definition(WON, "opportunities", _opportunity_cols),
    ),
    KPI(
        name="deals_lost",
        title="Deals lost",
        unit="count",
        formula=(
            "Count of opportunities with status lost and close_date in P. Windows: every row "
            "dated in the window counts (month, fiscal qtd, fiscal ytd, trailing 12 months). "
            "Empty for windows ending before the first month of the source table's data."
        ),
        needs=("opportunities",),
        kind="lagging",
        audiences=("manager", "rep"),
        higher_is_better=False,
        additive=True,
        point_in_time=False,
        definition=Definition(_closed("lost"), "opportunities", _opportunity_cols),
    ),
    KPI(
        name="win_rate",
        title="Win rate",
        unit="ratio",
        formula=(
            "deals_won / (deals_won + deals_lost), both closed in P. A ratio of window sums "
            "(not a mean of monthly ratios); empty when the denominator is 0."
        ),
        needs=("opportunities",),
        kind="lagging",
        audiences=("executive", "manager", "rep"),
        higher_is_better=True,
        additive=False,
        point_in_time=False,
        definition=Definition(
            Ratio(WON, _closed("closed")), "opportunities", _opportunity_cols, blank=False
        ),
    ),
    KPI(
        name="average_deal_size",
        title="Average deal size",
        unit="currency",
        formula=(
            "Mean amount of won opportunities closed in P (sum of their amounts / their "
            "count); empty with no won deal."
        ),
        needs=("opportunities",),
        kind="lagging",
        audiences=("executive", "manager", "rep"),
        higher_is_better=True,
        additive=False,
        point_in_time=False,
        definition=Definition(
            Ratio(_closed("won_amount"), WON), "opportunities", _opportunity_cols, blank=False
        ),
    ),
    KPI(
        name="acv",
        title="Average contract value (annualised)",
        unit="currency",
        formula=(
            "Mean of amount x 12 / contract_months over won opportunities closed in P "
            "(contract_months taken as 12 where the column or the value is absent); empty "
            "with no won deal."
        ),
        needs=("opportunities",),
        kind="lagging",
        audiences=("executive", "manager"),
        higher_is_better=True,
        additive=False,
        point_in_time=False,
        definition=Definition(
            Ratio(_closed("won_acv"), WON), "opportunities", _opportunity_cols, blank=False
        ),
    ),
    KPI(
        name="sales_cycle_days",
        title="Sales cycle",
        unit="days",
        formula=(
            "Mean of close_date - created_date in days over won opportunities closed in P; "
            "empty with no won deal."
        ),
        needs=("opportunities",),
        kind="lagging",
        audiences=("executive", "manager", "rep"),
        higher_is_better=False,
        additive=False,
        point_in_time=False,
        definition=Definition(
            Ratio(_closed("won_cycle"), WON), "opportunities", _opportunity_cols, blank=False
        ),
    ),
    KPI(
        name="mrr",
        title="Monthly recurring revenue",
        unit="currency",
        formula=(
            "Sum of amount / contract_months over won opportunities whose contract covers the "
            "last day of P: the contract starts at close_date and runs contract_months months "
            "(12 where absent), so it covers the month ends of its close month and the "
            "contract_months - 1 following months. A stock: every window takes the value at "
            "the last day of the window's last month. Empty for windows ending before the "
            "first month of the source table's data."
        ),
        needs=("opportunities",),
        kind="lagging",
        audiences=("executive", "manager"),
        higher_is_better=True,
        additive=False,
        point_in_time=True,
        definition=Definition(
            Measure(
                "opportunities", "mrr_amount", "stock", "end", first="mrr_first", stop="mrr_stop"
            ),
            "opportunities",
            _opportunity_cols,
        ),
    ),
    KPI(
        name="pipeline_open_count",
        title="Open pipeline (count)",
        unit="count",
        formula=(
            "Opportunities open at the end of P: created_date on or before the end of P and "
            "not (status won or lost with close_date on or before the end of P). The state at "
            "a past month end comes from the dates and final status; with stage_history the "
            "stage is the last one entered on or before that day. A stock: every window takes "
            "the value at the last day of the window's last month. Empty for windows ending "
            "before the first month of the source table's data."
        ),
        needs=("opportunities",),
        kind="leading",
        audiences=("executive", "manager", "rep", "operations"),
        higher_is_better=True,
        additive=False,
        point_in_time=True,
        definition=Definition(
            Measure("pipeline", None, "stock", "end"), "pipeline", _pipeline_cols
        ),
    ),
    KPI(
        name="pipeline_open_value",
        title="Open pipeline (value)",
        unit="currency",
        formula=(
            "Sum of amount of the opportunities open at the end of P. A stock: every window "
            "takes the value at the last day of the window's last month. Empty for windows "
            "ending before the first month of the source table's data."
        ),
        needs=("opportunities",),
        kind="leading",
        audiences=("executive", "manager", "rep", "operations"),
        higher_is_better=True,
        additive=False,
        point_in_time=True,
        definition=Definition(
            Measure("pipeline", "amount", "stock", "end"), "pipeline", _pipeline_cols
        ),
    ),
    KPI(
        name="pipeline_weighted_value",
        title="Weighted pipeline",
        unit="currency",
        formula=(
            "Sum of amount x probability of the opportunities open at the end of P. "
            "Probability: the row's probability where it describes that day (the opportunity "
            "is still open at the report month and was then in the stage it has now), else "
            "stage_probabilities[stage at the end of P] of the team's YAML: a deal won or "
            "lost later counts at its stage's probability, not at its closed 1 or 0. A stage "
            "without a configured probability adds nothing. A stock: every window takes the "
            "value at the last day of the window's last month. Empty for windows ending "
            "before the first month of the source table's data."
        ),
        needs=("opportunities",),
        kind="leading",
        audiences=("executive", "manager", "rep", "operations"),
        higher_is_better=True,
        additive=False,
        point_in_time=True,
        definition=Definition(
            Measure("pipeline", "weighted", "stock", "end"), "pipeline", _pipeline_cols
        ),
    ),
    KPI(
        name="pipeline_created_value",
        title="Pipeline created",
        unit="currency",
        formula=(
            "Sum of amount of opportunities with created_date in P. Windows: every row dated "
            "in the window counts (month, fiscal qtd, fiscal ytd, trailing 12 months). Empty "
            "for windows ending before the first month of the source table's data."
        ),
        needs=("opportunities",),
        kind="leading",
        audiences=("executive", "manager", "rep", "operations"),
        higher_is_better=True,
        additive=True,
        point_in_time=False,
        definition=Definition(
            Measure("opportunities", "amount", month="created_m"), "pipeline", _pipeline_cols
        ),
    ),
    KPI(
        name="referrals",
        title="Referrals",
        unit="count",
        formula=(
            "Leads with created_date in P whose source is 'referral' (case and surrounding "
            "spaces ignored); with no leads table, opportunities created in P with that "
            "source. Windows: every row dated in the window counts (month, fiscal qtd, fiscal "
            "ytd, trailing 12 months). Empty for windows ending before the first month of the "
            "source table's data."
        ),
        needs=("leads|opportunities",),
        kind="leading",
        audiences=("manager", "sdr", "operations"),
        higher_is_better=True,
        additive=True,
        point_in_time=False,
        definition=Definition(
            Measure("referrals"), "referrals", _referral_cols, available=_has_referral_source
        ),
    ),
    KPI(
        name="pipeline_coverage",
        title="Pipeline coverage (next month)",
        unit="ratio",
        formula=(
            "Value of opportunities open at the end of P with close_date in the month after "
            "P, divided by that next month's revenue target (monthly target rules of "
            "Targets); empty without a target (segments other than 'all', owner_id=... and "
            "region=... never have one). A stock: every window takes the value at the last "
            "day of the window's last month."
        ),
        needs=("opportunities",),
        kind="leading",
        audiences=("executive", "manager", "forecast"),
        higher_is_better=True,
        additive=False,
        point_in_time=True,
        definition=Definition(
            Ratio(Measure("coverage", "amount", range="end_month"), NextMonthTarget("revenue")),
            "coverage",
            _pipeline_cols,
            blank=False,
        ),
    ),
    KPI(
        name="leads_created",
        title="Leads created",
        unit="count",
        formula=(
            "Count of leads with created_date in P. Windows: every row dated in the window "
            "counts (month, fiscal qtd, fiscal ytd, trailing 12 months). Empty for windows "
            "ending before the first month of the source table's data."
        ),
        needs=("leads",),
        kind="leading",
        audiences=("manager", "sdr", "operations"),
        higher_is_better=True,
        additive=True,
        point_in_time=False,
        definition=Definition(LEADS, "leads", _lead_cols),
    ),
    KPI(
        name="lead_to_opportunity_ratio",
        title="Lead to opportunity ratio",
        unit="ratio",
        formula=(
            "Of leads created in P, the share with a non-empty opportunity_id (as the data "
            "stands at the end of the report month). A ratio of window sums (not a mean of "
            "monthly ratios); empty when the denominator is 0."
        ),
        needs=("leads",),
        kind="leading",
        audiences=("manager", "sdr"),
        higher_is_better=True,
        additive=False,
        point_in_time=False,
        definition=Definition(
            Ratio(Measure("leads", "has_opp"), LEADS), "leads", _lead_cols, blank=False
        ),
    ),
    KPI(
        name="lead_conversion_rate",
        title="Lead conversion rate",
        unit="ratio",
        formula=(
            "Of leads created in P, the share with a converted_date on or before the last day "
            "of the report month (0 for all when there is no converted_date column). A ratio "
            "of window sums (not a mean of monthly ratios); empty when the denominator is 0."
        ),
        needs=("leads",),
        kind="leading",
        audiences=("manager", "sdr"),
        higher_is_better=True,
        additive=False,
        point_in_time=False,
        definition=Definition(
            Ratio(Measure("leads", "converted"), LEADS), "leads", _lead_cols, blank=False
        ),
    ),
    KPI(
        name="average_lead_age_days",
        title="Average open lead age",
        unit="days",
        formula=(
            "Mean of (end of P - created_date) in days over leads created on or before the "
            "end of P, with no converted_date on or before the end of P, and whose status is "
            "not closed (converted, closed, closed_*, disqualified, unqualified, lost, dead, "
            "junk, rejected; current status, case-insensitive; 'converted' with a "
            "converted_date is dated by it, so the lead is open until then). A stock: every "
            "window takes the value at the last day of the window's last month. Empty for "
            "windows ending before the first month of the source table's data."
        ),
        needs=("leads",),
        kind="leading",
        audiences=("sdr", "operations"),
        higher_is_better=False,
        additive=False,
        point_in_time=True,
        definition=Definition(
            Ratio(
                Measure("leads", "day", "stock_age", "end"), Measure("leads", None, "stock", "end")
            ),
            "leads",
            _lead_cols,
        ),
    ),
    KPI(
        name="calls",
        title="Calls",
        unit="count",
        formula=(
            "Count of activities with type 'call' and timestamp in P (by owner_id = rep_id, "
            "by region = the rep's reps.region). Windows: every row dated in the window "
            "counts (month, fiscal qtd, fiscal ytd, trailing 12 months). Empty for windows "
            "ending before the first month of the source table's data."
        ),
        needs=("activities",),
        kind="leading",
        audiences=("manager", "rep", "sdr", "operations"),
        higher_is_better=True,
        additive=True,
        point_in_time=False,
        definition=_activity("calls"),
    ),
    KPI(
        name="emails",
        title="Emails",
        unit="count",
        formula=(
            "Count of activities with type 'email' and timestamp in P (by owner_id = rep_id, "
            "by region = the rep's reps.region). Windows: every row dated in the window "
            "counts (month, fiscal qtd, fiscal ytd, trailing 12 months). Empty for windows "
            "ending before the first month of the source table's data."
        ),
        needs=("activities",),
        kind="leading",
        audiences=("manager", "rep", "sdr", "operations"),
        higher_is_better=True,
        additive=True,
        point_in_time=False,
        definition=_activity("emails"),
    ),
    KPI(
        name="meetings",
        title="Meetings",
        unit="count",
        formula=(
            "Count of activities with type 'meeting' and timestamp in P (by owner_id = "
            "rep_id, by region = the rep's reps.region). Windows: every row dated in the "
            "window counts (month, fiscal qtd, fiscal ytd, trailing 12 months). Empty for "
            "windows ending before the first month of the source table's data."
        ),
        needs=("activities",),
        kind="leading",
        audiences=("manager", "rep", "sdr", "operations"),
        higher_is_better=True,
        additive=True,
        point_in_time=False,
        definition=_activity("meetings"),
    ),
    KPI(
        name="linkedin",
        title="LinkedIn requests",
        unit="count",
        formula=(
            "Count of activities with type 'linkedin' and timestamp in P (by owner_id = "
            "rep_id, by region = the rep's reps.region). Windows: every row dated in the "
            "window counts (month, fiscal qtd, fiscal ytd, trailing 12 months). Empty for "
            "windows ending before the first month of the source table's data."
        ),
        needs=("activities",),
        kind="leading",
        audiences=("manager", "rep", "sdr", "operations"),
        higher_is_better=True,
        additive=True,
        point_in_time=False,
        definition=_activity("linkedin"),
    ),
    KPI(
        name="proposals",
        title="Proposals sent",
        unit="count",
        formula=(
            "Count of activities with type 'proposal' and timestamp in P (by owner_id = "
            "rep_id, by region = the rep's reps.region). Windows: every row dated in the "
            "window counts (month, fiscal qtd, fiscal ytd, trailing 12 months). Empty for "
            "windows ending before the first month of the source table's data."
        ),
        needs=("activities",),
        kind="leading",
        audiences=("manager", "rep", "sdr", "operations"),
        higher_is_better=True,
        additive=True,
        point_in_time=False,
        definition=_activity("proposals"),
    ),
    KPI(
        name="activities_per_rep",
        title="Activities per rep",
        unit="count",
        formula=(
            "All activities (any type) with timestamp in P / reps of any role employed in P "
            "(hire_date <= last day of P and leave_date empty or >= first day of P). By "
            "owner_id: that rep's activities / 1 when employed in P, else empty; by region "
            "(the rep's reps.region): the region's activities / its employed reps. Empty when "
            "no rep is employed."
        ),
        needs=("activities", "reps"),
        kind="leading",
        audiences=("manager", "operations"),
        higher_is_better=True,
        additive=False,
        point_in_time=False,
        definition=Definition(
            Ratio(Measure("activities"), Measure("reps", kind="employed")),
            "activities",
            _activity_cols,
        ),
    ),
    KPI(
        name="new_customers",
        title="New customers",
        unit="count",
        formula=(
            "Customers (account_id) whose first purchase (first order, else first won "
            "opportunity) falls in P."
        ),
        needs=("orders|opportunities",),
        kind="lagging",
        audiences=("executive", "manager"),
        higher_is_better=True,
        additive=True,
        point_in_time=False,
        definition=Definition(NEW_CUSTOMERS, "customers", customer_columns),
    ),
    KPI(
        name="active_customers",
        title="Active customers",
        unit="count",
        formula=(
            "Customers with a purchase in the active_window_months calendar months up to the "
            "end of P. A stock: every window takes the value at the last day of the window's "
            "last month."
        ),
        needs=("orders|opportunities",),
        kind="lagging",
        audiences=("executive", "manager"),
        higher_is_better=True,
        additive=False,
        point_in_time=True,
        definition=Definition(ACTIVE, "customers", customer_columns),
    ),
    KPI(
        name="customer_retention_rate",
        title="Customer retention rate",
        unit="ratio",
        formula=(
            "(E - N) / S: S active at the start of P, E active at the end of P, N new in P; "
            "empty when S = 0."
        ),
        needs=("orders|opportunities",),
        kind="lagging",
        audiences=("executive", "manager"),
        higher_is_better=True,
        additive=False,
        point_in_time=False,
        definition=Definition(
            Ratio(Minus(ACTIVE, NEW_CUSTOMERS), ACTIVE_AT_START), "customers", customer_columns
        ),
    ),
    KPI(
        name="net_revenue_retention",
        title="Net revenue retention",
        unit="ratio",
        formula=(
            "Revenue in the 12 months to the end of P from customers who bought in the 12 "
            "months before that, over their revenue in those earlier 12 months."
        ),
        needs=("orders|opportunities",),
        kind="lagging",
        audiences=("executive",),
        higher_is_better=True,
        additive=False,
        point_in_time=True,
        definition=Definition(
            Ratio(_retention("net"), _retention("base")), "customers", customer_columns
        ),
    ),
    KPI(
        name="gross_revenue_retention",
        title="Gross revenue retention",
        unit="ratio",
        formula=(
            "As net_revenue_retention with each customer's later revenue capped at its "
            "earlier revenue."
        ),
        needs=("orders|opportunities",),
        kind="lagging",
        audiences=("executive",),
        higher_is_better=True,
        additive=False,
        point_in_time=True,
        definition=Definition(
            Ratio(_retention("gross"), _retention("base")), "customers", customer_columns
        ),
    ),
    KPI(
        name="clv",
        title="Customer lifetime value",
        unit="currency",
        formula=(
            "Average monthly revenue per active customer x gross_margin / monthly churn, "
            "churn = 1 - customer_retention_rate over one month (window: means of the monthly "
            "values)."
        ),
        needs=("orders|opportunities",),
        kind="lagging",
        audiences=("executive",),
        higher_is_better=True,
        additive=False,
        point_in_time=False,
        definition=Definition(Measure("customers", kind="clv"), "customers", customer_columns),
    ),
    KPI(
        name="cac",
        title="Customer acquisition cost",
        unit="currency",
        formula="Sales and marketing spend in P / new_customers in P.",
        needs=("orders|opportunities", "spend"),
        kind="lagging",
        audiences=("executive",),
        higher_is_better=False,
        additive=False,
        point_in_time=False,
        definition=Definition(CAC, "customers", customer_columns, needs=("orders|opportunities",)),
    ),
    KPI(
        name="cac_payback_months",
        title="CAC payback",
        unit="months",
        formula="cac / (average monthly revenue of customers new in P x gross_margin).",
        needs=("orders|opportunities", "spend"),
        kind="lagging",
        audiences=("executive",),
        higher_is_better=False,
        additive=False,
        point_in_time=False,
        definition=Definition(
            Ratio(
                CAC,
                Times(Measure("customers", kind="new_customer_arpu"), Param("gross_margin")),
                positive=True,
            ),
            "customers",
            customer_columns,
            needs=("orders|opportunities",),
        ),
    ),
    KPI(
        name="revenue_per_rep",
        title="Revenue per rep",
        unit="currency",
        formula=(
            "revenue in P / account executives (role 'ae') employed in P (hire_date <= last "
            "day of P and leave_date empty or >= first day of P). By owner_id: that rep's "
            "revenue / 1 when an employed AE, else empty; by region: the region's revenue / "
            "the region's employed AEs (reps.region). Empty when no AE is employed."
        ),
        needs=("orders|opportunities", "reps"),
        kind="lagging",
        audiences=("executive", "manager"),
        higher_is_better=True,
        additive=False,
        point_in_time=False,
        definition=Definition(
            Ratio(REV, Measure("reps", "ae", "employed")), "revenue", _rep_revenue_cols
        ),
    ),
    KPI(
        name="rep_attrition_rate",
        title="Rep attrition rate",
        unit="ratio",
        formula=(
            "Reps (any role) whose leave_date falls in P / reps employed at the first day of "
            "P (hire_date <= that day and leave_date empty or >= that day); empty when none "
            "is employed then. By region: reps.region."
        ),
        needs=("reps",),
        kind="lagging",
        audiences=("executive", "manager"),
        higher_is_better=False,
        additive=False,
        point_in_time=False,
        definition=Definition(ATTRITION, "reps", _rep_cols, blank=False),
    ),
    KPI(
        name="rep_retention_rate",
        title="Rep retention rate",
        unit="ratio",
        formula="1 - rep_attrition_rate.",
        needs=("reps",),
        kind="lagging",
        audiences=("executive", "manager"),
        higher_is_better=True,
        additive=False,
        point_in_time=False,
        definition=Definition(Minus(Const(1), ATTRITION), "reps", _rep_cols, blank=False),
    ),
    KPI(
        name="ramp_time_months",
        title="Ramp time",
        unit="months",
        formula=(
            "Mean, over reps hired in the 24 months up to the end of P (hire month in the 24 "
            "calendar months ending with P's last month) who reached it by the end of P, of "
            "the calendar months from the hire month to the first month (hire month included) "
            "in which their won revenue (won opportunities they own, by close_date) reached "
            "ramp_threshold x their monthly revenue quota (the rep's monthly revenue target, "
            "months without a positive quota never count). Empty when no rep qualifies. A "
            "stock: every window takes the value at the last day of the window's last month."
        ),
        needs=("reps", "opportunities"),
        kind="lagging",
        audiences=("manager",),
        higher_is_better=False,
        additive=False,
        point_in_time=True,
        definition=Definition(Measure("ramp", kind="ramp"), "ramp", _rep_cols, blank=False),
    ),
    KPI(
        name="forecast_accuracy",
        title="Forecast accuracy",
        unit="ratio",
        formula=(
            "1 - |A - F| / A for month P, F the forecast for P made one month earlier (the "
            "forecast ledger), A the revenue; empty when A = 0. The forecast page's headline "
            "figure ('how good is our forecast?') is the same over the last 12 months: "
            "1 - sum |A - F| / sum A over the months of the 12 up to the report month that "
            "have a value (at least 6), i.e. one minus the WAPE of the one-month-ahead "
            "forecasts."
        ),
        needs=("orders|opportunities",),
        kind="lagging",
        audiences=("executive", "forecast"),
        higher_is_better=True,
        additive=False,
        point_in_time=False,
        definition=None,
    ),
    KPI(
        name="forecast_bias",
        title="Forecast bias",
        unit="ratio",
        formula="(F - A) / A, same F and A as forecast_accuracy.",
        needs=("orders|opportunities",),
        kind="lagging",
        audiences=("forecast",),
        higher_is_better=False,
        additive=False,
        point_in_time=False,
        definition=None,
    ),
    KPI(
        name="submission_accuracy",
        title="Submission accuracy",
        unit="ratio",
        formula="1 - |A - F| / A for the team's own commit submissions for P.",
        needs=("forecast_submissions",),
        kind="lagging",
        audiences=("executive", "forecast"),
        higher_is_better=True,
        additive=False,
        point_in_time=False,
        definition=None,
    ),
]

#: the catalogue, by metric name, in the order of shared/spec/kpis.md
CATALOGUE: dict[str, KPI] = {k.name: k for k in _ENTRIES}


def catalogue_frame() -> pd.DataFrame:
    """The catalogue as a table, one row per metric (``needs`` and ``audiences`` joined by ', ')."""
    rows = []
    for k in CATALOGUE.values():
        d = {f: v for f, v in asdict(k).items() if f != "definition"}
        d["needs"] = ", ".join(k.needs)
        d["audiences"] = ", ".join(k.audiences)
        d["computed_by"] = k.computed_by
        rows.append(d)
    return pd.DataFrame(rows)


def needs_met(kpi: KPI, tables) -> bool:
    """Whether every table ``kpi`` needs is present (``a|b``: either) in ``tables`` (a
    :class:`~salesreport.tables.Tables` or an :class:`~salesreport.engine.Engine`), and
    its definition's own condition holds."""
    d = kpi.definition
    needs = d.needs if d is not None and d.needs is not None else kpi.needs
    if not all(any(tables.has(t) for t in need.split("|")) for need in needs):
        return False
    return d is None or not hasattr(tables, "backend") or d.available(tables)


def missing_metrics(tables) -> pd.DataFrame:
    """Metrics switched off by absent tables, with the reason, for the report to say why.

    Returns
    -------
    pandas.DataFrame
        ``metric, needs, reason``: one row per catalogue metric whose tables are not all present.
    """
    rows = []
    for k in CATALOGUE.values():
        absent = [need for need in k.needs if not any(tables.has(t) for t in need.split("|"))]
        if absent:
            words = " and ".join(n.replace("|", " or ") for n in absent)
            rows.append(
                {
                    "metric": k.name,
                    "needs": ", ".join(k.needs),
                    "reason": f"no {words} table: add {words}.csv to the data folder to get {k.name}",
                }
            )
        elif (
            k.name == "referrals"
            and not tables.has("leads")
            and "source" not in _columns(tables, "opportunities")
        ):
            rows.append(
                {
                    "metric": k.name,
                    "needs": "leads, or opportunities.source",
                    "reason": "no leads table and the opportunities have no 'source' column: add "
                    "leads.csv or a source column to get referrals",
                }
            )
    return pd.DataFrame(rows, columns=["metric", "needs", "reason"])


def _columns(tables, name: str) -> list[str]:
    if hasattr(tables, "backend"):
        return tables.columns(name)
    df = tables.get(name)
    return [] if df is None else list(df.columns)
