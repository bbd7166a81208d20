"""``load_tables``: the tables in the engine (types, ``_row``), the pandas tables made from it
on first read (dtypes of ``salesreport.tables``), the engine's database file, and the same
tables whatever the file format."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from salesreport.data import load_tables
from salesreport.tables import TABLES, Tables
from tests.conftest_data import base_opportunities, make_folder, make_params, opp

MONTH = "2026-12"


def _folder(tmp_path):
    opps = base_opportunities(6)
    opps[1]["region"] = "UK"  # filtered out for a DE team
    opps[2]["contract_months"] = "24"
    opps[3]["currency"] = "GBP"
    for r in opps:
        r["my_note"] = f"note {r['opportunity_id']}"  # an extra column, kept as read
    acts = [
        {"activity_id": "A1", "rep_id": "R1", "timestamp": "2026-01-02T10:00:00Z", "type": "Call",
         "opportunity_id": "O0"},
        {"activity_id": "A2", "rep_id": "R1", "timestamp": "2026-01-03T10:00:00", "type": "email",
         "opportunity_id": "O1"},
    ]  # fmt: skip
    return make_folder(tmp_path, opportunities=opps, activities=acts)


PARAMS = dict(filters={"region": ["DE"]}, fx_rates={"GBP": 1.17}, timezone="Europe/Berlin")


def test_the_engine_holds_each_table_in_the_contract_types_with_its_row(tmp_path):
    res = load_tables(make_params(**PARAMS), _folder(tmp_path), MONTH)
    engine = res.engine
    opp_t = engine.table("opportunities")
    schema = dict(opp_t.schema().items())
    assert str(schema["created_date"]) == "date" and str(schema["amount"]) == "float64"
    assert str(schema["contract_months"]) == "int64" and str(schema["status"]) == "string"
    assert str(schema["_row"]) == "int64"
    assert "my_note" not in schema and "original_amount" not in schema  # contract columns only
    acts = engine.table("activities").execute().sort_values("_row")
    # 10:00Z is 11:00 in Berlin; a time without a zone is already local; A2 follows O1 (UK): out
    assert acts["timestamp"].tolist() == [pd.Timestamp("2026-01-02 11:00")]
    assert str(dict(engine.table("activities").schema().items())["timestamp"]) == "timestamp(6)"
    got = opp_t.execute().sort_values("_row")
    # the team's rows in file order, numbered from 0: O0, O2, O3 (GBP), O4, O5
    assert got["opportunity_id"].tolist() == ["O0", "O2", "O3", "O4", "O5"]
    assert got["_row"].tolist() == [0, 1, 2, 3, 4]
    assert got["amount"].tolist() == pytest.approx([1000.0, 3000.0, 4000 * 1.17, 5000.0, 6000.0])


def test_pandas_tables_are_made_on_first_read_with_the_contract_dtypes(tmp_path):
    res = load_tables(make_params(**PARAMS), _folder(tmp_path), MONTH)
    tables = res.tables
    assert tables.present() == ["opportunities", "activities"] and tables.made() == []
    assert res._engine is None  # the engine (Ibis) is made when first asked for
    assert tables.has("activities") and not tables.has("orders")
    o = tables.opportunities
    assert tables.made() == ["opportunities"]  # activities not made
    assert isinstance(o.index, pd.RangeIndex) and o.index.tolist() == [0, 1, 2, 3, 4]
    contract = [c.name for c in TABLES["opportunities"].columns if c.name in o.columns]
    assert list(o.columns) == [*contract, "my_note", "original_currency", "original_amount"]
    assert o["created_date"].dtype == "datetime64[ns]"
    assert o["amount"].dtype == "float64" and str(o["contract_months"].dtype) == "Int64"
    assert o["contract_months"].tolist()[:2] == [pd.NA, 24]
    assert o["status"].dtype == object and o["status"].tolist()[0] == "won"
    assert o["currency"].tolist() == ["EUR"] * 5
    assert o["original_currency"].tolist() == ["EUR", "EUR", "GBP", "EUR", "EUR"]
    assert o["original_amount"].tolist() == [1000.0, 3000.0, 4000.0, 5000.0, 6000.0]
    assert o["my_note"].tolist() == ["note O0", "note O2", "note O3", "note O4", "note O5"]
    assert tables.opportunities is o  # made once
    # a pickle (or a copy) has every table made
    back = pickle.loads(pickle.dumps(tables))
    assert type(back) is Tables
    pd.testing.assert_frame_equal(back.activities, tables.activities)


def _buffer_limit(con) -> float:
    """The limit DuckDB's buffer manager holds to (``PRAGMA database_size``), in GiB: the
    setting's text can differ from it (``RESET memory_limit`` in DuckDB 1.5.6)."""
    text = con.execute("PRAGMA database_size").fetchdf()["memory_limit"].iloc[0]
    value, unit = text.split()
    return float(value) * {"MiB": 2**-10, "GiB": 1.0, "TiB": 2**10}[unit]


