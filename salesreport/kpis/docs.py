"""Write ``docs/kpis.md`` from the catalogue: ``python -m salesreport.kpis.docs``.

The page is generated, never edited by hand; a test checks that it is current.
"""

from __future__ import annotations

from pathlib import Path

from salesreport.kpis.catalogue import CATALOGUE, SEGMENT_COLUMNS

DECISIONS = """\
## How the numbers are computed (our decisions where the spec is silent)

**Rows.** `kpis.csv` has one row per metric, window (`month`, `qtd`, `ytd`, `trailing12`),
period (the month the window ends in, for each of the `history_months` months up to the
report month) and segment. Rows are sorted stably by `metric, window, period, segment`
(text order). The forecast metrics come from `salesreport.forecast.accuracy` and are appended
by the report run; the customer metrics come from `salesreport.customers`. `kpis.parquet` and
`kpis.csv` hold every row up to `kpis_csv_max_rows` rows (default 1,048,575, what a
spreadsheet opens). A team with more (counted before any is computed) gets its per-rep rows
(segment `owner_id=...`) for the report month only: those of the months before are not
computed (each month's report holds that month's; a rep's `prior` is still computed), and
when the rest is still too many `kpis.csv` leaves out every per-rep row. The run says so
(`salesreport.outputs.kpis_csv_rows`); `kpis_csv_max_rows: 0` computes and writes them all.

**Windows.** `qtd` and `ytd` follow `fiscal_year_start_month`; a fiscal year is named after the
calendar year it ends in. Flow metrics count or sum every row dated in the window; ratios are
ratios of the window's sums, never means of monthly ratios. Stock metrics (marked *stock*
below) take, for every window, the value at the last day of the window's last month.

**Point in time.** `compute_kpis` applies the loader's point-in-time cut
(`salesreport.data.pit.as_of`; a no-op on tables the loader has already cut): rows dated after
the report month are dropped (opportunities and leads by `created_date`, activities by
`timestamp`, orders by `order_date`, stage history by `entered_date`, reps by `hire_date`,
spend by `month`); an opportunity won or lost later is open, a conversion or leave date later
is cleared. Past month ends are read the same way: an opportunity is open at the end of month
k when created by then and not won or lost by then.

**Empty values.** A value that cannot be computed is empty, never 0: a zero denominator, no
target, and windows ending before the first month of the metric's source data (first order or
won deal for revenue, first `created_date` for opportunities and leads, first activity). After
that first month a count with no rows is 0 and a mean or ratio with no rows is empty.

**Segments.** `all` is the team; `col=value` splits by the metric's source table column
(SEGMENT_COLUMNS where present; pipeline metrics also by `stage`); a missing value is
`col=(none)`. Every segment value found in the source table (up to the report month) gets a
row for every window. Activities split by `owner_id` = the activity's `rep_id` and by `region` = that rep's
`reps.region` (so OKRs with `spokes: region` can grade activity key results). Rep metrics:
`revenue_per_rep` by `owner_id` and `region`; attrition, retention and ramp by the reps'
`region`. Customer metrics split each customer by its first purchase (see
`salesreport.customers`).

**Prior.** The same metric, window and segment ending 12 months earlier (computed from the
data, 24 extra months of history being computed for it), empty where that is empty.

**Targets.** From the targets table and `targets:` in the team's YAML; the table wins where
both set the same (metric, period, rep_id, region). Periods `2026-10`, `2026-Q4`, `2026` (fiscal).
For an additive metric (a flow that sums across months) a month's target is the month row,
else its fiscal quarter's row / 3, else its fiscal year's row / 12, and a window's target is
the sum over its months (empty if any month has none). For other metrics, the row set for
exactly the window's span: the month row for `month`, the quarter row for `qtd` (any month of
the quarter), the year row for `ytd`, the year row for `trailing12` only when it ends in the
fiscal year's last month. `all` uses rows without rep_id and region, else (additive metrics,
month by month) the sum of the region rows; `owner_id=X` uses rep_id X rows; `region=R` rows
with region R and no rep_id. `pipeline_coverage` divides by the next month's revenue target;
`target_attainment` by the revenue target of the same window. Within one source the last row
of a key wins; a target of a metric that is not in the catalogue is ignored.

**Status.** One rule for every KPI tile, key result and objective (`salesreport.status`):
a figure's ratio r to where it should be by now is green at or above `rag.green` (1.0),
amber at or above `rag.amber` (0.9), else red. For a KPI against the target of its own
window (`kpi_status`), r = value/target (target/value where lower is better). `kpi_status`
also adds `benchmark` (`benchmarks:` in the YAML) and `yoy_change` = value / prior - 1.

**OKRs.** `okrs.csv`: grade = (value - baseline) / (target - baseline) clipped to [0, 1] on the
report month's value of the key result's metric, window and segment; objective grade = mean of
its key results' grades weighted by `weight` (over graded key results). Status: r = the
unclipped grade over `due`, the share of the target due by the end of the report month (the
months gone of the fiscal quarter or year for a metric that adds up over months in a `qtd` or
`ytd` window, else 1; an objective: the weighted mean of its key results' `due`), by the rule
above, so a year-to-date revenue key result reads as the revenue tile does against the target
to date; a committed key result is green only at grade 1.0. This replaces the spec's OKR
bands (0.7 green, 0.4 yellow): one rule and one vocabulary (green, amber, red) on every page.
An objective with `spokes: COL` is graded as written and once per value of COL found in the
KPIs of the report month (segment `COL=value`; `COL=(none)` is not a spoke).

**Reps.** Employed in P: `hire_date` <= last day of P and `leave_date` empty or >= first day of
P (`hire_date` is required: a row without one is dropped by the loader and counted). A rep's `role` is compared trimmed, in any case, with runs of spaces and hyphens read as
`_`, and with its aliases: `account_executive` (so "Account Executive") is an `ae`; `bdr` an
`sdr` (`salesreport.rules.ROLE_ALIASES`). `revenue_per_rep` counts account executives only;
`activities_per_rep` reps of any role; attrition counts reps of any role. The same rule picks
the pages' account executives: the attainment leaderboard, the per-AE pages and the activity
table list the AEs employed at some point in the report month (one who left earlier is in
none of them). A leaderboard's quota year to date sums the rep's monthly `revenue` targets,
each month resolved as for `kpis.csv` (month row, else quarter / 3, else year / 12, from the
table and the YAML), over the months of the fiscal year to date that have one: a rep hired
in the year is measured against the quota of their months (`kpis.csv`'s `owner_id` `ytd`
target is empty then, as a window's target needs every month).

**Leads.** A lead's closed statuses (for lead age): converted, closed (and any status starting
with "closed"), disqualified, unqualified, lost, dead, junk, rejected, compared lower case.
The status is the current one, except `converted` with a `converted_date`, which is dated:
the lead is open until that date. `lead_to_opportunity_ratio` counts leads with a non-empty
`opportunity_id` as the data stands at the end of the report month (the point-in-time cut
clears ids from later conversions and of opportunities created later).

**Pipeline state.** Open at the end of month k: created on or before its last day and not
won/lost on or before it. With stage history, the stage at that day is the last stage entered
on or before it (before the first entry: the first stage entered); it chooses the stage
segment and the probability: the row's `probability` only where it describes that day (the
opportunity is still open at the report month and was then in the stage it has now), else the
YAML's `stage_probabilities` of the stage it was in (a stage without one adds nothing). A deal
won later is not weighted at its closed probability of 1 in the months it was open. `pipeline_created_value` and
`pipeline_coverage` split by the `stage` column as it stands.
"""


