"""Arrow-backed text from Parquet (issue #7, scale) reads exactly like ``object`` text.

The loader keeps Parquet text columns in Arrow memory until the team's rows are picked; the
slow, obviously equivalent path is the same file read as ``object`` strings (what
``pandas.read_parquet`` gives), which every parser handled before.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from salesreport.data import load_tables
from salesreport.data import read as read_mod
from salesreport.data.parse import (
    as_objects,
    in_keys,
    key_values,
    normalise_category,
    parse_currency,
    parse_datetimes,
    parse_numbers,
    parse_periods,
    to_text,
)
from tests.conftest_data import make_params

ARROW = pd.ArrowDtype(pa.string())


def _pair(values: list) -> tuple[pd.Series, pd.Series]:
    """The same values as ``object`` (``None`` for missing) and as Arrow text."""
    obj = pd.Series(values, dtype=object, index=pd.RangeIndex(2, len(values) + 2))
    return obj, obj.astype(ARROW)


def _assert_same(a, b) -> None:
    if isinstance(a, tuple):
        for x, y in zip(a, b, strict=True):
            _assert_same(x, y)
        return
    pd.testing.assert_series_equal(as_objects(a), as_objects(b), check_names=False)


# 30 values with blanks, spaces, case, bad values; repeated to 3000 rows (the per-value path)
# and made distinct by a suffix (the row-by-row path)
BASE = [
    "2026-10-31", " 2026-10-01 ", "", "   ", None, "not a date", "2026-02-30", "46000",
    "2026-10-31T14:22:05Z", "2026-10-31 14:22", "2026-10-31T14:22:05+02:00", "1700000000",
    "Won", " LOST ", "best case", "Best-Case", "1,234.50", "€99", "12%", "-3", "abc", "1e3",
    "2026-Q4", "2026-q4", "2026", "2026-13", "gbp", " usd ", "EUR", "\u00a0x\u00a0",
]  # fmt: skip


@pytest.mark.parametrize("rows", ["few", "repeated", "distinct"])
@pytest.mark.parametrize(
    "parse",
    [
        to_text,
        parse_currency,
        parse_numbers,
        lambda s: parse_datetimes(s, "Europe/Berlin", date_only=True),
        lambda s: parse_datetimes(s, "Europe/Berlin", date_only=False),
        lambda s: parse_periods(s, month_only=False),
        lambda s: normalise_category(s, closed_set=True),
        lambda s: normalise_category(s, closed_set=False),
    ],
)
def test_every_parser_reads_arrow_text_like_object_text(parse, rows):
    if rows == "few":
        values = BASE
    elif rows == "repeated":
        values = BASE * 100  # 3000 rows, 30 distinct: parsed once per distinct value
    else:
        # text without digits made distinct (a digit appended to a date or a Unix time
        # would make it out of range, which the object path does not handle either)
        values = [
            v if v is None or not v.strip() or any(c.isdigit() for c in v) else f"{v}{i}"
            for i, v in enumerate(BASE * 80)
        ]
    obj, arrow = _pair(values)
    _assert_same(parse(obj), parse(arrow))


def test_zoned_timestamps_vectorised_path_matches_object_path():
    # 2500 distinct zoned ISO timestamps (the Arrow fast path) and a few odd ones
    ts = pd.date_range("2026-01-01", periods=2500, freq="37min")
    values = [
        t.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if i % 2 else "+02:00") for i, t in enumerate(ts)
    ]
    values[5] = "garbage"
    values[9] = None
    values[11] = "2026-02-30T10:00:00Z"  # impossible date: the general path reports it
    obj, arrow = _pair(values)
    _assert_same(
        parse_datetimes(obj, "Europe/Berlin", date_only=False),
        parse_datetimes(arrow, "Europe/Berlin", date_only=False),
    )


def test_in_keys_is_isin_for_arrow_and_object_values():
    keys_obj, keys_arrow = _pair(["A", "B", None, "C", "B"])
    vals_obj, vals_arrow = _pair(["A", None, "c", "C", "D", "B"])
    expected = [True, False, False, True, False, True]  # by hand: None and case never match
    for keys in (key_values(keys_obj), key_values(keys_arrow)):
        assert in_keys(vals_obj, keys).tolist() == expected
        assert in_keys(vals_arrow, keys).tolist() == expected
    # a column that is not all text falls back to pandas' isin
    mixed = pd.Series(["A", 3, None], dtype=object)
    assert in_keys(mixed, key_values(keys_arrow)).tolist() == [True, False, False]


def _dirty_tables(n: int = 2400) -> dict[str, pd.DataFrame]:
    """Opportunities, reps, accounts and stage history of two teams, with planted bad values."""
    rng = np.random.default_rng(3)
    regions = np.where(np.arange(n) % 3 == 0, "US-East", rng.choice(["DE", "UK", " de "], n))
    created = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 600, n), unit="D")
    close = created + pd.to_timedelta(rng.integers(-5, 200, n), unit="D")
    opp = pd.DataFrame(
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
    opp.loc[7, "created_date"] = "not a date"
    opp.loc[11, "owner_id"] = "  "
    opp.loc[14, "opportunity_id"] = "O13"  # duplicate key
    opp.loc[[7, 11, 13, 14], "region"] = "DE"
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
    return {"opportunities": opp, "reps": reps, "accounts": accounts, "stage_history": hist}


def test_load_from_parquet_keeps_tables_and_quality_of_the_object_path(tmp_path, monkeypatch):
    for name, df in _dirty_tables().items():
        df.to_parquet(tmp_path / f"{name}.parquet", index=False)
    params = make_params(
        filters={"region": ["DE", "UK"]}, fx_rates={"GBP": 1.17}, thresholds={"bad_row_share": 0.5}
    )
    fast = load_tables(params, tmp_path, "2025-12")
    assert any(isinstance(d, pd.ArrowDtype) for d in read_mod.read_table(
        tmp_path / "opportunities.parquet", arrow_text=True).dtypes)  # fmt: skip

    real = read_mod.read_table

    def object_text(path, encoding=None, *, arrow_text=False):
        return real(path, encoding, arrow_text=False)

    monkeypatch.setattr(read_mod, "read_table", object_text)
    slow = load_tables(params, tmp_path, "2025-12")
    for name, df in slow.tables.items():
        pd.testing.assert_frame_equal(fast.tables.get(name), df, check_exact=True)
        # text columns leave Arrow memory: the contract's object dtype
        assert not any(isinstance(d, pd.ArrowDtype) for d in fast.tables.get(name).dtypes)
    pd.testing.assert_frame_equal(fast.quality.to_frame(), slow.quality.to_frame())
    # (rows: a list, or an array for the big sets such as the filtered rows)
    assert [
        (i.table, i.action, i.reason, [int(r) for r in i.rows]) for i in fast.quality.issues
    ] == [(i.table, i.action, i.reason, [int(r) for r in i.rows]) for i in slow.quality.issues]
    # the planted problems are there (so the comparison compares something)
    reasons = {(i.table, i.action, i.reason.split(" (")[0]) for i in slow.quality.issues}
    assert ("opportunities", "dropped", "duplicate opportunity_id") in reasons
    assert ("stage_history", "filtered", "not linked to a kept row") in reasons
    assert ("stage_history", "dropped", "entered_date is not a date") in reasons
    assert ("opportunities", "flagged", "owner_id not in reps.parquet") in reasons


def test_as_of_without_copy_shares_only_unchanged_tables():
    from salesreport.data.pit import as_of
    from tests.test_kpis_fixtures import make_tables

    tables = make_tables(seed=4, n_opps=120, n_acts=150, n_reps=5)
    before = {name: df.copy() for name, df in tables.items()}
    cut, counts = as_of(tables, "2025-06")
    cut2, counts2 = as_of(tables, "2025-06", copy=False)
    pd.testing.assert_frame_equal(counts, counts2)
    for name, df in cut.items():
        pd.testing.assert_frame_equal(cut2.get(name), df, check_exact=True)
        pd.testing.assert_frame_equal(tables.get(name), before[name], check_exact=True)
    # cut again: nothing changes, so nothing is copied (and nothing modified)
    again, counts3 = as_of(cut2, "2025-06", copy=False)
    assert counts3.empty
    assert all(again.get(name) is df for name, df in cut2.items())
