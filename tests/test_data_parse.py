"""Parsing raw values into the contract's dtypes: dates, zones, Excel serials, Unix ms, numbers."""

from __future__ import annotations

import calendar
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesreport.data import load_tables
from salesreport.data.parse import (
    normalise_category,
    parse_bools,
    parse_datetimes,
    parse_integers,
    parse_numbers,
    parse_periods,
)
from tests.conftest_data import make_folder, make_params, opp

T = pd.Timestamp


def test_iso_dates_and_times_without_zone_are_local():
    s = pd.Series(["2026-10-31", "2026-10-31 14:22", "2026-10-31T14:22:05.000", " 2026-01-02 "])
    vals, bad = parse_datetimes(s, "Europe/Berlin", date_only=False)
    assert vals.tolist() == [
        T("2026-10-31"),
        T("2026-10-31 14:22"),
        T("2026-10-31 14:22:05"),
        T("2026-01-02"),
    ]
    assert not bad.any()


def test_zoned_timestamp_is_converted_to_team_zone_then_naive():
    # 23:30 UTC on 31 Oct 2026 is 00:30 on 1 Nov in Berlin (CET, UTC+1 after the DST change on 25 Oct)
    s = pd.Series(["2026-10-31T23:30:00Z", "2026-10-31T23:30:00+02:00"])
    vals, bad = parse_datetimes(s, "Europe/Berlin", date_only=False)
    assert vals.tolist() == [T("2026-11-01 00:30"), T("2026-10-31 22:30")]  # 21:30 UTC + 1h
    dates, _ = parse_datetimes(s, "Europe/Berlin", date_only=True)
    assert dates.tolist() == [T("2026-11-01"), T("2026-10-31")]
    assert vals.dt.tz is None and not bad.any()


def test_excel_serial_dates():
    # Excel day 1 is 1900-01-01 with the 1900 leap-year bug, so serials count from 1899-12-30:
    # 46000 -> 1899-12-30 + 46000 days = 2025-12-09; 46000.5 -> noon that day
    s = pd.Series(["46000", "46000.5", 45658])
    vals, bad = parse_datetimes(s, "UTC", date_only=False)
    assert vals.tolist() == [T("2025-12-09"), T("2025-12-09 12:00"), T("2025-01-01")]
    assert not bad.any()


def test_unix_milliseconds_are_utc():
    # 2026-10-31T23:10:00Z is 1793488200 s since 1970-01-01 (calendar.timegm, stdlib)
    assert calendar.timegm((2026, 10, 31, 23, 10, 0)) == 1793488200
    s = pd.Series(["1793488200000", 1793488200000, "1793488200"])
    vals, _ = parse_datetimes(s, "Europe/Berlin", date_only=True)
    assert vals.tolist() == [T("2026-11-01")] * 3
    vals, _ = parse_datetimes(s, "UTC", date_only=True)
    assert vals.tolist() == [T("2026-10-31")] * 3


def test_unparseable_dates_are_invalid_blanks_are_missing():
    s = pd.Series(["31/10/2026", "2026-02-30", "", None, "soon", "2026-10-31"])
    vals, bad = parse_datetimes(s, "UTC", date_only=True)
    assert bad.tolist() == [True, True, False, False, True, False]
    assert vals.isna().tolist() == [True, True, True, True, True, False]


def test_typed_datetime_column_with_zone():
    s = pd.Series(pd.to_datetime(["2026-10-31T23:30:00Z"], utc=True))
    vals, _ = parse_datetimes(s, "Europe/Berlin", date_only=True)
    assert vals.tolist() == [T("2026-11-01")]


def test_numbers_with_thousands_separators_symbols_and_percent():
    s = pd.Series(
        [
            "1,234.50",
            "1 234.50",
            "1'234",
            "-3",
            "1e3",
            "€ 12",
            "45%",
            "1,234,567",
            "",
            "abc",
            "1.234,50",
        ]
    )
    vals, bad = parse_numbers(s)
    expected = [1234.5, 1234.5, 1234.0, -3.0, 1000.0, 12.0, 0.45, 1234567.0, np.nan, np.nan, np.nan]
    np.testing.assert_allclose(vals.to_numpy(dtype=float), expected)
    assert bad.tolist() == [False] * 8 + [False, True, True]  # European 1.234,50 is not supported


def test_integers_reject_fractions():
    vals, bad = parse_integers(pd.Series(["12", "12.0", "12.5", ""]))
    assert vals.tolist()[:2] == [12, 12] and vals.isna().tolist() == [False, False, True, True]
    assert bad.tolist() == [False, False, True, False]
    assert str(vals.dtype) == "Int64"


