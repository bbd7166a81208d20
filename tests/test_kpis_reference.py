"""Every engine metric against a slow, obviously correct per-row implementation.

The reference below is written from shared/spec/kpis.md's words (and the documented decisions),
one window and one row at a time, with plain Python dates; it shares no code with the engine
except the window list and the target rules' period parser.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from salesreport.kpis import compute_kpis
from salesreport.periods import period_bounds, windows_frame
from tests.test_kpis_fixtures import make_params, make_tables

MONTH = "2026-06"


def _d(x):
    return None if pd.isna(x) else pd.Timestamp(x).date()


def _last_day(y: int, m: int) -> date:
    return (date(y + (m == 12), m % 12 + 1, 1)) - timedelta(days=1)


def _add_months(d: date, n: int) -> date:
    y, m = divmod(d.month - 1 + n, 12)
    y, m = d.year + y, m + 1
    return date(y, m, min(d.day, _last_day(y, m).day))


def _mean(xs):
    return sum(xs) / len(xs) if xs else math.nan


def _ratio(a, b):
    return a / b if b else math.nan


def _label(col, v):
    return f"{col}={'(none)' if v is None or (isinstance(v, float) and math.isnan(v)) else v}"


def _records(df):
    return [] if df is None else df.to_dict("records")


def _first_month(dates):
    ds = [d for d in dates if d is not None]
    return min((d.year, d.month) for d in ds) if ds else None


def _reaches(end: date, first):
    return first is not None and (end.year, end.month) >= first


class Ref:
    """The slow reference for one dataset."""

    def __init__(self, tables, params, month):
        self.t = tables
        self.p = params
        end = pd.Period(month, "M")
        self.report_end = _last_day(end.year, end.month)
        self.opps = [
            o for o in _records(tables.opportunities) if _d(o["created_date"]) <= self.report_end
        ]
        for o in self.opps:
            o["created"], o["close"] = _d(o["created_date"]), _d(o["close_date"])
        self.leads = [r for r in _records(tables.leads) if _d(r["created_date"]) <= self.report_end]
        self.acts = [
            a
            for a in _records(tables.activities)
            if pd.Timestamp(a["timestamp"]).date() <= self.report_end
        ]
        self.reps = [r for r in _records(tables.reps) if _d(r["hire_date"]) <= self.report_end]
        self.hist = {}
        for h in _records(tables.stage_history):
            if _d(h["entered_date"]) <= self.report_end:
                self.hist.setdefault(h["opportunity_id"], []).append(
                    (_d(h["entered_date"]), h["stage"])
                )
        if tables.orders is not None:
            self.rev_rows = [
                (_d(r["order_date"]), r["amount"], r)
                for r in _records(tables.orders)
                if _d(r["order_date"]) <= self.report_end
            ]
        else:
            self.rev_rows = [
                (o["close"], o["amount"], o) for o in self.opps if o["status"] == "won"
            ]
        self.targets = self._targets()

    # ---------------------------------------------------------------- helpers
    def _targets(self):
        out = {}
        for t in self.p.targets:
            out[(t.metric, t.period, t.rep_id or "", t.region or "")] = t.value
        if self.t.targets is not None:
            for r in _records(self.t.targets):
                rid = "" if pd.isna(r.get("rep_id")) else r["rep_id"]
                reg = "" if pd.isna(r.get("region")) else r["region"]
                out[(r["metric"], r["period"], rid, reg)] = r["value"]
        return out

    def month_target(self, metric, y, m, who):
        """Monthly target of an additive metric for (rep_id, region) = who."""
        fy = self.p.fiscal_year_start_month
        p = pd.Period(year=y, month=m, freq="M")
        best = {}
        for (met, per, rid, reg), v in self.targets.items():
            if met != metric or (rid, reg) != who:
                continue
            a, b = period_bounds(per, fy)
            if a <= p <= b:
                n = (b - a).n + 1
                best.setdefault(n, v / n)
        for n in (1, 3, 12):
            if n in best:
                return best[n]
        return None

    def seg_month_target(self, metric, y, m, seg):
        if seg == "all":
            v = self.month_target(metric, y, m, ("", ""))
            if v is not None:
                return v
            regs = {
                reg for (met, _, rid, reg) in self.targets if met == metric and rid == "" and reg
            }
            vals = [self.month_target(metric, y, m, ("", r)) for r in regs]
            vals = [v for v in vals if v is not None]
            return sum(vals) if vals else None
        col, _, v = seg.partition("=")
        if col == "owner_id":
            regs = {reg for (met, _, rid, reg) in self.targets if met == metric and rid == v}
            vals = [self.month_target(metric, y, m, (v, r)) for r in regs]
            vals = [x for x in vals if x is not None]
            return sum(vals) if vals else None
        if col == "region":
            return self.month_target(metric, y, m, ("", v))
        return None

    def window_target(self, metric, w):
        total = 0.0
        for p in pd.period_range(w["start_month"], w["end_month"], freq="M"):
            v = self.seg_month_target(metric, p.year, p.month, w["seg"])
            if v is None:
                return math.nan
            total += v
        return total

    def employed(self, r, start, end):
        leave = _d(r.get("leave_date"))
        return _d(r["hire_date"]) <= end and (leave is None or leave >= start)

    def stage_at(self, o, day):
        h = sorted(self.hist.get(o["opportunity_id"], []), key=lambda x: x[0])
        if not h:
            return o["stage"]
        before = [s for d, s in h if d <= day]
        return before[-1] if before else h[0][1]

    def stage_now(self, o):
        """The stage column as the point-in-time cut leaves it: open at the report month
        (status open, or closed after it) with history -> the last stage entered by then."""
        open_now = self.is_open(o, self.report_end)
        if open_now and [
            d for d, _ in self.hist.get(o["opportunity_id"], []) if d <= self.report_end
        ]:
            return self.stage_at(o, self.report_end)
        return o["stage"]

    def is_open(self, o, day):
        closed = o["status"] in ("won", "lost") and o["close"] <= day
        return o["created"] <= day and not closed

    # ---------------------------------------------------------------- metrics
    def value(self, metric, w):
        s, e, seg = w["start"], w["end"], w["seg"]
        col, _, sv = seg.partition("=")

        def in_seg(row, column=None):
            return seg == "all" or _label(col, row.get(column or col)) == seg

        if metric in (
            "revenue",
            "revenue_growth_yoy",
            "revenue_growth_mom",
            "target_attainment",
            "revenue_per_rep",
        ):
            first = _first_month([d for d, _, _ in self.rev_rows])

            def rev(a, b):
                if not _reaches(b, first):
                    return math.nan
                return sum(amt for d, amt, r in self.rev_rows if a <= d <= b and in_seg(r))

            r = rev(s, e)
            if metric == "revenue":
                return r
            if metric == "revenue_growth_yoy":
                p0 = rev(_add_months(s, -12), _last_day(*_ym(_add_months(e, -12))))
                return r / p0 - 1 if p0 else math.nan
            if metric == "revenue_growth_mom":
                pm = _add_months(e.replace(day=1), -1)
                p0 = rev(pm, _last_day(pm.year, pm.month))
                return r / p0 - 1 if p0 else math.nan
            if metric == "target_attainment":
                return _ratio(r, self.window_target("revenue", w))
            aes = [
                x
                for x in self.reps
                if x["role"] == "ae"
                and self.employed(x, s, e)
                and (
                    seg == "all"
                    or (col == "owner_id" and x["rep_id"] == sv)
                    or (col == "region" and x["region"] == sv)
                )
            ]
            return _ratio(r, len(aes))
        opps = [o for o in self.opps if in_seg(o)] if col != "stage" else self.opps
        first_opp = _first_month([o["created"] for o in self.opps])
        closed = [o for o in opps if o["status"] in ("won", "lost") and s <= o["close"] <= e]
        won = [o for o in closed if o["status"] == "won"]
        lost = [o for o in closed if o["status"] == "lost"]
        reach = _reaches(e, first_opp)
        if metric == "deals_won":
            return len(won) if reach else math.nan
        if metric == "deals_lost":
            return len(lost) if reach else math.nan
        if metric == "win_rate":
            return _ratio(len(won), len(won) + len(lost))
        if metric == "average_deal_size":
            return _mean([o["amount"] for o in won])
        if metric == "acv":
            return _mean([o["amount"] * 12 / _cm(o) for o in won])
        if metric == "sales_cycle_days":
            return _mean([(o["close"] - o["created"]).days for o in won])
        if metric == "mrr":
            if not reach:
                return math.nan
            total = 0.0
            for o in opps:
                if o["status"] == "won" and o["close"] <= e < _add_months(o["close"], _cm(o)):
                    total += o["amount"] / _cm(o)
            return total
        if metric.startswith("pipeline_open") or metric == "pipeline_weighted_value":
            if not reach:
                return math.nan
            live = [o for o in opps if self.is_open(o, e)]
            if col == "stage":
                live = [o for o in live if f"stage={self.stage_at(o, e)}" == seg]
            if metric == "pipeline_open_count":
                return len(live)
            if metric == "pipeline_open_value":
                return sum(o["amount"] for o in live)
            total = 0.0
            for o in live:
                # the data's probability describes the opportunity as it is at the report
                # month: only while it is open then, in the same stage as then and as now
                pr = o.get("probability")
                now = self.stage_at(o, self.report_end)
                usable = (
                    o["status"] == "open"
                    and now == o["stage"]
                    and self.stage_at(o, e) == now
                    and not (pr is None or (isinstance(pr, float) and math.isnan(pr)))
                )
                if not usable:
                    pr = self.p.stage_probabilities.get(self.stage_at(o, e))
                if pr is not None:
                    total += o["amount"] * pr
            return total
        if metric == "pipeline_created_value":
            if not reach:
                return math.nan
            pool = [
                o for o in self.opps if col != "stage" or _label("stage", self.stage_now(o)) == seg
            ]
            return sum(
                o["amount"]
                for o in pool
                if s <= o["created"] <= e and (col == "stage" or in_seg(o))
            )
        if metric == "pipeline_coverage":
            nxt = _add_months(e.replace(day=1), 1)
            pool = [
                o for o in self.opps if col != "stage" or _label("stage", self.stage_now(o)) == seg
            ]
            val = sum(
                o["amount"]
                for o in pool
                if (col == "stage" or in_seg(o))
                and self.is_open(o, e)
                and (o["close"].year, o["close"].month) == (nxt.year, nxt.month)
            )
            tg = self.seg_month_target("revenue", nxt.year, nxt.month, seg)
            return val / tg if tg else math.nan
        leads = [r for r in self.leads if in_seg(r)]
        first_lead = _first_month([_d(r["created_date"]) for r in self.leads])
        created = [r for r in leads if s <= _d(r["created_date"]) <= e]
        if metric == "leads_created":
            return len(created) if _reaches(e, first_lead) else math.nan
        if metric == "referrals":
            if not _reaches(e, first_lead):
                return math.nan
            return sum(1 for r in created if str(r["source"]).strip().lower() == "referral")
        if metric == "lead_to_opportunity_ratio":
            # an opportunity_id counts when known by the end of the report month: not from a
            # conversion after it, nor of an opportunity created after it
            later_opps = {
                o["opportunity_id"]
                for o in _records(self.t.opportunities)
                if _d(o["created_date"]) > self.report_end
            }
            has = [
                r
                for r in created
                if isinstance(r["opportunity_id"], str)
                and r["opportunity_id"].strip()
                and not (
                    _d(r["converted_date"]) is not None
                    and _d(r["converted_date"]) > self.report_end
                )
                and r["opportunity_id"] not in later_opps
            ]
            return _ratio(len(has), len(created))
        if metric == "lead_conversion_rate":
            conv = [
                r
                for r in created
                if _d(r["converted_date"]) is not None
                and _d(r["converted_date"]) <= self.report_end
            ]
            return _ratio(len(conv), len(created))
        if metric == "average_lead_age_days":
            if not _reaches(e, first_lead):
                return math.nan
            closed_st = {
                "converted",
                "closed",
                "disqualified",
                "unqualified",
                "lost",
                "dead",
                "junk",
                "rejected",
            }
            ages = []
            for r in leads:
                c = _d(r["created_date"])
                cv = _d(r["converted_date"])
                st = str(r["status"]).strip().lower()
                # "converted" is dated by converted_date: open until then
                status_closed = (st in closed_st or st.startswith("closed")) and not (
                    st == "converted" and cv is not None
                )
                if c <= e and (cv is None or cv > e) and not status_closed:
                    ages.append((e - c).days)
            return _mean(ages)
        first_act = _first_month([pd.Timestamp(a["timestamp"]).date() for a in self.acts])
        region_of = {}
        for r in self.reps:
            region_of.setdefault(r["rep_id"], r["region"])

        def act_in_seg(a):
            if col == "region":
                return _label("region", region_of.get(a["rep_id"])) == seg
            return in_seg(a, "rep_id")

        acts = [
            a for a in self.acts if s <= pd.Timestamp(a["timestamp"]).date() <= e and act_in_seg(a)
        ]
        types = {
            "calls": "call",
            "emails": "email",
            "meetings": "meeting",
            "linkedin": "linkedin",
            "proposals": "proposal",
        }
        if metric in types:
            return (
                sum(1 for a in acts if a["type"] == types[metric])
                if _reaches(e, first_act)
                else math.nan
            )
        if metric == "activities_per_rep":
            if not _reaches(e, first_act):
                return math.nan
            reps = [
                r
                for r in self.reps
                if self.employed(r, s, e)
                and (
                    seg == "all"
                    or (col == "owner_id" and r["rep_id"] == sv)
                    or (col == "region" and _label("region", r["region"]) == seg)
                )
            ]
            return _ratio(len(acts), len(reps))
        if metric in ("rep_attrition_rate", "rep_retention_rate"):
            reps = [r for r in self.reps if seg == "all" or _label("region", r["region"]) == seg]
            left = [
                r
                for r in reps
                if _d(r.get("leave_date")) is not None and s <= _d(r["leave_date"]) <= e
            ]
            base = [r for r in reps if self.employed(r, s, s)]
            rate = _ratio(len(left), len(base))
            return rate if metric == "rep_attrition_rate" else 1 - rate
        raise KeyError(metric)


def _ym(d: date):
    return d.year, d.month


def _cm(o):
    c = o.get("contract_months")
    return 12 if c is None or pd.isna(c) or c <= 0 else int(c)


CASES = {
    "revenue": ["region", "product"],
    "revenue_growth_yoy": ["region"],
    "revenue_growth_mom": ["region"],
    "target_attainment": ["region"],
    "deals_won": ["region", "source"],
    "deals_lost": ["region"],
    "win_rate": ["region"],
    "average_deal_size": ["segment"],
    "acv": ["region"],
    "sales_cycle_days": ["region"],
    "mrr": ["owner_id"],
    "pipeline_open_count": ["stage", "region"],
    "pipeline_open_value": ["stage"],
    "pipeline_weighted_value": ["stage", "region"],
    "pipeline_created_value": ["stage", "region"],
    "pipeline_coverage": ["region"],
    "leads_created": ["region"],
    "referrals": ["segment"],
    "lead_to_opportunity_ratio": ["region"],
    "lead_conversion_rate": ["region"],
    "average_lead_age_days": ["region"],
    "calls": ["owner_id", "region"],
    "emails": [],
    "meetings": ["owner_id"],
    "linkedin": [],
    "proposals": [],
    "activities_per_rep": ["owner_id", "region"],
    "revenue_per_rep": ["owner_id", "region"],
    "rep_attrition_rate": ["region"],
    "rep_retention_rate": ["region"],
}


def _check(kpis, tables, params, metrics):
    ref = Ref(tables, params, MONTH)
    wins = windows_frame(MONTH, 12, params.fiscal_year_start_month)
    bad = []
    n = 0
    for metric in metrics:
        sub = kpis[kpis["metric"] == metric]
        segs = ["all"] + [s for s in sub["segment"].unique() if s.split("=")[0] in CASES[metric]]
        for w in wins.to_dict("records"):
            if metric == "revenue_growth_mom" and w["window"] != "month":
                continue
            for seg in segs:
                row = sub[
                    (sub["window"] == w["window"])
                    & (sub["period"] == w["period"])
                    & (sub["segment"] == seg)
                ]
                assert len(row) == 1, (metric, w["window"], w["period"], seg)
                got = float(row["value"].iloc[0])
                want = ref.value(
                    metric, {**w, "start": w["start"].date(), "end": w["end"].date(), "seg": seg}
                )
                n += 1
                if not (np.isnan(got) and math.isnan(want)) and not np.isclose(
                    got, want, rtol=1e-9, atol=1e-9
                ):
                    bad.append((metric, w["window"], w["period"], seg, got, want))
    assert n > 0
    assert not bad, bad[:10]


@pytest.fixture(scope="module")
def data():
    tables = make_tables(
        seed=7, n_opps=160, n_leads=90, n_acts=200, n_reps=6, n_orders=0, orders=False
    )
    targets = pd.DataFrame(
        {
            "period": ["2026", "2026-Q2", "2026-05", "2025", "2026", "2026"],
            "metric": ["revenue"] * 6,
            "value": [120000.0, 45000.0, 9000.0, 90000.0, 30000.0, 20000.0],
            "rep_id": [None, None, None, None, None, "R001"],
            "region": [None, None, None, None, "DE", None],
        }
    )
    tables = tables.replace(targets=targets)
    params = make_params(history_months=12, fiscal_year_start_month=2)
    return tables, params, compute_kpis(tables, params, MONTH)


@pytest.mark.parametrize("metric", list(CASES))
def test_metric_matches_slow_reference(data, metric):
    tables, params, kpis = data
    _check(kpis, tables, params, [metric])


def test_revenue_from_orders_matches_slow_reference():
    tables = make_tables(
        seed=11, n_opps=60, n_leads=5, n_acts=5, n_reps=4, n_orders=120, orders=True
    )
    params = make_params(
        history_months=12, targets=[{"metric": "revenue", "period": "2026", "value": 50000}]
    )
    kpis = compute_kpis(tables, params, MONTH)
    _check(
        kpis,
        tables,
        params,
        ["revenue", "revenue_growth_yoy", "revenue_growth_mom", "target_attainment"],
    )
