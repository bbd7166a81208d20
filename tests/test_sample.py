"""The bundled sample organisation: contract shape, stability, funnel logic, dirt, patterns."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from salesreport.sample import (
    PER_USD,
    REGION_CURRENCY,
    SAMPLE_START,
    TEAM_CURRENCY,
    dirt_counts,
    ensure_sample,
    generate_sample,
    write_sample,
)
from salesreport.tables import TABLES

EARLY, LATE = "2024-06", "2025-03"
OPEN_STAGES = {"Prospecting", "Qualification", "Discovery", "Proposal", "Negotiation"}
TEAM_OF = {
    **dict.fromkeys(["DE", "UK", "FR", "NL", "ES"], "emea"),
    **dict.fromkeys(["US-East", "US-West", "CA"], "na"),
    **dict.fromkeys(["AU", "JP", "SG"], "apac"),
}


@pytest.fixture(scope="module")
def early():
    return generate_sample(EARLY, scale=0.3)


@pytest.fixture(scope="module")
def late():
    return generate_sample(LATE, scale=0.3)


@pytest.fixture(scope="module")
def full():
    """The default sample (scale 1) up to 2026-10: enough rows for the statistics."""
    return generate_sample("2026-10")


def _amount(s: pd.Series) -> pd.Series:
    return s.astype(str).str.replace(",", "", regex=False).astype(float)


def _usd(df: pd.DataFrame) -> pd.Series:
    return _amount(df["amount"]) / df["currency"].map(PER_USD)


# --------------------------------------------------------------------------------------
# shape
# --------------------------------------------------------------------------------------
def test_every_contract_table_and_column_is_present(early):
    assert set(early) == set(TABLES)
    for name, spec in TABLES.items():
        df = early[name]
        missing = [c.name for c in spec.columns if c.name not in df.columns]
        assert not missing, f"{name} lacks {missing}"
        assert len(df) > 0, name
        for col in spec.required:
            blank = df[col].isna() | (df[col].astype(str).str.strip() == "")
            if (name, col) == ("targets", "rep_id"):
                continue
            assert not blank.any(), f"{name}.{col} has {int(blank.sum())} empty values"


def test_dates_are_iso_text_and_nothing_after_the_end_month(early):
    iso = r"^\d{4}-\d{2}-\d{2}$"
    end = "2024-06-30"
    for name, col in [
        ("opportunities", "created_date"),
        ("leads", "created_date"),
        ("orders", "order_date"),
        ("stage_history", "entered_date"),
        ("reps", "hire_date"),
        ("forecast_submissions", "submitted_date"),
    ]:
        s = early[name][col]
        assert s.str.match(iso).all(), f"{name}.{col}"
        assert (s <= end).all(), f"{name}.{col} has rows after {end}"
    assert (early["orders"]["order_date"] >= "2022-01-01").all()
    assert (early["leads"]["created_date"] >= "2022-01-01").all()
    ts = pd.to_datetime(early["activities"]["timestamp"], format="ISO8601", utc=True)
    assert ts.min() >= pd.Timestamp("2021-12-31", tz="UTC")
    assert ts.max() <= pd.Timestamp("2024-07-01", tz="UTC")
    for name in ("targets", "spend"):
        col = "period" if name == "targets" else "month"
        assert early[name][col].str.match(r"^\d{4}-\d{2}$").all()


def test_activity_timestamps_carry_offsets_and_fall_in_business_hours(early):
    a = early["activities"]
    text = a["timestamp"]
    assert text.str.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$").all()
    # emails come from the mail sync in UTC; everything else in the rep's local time
    assert text[a["type"] == "email"].str.endswith("Z").all()
    local = text[a["type"] != "email"]
    assert not local.str.endswith("Z").any()
    hour = local.str[11:13].astype(int)
    assert hour.between(8, 17).all()
    # a German summer meeting is at +02:00, a winter one at +01:00 (checked on the data)
    reps = early["reps"].set_index("rep_id")["region"]
    de = local[a.loc[local.index, "rep_id"].map(reps) == "DE"]
    summer = de[de.str[5:7] == "07"]
    winter = de[de.str[5:7] == "01"]
    assert len(summer) and len(winter)
    assert summer.str.endswith("+02:00").all() and winter.str.endswith("+01:00").all()


def test_currency_follows_the_region_at_realistic_magnitudes(full):
    for name in ("opportunities", "orders"):
        df = full[name]
        assert (df["currency"] == df["region"].map(REGION_CURRENCY)).all()
    o = full["opportunities"]
    med = _amount(o["amount"]).groupby(o["currency"]).median()
    # JPY deals are about 150 times USD ones; same price list in every region (+/- 2x)
    assert 60 < med["JPY"] / med["USD"] < 300
    usd = _usd(o).groupby(o["region"]).median()
    assert usd.max() / usd.min() < 3


def test_sample_fx_constants_match_the_team_yaml():
    root = Path(__file__).resolve().parent.parent / "params"
    for team, cur in TEAM_CURRENCY.items():
        params = yaml.safe_load((root / f"{team}.yaml").read_text())
        assert params["currency"] == cur
        regions = {r for r, t in TEAM_OF.items() if t == team}
        assert set(params["filters"]["region"]) == regions
        # every currency the team's rows carry converts exactly at the YAML's rate
        # (1 CODE in the team currency = team units per USD / CODE units per USD)
        for code in {REGION_CURRENCY[r] for r in regions} - {cur}:
            rate = params["fx_rates"][code]
            assert PER_USD[cur] / PER_USD[code] == pytest.approx(rate, rel=1e-9), (team, code)


# --------------------------------------------------------------------------------------
# determinism and stable history
# --------------------------------------------------------------------------------------
def test_same_arguments_give_byte_identical_csv_files(tmp_path):
    a = write_sample(tmp_path / "a", end_month="2023-03", scale=0.1)
    b = write_sample(tmp_path / "b", end_month="2023-03", scale=0.1)
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(f"{t}.csv" for t in TABLES)
    match, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert mismatch == [] and errors == []
    c = write_sample(tmp_path / "c", end_month="2023-03", seed=8, scale=0.1)
    assert not filecmp.cmp(a / "orders.csv", c / "orders.csv", shallow=False)


def _same_rows(a: pd.DataFrame, b: pd.DataFrame, key: str) -> None:
    a = a.reset_index(drop=True)
    b = b[b[key].isin(a[key])].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_rows_final_by_an_earlier_end_month_are_reproduced_later(early, late):
    end = "2024-06-30"
    o = early["opportunities"]
    final = o[(o["status"] != "open") & (o["close_date"] >= o["created_date"])]
    assert len(final) > 500
    _same_rows(final, late["opportunities"], "opportunity_id")
    _same_rows(early["orders"], late["orders"], "order_id")
    _same_rows(early["activities"], late["activities"], "activity_id")
    _same_rows(early["accounts"], late["accounts"], "account_id")
    leads = early["leads"]
    _same_rows(
        leads[leads["status"].isin(["converted", "disqualified", "nurture"])],
        late["leads"],
        "lead_id",
    )
    reps = early["reps"]
    _same_rows(reps[reps["leave_date"].notna()], late["reps"], "rep_id")
    h = early["stage_history"]
    _same_rows(
        h[h["opportunity_id"].isin(final["opportunity_id"])],
        late["stage_history"],
        "opportunity_id",
    )
    # plans and calls made by then are unchanged
    for name, keys in [
        ("targets", ["period", "metric", "rep_id", "region"]),
        ("spend", ["month", "category", "region"]),
        ("forecast_submissions", ["period", "category", "region"]),
    ]:
        e = early[name]
        merged = e.merge(late[name], on=keys, how="left", suffixes=("", "_late"))
        assert len(merged) == len(e)
        assert merged["value" if name == "targets" else "amount"].equals(
            merged[("value" if name == "targets" else "amount") + "_late"]
        ), name
    # an opportunity open at the early end is still the same deal later
    still = o[o["status"] == "open"]
    later = late["opportunities"].drop_duplicates("opportunity_id").set_index("opportunity_id")
    assert (
        later.loc[still["opportunity_id"], "created_date"].values == still["created_date"].values
    ).all()
    assert (still["close_date"] > end).all()


# --------------------------------------------------------------------------------------
# funnel and stage logic
# --------------------------------------------------------------------------------------
def test_converted_leads_point_at_opportunities_created_on_conversion(early):
    leads = early["leads"]
    opps = early["opportunities"].drop_duplicates("opportunity_id").set_index("opportunity_id")
    conv = leads[leads["opportunity_id"].notna()]
    assert len(conv) > 100
    assert (conv["status"] == "converted").all()
    assert conv["converted_date"].notna().all()
    assert conv["opportunity_id"].isin(opps.index).all()
    target = opps.loc[conv["opportunity_id"]]
    assert (target["created_date"].values >= conv["created_date"].values).all()
    assert (target["created_date"].values == conv["converted_date"].values).all()
    assert (target["type"] == "new_business").all()
    assert (target["region"].values == conv["region"].values).all()
    # unconverted leads carry no conversion
    rest = leads[leads["opportunity_id"].isna()]
    assert rest["converted_date"].isna().all()
    assert set(rest["status"]) <= {"new", "working", "nurture", "disqualified"}


def test_stage_history_is_consistent_with_each_opportunity(early):
    o = early["opportunities"].drop_duplicates()
    dirty = o["close_date"] < o["created_date"]
    o = o[~dirty].set_index("opportunity_id")
    h = early["stage_history"]
    h = h[h["opportunity_id"].isin(o.index)]
    assert set(h["opportunity_id"]) == set(o.index)
    g = h.groupby("opportunity_id", sort=False)
    first = g["entered_date"].first()
    last_stage = g["stage"].last()
    last_date = g["entered_date"].last()
    assert (first == o.loc[first.index, "created_date"]).all()
    assert (g["stage"].first() == "Prospecting").all()
    ascending = g["entered_date"].apply(lambda s: s.is_monotonic_increasing)
    assert ascending.all()
    assert (last_stage == o.loc[last_stage.index, "stage"].str.strip()).all()
    closed = o[o["status"].str.strip().str.lower() != "open"]
    assert (last_date.loc[closed.index] == closed["close_date"]).all()
    won = closed[closed["status"].str.strip().str.lower() == "won"]
    assert (g.size().loc[won.index] == 6).all()  # five stages then Closed Won
    expected_status = np.where(closed["stage"] == "Closed Won", "won", "lost")
    assert (closed["status"].str.strip().str.lower() == expected_status).all()


def test_open_opportunities_sit_in_open_stages_with_stage_probability(early):
    o = early["opportunities"]
    op = o[o["status"] == "open"]
    assert len(op) > 20
    assert set(op["stage"]) <= OPEN_STAGES
    assert (op["close_date"] > "2024-06-30").all()
    probs = {
        "Prospecting": 0.1,
        "Qualification": 0.2,
        "Discovery": 0.35,
        "Proposal": 0.55,
        "Negotiation": 0.75,
    }
    assert (op["probability"] == op["stage"].map(probs)).all()
    assert set(op["forecast_category"]) <= {"pipeline", "best_case", "commit"}
    assert op["lost_reason"].isna().all()
    cl = o[o["status"] != "open"]
    assert set(cl["forecast_category"]) == {"closed", "omitted"}
    lost = o[o["status"] == "lost"]
    assert lost["lost_reason"].notna().all()
    assert set(o["contract_months"].dropna().astype(int)) == {12, 24, 36}
    assert set(o["type"]) == {"new_business", "expansion", "renewal"}
    assert set(o["source"].str.strip()) - {""} == {
        "web",
        "event",
        "outbound",
        "referral",
        "partner",
    }


def test_close_date_precedes_created_date_only_in_the_injected_rows(full):
    o = full["opportunities"].drop_duplicates()
    bad = o[o["close_date"] < o["created_date"]]
    # injected at about 0.15% of closed deals: a handful, never open ones
    assert 3 <= len(bad) <= 0.005 * len(o)
    assert (bad["status"] != "open").all()
    # the stage history keeps the true dates: its closed stage comes after creation
    h = full["stage_history"]
    closed_entry = h[h["stage"].str.startswith("Closed")].set_index("opportunity_id")[
        "entered_date"
    ]
    assert (closed_entry.loc[bad["opportunity_id"]].values >= bad["created_date"].values).all()
    assert dirt_counts(full)["opportunities"]["close_before_created"] == len(bad)


def test_injected_dirt_is_present_and_below_two_percent_of_every_table(full):
    o = full["opportunities"]
    amount_ok = pd.to_numeric(o["amount"], errors="coerce").notna()
    bad = {
        "opportunities": (
            o.duplicated()
            | (o["close_date"] < o["created_date"])
            | ~o["status"].isin(["open", "won", "lost"])
            | (o["source"].str.strip() == "")
            | ~amount_ok
        ),
        "orders": full["orders"]["amount"] < 0,
        "activities": ~full["activities"]["rep_id"].isin(full["reps"]["rep_id"])
        | (full["activities"]["outcome"].fillna("-").str.strip() == ""),
        "leads": full["leads"]["segment"].str.strip() == "",
        "accounts": full["accounts"]["industry"].str.strip() == "",
    }
    for name, mask in bad.items():
        assert 0 < mask.mean() < 0.02, (name, mask.mean())
    # every kind of dirt the module documents occurs at least once
    for table, kinds in dirt_counts(full).items():
        for kind, n in kinds.items():
            assert n > 0, (table, kind)
    assert (o["status"] == "Won ").sum() > 0
    sep = o.loc[~amount_ok, "amount"]
    assert sep.str.match(r"^\d{1,3}(,\d{3})+\.\d{2}$").all()
    # the fixable ones are really fixable
    assert (o["status"].str.strip().str.lower().isin(["open", "won", "lost"])).all()
    assert pd.to_numeric(o["amount"].str.replace(",", ""), errors="coerce").notna().all()


def test_references_resolve(full):
    reps = set(full["reps"]["rep_id"])
    o = full["opportunities"]
    assert o["owner_id"].isin(reps).all()
    assert full["leads"]["owner_id"].isin(reps).all()
    accounts = set(full["accounts"]["account_id"])
    assert o["account_id"].isin(accounts).all()
    assert full["orders"]["account_id"].isin(accounts).all()
    a = full["activities"]
    opp_ids = set(o["opportunity_id"])
    assert a["opportunity_id"].dropna().isin(opp_ids).all()
    assert a["lead_id"].dropna().isin(set(full["leads"]["lead_id"])).all()
    t = full["targets"]
    assert t["rep_id"].dropna().isin(reps).all()
    # meetings are partly tied to opportunities
    meetings = a[a["type"] == "meeting"]
    assert 0.5 < meetings["opportunity_id"].notna().mean() <= 1.0


# --------------------------------------------------------------------------------------
# people
# --------------------------------------------------------------------------------------
def test_reps_join_and_leave_with_managers(full):
    r = full["reps"]
    assert set(r["role"]) == {"ae", "sdr", "manager", "vp"}
    assert set(r["region"]) == set(TEAM_OF)
    years = r["hire_date"].str[:4]
    for y in ("2022", "2023", "2024", "2025", "2026"):
        assert ((years == y) & (r["role"] == "ae")).any(), y
    left = r[r["leave_date"].notna()]
    assert 0.2 < len(left) / len(r) < 0.8
    assert (left["leave_date"] > left["hire_date"]).all()
    assert (left["leave_date"] >= "2022-01-01").all() and (left["leave_date"] <= "2026-10-31").all()
    by_id = r.set_index("rep_id")
    staff = r[r["role"].isin(["ae", "sdr"])]
    assert (by_id.loc[staff["manager_id"], "role"] == "manager").all()
    assert (by_id.loc[staff["manager_id"], "region"].values == staff["region"].values).all()
    mgr = r[r["role"] == "manager"]
    assert (by_id.loc[mgr["manager_id"], "role"] == "vp").all()
    assert r.loc[r["role"] == "vp", "manager_id"].isna().all()
    # every region has an AE and an SDR employed at every month end
    for month_end in pd.period_range("2022-01", "2026-10", freq="M").to_timestamp(how="end"):
        day = month_end.strftime("%Y-%m-%d")
        on = r[(r["hire_date"] <= day) & (r["leave_date"].isna() | (r["leave_date"] >= day))]
        for role in ("ae", "sdr"):
            assert set(on.loc[on["role"] == role, "region"]) == set(TEAM_OF), (day, role)


def test_new_aes_win_less_in_their_first_months(full):
    r = full["reps"].set_index("rep_id")
    o = full["opportunities"].drop_duplicates()
    won = o[(o["status"].str.strip().str.lower() == "won") & (o["type"] == "new_business")]
    hire = pd.to_datetime(r.loc[won["owner_id"], "hire_date"]).values
    close = pd.to_datetime(won["close_date"]).values
    tenure_months = (close - hire) / np.timedelta64(30, "D")
    per_month = pd.Series(tenure_months).clip(lower=0).floordiv(1).value_counts()
    # wins per AE-month: the first three months well under months 6-24
    aes = r[(r["role"] == "ae") & (r["hire_date"] >= "2022-01-01")]
    assert len(aes) > 20
    early_rate = per_month.reindex(range(0, 3), fill_value=0).sum() / 3
    steady_rate = per_month.reindex(range(6, 24), fill_value=0).sum() / 18
    assert early_rate < 0.6 * steady_rate


# --------------------------------------------------------------------------------------
# business patterns
# --------------------------------------------------------------------------------------
def _yearly_team_revenue(tables) -> pd.DataFrame:
    od = tables["orders"]
    usd = _usd(od)
    return usd.groupby([od["order_date"].str[:4], od["region"].map(TEAM_OF)]).sum().unstack()


def test_revenue_grows_fifteen_to_thirty_percent_a_year_in_every_team(full):
    y = _yearly_team_revenue(full).loc[["2022", "2023", "2024", "2025"]]
    growth = y.pct_change().iloc[1:]
    assert (growth > 0.08).all().all(), growth
    assert (growth.mean() > 0.12).all() and (growth.mean() < 0.35).all(), growth.mean()
    # growth differs between teams
    assert growth.mean().max() - growth.mean().min() > 0.005


def test_quarter_end_peaks_and_slow_august(full):
    od = full["orders"]
    usd = _usd(od)
    month = pd.PeriodIndex(od["order_date"], freq="M")
    m = usd.groupby(month).sum()
    m = m[(m.index >= pd.Period("2022-01", "M")) & (m.index <= pd.Period("2025-12", "M"))]
    q = m.groupby(m.index.asfreq("Q")).sum()
    q4 = q[q.index.quarter == 4].to_numpy()
    q3 = q[q.index.quarter == 3].to_numpy()
    assert (q4 / q3).mean() > 1.03
    # the last month of a quarter beats its first; August is the slowest summer month
    ratio = m / m.rolling(12, center=True, min_periods=6).mean()
    by_month = ratio.groupby(ratio.index.month).mean()
    assert by_month[[3, 6, 9, 12]].mean() > by_month[[1, 4, 7, 10]].mean()
    assert by_month[8] < by_month[[6, 7, 9]].min()
    # deals won peak in the last month of each quarter
    o = full["opportunities"]
    won = o[(o["status"] == "won") & (o["type"] == "new_business")]
    close_m = pd.PeriodIndex(won["close_date"], freq="M").month
    counts = pd.Series(close_m).value_counts()
    assert counts[[3, 6, 9, 12]].sum() > counts[[1, 4, 7, 10]].sum() * 1.3


def test_customers_churn_and_expand(full):
    od = full["orders"].copy()
    od["usd"] = _usd(od)
    od["year"] = od["order_date"].str[:4]
    by = od.groupby(["account_id", "year"])["usd"].sum().unstack(fill_value=0.0)
    base = by[by["2023"] > 0]
    churned = (base["2024"] == 0).mean()
    expanded = (base["2024"] > 1.3 * base["2023"]).mean()
    assert 0.05 < churned < 0.4
    assert expanded > 0.03
    assert (
        full["opportunities"]["status"].eq("won") & full["opportunities"]["type"].eq("renewal")
    ).any()


def test_invoices_of_a_won_deal_add_up_to_its_amount(full):
    """New accounts with exactly one won deal, closed and fully invoiced in the history:
    their orders sum to the deal's amount (total contract value)."""
    o = full["opportunities"].drop_duplicates("opportunity_id")
    o = o[o["close_date"] >= o["created_date"]]
    won = o[o["status"].str.strip().str.lower() == "won"]
    one = won.groupby("account_id").filter(lambda g: len(g) == 1)
    end = pd.to_datetime(one["close_date"]) + pd.to_timedelta(one["contract_months"] * 31, "D")
    # a new customer (earlier deals, closed before the history starts, would bill too)
    one = one[(one["type"] == "new_business") & (one["close_date"] >= "2022-01-01")]
    one = one[end.loc[one.index] <= "2026-09-30"]
    od = full["orders"]
    billed = od.groupby("account_id")["amount"].agg(["sum", "min", "count"])
    billed = billed.reindex(one["account_id"])
    keep = (billed["min"] > 0).to_numpy()
    assert keep.sum() > 200
    paid = billed["sum"].to_numpy()[keep]
    amount = _amount(one["amount"]).to_numpy()[keep]
    assert np.allclose(paid, amount, atol=0.011)
    # monthly and annual billing both occur
    months = one["contract_months"].to_numpy()[keep]
    n = billed["count"].to_numpy()[keep]
    assert (n == months).any() and (n == months // 12).any()


def test_targets_spend_and_submissions_cover_the_history(early):
    t = early["targets"]
    team = t[t["rep_id"].isna()]
    months = pd.period_range(SAMPLE_START, "2024-12", freq="M").astype(str)
    grid = team.groupby(["period", "metric"]).size().unstack()
    assert list(grid.index) == list(months)
    assert set(grid.columns) == {"revenue", "deals_won", "pipeline_created_value", "meetings"}
    assert (grid == 11).all().all()
    assert (team["value"] >= 0).all()
    money = team[team["metric"].isin(["revenue", "pipeline_created_value"])]
    assert (money["value"] > 0).all()
    quota = t[t["rep_id"].notna()]
    assert (quota["metric"] == "revenue").all() and (quota["period"] <= "2024-06").all()
    s = early["spend"]
    assert set(s["category"]) == {"marketing", "sales"}
    assert len(s) == 2 * 11 * 30 and (s["amount"] > 0).all()
    f = early["forecast_submissions"]
    assert set(f["category"]) == {"commit", "best_case"}
    submitted = pd.PeriodIndex(f["submitted_date"], freq="M")
    assert (submitted + 1 == pd.PeriodIndex(f["period"], freq="M")).all()
    assert f["period"].max() == "2024-07"
    wide = f.pivot_table(index=["period", "region"], columns="category", values="amount")
    assert (wide["best_case"] >= wide["commit"]).all()


def test_commit_calls_are_roughly_right(full):
    """Team commit vs revenue (team currency), months 2022-02..2026-10: within ~10% on average."""
    od = full["orders"]
    team_cur = od["region"].map(TEAM_OF).map(TEAM_CURRENCY)
    factor = team_cur.map(PER_USD) / od["currency"].map(PER_USD)
    rev = (od["amount"] * factor).groupby([od["order_date"].str[:7], od["region"]]).sum()
    f = full["forecast_submissions"]
    c = f[f["category"] == "commit"].set_index(["period", "region"])["amount"]
    both = pd.concat([c.rename("f"), rev.rename("a")], axis=1, join="inner")
    accuracy = 1 - (both["a"] - both["f"]).abs() / both["a"]
    assert 0.8 < accuracy.mean() < 0.97
    assert (both["f"] < both["a"]).mean() > 0.6  # commits run conservative


def test_scale_multiplies_volumes():
    small = generate_sample("2022-12", scale=0.2)
    big = generate_sample("2022-12", scale=0.6)
    for name in ("opportunities", "leads", "orders", "activities"):
        ratio = len(big[name]) / len(small[name])
        assert 2.4 < ratio < 3.6, (name, ratio)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="before the sample starts"):
        generate_sample("2021-06")
    with pytest.raises(ValueError, match="scale"):
        generate_sample("2023-01", scale=0)
    with pytest.raises(ValueError, match="fmt"):
        write_sample("unused", end_month="2023-01", fmt="xlsx")