def test_booleans():
    vals, bad = parse_bools(pd.Series(["TRUE", "false", "1", "0", "yes", "maybe", None]))
    assert vals.tolist() == [True, False, True, False, True, None, None]
    assert bad.tolist() == [False] * 5 + [True, False]


def test_periods():
    vals, bad = parse_periods(
        pd.Series(["2026-10", "2026-q4", "2026", "2026-10-01", "Oct 26"]), month_only=False
    )
    assert vals.tolist() == ["2026-10", "2026-Q4", "2026", "2026-10", None]
    assert bad.tolist() == [False, False, False, False, True]
    vals, bad = parse_periods(pd.Series(["2026-Q4", "2026-10"]), month_only=True)
    assert bad.tolist() == [True, False]


def test_categories_lower_case_and_underscores():
    vals, changed = normalise_category(
        pd.Series(["Best Case", "commit", " Won ", "won"]), closed_set=True
    )
    assert vals.tolist() == ["best_case", "commit", "won", "won"]
    assert changed.tolist() == [True, False, True, False]


@pytest.mark.parametrize("tz, expected", [("Europe/Berlin", "2026-11-01"), ("UTC", "2026-10-31")])
def test_activity_at_utc_midnight_edge_lands_in_team_zone_month(tmp_path, tz, expected):
    acts = [
        {"activity_id": "A1", "rep_id": "R1", "timestamp": "2026-10-31T23:30:00Z", "type": "Call"}
    ]
    folder = make_folder(
        tmp_path, opportunities=[opp("O1", "2026-01-01", "2026-02-01", "won", 1)], activities=acts
    )
    res = load_tables(make_params(timezone=tz), folder, "2026-11")
    a = res.tables.activities
    assert a["timestamp"].dt.normalize().tolist() == [T(expected)]
    assert a["type"].tolist() == ["call"]
    # in October's report the Berlin activity does not exist yet
    res_oct = load_tables(make_params(timezone=tz), folder, "2026-10")
    assert len(res_oct.tables.activities) == (0 if tz == "Europe/Berlin" else 1)


def test_thousands_separators_and_excel_dates_through_load_tables(tmp_path):
    rows = [
        opp("O1", "46000", "2026-01-10", "won", "1,234.50"),  # 46000 = 2025-12-09
        opp("O2", "2026-01-01", "46030", "won", "2,000"),  # 46030 = 2026-01-08
    ]
    res = load_tables(make_params(), make_folder(tmp_path, opportunities=rows), "2026-12")
    o = res.tables.opportunities
    assert o["amount"].tolist() == [1234.5, 2000.0]
    assert o["created_date"].tolist() == [T("2025-12-09"), T("2026-01-01")]
    assert o["close_date"].tolist() == [T("2026-01-10"), T("2026-01-08")]
    assert res.quality.to_frame().empty


# --------------------------------------------------------------------------- properties


@given(st.lists(st.integers(min_value=-(10**9), max_value=10**9), min_size=1, max_size=20))
def test_thousands_separated_numbers_parse_back(cents):
    # slow path: Python's own formatting with a thousands separator, two decimals
    values = [c / 100 for c in cents]
    text = pd.Series([f"{v:,.2f}" for v in values])
    vals, bad = parse_numbers(text)
    assert not bad.any()
    np.testing.assert_allclose(vals.to_numpy(), values, rtol=0, atol=1e-9)


@given(
    st.lists(
        st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 12, 31)), min_size=1, max_size=20
    )
)
def test_excel_serials_and_iso_text_agree(days):
    # an Excel serial counts days from 1899-12-30 (datetime arithmetic, independent of pandas)
    serials = pd.Series([str((d - date(1899, 12, 30)).days) for d in days])
    iso = pd.Series([d.isoformat() for d in days])
    a, _ = parse_datetimes(serials, "UTC", date_only=True)
    b, _ = parse_datetimes(iso, "UTC", date_only=True)
    assert a.tolist() == b.tolist() == [pd.Timestamp(d) for d in days]


def test_unix_times_past_2262_are_unreadable_not_an_error():
    # datetime64[ns] ends on 2262-04-11: 9_500_000_000 s (year 2271) and
    # 17_000_000_001_234 ms (year 2508) cannot be held; 1_790_000_000 s is 2026-09-21 UTC.
    s = pd.Series(["9500000000", "17000000001234", "1790000000"])
    vals, bad = parse_datetimes(s, "UTC", date_only=False)
    assert bad.tolist() == [True, True, False]
    assert vals.isna().tolist() == [True, True, False]
    assert vals.iloc[2] == pd.Timestamp("2026-09-21 14:13:20")


