"""The domain rules (``salesreport.rules``), each on a few rows worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from salesreport import rules
from salesreport.engine import Engine
from salesreport.tables import TABLES

T = pd.Timestamp


def _engine(**tables: pd.DataFrame) -> Engine:
    e = Engine.duckdb()
    for name, df in tables.items():
        e.register(name, df, TABLES.get(name), key="_row")
    return e


def _month(text: str) -> int:
    return pd.Period(text, "M").ordinal


def test_month_and_day_numbers_are_pandas_ordinals():
    e = _engine(orders=pd.DataFrame({"order_id": ["a", "b"], "account_id": ["x", "y"],
                                     "order_date": [T("1970-01-31"), T("2026-10-31")],
                                     "amount": [1.0, 2.0]}))  # fmt: skip
    o = e.table("orders")
    got = e.execute(o.select(m=rules.month_of(o.order_date), d=rules.day_of(o.order_date)))
    assert got["m"].tolist() == [0, _month("2026-10")]
    assert got["d"].tolist() == [30, (T("2026-10-31") - T("1970-01-01")).days]


def test_month_ordinals_group_right_on_timestamps():
    """DuckDB 2.0.1 grouped ``(year - 1970) * 12 + month - 1`` of a TIMESTAMP_NS column into
    values 655,360 too high; the pinned engine must group them right."""
    import ibis

    e = Engine.duckdb()
    ts = pd.DataFrame(
        {"t": pd.to_datetime(["2022-01-26 10:00", "2022-01-14 00:00", "2022-02-01 00:00"])}
    )
    t = e.backend.create_table("ts", ts, temp=True)
    g = e.execute(t.group_by(m=rules.month_of(t.t)).agg(n=t.count()).order_by("m"))
    assert g["m"].tolist() == [_month("2022-01"), _month("2022-02")]
    assert g["n"].tolist() == [2, 1]
    del ibis


def _opps() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "opportunity_id": ["won", "lost", "open", "late"],
            "account_id": ["a"] * 4,
            "owner_id": ["r"] * 4,
            "created_date": [T("2026-01-15"), T("2026-01-31"), T("2026-02-01"), pd.NaT],
            "close_date": [T("2026-03-10"), T("2026-01-31"), T("2026-01-01"), T("2026-05-01")],
            "stage": ["Won", "Lost", "Proposal", "Proposal"],
            "status": ["won", "lost", "open", "won"],
            "amount": [10.0, 20.0, 30.0, 40.0],
            "region": ["DE"] * 4,
            "contract_months": pd.array([24, 0, pd.NA, 6], dtype="Int64"),
        }
    )


def test_open_months_from_created_to_close():
    e = _engine(opportunities=_opps())
    o = e.table("opportunities")
    first, stop = rules.open_months(o)
    got = e.execute(o.select("opportunity_id", first=first, stop=stop)).set_index("opportunity_id")
    # won: open at the ends of January and February (closed in March)
    assert (got.loc["won", "first"], got.loc["won", "stop"]) == (
        _month("2026-01"),
        _month("2026-03"),
    )
    # lost on the day it was created: never open at a month end (first == stop)
    assert got.loc["lost", "first"] == got.loc["lost", "stop"] == _month("2026-01")
    # open: from February on, whatever its (past) expected close date
    assert (got.loc["open", "first"], got.loc["open", "stop"]) == (_month("2026-02"), rules.FAR)
    # no created date: never open
    assert got.loc["late", "first"] == rules.FAR


def test_contract_months_default_to_twelve():
    e = _engine(opportunities=_opps())
    o = e.table("opportunities")
    got = e.execute(o.select(cm=rules.contract_months(o)))["cm"].tolist()
    assert got == [24.0, 12.0, 12.0, 6.0]


def test_stage_runs_last_stage_entered_by_each_month_end():
    opp = _opps().iloc[[0, 2]].reset_index(drop=True)  # won (row 0), open (row 1)
    history = pd.DataFrame(
        {
            "opportunity_id": ["won", "won", "won", "won"],
            "stage": ["Qualify", "Propose", "Negotiate", "Won"],
            "entered_date": [T("2026-01-15"), T("2026-02-03"), T("2026-02-20"), T("2026-03-10")],
        }
    )
    e = _engine(opportunities=opp, stage_history=history)
    runs = e.execute(rules.stage_runs(e.table("opportunities"), e.table("stage_history")))
    won = runs[runs["_row"] == 0].sort_values("p_first")
    # before January: its first stage; end of Jan: Qualify; end of Feb: Negotiate (the later
    # of February's two); from March: Won
    assert won["stage"].tolist() == ["Qualify", "Qualify", "Negotiate", "Won"]
    assert won["p_first"].tolist() == [
        -rules.FAR,
        _month("2026-01"),
        _month("2026-02"),
        _month("2026-03"),
    ]
    assert won["p_stop"].tolist() == [
        _month("2026-01"),
        _month("2026-02"),
        _month("2026-03"),
        rules.FAR,
    ]
    # no history: its stage column at every month end
    other = runs[runs["_row"] == 1]
    assert other[["stage", "p_first", "p_stop"]].values.tolist() == [
        ["Proposal", -rules.FAR, rules.FAR]
    ]


def test_same_day_entries_the_later_row_of_the_file_wins():
    opp = _opps().iloc[[0]].reset_index(drop=True)
    history = pd.DataFrame(
        {
            "opportunity_id": ["won", "won"],
            "stage": ["A", "B"],
            "entered_date": [T("2026-02-01"), T("2026-02-01")],
        }  # fmt: skip
    )
    e = _engine(opportunities=opp, stage_history=history)
    runs = e.execute(rules.stage_runs(e.table("opportunities"), e.table("stage_history")))
    at_feb = runs[(runs["p_first"] <= _month("2026-02")) & (_month("2026-02") < runs["p_stop"])]
    assert at_feb["stage"].tolist() == ["B"]


@pytest.mark.parametrize(
    ("role", "ae", "sdr"),
    [
        ("ae", True, False),
        (" Account Executive ", True, False),
        ("account-executive", True, False),
        ("AE", True, False),
        ("SDR", False, True),
        ("Business Development Representative", False, True),
        ("manager", False, False),
        (None, False, False),
    ],
)
def test_roles_and_their_aliases(role, ae, sdr):
    reps = pd.DataFrame({"rep_id": ["r"], "name": ["n"], "role": [role], "region": ["DE"],
                         "hire_date": [T("2020-01-01")]})  # fmt: skip
    e = _engine(reps=reps)
    r = e.table("reps")
    got = e.execute(r.select(ae=rules.has_role(r, "ae"), sdr=rules.has_role(r, "sdr"))).iloc[0]
    assert (got["ae"] == True, got["sdr"] == True) == (ae, sdr)  # noqa: E712 (NULL: not)


def test_employed_in_a_window_counts_the_first_and_last_days():
    import ibis

    reps = pd.DataFrame(
        {
            "rep_id": ["hired_last_day", "left_first_day", "left_before", "hired_after", "staying"],
            "name": ["n"] * 5,
            "role": ["ae"] * 5,
            "region": ["DE"] * 5,
            "hire_date": [
                T("2026-03-31"),
                T("2020-01-01"),
                T("2020-01-01"),
                T("2026-04-01"),
                T("2019-05-05"),
            ],
            "leave_date": [pd.NaT, T("2026-03-01"), T("2026-02-28"), pd.NaT, pd.NaT],
        }
    )
    e = _engine(reps=reps)
    r = e.table("reps")
    march = rules.employed(r, ibis.date("2026-03-01"), ibis.date("2026-03-31"))
    got = e.execute(r.select("rep_id", emp=march)).set_index("rep_id")["emp"].to_dict()
    assert got == {"hired_last_day": True, "left_first_day": True, "left_before": False,
                   "hired_after": False, "staying": True}  # fmt: skip


def test_closed_leads_by_status_and_a_dated_conversion():
    leads = pd.DataFrame(
        {
            "lead_id": list("abcdefg"),
            "created_date": [T("2026-01-01")] * 7,
            "source": ["web"] * 7,
            "status": ["working", " Disqualified", "closed - no budget", "converted", "converted",
                       None, "nurture"],
            "owner_id": ["s"] * 7,
            "region": ["DE"] * 7,
            "converted_date": [pd.NaT, pd.NaT, pd.NaT, T("2026-02-01"), pd.NaT, pd.NaT, pd.NaT],
        }
    )  # fmt: skip
    e = _engine(leads=leads)
    t = e.table("leads")
    got = e.execute(t.select("lead_id", closed=rules.lead_closed(t)))["closed"].tolist()
    # a dated conversion is not closed before its date; an undated one closes the lead
    assert got == [False, True, True, False, True, False, False]


def test_referral_source_and_links_ignore_case_and_blanks():
    leads = pd.DataFrame(
        {
            "lead_id": list("abcd"),
            "created_date": [T("2026-01-01")] * 4,
            "source": [" Referral", "referral", "web", None],
            "status": ["new"] * 4,
            "owner_id": ["s"] * 4,
            "region": ["DE"] * 4,
            "opportunity_id": ["O1", "  ", None, "O2"],
        }
    )
    e = _engine(leads=leads)
    t = e.table("leads")
    got = e.execute(
        t.select(ref=rules.is_referral(t.source), linked=rules.has_text(t.opportunity_id))
    )
    assert got["ref"].tolist() == [True, True, False, False]
    assert got["linked"].tolist() == [True, False, False, True]


def test_total_is_exact_whatever_the_order_of_the_rows():
    # a float sum of 1e16, 1 and -1e16 is 0 or 1 depending on the order; the exact total is 1
    rows = [1e16, 1.0, -1e16, 0.1, 0.2]
    e = Engine.duckdb()
    for i, order in enumerate(([0, 1, 2, 3, 4], [0, 2, 1, 4, 3], [2, 0, 1, 3, 4])):
        t = e.backend.create_table(
            f"v{i}", pd.DataFrame({"v": [rows[j] for j in order]}), temp=True
        )
        assert e.execute(t.aggregate(s=rules.total(t.v)))["s"].iloc[0] == pytest.approx(1.3, abs=0)


# ------------------------------------- the pandas rules of pages and forecasts = the engine's

OPEN_STATUSES = ("open", "won", "lost")
#: the first, the 15th and the last day of each month: the edges a rule can get wrong
DAYS = sorted(
    d + off
    for d in pd.date_range("2025-11-01", "2026-06-01", freq="MS")
    for off in (pd.Timedelta(0), pd.Timedelta(days=14), pd.offsets.MonthEnd(0))
)


def _random_pipeline(draw) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Opportunities (unique ids, as the loader keeps them; created or close dates missing,
    closed on the day they were created, open with a past close date) and a stage history
    whose rows the loader would keep (every column present), dates often shared."""
    from hypothesis import strategies as st

    n = draw(st.integers(1, 8))
    day = st.one_of(st.none(), st.sampled_from(DAYS))
    opp = pd.DataFrame(
        {
            "opportunity_id": [f"O{i}" for i in range(n)],
            "account_id": ["a"] * n,
            "owner_id": ["r"] * n,
            "created_date": pd.to_datetime(draw(st.lists(day, min_size=n, max_size=n))),
            "close_date": pd.to_datetime(draw(st.lists(day, min_size=n, max_size=n))),
            "stage": draw(st.lists(st.sampled_from(["S1", "S2", "S3"]), min_size=n, max_size=n)),
            "status": draw(st.lists(st.sampled_from(OPEN_STATUSES), min_size=n, max_size=n)),
            "amount": [1.0] * n,
            "region": ["DE"] * n,
        }
    )
    m = draw(st.integers(0, 12))
    few_days = st.sampled_from(DAYS[::2])  # shared days: ties broken by file order
    history = pd.DataFrame(
        {
            "opportunity_id": draw(st.lists(st.sampled_from([*opp["opportunity_id"], "X"]),
                                            min_size=m, max_size=m)),
            "stage": draw(st.lists(st.sampled_from(["S1", "S2", "S3", "S4"]), min_size=m,
                                   max_size=m)),
            "entered_date": pd.to_datetime(draw(st.lists(few_days, min_size=m, max_size=m))),
        }
    )  # fmt: skip
    return opp, history