# --------------------------------------------------------------------------------------
# the cached default source
# --------------------------------------------------------------------------------------
def test_ensure_sample_writes_once_atomically(tmp_path, monkeypatch):
    monkeypatch.setenv("SALESREPORT_HOME", str(tmp_path))
    folder = ensure_sample("2022-06")
    assert folder == tmp_path / ".cache" / "sample" / "2022-06-s7"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{t}.csv" for t in TABLES)
    stamp = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    again = ensure_sample("2022-06")
    assert again == folder
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == stamp
    # no temporary folders left behind
    assert [p.name for p in folder.parent.iterdir()] == ["2022-06-s7"]
    orders = pd.read_csv(folder / "orders.csv")
    assert orders["order_date"].max() <= "2022-06-30"


def test_sample_data_never_overwrites_a_folder_of_the_user_s_own_tables(tmp_path):
    """``salesreport sample-data DIR`` into a folder of real exports would replace them with the
    sample: refused (exit 2, nothing written) unless sample-data wrote the folder before."""
    from tests.conftest import run_cli

    mine = tmp_path / "exports"
    mine.mkdir()
    (mine / "Opportunities.CSV").write_text("opportunity_id\nO-1\n")
    proc = run_cli("sample-data", str(mine), "--month", "2026-09")
    assert proc.returncode == 2
    assert f"{mine} already holds Opportunities.CSV, which sample-data did not write" in proc.stderr
    assert [p.name for p in mine.iterdir()] == ["Opportunities.CSV"]
    assert (mine / "Opportunities.CSV").read_text() == "opportunity_id\nO-1\n"
    again = tmp_path / "sample"
    for month in ("2026-09", "2026-10"):  # a folder sample-data wrote is written again
        assert run_cli("sample-data", str(again), "--month", month).returncode == 0
    assert (again / "orders.csv").is_file() and (again / ".salesreport-sample").is_file()