# --------------------------------------------------------------------------- text, paths


def test_text_is_stripped_of_what_str_strip_removes():
    from salesreport.data.parse import to_text

    values = [
        "a",
        " a",
        "a\t",
        "",
        None,
        "\u3000a",
        "a\u00a0",
        "é",
        "a b",
        "\x1cz",
        "ü\u2009ü",
        "  ",
    ]
    # by hand (str.strip): plain; leading space; trailing tab; blank; missing; ideographic
    # space; no-break space; a non-ASCII letter (kept); an inner space (kept); file separator
    # (a space for str.isspace); a thin space inside only (kept); only spaces (missing)
    expect = ["a", "a", "a", None, None, "a", "a", "é", "a b", "z", "ü\u2009ü", None]
    assert to_text(pd.Series(values, dtype=object)).tolist() == expect
    assert [v.strip() or None if v is not None else None for v in values] == expect


# 30 values with blanks, spaces, case, bad values
BASE = [
    "2026-10-31", " 2026-10-01 ", "", "   ", None, "not a date", "2026-02-30", "46000",
    "2026-10-31T14:22:05Z", "2026-10-31 14:22", "2026-10-31T14:22:05+02:00", "1700000000",
    "Won", " LOST ", "best case", "Best-Case", "1,234.50", "€99", "12%", "-3", "abc", "1e3",
    "2026-Q4", "2026-q4", "2026", "2026-13", "gbp", " usd ", "EUR", "\u00a0x\u00a0",
]  # fmt: skip


@pytest.mark.parametrize(
    "parse",
    [
        lambda s: (parse_numbers(s),),
        lambda s: parse_datetimes(s, "Europe/Berlin", date_only=True),
        lambda s: parse_datetimes(s, "Europe/Berlin", date_only=False),
        lambda s: parse_periods(s, month_only=False),
        lambda s: normalise_category(s, closed_set=True),
    ],
)
def test_arrow_backed_text_parses_like_object_text(parse):
    import pyarrow as pa

    obj = pd.Series(BASE, dtype=object, index=pd.RangeIndex(2, len(BASE) + 2))
    arrow = obj.astype(pd.ArrowDtype(pa.string()))
    for a, b in zip(parse(obj), parse(arrow), strict=True):
        if isinstance(a, tuple):
            for x, y in zip(a, b, strict=True):
                pd.testing.assert_series_equal(x, y)
        else:
            pd.testing.assert_series_equal(a, b)


def test_zoned_timestamps_agree_with_pandas():
    # 2500 zoned ISO timestamps (the engine's fast path) and a few odd ones; the reference is
    # pandas' own ISO parser converted to the zone (an independent implementation)
    ts = pd.date_range("2026-01-01", periods=2500, freq="37min")
    values = [
        t.strftime("%Y-%m-%dT%H:%M:%S") + ("Z" if i % 2 else "+02:00") for i, t in enumerate(ts)
    ]
    values[5] = "garbage"
    values[9] = None
    values[11] = "2026-02-30T10:00:00Z"  # impossible date
    values[13] = "2026-03-29T01:30:00Z"  # 02:30 in Berlin does not exist: 03:30 CEST
    values[17] = "2026-10-25T00:30:00Z"  # 02:30 happens twice in Berlin: the first, CEST
    s = pd.Series(values, dtype=object)
    got, bad = parse_datetimes(s, "Europe/Berlin", date_only=False)
    ref = pd.to_datetime(s, format="ISO8601", errors="coerce", utc=True)
    ref = ref.dt.tz_convert("Europe/Berlin").dt.tz_localize(None).astype("datetime64[ns]")
    pd.testing.assert_series_equal(got, ref, check_names=False)
    assert bad.tolist() == [v is not None and pd.isna(r) for v, r in zip(values, ref, strict=True)]
    assert got[13] == T("2026-03-29 03:30") and got[17] == T("2026-10-25 02:30")


#: by hand, from each zone's rules: the table of offsets covers 1990-2039, the engine the rest
ZONE_CASES = [
    ("Europe/Berlin", "1975-07-01T12:00:00Z", "1975-07-01 13:00"),  # no summer time then
    ("Europe/Berlin", "1985-07-01T12:00:00Z", "1985-07-01 14:00"),  # CEST since 1980
    ("Europe/Berlin", "1989-12-31T23:30:00Z", "1990-01-01 00:30"),  # just before the table
    ("Europe/Berlin", "1990-01-01T00:30:00Z", "1990-01-01 01:30"),  # its first instants
    ("Europe/Berlin", "2039-12-31T23:30:00Z", "2040-01-01 00:30"),  # its last instants
    ("Europe/Berlin", "2040-01-01T00:30:00Z", "2040-01-01 01:30"),  # just after it
    ("Europe/Berlin", "2050-07-01T12:00:00Z", "2050-07-01 14:00"),  # CEST goes on
    ("America/New_York", "2045-07-04T16:00:00Z", "2045-07-04 12:00"),  # EDT, -4 h
    ("America/New_York", "1970-01-01T05:00:00Z", "1970-01-01 00:00"),  # EST, -5 h
    ("Asia/Kolkata", "1960-05-01T00:00:00Z", "1960-05-01 05:30"),
]