def test_a_database_file_holds_the_tables_loaded_under_a_memory_limit(tmp_path, monkeypatch):
    import duckdb

    import salesreport.data.load as load_mod

    limits = []
    real_cut = load_mod.cut

    def cut(run, *args, **kwargs):  # the point-in-time cut: the load's last queries
        limits.append(_buffer_limit(run.con))
        return real_cut(run, *args, **kwargs)

    monkeypatch.setattr(load_mod, "cut", cut)
    db = tmp_path / "work" / "engine.duckdb"
    db.parent.mkdir()
    res = load_tables(make_params(**PARAMS), _folder(tmp_path), MONTH, database=db)
    assert db.exists()
    con = res.connection
    assert res.engine.backend.con is con  # the engine wraps the loader's connection
    assert limits == [pytest.approx(1e9 / 2**30, abs=0.01)]  # 1 GB while loading
    # then DuckDB's default (80 % of the memory) again, for the queries after the load
    assert _buffer_limit(con) == pytest.approx(_buffer_limit(duckdb.connect()), abs=0.2)
    left = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    # only the loaded tables are left (the raw, parsed and team copies are dropped)
    assert left == {"_sr_table_opportunities", "_sr_table_activities"}
    assert res.tables.opportunities["opportunity_id"].tolist()[0] == "O0"


def _dirty_tables(n: int = 2400) -> dict[str, pd.DataFrame]:
    """Opportunities, reps, accounts and stage history of two teams, with planted bad values."""
    rng = np.random.default_rng(3)
    regions = np.where(np.arange(n) % 3 == 0, "US-East", rng.choice(["DE", "UK", " de "], n))
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 600, n), unit="D")
    close = created + pd.to_timedelta(rng.integers(-5, 200, n), unit="D")
    opp_ = pd.DataFrame(
        {
            "opportunity_id": [f"O{i}" for i in range(n)],
            "account_id": [f"A{i % 300}" for i in range(n)],
            "owner_id": [f"R{i % 40}" for i in range(n)],
            "created_date": created.strftime("%Y-%m-%d"),
            "close_date": close.strftime("%Y-%m-%d"),
            "stage": rng.choice(["Proposal", " Negotiation", "Closed Won"], n),
            "status": rng.choice(["won", "lost", "open", " Won", "maybe"], n, p=[.3, .3, .3, .05, .05]),
            "amount": [str(v) for v in rng.integers(-50, 90_000, n)],
            "region": regions,
            "currency": rng.choice(["EUR", "gbp", None], n),
            "probability": rng.choice([0.1, 0.5, 1.5, np.nan], n),
            "segment": rng.choice(["SMB", "Enterprise", None], n),
        }
    )  # fmt: skip
    opp_.loc[7, "created_date"] = "not a date"
    opp_.loc[11, "owner_id"] = "  "
    opp_.loc[14, "opportunity_id"] = "O13"  # duplicate key
    opp_.loc[[7, 11, 13, 14], "region"] = "DE"
    reps = pd.DataFrame(
        {
            "rep_id": [f"R{i}" for i in range(38)],  # R38, R39 missing: flagged
            "name": [f"Rep {i}" for i in range(38)],
            "role": ["AE"] * 38,
            "region": ["DE", "UK", "US-East", "de"] * 9 + ["DE", "UK"],
            "hire_date": ["2024-01-01"] * 38,
        }
    )
    accounts = pd.DataFrame(
        {"account_id": [f"A{i}" for i in range(290)], "region": ["DE", "UK", "US-East"] * 96 + ["DE", "UK"]}
    )  # fmt: skip
    hist = pd.DataFrame(
        {
            "opportunity_id": [f"O{i % (n + 50)}" for i in range(3 * n)],  # some unknown
            "stage": rng.choice(["Proposal", "Negotiation"], 3 * n),
            "entered_date": rng.choice(["2025-03-01", "2025-06-01", "bad", "2026-12-01"], 3 * n),
        }
    )
    return {"opportunities": opp_, "reps": reps, "accounts": accounts, "stage_history": hist}