def test_open_at_and_stage_at_of_pages_and_forecasts_agree_with_the_engine_rules():
    """analysis.py and the pipeline forecast read "open at a date" and "stage at a date" from
    pandas (``pipeline_forecast.open_at``/``stage_at``); the KPIs from ``rules.open_months``
    and ``rules.stage_runs`` on the engine. At every month end both must say the same."""
    from hypothesis import given
    from hypothesis import strategies as st

    from salesreport.forecast.pipeline_forecast import open_at, stage_at
    from salesreport.tables import Tables

    @given(st.data())
    def check(data):
        opp, history = _random_pipeline(data.draw)
        e = _engine(opportunities=opp, stage_history=history)
        o = e.table("opportunities")
        first, stop = rules.open_months(o)
        months = e.execute(o.select("_row", first=first, stop=stop)).sort_values("_row")
        runs = e.execute(rules.stage_runs(o, e.table("stage_history")))
        tables = Tables(opportunities=opp, stage_history=history)
        for end in pd.date_range("2025-10-31", "2026-07-31", freq="ME"):
            k = end.to_period("M").ordinal
            engine_open = ((months["first"] <= k) & (k < months["stop"])).tolist()
            assert open_at(opp, end).tolist() == engine_open, end
            held = runs[(runs["p_first"] <= k) & (k < runs["p_stop"])].set_index("_row")
            assert held.index.is_unique
            pandas_stage = stage_at(tables, end)
            assert pandas_stage.tolist() == [held.loc[i, "stage"] for i in range(len(opp))], end

    check()