@pytest.mark.parametrize("tz, value, local", ZONE_CASES)
def test_zone_offsets_inside_and_outside_the_offset_table(tz, value, local):
    got, bad = parse_datetimes(pd.Series([value], dtype=object), tz, date_only=False)
    assert not bad.any()
    assert got[0] == T(local)


def test_fast_and_general_date_paths_agree():
    """The common shapes (``YYYY-MM-DD``, ``...T14:22:05``, ``...Z``, ``...+02:00``) take a
    fast path; the general ISO parser (every other shape) gives the same for them."""
    from salesreport.data import parse as P
    from salesreport.data.dialect import DUCKDB as D

    values = [
        "2026-10-31", "2024-02-29", "2026-02-29", "2026-10-31T14:22:05", "2026-10-31 00:00:00",
        "2026-10-31T23:59:59Z", "2026-10-31T23:30:00+02:00", "2026-10-31T01:30:00-05:30",
        "2026-10-31T24:00:00", "2026-10-31T14:60:00", "2026-10-31T14:22:05+02:60", "1677-09-22",
    ]  # fmt: skip
    con = P._connection()
    zone = P.zone_sql("u", "Asia/Kolkata")
    z = D.group("g", P.ISO_GROUPS, "z")
    fast, general = zip(
        *con.execute(
            f"SELECT coalesce({P._fast_local('t')}, (SELECT {zone} FROM (SELECT {P._fast_utc('t')} AS u))), "
            f"CASE WHEN {z} = '' THEN {P._iso_local(D, 'g')} "
            f"ELSE (SELECT {zone} FROM (SELECT {P._iso_utc(D, 'g', P._iso_local(D, 'g'))} AS u)) END "
            f"FROM (SELECT t, {D.groups('t', P.ISO_RE, P.ISO_GROUPS)} AS g FROM unnest(?) AS v(t))",
            [values],
        ).fetchall(),
        strict=True,
    )
    assert list(fast) == list(general)
    # by hand: 23:30 at +02:00 is 21:30 UTC, 03:00 the next day in Kolkata (+05:30)
    assert fast[6] == pd.Timestamp("2026-11-01 03:00").to_pydatetime()
    assert fast[2] is None and fast[8] is None and fast[9] is None and fast[10] is None


def test_a_database_column_reads_as_cell_by_cell_whatever_its_type():
    """column_to_arrow (database results, built by Arrow) gives cells_to_arrow's array and kind
    for every column a driver returns: one type with missing cells (None, NaN), all missing,
    mixed types, numbers beyond 64 bits; numeric Decimals as their floats."""
    import datetime as dt
    from decimal import Decimal

    from hypothesis import given
    from hypothesis import strategies as st

    from salesreport.data.parse import cells_to_arrow, column_to_arrow

    utc, plus2 = dt.UTC, dt.timezone(dt.timedelta(hours=2))
    cell = st.one_of(
        st.text(max_size=4),
        st.integers(-(2**70), 2**70),
        st.floats(allow_infinity=False),
        st.booleans(),
        st.dates(),
        st.datetimes(min_value=dt.datetime(1900, 1, 1)),
        st.datetimes(min_value=dt.datetime(1900, 1, 2), timezones=st.sampled_from([utc, plus2])),
    )

    @given(st.lists(st.one_of(st.none(), cell), max_size=6), st.booleans())
    def check(values, one_type):
        if one_type and values:  # a typed column: the first present cell's type throughout
            first = next((v for v in values if v is not None), None)
            values = [v for v in values if v is None or type(v) is type(first)]
        got_arr, got_kind = column_to_arrow(values)
        want_arr, want_kind = cells_to_arrow(values)
        assert got_kind == want_kind and got_arr.equals(want_arr), (values, got_arr, want_arr)

    check()
    decimals = [Decimal("396.86"), None, Decimal("0.1"), Decimal("26570.00")]
    arr, kind = column_to_arrow(decimals)
    assert kind == "number" and arr.to_pylist() == [396.86, None, 0.1, 26570.0]
