"""``as_of(..., copy=False)`` on tables it already cut: returned as they are, without the joins,
unless a frame was changed in place since (then cut again, as the first time)."""

from __future__ import annotations

import pandas as pd

from salesreport.data import as_of, load_tables
from tests.conftest_data import make_folder, make_params
from tests.test_data_pit import M, _org

T = pd.Timestamp


def test_tables_cut_for_the_month_come_back_unchanged(tmp_path):
    res = load_tables(make_params(), make_folder(tmp_path, **_org(True)), M)
    again, counts = as_of(res.tables, M, copy=False)
    assert counts.empty
    for name, df in res.tables.items():
        assert again.get(name) is df, name  # the same objects: nothing was re-done


def test_another_month_is_cut_again(tmp_path):
    res = load_tables(make_params(), make_folder(tmp_path, **_org(True)), M)
    earlier, counts = as_of(res.tables, "2026-09", copy=False)
    # O4 was created 2026-10-05 and A1 is dated 2026-10-31: both after September
    assert "O4" not in set(earlier.opportunities["opportunity_id"])
    assert earlier.activities.empty
    assert not counts.empty


def test_a_frame_changed_in_place_is_cut_again(tmp_path):
    res = load_tables(make_params(), make_folder(tmp_path, **_org(True)), M)
    opps = res.tables.opportunities
    # an opportunity moved into November after the cut: the date check sees it and cuts
    opps.loc[opps["opportunity_id"] == "O1", "created_date"] = T("2026-11-20")
    cut, counts = as_of(res.tables, M, copy=False)
    assert "O1" not in set(cut.opportunities["opportunity_id"])
    # ... and lead L1's opportunity_id (O1, now created after the month) is cleared
    assert counts["reason"].tolist() == [
        "created_date after 2026-10, dropped",
        "opportunity created after 2026-10: opportunity_id cleared",
    ]
    # a deal closed (won) after the month is open again
    opps2 = cut.opportunities
    opps2.loc[opps2["opportunity_id"] == "O4", ["status", "close_date"]] = ["won", T("2026-12-01")]
    recut, _ = as_of(cut, M, copy=False)
    o4 = recut.opportunities.set_index("opportunity_id").loc["O4"]
    assert o4["status"] == "open"


def test_a_copy_of_cut_tables_is_cut_in_full(tmp_path):
    res = load_tables(make_params(), make_folder(tmp_path, **_org(True)), M)
    copied = res.tables.replace(opportunities=res.tables.opportunities.copy())
    again, counts = as_of(copied, M, copy=False)
    # not marked: the full rules run (and find nothing to change on a cut table)
    assert counts.empty
    pd.testing.assert_frame_equal(again.opportunities, res.tables.opportunities)