def test_the_pages_employed_reps_are_the_engine_rules_employed_reps():
    """``analysis.employed`` (AE pages, leaderboard, activity tables) and ``rules.employed`` and
    ``rules.has_role`` (the rep KPIs) pick the same reps in every month, on random rosters:
    unknown hire dates, leave dates on a month's first or last day, role spellings."""
    from hypothesis import given
    from hypothesis import strategies as st

    from salesreport import analysis
    from salesreport.tables import Tables

    day = st.one_of(st.none(), st.sampled_from(DAYS))
    roles = st.sampled_from(["ae", "AE", " Account Executive", "account-executive", "sdr", "x"])

    @given(st.data())
    def check(data):
        n = data.draw(st.integers(1, 6))
        reps = pd.DataFrame(
            {
                "rep_id": [f"R{i}" for i in range(n)],
                "name": ["n"] * n,
                "role": data.draw(st.lists(roles, min_size=n, max_size=n)),
                "region": ["DE"] * n,
                "hire_date": pd.to_datetime(data.draw(st.lists(day, min_size=n, max_size=n))),
                "leave_date": pd.to_datetime(data.draw(st.lists(day, min_size=n, max_size=n))),
            }
        )
        e = _engine(reps=reps)
        r = e.table("reps")
        for month in pd.period_range("2025-10", "2026-07", freq="M"):
            first, last = month.start_time.date(), month.end_time.date()
            keep = e.execute(
                r.filter(rules.has_role(r, "ae") & rules.employed(r, first, last)).select("rep_id")
            )
            want = sorted(keep["rep_id"])
            assert analysis.employed(Tables(reps=reps), str(month), "ae") == want, month

    check()