def render() -> str:
    """The text of ``docs/kpis.md``."""
    lines = [
        "# KPI catalogue",
        "",
        "Generated by `python -m salesreport.kpis.docs` from `salesreport/kpis/catalogue.py`;",
        "do not edit by hand. Definitions follow shared/spec/kpis.md.",
        "",
        DECISIONS.replace("SEGMENT_COLUMNS", ", ".join(f"`{c}`" for c in SEGMENT_COLUMNS)),
        "## Metrics",
        "",
        "| metric | title | unit | kind | better | adds up | stock | needs | audiences |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for k in CATALOGUE.values():
        lines.append(
            f"| `{k.name}` | {k.title} | {k.unit} | {k.kind} | "
            f"{'higher' if k.higher_is_better else 'lower'} | {'yes' if k.additive else 'no'} | "
            f"{'yes' if k.point_in_time else 'no'} | {', '.join(k.needs).replace('|', ' or ')} | "
            f"{', '.join(k.audiences)} |"
        )
    lines += ["", "## Definitions", ""]
    for k in CATALOGUE.values():
        where = "" if k.computed_by == "salesreport.kpis" else f" (computed in `{k.computed_by}`)"
        lines.append(f"- **`{k.name}`**{where}: {k.formula}")
        if k.definition is not None:
            lines.append(f"  *Computed as* {describe(k.definition.value)}. {_rows(k.definition)}")
    return "\n".join(lines) + "\n"


_RANGES = {
    "window": "in the window",
    "year_before": "in the same window a year earlier",
    "previous_month": "in the month before the window's last",
    "end_month": "in the window's last month",
    "end": "at the end of the window",
    "start": "at the start of the window",
}
_KINDS = {
    "employed": "reps employed at some point in the window",
    "employed_at_start": "reps employed on the window's first day",
    "clv": "the mean monthly revenue per active customer x gross_margin / the mean monthly churn",
    "new_customer_arpu": "the mean monthly revenue of the customers new in the window",
    "spend": "sales and marketing spend in the window (empty when a month has none)",
    "ramp": "the mean months from hire to the first month at ramp_threshold x quota",
}


def describe(e) -> str:
    """A definition's expression in words (``docs/kpis.md``'s *Computed as*)."""
    from salesreport.kpis.model import (
        Const,
        Measure,
        Minus,
        NextMonthTarget,
        Param,
        Ratio,
        Target,
        Times,
    )
    from salesreport.kpis.sources import DATES, WORDS

    if isinstance(e, Measure):
        if e.kind in _KINDS:
            return _KINDS[e.kind] + (f" ({WORDS[e.source][e.column]})" if e.column else "")
        words = WORDS[e.source][e.column]
        if e.kind == "retention":
            return f"{words} of the customers who bought in the 12 months before the last 12"
        if e.kind == "flow":
            date = DATES[e.month]
            date = date.get(e.source, "") if isinstance(date, dict) else date
            return f"{_how(e)} of {words} by {date} {_RANGES[e.range]}"
        if e.kind == "stock_age":
            return f"sum of {words} {_RANGES[e.range]}"
        if e.column is None:
            words = WORDS[e.source].get("alive", words)
        return f"{_how(e)} of {words} {_RANGES[e.range]}"
    if isinstance(e, Ratio):
        cond = "above 0" if e.positive else "not 0"
        return f"({describe(e.num)}) / ({describe(e.den)}), when the divisor is {cond}"
    if isinstance(e, Minus):
        right = describe(e.right)
        return f"{describe(e.left)} - " + (right if isinstance(e.right, Const) else f"({right})")
    if isinstance(e, Times):
        return f"{describe(e.left)} x {describe(e.right)}"
    if isinstance(e, Const):
        return f"{e.value:g}"
    if isinstance(e, Param):
        return f"`{e.name}`"
    if isinstance(e, Target):
        return f"the {e.metric} target of the window"
    if isinstance(e, NextMonthTarget):
        return f"the {e.metric} target of the month after the window"
    raise TypeError(e)


#: measure columns that are summed (the others are 0/1 flags: counted)
SUMMED = {"amount", "won_amount", "won_acv", "won_cycle", "mrr_amount", "weighted", "day"}


def _how(m) -> str:
    return "sum" if m.column in SUMMED else "number"


def _rows(d) -> str:
    """Which rows a definition gives (segments, windows, empty before the data)."""
    parts = [f"Rows: the team and each value of its segment columns in `{d.rows_from}`"]
    if d.windows:
        parts.append(f"windows {', '.join(d.windows)} only")
    if d.blank:
        parts.append("empty for windows ending before that data's first month")
    return "; ".join(parts) + "."


def docs_path() -> Path:
    from salesreport.devtools import generated_path

    return generated_path("kpis.md")


def main(argv: list[str] | None = None) -> int:
    """Write ``docs/kpis.md`` (or the path given as the only argument)."""
    from salesreport.devtools import write_generated

    return write_generated(render, "kpis.md", argv)


if __name__ == "__main__":
    raise SystemExit(main())