def test_parquet_and_csv_of_the_same_data_load_the_same_tables_and_quality(tmp_path):
    (tmp_path / "pq").mkdir()
    (tmp_path / "csv").mkdir()
    for name, df in _dirty_tables().items():
        df.to_parquet(tmp_path / "pq" / f"{name}.parquet", index=False)
        df.to_csv(tmp_path / "csv" / f"{name}.csv", index=False)
    params = make_params(
        filters={"region": ["DE", "UK"]}, fx_rates={"GBP": 1.17}, thresholds={"bad_row_share": 0.5}
    )
    pq = load_tables(params, tmp_path / "pq", "2025-12")
    csv = load_tables(params, tmp_path / "csv", "2025-12")
    for name, df in csv.tables.items():
        pd.testing.assert_frame_equal(pq.tables.get(name), df, check_exact=True)
    qp, qc = pq.quality.to_frame(), csv.quality.to_frame()
    qp["file"] = qp["file"].str.replace(".parquet", ".csv")
    qp["reason"] = qp["reason"].str.replace(".parquet", ".csv")
    pd.testing.assert_frame_equal(qp, qc)
    # the planted problems are there (so the comparison compares something)
    reasons = {(i.table, i.action, i.reason.split(" (")[0]) for i in csv.quality.issues}
    assert ("opportunities", "dropped", "duplicate opportunity_id") in reasons
    assert ("stage_history", "filtered", "not linked to a kept row") in reasons
    assert ("stage_history", "dropped", "entered_date is not a date") in reasons
    assert ("opportunities", "flagged", "owner_id not in reps.csv") in reasons
    assert ("opportunities", "dropped", "unknown status") in reasons


def test_rows_read_and_kept_count_the_file_and_the_team(tmp_path):
    rows = base_opportunities(4) + [opp("O9", "2027-01-05", "2027-02-01", "open", 5)]
    rows[0]["region"] = "UK"
    res = load_tables(
        make_params(filters={"region": ["DE"]}), make_folder(tmp_path, opportunities=rows), MONTH
    )
    # 5 read; O0 filtered (UK), O9 created after the month: 3 kept
    assert res.quality.rows().to_dict("records") == [
        {"table": "opportunities", "file": "opportunities.csv", "rows_read": 5, "rows_kept": 3}
    ]
    assert len(res.engine.table("opportunities").execute()) == 3


def test_the_loaders_engine_serves_a_duckdb_team_and_a_server_team_gets_its_own(tmp_path):
    params = make_params(**PARAMS)
    res = load_tables(params, _folder(tmp_path), MONTH)
    assert params.engine.kind == "duckdb"  # the default: the numbers where the tables are
    assert res.engine_for(params) is res.engine
    pg = make_params(**PARAMS, engine={"kind": "postgres", "url_env": "SR_TEST_PG_URL"})
    assert res.engine_for(pg) is None  # build_context opens the server and gives it the tables
    assert res.engine_for(make_params(**PARAMS, engine="spark")) is None


