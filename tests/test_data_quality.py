"""Data-quality bookkeeping: issues keep their rows as lists or arrays, and a count beside
example rows for the big row sets (filtered, converted, after the month). Hand-made values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesreport.data.quality import DataQuality, format_rows


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


def test_a_count_beside_example_rows_is_the_issue_size():
    # 5000 rows filtered, the first 10 kept as examples (what the loader records)
    q = DataQuality()
    q.set_rows("activities", "activities.csv", 9000)
    q.add("activities", "activities.csv", "filtered", "not linked", np.arange(2, 12), count=5000)
    (issue,) = q.issues
    assert issue.n == 5000
    assert q.to_frame().loc[0, ["count", "example_rows"]].tolist() == [5000, "2, 3, 4, 5, 6, ..."]
    assert q.to_json()["issues"][0]["count"] == 5000
    assert "filtered      5000  not linked (rows 2, 3, 4, 5, 6, ...)" in q.summary_text()
    assert q.bad_rows("activities") == set()  # filtered rows are not bad
