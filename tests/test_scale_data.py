"""Data-quality rows kept as arrays (issue #7): the big row sets (filtered, converted) are
stored without a Python int per row and read back exactly like lists. Hand-made values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.data import load as load_mod
from salesreport.data.load import _labels
from salesreport.data.quality import DataQuality, format_rows


def test_labels_are_the_index_labels_where_the_mask_is_true():
    mask = pd.Series([True, False, True, True], index=[2, 3, 7, 10])
    got = _labels(mask)
    assert isinstance(got, np.ndarray)
    assert got.tolist() == [2, 7, 10]
    assert _labels(pd.Series([False], index=[5])).tolist() == []


def test_array_rows_read_like_list_rows():
    as_list, as_array = DataQuality(), DataQuality()
    rows = [2, 5, 9, 11, 12, 40]
    for q, r in ((as_list, rows), (as_array, np.array(rows, dtype=np.int64))):
        q.set_rows("orders", "orders.csv", 10)
        q.add("orders", "orders.csv", "filtered", "region not in EMEA", r, column="region")
        q.add("orders", "orders.csv", "converted", "amount converted", np.array([], dtype=int))
    assert isinstance(as_array.issues[0].rows, np.ndarray)  # kept as an array
    assert len(as_array.issues) == 1  # the empty array recorded nothing, as an empty list
    assert as_array.issues[0].n == 6
    pd.testing.assert_frame_equal(as_array.to_frame(), as_list.to_frame())
    assert as_array.to_frame()["example_rows"].iloc[0] == "2, 5, 9, 11, 12, ..."
    assert as_array.to_json() == as_list.to_json()
    assert as_array.to_json()["issues"][0]["example_rows"] == [2, 5, 9, 11, 12]
    assert all(type(r) is int for r in as_array.to_json()["issues"][0]["example_rows"])
    assert as_array.summary_text() == as_list.summary_text()
    # a generator still works (read once)
    assert format_rows(r for r in [3, 4]) == "3, 4"
    assert format_rows(np.array([7])) == "7"


def _arrow_text(values: list) -> pd.Series:
    import pyarrow as pa

    return pd.Series(values, dtype=pd.ArrowDtype(pa.string()))


def test_any_needs_strip_on_distinct_and_on_every_value():
    from salesreport.data.parse import _any_needs_strip

    repeated = ["emea", "apac", None] * 1000  # 3000 rows, 2 distinct: checked per value
    assert not _any_needs_strip(_arrow_text(repeated))
    assert _any_needs_strip(_arrow_text(repeated[:-1] + ["na "]))  # one padded value
    assert _any_needs_strip(_arrow_text(repeated[:-1] + [""]))  # one blank value
    assert _any_needs_strip(_arrow_text(repeated[:-1] + ["\u3000na"]))  # ideographic space
    ids = [f"ID{i}" for i in range(3000)]  # all distinct: every value matched
    assert not _any_needs_strip(_arrow_text(ids))
    assert _any_needs_strip(_arrow_text(ids[:-1] + ["ID\t"]))
    assert not _any_needs_strip(_arrow_text(["a b", None]))  # inner space, missing: fine


def test_to_text_keeps_plain_arrow_text_and_strips_otherwise():
    from salesreport.data.parse import is_arrow_text, to_text

    plain = _arrow_text(["emea", "apac", None] * 1000)
    assert to_text(plain) is plain  # unchanged, still Arrow
    padded = _arrow_text(["emea", " apac", "", None] * 1000)
    got = to_text(padded)
    assert not is_arrow_text(got)
    # " apac" -> "apac"; "" and None -> None
    assert got.iloc[:4].tolist() == ["emea", "apac", None, None]


def test_digits_and_same_local_compare_the_written_date_and_time():
    import pyarrow as pa

    from salesreport.data.parse import _digits, _same_local

    text = ["2026-10-31T14:22:05+02:00", "1999-01-02 03:04:05Z", "2024-02-29T23:59:59-11:30"]
    sel = pa.array(["x-skipped", *text]).slice(1)  # an offset into the buffers
    assert _digits(sel, 0, 4).tolist() == [2026, 1999, 2024]
    assert _digits(sel, 17, 19).tolist() == [5, 5, 59]
    local = np.array([t[:19].replace(" ", "T") for t in text], dtype="datetime64[s]")
    assert _same_local(sel, local).tolist() == [True, True, True]
    # a value read as another instant (a second, a day or a year off) or not at all
    off = local.copy()
    off[0] += np.timedelta64(1, "s")
    off[1] = np.datetime64("1999-01-03T03:04:05")
    off[2] = np.datetime64("NaT")
    assert _same_local(sel, off).tolist() == [False, False, False]
    # what the string round trip it replaces gives
    back = np.datetime_as_string(off, unit="s")
    assert (back == np.array([t[:19].replace(" ", "T") for t in text])).tolist() == [
        False,
        False,
        False,
    ]


def test_needs_strip_reads_first_and_last_bytes_and_matches_the_rest():
    import pyarrow as pa

    from salesreport.data.parse import needs_strip

    values = ["a", " a", "a\t", "", None, "\u3000a", "a\u00a0", "é", "a b", "\x1cz", "ü\u2009ü"]
    # by hand (str.strip): plain; leading space; trailing tab; blank; missing (never);
    # ideographic space; no-break space; one non-ASCII letter (matched, not a space);
    # inner space only; file separator (a space for str.isspace); thin space inside only
    expect = [False, True, True, True, False, True, True, False, False, True, False]
    for typ in (pa.string(), pa.large_string()):
        arr = pa.array(values, type=typ)
        assert needs_strip(arr).tolist() == expect
        assert needs_strip(arr.slice(1, 3)).tolist() == expect[1:4]  # an offset into buffers
    assert needs_strip(pa.array(["", None], type=pa.string())).tolist() == [True, False]


def test_release_arrow_memory_asks_mimalloc_again_after_its_purge_delay(monkeypatch):
    calls: list[str] = []

    class Pool:
        backend_name = "mimalloc"

        def release_unused(self):
            calls.append("release")

    monkeypatch.setattr(load_mod.pa, "default_memory_pool", lambda: Pool())
    monkeypatch.setattr(load_mod.time, "sleep", lambda s: calls.append(f"sleep {s}"))
    load_mod._release_arrow_memory()
    assert calls == ["release", f"sleep {load_mod.MIMALLOC_PURGE_WAIT}", "release"]
    calls.clear()
    Pool.backend_name = "system"  # other pools give memory back at once: one call
    load_mod._release_arrow_memory()
    assert calls == ["release"]
