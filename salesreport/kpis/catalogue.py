"""The KPI catalogue: one entry per metric of shared/spec/kpis.md, in one place.

Every metric of ``kpis.csv`` is described here (name, title, unit, definition in words,
the tables it needs, leading or lagging, audiences, direction, whether it adds up across
segments and months, whether it is a stock evaluated at a window's end). The engine
(:mod:`salesreport.kpis.engine`), the targets, the RAG status, the OKRs and ``docs/kpis.md``
all read this table; nothing else lists metrics.

``needs`` lists tables; ``"a|b"`` means either table is enough.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from salesreport.tables import Tables

#: segment columns ``kpis.csv`` splits by, where the metric's source table has them
SEGMENT_COLUMNS = ("owner_id", "source", "segment", "product", "region")
NONE_LABEL = "(none)"

EXEC, MGR, OPS, REP, SDR, FC = "executive", "manager", "operations", "rep", "sdr", "forecast"


@dataclass(frozen=True)
class KPI:
    """One catalogue entry.

    ``unit`` is ``currency`` (written as the team's currency code in ``kpis.csv``),
    ``count``, ``ratio``, ``days`` or ``months``. ``additive``: the metric sums across segments
    and across months (a flow), so a window's target is the sum of its months' targets.
    ``point_in_time``: a stock read at the end of the window's last month, whatever the
    window's length. ``group`` names the function family that computes it; ``computed_by``
    the module when it is not the KPI engine.
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
    group: str
    computed_by: str = "salesreport.kpis"

    def unit_label(self, currency: str) -> str:
        """The ``unit`` column of ``kpis.csv``: the currency code for money, else the unit."""
        return currency if self.unit == "currency" else self.unit


_FLOW = "Windows: every row dated in the window counts (month, fiscal qtd, fiscal ytd, trailing 12 months)."
_RATIO = "A ratio of window sums (not a mean of monthly ratios); empty when the denominator is 0."
_STOCK = "A stock: every window takes the value at the last day of the window's last month."
_NODATA = "Empty for windows ending before the first month of the source table's data."

_ENTRIES: list[KPI] = [
    # ------------------------------------------------------------------ revenue and growth
    KPI(
        "revenue",
        "Revenue",
        "currency",
        "Sum of orders' amount with order_date in P; with no orders table, sum of won "
        f"opportunities' amount with close_date in P. {_FLOW} {_NODATA}",
        ("orders|opportunities",),
        "lagging",
        (EXEC, MGR, REP, FC),
        True,
        True,
        False,
        "revenue",
    ),
    KPI(
        "revenue_growth_yoy",
        "Revenue growth, year on year",
        "ratio",
        "revenue(P) / revenue(the same window ending 12 months earlier) - 1; empty when that "
        "earlier revenue is 0 or unknown.",
        ("orders|opportunities",),
        "lagging",
        (EXEC, MGR),
        True,
        False,
        False,
        "revenue",
    ),
    KPI(
        "revenue_growth_mom",
        "Revenue growth, month on month",
        "ratio",
        "revenue(month P) / revenue(the month before) - 1; window 'month' only (no rows for "
        "other windows); empty when the previous month's revenue is 0 or unknown.",
        ("orders|opportunities",),
        "lagging",
        (EXEC, MGR),
        True,
        False,
        False,
        "revenue",
    ),
    KPI(
        "target_attainment",
        "Target attainment",
        "ratio",
        "revenue(P) / revenue target of the same window and segment (see Targets); empty "
        "without a revenue target.",
        ("orders|opportunities",),
        "lagging",
        (EXEC, MGR, REP),
        True,
        False,
        False,
        "revenue",
    ),
    KPI(
        "deals_won",
        "Deals won",
        "count",
        f"Count of opportunities with status won and close_date in P. {_FLOW} {_NODATA}",
        ("opportunities",),
        "lagging",
        (EXEC, MGR, REP),
        True,
        True,
        False,
        "deals",
    ),
    KPI(
        "deals_lost",
        "Deals lost",
        "count",
        f"Count of opportunities with status lost and close_date in P. {_FLOW} {_NODATA}",
        ("opportunities",),
        "lagging",
        (MGR, REP),
        False,
        True,
        False,
        "deals",
    ),
    KPI(
        "win_rate",
        "Win rate",
        "ratio",
        f"deals_won / (deals_won + deals_lost), both closed in P. {_RATIO}",
        ("opportunities",),
        "lagging",
        (EXEC, MGR, REP),
        True,
        False,
        False,
        "deals",
    ),
    KPI(
        "average_deal_size",
        "Average deal size",
        "currency",
        "Mean amount of won opportunities closed in P (sum of their amounts / their count); "
        "empty with no won deal.",
        ("opportunities",),
        "lagging",
        (EXEC, MGR, REP),
        True,
        False,
        False,
        "deals",
    ),
    KPI(
        "acv",
        "Average contract value (annualised)",
        "currency",
        "Mean of amount x 12 / contract_months over won opportunities closed in P "
        "(contract_months taken as 12 where the column or the value is absent); empty with no "
        "won deal.",
        ("opportunities",),
        "lagging",
        (EXEC, MGR),
        True,
        False,
        False,
        "deals",
    ),
    KPI(
        "sales_cycle_days",
        "Sales cycle",
        "days",
        "Mean of close_date - created_date in days over won opportunities closed in P; empty "
        "with no won deal.",
        ("opportunities",),
        "lagging",
        (EXEC, MGR, REP),
        False,
        False,
        False,
        "deals",
    ),
    KPI(
        "mrr",
        "Monthly recurring revenue",
        "currency",
        "Sum of amount / contract_months over won opportunities whose contract covers the last "
        "day of P: the contract starts at close_date and runs contract_months months (12 where "
        "absent), so it covers the month ends of its close month and the contract_months - 1 "
        f"following months. {_STOCK} {_NODATA}",
        ("opportunities",),
        "lagging",
        (EXEC, MGR),
        True,
        False,
        True,
        "deals",
    ),
    # ------------------------------------------------------------------ pipeline
    KPI(
        "pipeline_open_count",
        "Open pipeline (count)",
        "count",
        "Opportunities open at the end of P: created_date on or before the end of P and not "
        "(status won or lost with close_date on or before the end of P). The state at a past "
        "month end comes from the dates and final status; with stage_history the stage is the "
        f"last one entered on or before that day. {_STOCK} {_NODATA}",
        ("opportunities",),
        "leading",
        (EXEC, MGR, REP, OPS),
        True,
        False,
        True,
        "pipeline",
    ),
    KPI(
        "pipeline_open_value",
        "Open pipeline (value)",
        "currency",
        f"Sum of amount of the opportunities open at the end of P. {_STOCK} {_NODATA}",
        ("opportunities",),
        "leading",
        (EXEC, MGR, REP, OPS),
        True,
        False,
        True,
        "pipeline",
    ),
    KPI(
        "pipeline_weighted_value",
        "Weighted pipeline",
        "currency",
        "Sum of amount x probability of the opportunities open at the end of P. Probability: "
        "the row's probability where it describes that day (the opportunity is still open at "
        "the report month and was then in the stage it has now), else "
        "stage_probabilities[stage at the end of P] of the team's YAML: a deal won or lost "
        "later counts at its stage's probability, not at its closed 1 or 0. A stage without "
        f"a configured probability adds nothing. {_STOCK} {_NODATA}",
        ("opportunities",),
        "leading",
        (EXEC, MGR, REP, OPS),
        True,
        False,
        True,
        "pipeline",
    ),
    KPI(
        "pipeline_created_value",
        "Pipeline created",
        "currency",
        f"Sum of amount of opportunities with created_date in P. {_FLOW} {_NODATA}",
        ("opportunities",),
        "leading",
        (EXEC, MGR, REP, OPS),
        True,
        True,
        False,
        "pipeline",
    ),
    KPI(
        "referrals",
        "Referrals",
        "count",
        "Leads with created_date in P whose source is 'referral' (case and surrounding spaces "
        "ignored); with no leads table, opportunities created in P with that source. "
        f"{_FLOW} {_NODATA}",
        ("leads|opportunities",),
        "leading",
        (MGR, SDR, OPS),
        True,
        True,
        False,
        "referrals",
    ),
    KPI(
        "pipeline_coverage",
        "Pipeline coverage (next month)",
        "ratio",
        "Value of opportunities open at the end of P with close_date in the month after P, "
        "divided by that next month's revenue target (monthly target rules of Targets); "
        "empty without a target (segments other than 'all', owner_id=... and region=... never "
        f"have one). {_STOCK}",
        ("opportunities",),
        "leading",
        (EXEC, MGR, FC),
        True,
        False,
        True,
        "coverage",
    ),
    # ------------------------------------------------------------------ leads and activity
    KPI(
        "leads_created",
        "Leads created",
        "count",
        f"Count of leads with created_date in P. {_FLOW} {_NODATA}",
        ("leads",),
        "leading",
        (MGR, SDR, OPS),
        True,
        True,
        False,
        "leads",
    ),
    KPI(
        "lead_to_opportunity_ratio",
        "Lead to opportunity ratio",
        "ratio",
        "Of leads created in P, the share with a non-empty opportunity_id (as the data stands "
        f"at the end of the report month). {_RATIO}",
        ("leads",),
        "leading",
        (MGR, SDR),
        True,
        False,
        False,
        "leads",
    ),
    KPI(
        "lead_conversion_rate",
        "Lead conversion rate",
        "ratio",
        "Of leads created in P, the share with a converted_date on or before the last day of "
        f"the report month (0 for all when there is no converted_date column). {_RATIO}",
        ("leads",),
        "leading",
        (MGR, SDR),
        True,
        False,
        False,
        "leads",
    ),
    KPI(
        "average_lead_age_days",
        "Average open lead age",
        "days",
        "Mean of (end of P - created_date) in days over leads created on or before the end of "
        "P, with no converted_date on or before the end of P, and whose status is not closed "
        "(converted, closed, closed_*, disqualified, unqualified, lost, dead, junk, rejected; "
        "current status, case-insensitive; 'converted' with a converted_date is dated by it, so "
        f"the lead is open until then). {_STOCK} {_NODATA}",
        ("leads",),
        "leading",
        (SDR, OPS),
        False,
        False,
        True,
        "leads",
    ),
    *[
        KPI(
            name,
            title,
            "count",
            f"Count of activities with type '{typ}' and timestamp in P (by owner_id = rep_id, "
            f"by region = the rep's reps.region). {_FLOW} {_NODATA}",
            ("activities",),
            "leading",
            (MGR, REP, SDR, OPS),
            True,
            True,
            False,
            "activities",
        )
        for name, typ, title in (
            ("calls", "call", "Calls"),
            ("emails", "email", "Emails"),
            ("meetings", "meeting", "Meetings"),
            ("linkedin", "linkedin", "LinkedIn requests"),
            ("proposals", "proposal", "Proposals sent"),
        )
    ],
    KPI(
        "activities_per_rep",
        "Activities per rep",
        "count",
        "All activities (any type) with timestamp in P / reps of any role employed in P "
        "(hire_date <= last day of P and leave_date empty or >= first day of P). By owner_id: "
        "that rep's activities / 1 when employed in P, else empty; by region (the rep's "
        "reps.region): the region's activities / its employed reps. Empty when no rep is employed.",
        ("activities", "reps"),
        "leading",
        (MGR, OPS),
        True,
        False,
        False,
        "activities",
    ),
    # ------------------------------------------------------------------ customers (helper module)
    KPI(
        "new_customers",
        "New customers",
        "count",
        "Customers (account_id) whose first purchase (first order, else first won "
        "opportunity) falls in P.",
        ("orders|opportunities",),
        "lagging",
        (EXEC, MGR),
        True,
        True,
        False,
        "customers",
        "salesreport.customers",
    ),
    KPI(
        "active_customers",
        "Active customers",
        "count",
        "Customers with a purchase in the active_window_months calendar months up to the end "
        f"of P. {_STOCK}",
        ("orders|opportunities",),
        "lagging",
        (EXEC, MGR),
        True,
        False,
        True,
        "customers",
        "salesreport.customers",
    ),
    KPI(
        "customer_retention_rate",
        "Customer retention rate",
        "ratio",
        "(E - N) / S: S active at the start of P, E active at the end of P, N new in P; "
        "empty when S = 0.",
        ("orders|opportunities",),
        "lagging",
        (EXEC, MGR),
        True,
        False,
        False,
        "customers",
        "salesreport.customers",
    ),
    KPI(
        "net_revenue_retention",
        "Net revenue retention",
        "ratio",
        "Revenue in the 12 months to the end of P from customers who bought in the 12 months "
        "before that, over their revenue in those earlier 12 months.",
        ("orders|opportunities",),
        "lagging",
        (EXEC,),
        True,
        False,
        True,
        "customers",
        "salesreport.customers",
    ),
    KPI(
        "gross_revenue_retention",
        "Gross revenue retention",
        "ratio",
        "As net_revenue_retention with each customer's later revenue capped at its earlier "
        "revenue.",
        ("orders|opportunities",),
        "lagging",
        (EXEC,),
        True,
        False,
        True,
        "customers",
        "salesreport.customers",
    ),
    KPI(
        "clv",
        "Customer lifetime value",
        "currency",
        "Average monthly revenue per active customer x gross_margin / monthly churn, churn = "
        "1 - customer_retention_rate over one month (window: means of the monthly values).",
        ("orders|opportunities",),
        "lagging",
        (EXEC,),
        True,
        False,
        False,
        "customers",
        "salesreport.customers",
    ),
    KPI(
        "cac",
        "Customer acquisition cost",
        "currency",
        "Sales and marketing spend in P / new_customers in P.",
        ("orders|opportunities", "spend"),
        "lagging",
        (EXEC,),
        False,
        False,
        False,
        "customers",
        "salesreport.customers",
    ),
    KPI(
        "cac_payback_months",
        "CAC payback",
        "months",
        "cac / (average monthly revenue of customers new in P x gross_margin).",
        ("orders|opportunities", "spend"),
        "lagging",
        (EXEC,),
        False,
        False,
        False,
        "customers",
        "salesreport.customers",
    ),
    # ------------------------------------------------------------------ reps
    KPI(
        "revenue_per_rep",
        "Revenue per rep",
        "currency",
        "revenue in P / account executives (role 'ae') employed in P (hire_date <= last day of "
        "P and leave_date empty or >= first day of P). By owner_id: that rep's revenue / 1 when "
        "an employed AE, else empty; by region: the region's revenue / the region's employed "
        "AEs (reps.region). Empty when no AE is employed.",
        ("orders|opportunities", "reps"),
        "lagging",
        (EXEC, MGR),
        True,
        False,
        False,
        "reps",
    ),
    KPI(
        "rep_attrition_rate",
        "Rep attrition rate",
        "ratio",
        "Reps (any role) whose leave_date falls in P / reps employed at the first day of P "
        "(hire_date <= that day and leave_date empty or >= that day); empty when none is "
        "employed then. By region: reps.region.",
        ("reps",),
        "lagging",
        (EXEC, MGR),
        False,
        False,
        False,
        "reps",
    ),
    KPI(
        "rep_retention_rate",
        "Rep retention rate",
        "ratio",
        "1 - rep_attrition_rate.",
        ("reps",),
        "lagging",
        (EXEC, MGR),
        True,
        False,
        False,
        "reps",
    ),
    KPI(
        "ramp_time_months",
        "Ramp time",
        "months",
        "Mean, over reps hired in the 24 months up to the end of P (hire month in the 24 "
        "calendar months ending with P's last month) who reached it by the end of P, of the "
        "calendar months from the hire month to the first month (hire month included) in "
        "which their won revenue (won opportunities they own, by close_date) reached "
        "ramp_threshold x their monthly revenue quota (the rep's monthly revenue target, "
        "months without a positive quota never count). Empty when no rep qualifies. "
        f"{_STOCK}",
        ("reps", "opportunities"),
        "lagging",
        (MGR,),
        False,
        False,
        True,
        "ramp",
    ),
    # ------------------------------------------------------------------ forecast (forecast module)
    KPI(
        "forecast_accuracy",
        "Forecast accuracy",
        "ratio",
        "1 - |A - F| / A for month P, F the forecast for P made one month earlier (the "
        "forecast ledger), A the revenue; empty when A = 0.",
        ("orders|opportunities",),
        "lagging",
        (EXEC, FC),
        True,
        False,
        False,
        "forecast",
        "salesreport.forecast.accuracy",
    ),
    KPI(
        "forecast_bias",
        "Forecast bias",
        "ratio",
        "(F - A) / A, same F and A as forecast_accuracy.",
        ("orders|opportunities",),
        "lagging",
        (FC,),
        False,
        False,
        False,
        "forecast",
        "salesreport.forecast.accuracy",
    ),
    KPI(
        "submission_accuracy",
        "Submission accuracy",
        "ratio",
        "1 - |A - F| / A for the team's own commit submissions for P.",
        ("forecast_submissions",),
        "lagging",
        (EXEC, FC),
        True,
        False,
        False,
        "forecast",
        "salesreport.forecast.accuracy",
    ),
]

#: the catalogue, by metric name, in the order of shared/spec/kpis.md
CATALOGUE: dict[str, KPI] = {k.name: k for k in _ENTRIES}

ACTIVITY_TYPES = {
    "calls": "call",
    "emails": "email",
    "meetings": "meeting",
    "linkedin": "linkedin",
    "proposals": "proposal",
}


def catalogue_frame() -> pd.DataFrame:
    """The catalogue as a table, one row per metric (``needs`` and ``audiences`` joined by ', ')."""
    rows = []
    for k in CATALOGUE.values():
        d = asdict(k)
        d["needs"] = ", ".join(k.needs)
        d["audiences"] = ", ".join(k.audiences)
        rows.append(d)
    return pd.DataFrame(rows)


def needs_met(kpi: KPI, tables: Tables) -> bool:
    """Whether every table ``kpi`` needs is present (``a|b``: either)."""
    return all(any(tables.has(t) for t in need.split("|")) for need in kpi.needs)


def missing_metrics(tables: Tables) -> pd.DataFrame:
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
            and tables.leads is None
            and "source" not in tables.opportunities.columns
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