def test_a_table_peeked_with_some_columns_is_made_for_the_caller_and_not_kept(tmp_path):
    res = load_tables(make_params(**PARAMS), _folder(tmp_path), MONTH)
    tables = res.tables
    cols = ["amount", "opportunity_id", "my_note", "original_amount", "no_such_column"]
    some = tables.peek("opportunities", cols)
    # the contract columns asked for, in the contract's order (no extra or original-currency
    # column), the values of the whole table
    assert list(some.columns) == ["opportunity_id", "amount"] and tables.made() == []
    assert tables.peek("orders", cols) is None
    o = tables.opportunities
    pd.testing.assert_frame_equal(some, o[["opportunity_id", "amount"]])
    assert tables.peek("opportunities", cols) is o  # made: the frame itself
    assert Tables(opportunities=o).peek("opportunities", cols) is o


def test_a_run_saves_every_table_for_its_pages_and_keeps_no_frame_of_them(tmp_path):
    # the pages read the tables from the saved context; the run itself keeps none of their
    # pandas frames (at 100x the sample, activities alone is millions of rows)
    from salesreport.context import FRAME_SUFFIX, ContextWriter, _read_frame

    res = load_tables(make_params(**PARAMS), _folder(tmp_path), MONTH)
    ContextWriter(tmp_path / "context").begin(make_params(**PARAMS), MONTH, res.tables)
    saved = sorted(p.name for p in (tmp_path / "context" / "tables").iterdir())
    assert saved == sorted(f"{n}{FRAME_SUFFIX}" for n in res.tables.present())
    assert res.tables.made() == []
    for name in res.tables.present():
        path = tmp_path / "context" / "tables" / f"{name}{FRAME_SUFFIX}"
        pd.testing.assert_frame_equal(_read_frame(path), getattr(res.tables, name))


def test_a_closed_load_keeps_the_tables_made_and_refuses_to_make_others(tmp_path):
    import duckdb

    res = load_tables(make_params(**PARAMS), _folder(tmp_path), MONTH)
    opps = res.tables.opportunities
    res.close()
    assert res.tables.opportunities is opps
    for _ in range(2):  # a table that could not be made is not taken for an absent one
        with pytest.raises(duckdb.ConnectionException):
            res.tables.get("activities")
    assert res.tables.has("activities")


def test_report_context_computes_a_server_teams_numbers_in_the_teams_engine(tmp_path, monkeypatch):
    """A team whose YAML names PostgreSQL gets its numbers from the engine ``open_engine``
    gives (here an embedded DuckDB standing in for the server), not from the loader's."""
    from salesreport import backends
    from salesreport.context import report_context
    from salesreport.engine import Engine

    opened: list[str] = []

    def open_engine(spec, source=""):
        opened.append(spec.kind)
        return Engine.duckdb()

    monkeypatch.setattr(backends, "open_engine", open_engine)
    folder = _folder(tmp_path)
    yaml = tmp_path / "t.yaml"
    yaml.write_text(
        "team: t\nfilters: {region: [DE]}\nfx_rates: {GBP: 1.17}\ntimezone: Europe/Berlin\n"
        "engine: {kind: postgres, url_env: SR_TEST_PG_URL}\n",
        encoding="utf-8",
    )
    ctx = report_context("t", "2026-11", data_dir=str(folder), params_file=str(yaml))
    assert opened == ["postgres"]
    revenue = ctx.frames["revenue"].set_index("period")["revenue"]
    # no orders: revenue is the won deals by close month; won are O0, O2, O4 (O1, UK, is out)
    assert revenue[revenue > 0].to_dict() == {
        "2026-01": 1000.0,
        "2026-03": 3000.0,
        "2026-05": 5000.0,
    }
