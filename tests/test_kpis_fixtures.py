"""A seeded, vectorised generator of contract-shaped tables for the KPI tests and benchmark.

``make_tables(seed, ...)`` returns :class:`salesreport.tables.Tables` with the in-memory dtypes
of :mod:`salesreport.tables` (dates as midnight ``datetime64[ns]``, amounts ``float64``,
``contract_months`` ``Int64``). Sizes are parameters so the benchmark can ask for millions of
rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.params import TeamParams
from salesreport.tables import Tables

STAGES = ["Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation"]
REGIONS = ["DE", "UK", "FR"]
SOURCES = ["web", "referral", "event", None]
SEGMENTS = ["smb", "mid", "ent"]
PRODUCTS = ["core", "addon"]
ACT_TYPES = ["call", "email", "meeting", "linkedin", "proposal", "other"]


def _days(rng, start: str, end: str, n: int) -> pd.Series:
    a = pd.Timestamp(start).value // 86_400_000_000_000
    b = pd.Timestamp(end).value // 86_400_000_000_000
    d = rng.integers(a, b + 1, n)
    return pd.Series(d.astype("datetime64[D]").astype("datetime64[ns]"))


def make_tables(
    seed: int = 0,
    n_opps: int = 400,
    n_leads: int = 300,
    n_acts: int = 800,
    n_reps: int = 8,
    n_orders: int = 300,
    start: str = "2023-01-01",
    end: str = "2026-12-31",
    orders: bool = True,
    stage_history: bool = True,
    probability: bool = True,
) -> Tables:
    """Random tables; rows may be dated after any report month (for point-in-time tests)."""
    rng = np.random.default_rng(seed)
    rep_ids = np.array([f"R{i:03d}" for i in range(n_reps)], dtype=object)
    hire = _days(rng, "2021-06-01", end, n_reps)
    stays = rng.random(n_reps) < 0.6
    leave = hire + pd.to_timedelta(rng.integers(20, 1200, n_reps), unit="D")
    leave = leave.where(~stays)
    reps = pd.DataFrame(
        {
            "rep_id": rep_ids,
            "name": [f"Rep {i}" for i in range(n_reps)],
            "role": rng.choice(
                np.array(["ae", "sdr", "manager"], dtype=object), n_reps, p=[0.6, 0.3, 0.1]
            ),
            "region": rng.choice(np.array(REGIONS, dtype=object), n_reps),
            "hire_date": hire,
            "leave_date": leave,
        }
    )
    created = _days(rng, start, end, n_opps)
    cycle = pd.to_timedelta(rng.integers(0, 200, n_opps), unit="D")
    status = rng.choice(
        np.array(["open", "won", "lost"], dtype=object), n_opps, p=[0.3, 0.35, 0.35]
    )
    cm = pd.array(rng.choice([1, 6, 12, 24], n_opps), dtype="Int64")
    cm[rng.random(n_opps) < 0.2] = pd.NA
    opp = pd.DataFrame(
        {
            "opportunity_id": np.array([f"O{i:07d}" for i in range(n_opps)], dtype=object),
            "account_id": np.array(
                [f"A{i:05d}" for i in rng.integers(0, max(n_opps // 3, 1), n_opps)], dtype=object
            ),
            "owner_id": rng.choice(rep_ids, n_opps),
            "created_date": created,
            "close_date": created + cycle,
            "stage": rng.choice(np.array(STAGES, dtype=object), n_opps),
            "status": status,
            "amount": np.round(rng.gamma(2.0, 5000.0, n_opps), 2),
            "region": rng.choice(np.array(REGIONS, dtype=object), n_opps),
            "source": rng.choice(np.array(SOURCES, dtype=object), n_opps),
            "segment": rng.choice(np.array(SEGMENTS, dtype=object), n_opps),
            "product": rng.choice(np.array(PRODUCTS, dtype=object), n_opps),
            "contract_months": cm,
        }
    )
    if probability:
        p = rng.random(n_opps).round(2)
        p[rng.random(n_opps) < 0.5] = np.nan
        opp["probability"] = p
    sh = None
    if stage_history:
        k = rng.integers(0, 4, n_opps)
        idx = np.repeat(np.arange(n_opps), k)
        off = pd.to_timedelta(rng.integers(0, 120, len(idx)), unit="D")
        sh = pd.DataFrame(
            {
                "opportunity_id": opp["opportunity_id"].to_numpy()[idx],
                "stage": rng.choice(np.array(STAGES, dtype=object), len(idx)),
                "entered_date": opp["created_date"].to_numpy()[idx] + off.to_numpy(),
            }
        )
    lc = _days(rng, start, end, n_leads)
    conv = lc + pd.to_timedelta(rng.integers(0, 90, n_leads), unit="D")
    converted = rng.random(n_leads) < 0.4
    leads = pd.DataFrame(
        {
            "lead_id": np.array([f"L{i:07d}" for i in range(n_leads)], dtype=object),
            "created_date": lc,
            "source": rng.choice(
                np.array(["web", "referral", "Referral ", "event"], dtype=object), n_leads
            ),
            "status": rng.choice(
                np.array(["new", "working", "converted", "disqualified"], dtype=object), n_leads
            ),
            "owner_id": rng.choice(rep_ids, n_leads),
            "region": rng.choice(np.array(REGIONS, dtype=object), n_leads),
            "converted_date": conv.where(converted),
            "opportunity_id": np.where(
                rng.random(n_leads) < 0.3,
                rng.choice(opp["opportunity_id"].to_numpy(), n_leads),
                None,
            ),
            "segment": rng.choice(np.array(SEGMENTS, dtype=object), n_leads),
        }
    )
    ts = _days(rng, start, end, n_acts) + pd.to_timedelta(rng.integers(0, 86_400, n_acts), unit="s")
    acts = pd.DataFrame(
        {
            "activity_id": np.arange(n_acts).astype(str).astype(object),
            "rep_id": rng.choice(rep_ids, n_acts),
            "timestamp": ts,
            "type": rng.choice(np.array(ACT_TYPES, dtype=object), n_acts),
        }
    )
    ords = None
    if orders:
        ords = pd.DataFrame(
            {
                "order_id": np.array([f"S{i:07d}" for i in range(n_orders)], dtype=object),
                "account_id": np.array(
                    [f"A{i:05d}" for i in rng.integers(0, max(n_orders // 4, 1), n_orders)],
                    dtype=object,
                ),
                "order_date": _days(rng, start, end, n_orders),
                "amount": np.round(rng.gamma(2.0, 800.0, n_orders), 2),
                "region": rng.choice(np.array(REGIONS, dtype=object), n_orders),
                "product": rng.choice(np.array(PRODUCTS, dtype=object), n_orders),
            }
        )
    return Tables(
        opportunities=opp, stage_history=sh, leads=leads, activities=acts, orders=ords, reps=reps
    )


def make_params(**kw) -> TeamParams:
    """Team parameters with the default stage probabilities."""
    base = {
        "team": "test",
        "stage_probabilities": {
            "Prospecting": 0.1,
            "Qualification": 0.2,
            "Discovery": 0.35,
            "Proposal": 0.55,
        },
    }
    base.update(kw)
    return TeamParams.model_validate(base)


def test_generator_gives_contract_dtypes():
    t = make_tables(seed=1, n_opps=50, n_leads=20, n_acts=30, n_orders=10)
    assert t.opportunities["created_date"].dtype == "datetime64[ns]"
    assert t.opportunities["amount"].dtype == "float64"
    assert str(t.opportunities["contract_months"].dtype) == "Int64"
    assert (t.opportunities["close_date"] >= t.opportunities["created_date"]).all()
    assert t.activities["timestamp"].dtype == "datetime64[ns]"
    assert set(t.opportunities["status"]) <= {"open", "won", "lost"}
