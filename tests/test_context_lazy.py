"""A saved context is read lazily: each table and frame from its file when first used."""

from __future__ import annotations

import pandas as pd
import pytest

from salesreport.context import ReportContext, load_context, save_context
from salesreport.params import load_params
from salesreport.tables import Tables


def test_a_saved_context_reads_each_table_and_frame_when_first_used(tmp_path):
    opps = pd.DataFrame({"opportunity_id": ["o1", "o2"], "amount": [1.0, 2.5]})
    reps = pd.DataFrame({"rep_id": ["r1"], "name": ["Ann"]})
    frames = {"kpis": pd.DataFrame({"metric": ["revenue"], "value": [3.5]}),
              "okrs": pd.DataFrame({"objective": ["Grow"]})}  # fmt: skip
    ctx = ReportContext(
        params=load_params("emea"), month="2026-10", tables=Tables(opportunities=opps, reps=reps),
        frames=frames, notes={},
    )  # fmt: skip
    save_context(ctx, tmp_path)
    got = load_context(tmp_path)
    assert got.tables.__dict__["_unread"].keys() == {"opportunities", "reps"}  # nothing read yet
    pd.testing.assert_frame_equal(got.tables.opportunities, opps)
    assert got.tables.__dict__["_unread"].keys() == {"reps"}  # only what was used
    assert got.tables.leads is None and got.tables.present() == ["opportunities", "reps"]
    assert sorted(got.frames) == ["kpis", "okrs"] and "kpis" in got.frames
    assert got.frames._read == {}
    pd.testing.assert_frame_equal(got.frames["kpis"], frames["kpis"])
    assert set(got.frames._read) == {"kpis"}
    assert got.frames.get("forecast") is None
    with pytest.raises(KeyError):
        got.frames["forecast"]
    got.frames["extra"] = pd.DataFrame({"x": [1]})
    assert len(got.frames) == 3
    del got.frames["okrs"]
    assert sorted(got.frames) == ["extra", "kpis"]


def test_a_page_reads_only_the_rows_and_columns_of_a_table_it_asks_for(tmp_path):
    """``tables.rows_in`` on a saved context reads the asked columns and keeps the rows in the
    range in Arrow (a page needs a month of millions of activities): the same rows, columns,
    types and index labels as the whole table read and then cut, with bounds worked by hand
    (start included, stop excluded, a missing time in no range); the table stays unread."""
    when = pd.to_datetime(
        ["2026-09-30 23:59", "2026-10-01 00:00", None, "2026-10-31 18:00", "2026-11-01 00:00"]
    )
    act = pd.DataFrame(
        {
            "activity_id": ["a1", "a2", "a3", "a4", "a5"],
            "rep_id": ["r1", None, "r2", "r1", "r2"],
            "type": ["call", "email", "call", "meeting", "call"],
            "timestamp": when,
            "minutes": [1.0, float("nan"), 3.0, 4.0, 5.0],
        }
    )
    got = _saved_tables(tmp_path, activities=act)
    start, stop = pd.Timestamp("2026-10-01"), pd.Timestamp("2026-11-01")
    cols = ["rep_id", "minutes", "not_a_column"]
    rows = got.rows_in("activities", "timestamp", start, stop, cols)
    assert rows.index.tolist() == [1, 3] and list(rows.columns) == ["rep_id", "minutes"]
    assert "activities" in got.__dict__["_unread"] and got.has("activities")
    whole = Tables(activities=act).rows_in("activities", "timestamp", start, stop, cols)
    pd.testing.assert_frame_equal(rows, whole)
    before = got.rows_in("activities", "timestamp", None, stop, ["activity_id", "timestamp"])
    assert before["activity_id"].tolist() == ["a1", "a2", "a4"]
    pd.testing.assert_frame_equal(before, act.loc[[0, 1, 3], ["activity_id", "timestamp"]])
    assert got.rows_in("leads", "created_date", None, stop, ["lead_id"]) is None
    assert not got.has("leads")


def test_a_page_reads_only_the_rows_of_the_deals_it_asks_for(tmp_path):
    """``tables.rows_with`` (the open deals' stage history): on a saved context only the
    matching rows become pandas rows, in the table's order, on their labels in the table;
    worked by hand: a missing id matches nothing, even when a missing value is asked for,
    an id asked twice or not in the table changes nothing; the same on the frame itself."""
    sh = pd.DataFrame(
        {
            "opportunity_id": ["o2", "o1", None, "o2", "o3", "o1"],
            "stage": ["A", "A", "B", "B", "A", "C"],
            "entered_date": pd.to_datetime(
                ["2026-01-02", "2026-01-01", "2026-01-03", "2026-02-01", None, "2026-03-01"]
            ),
        }
    )
    got = _saved_tables(tmp_path, stage_history=sh)
    asked = ["o1", None, "o9", "o1", float("nan"), "o3"]
    rows = got.rows_with("stage_history", "opportunity_id", asked, ["entered_date", "stage"])
    assert rows.index.tolist() == [1, 4, 5] and list(rows.columns) == ["entered_date", "stage"]
    assert rows["stage"].tolist() == ["A", "A", "C"]
    assert "stage_history" in got.__dict__["_unread"]  # not read whole
    whole = Tables(stage_history=sh).rows_with(
        "stage_history", "opportunity_id", asked, ["entered_date", "stage"]
    )
    pd.testing.assert_frame_equal(rows, whole)
    none = got.rows_with("stage_history", "opportunity_id", [], ["stage"])
    assert none.empty and list(none.columns) == ["stage"]
    assert got.rows_with("leads", "lead_id", ["l1"], ["lead_id"]) is None


def test_a_page_peeks_only_the_columns_it_reads_and_the_table_stays_unread(tmp_path):
    """``tables.peek`` on a saved context reads only the asked columns the table has, with
    the table's own types and index labels (a RangeIndex and an index of its own), not kept:
    the table stays unread; once read whole, the frame itself."""
    opps = pd.DataFrame(
        {
            "opportunity_id": ["o1", "o2", "o3"],
            "owner_id": ["r1", None, "r2"],
            "amount": [1.0, float("nan"), 3.5],
            "close_date": pd.to_datetime(["2026-10-01", None, "2026-11-30"]),
            "lost_reason": ["price", None, "timing"],
        }
    )
    reps = pd.DataFrame({"name": ["Ann", "Bo"]}, index=pd.Index(["r1", "r2"], name="rep_id"))
    got = _saved_tables(tmp_path, opportunities=opps, reps=reps)
    some = got.peek("opportunities", ["close_date", "amount", "not_a_column", "amount"])
    pd.testing.assert_frame_equal(some, opps[["close_date", "amount"]])
    assert "opportunities" in got.__dict__["_unread"]
    pd.testing.assert_frame_equal(got.peek("reps", ["name"]), reps)  # its index kept
    assert got.peek("leads", ["lead_id"]) is None
    pd.testing.assert_frame_equal(got.peek("opportunities", None), opps)  # None: whole, kept
    assert got.peek("opportunities", ["amount"]) is got.opportunities


def _saved_tables(folder, **tables: pd.DataFrame) -> Tables:
    """``tables`` saved as a run saves its context, as a page's kernel reads them back."""
    ctx = ReportContext(
        params=load_params("emea"), month="2026-10", tables=Tables(**tables), frames={}, notes={}
    )
    save_context(ctx, folder)
    return load_context(folder).tables


def test_the_pipeline_and_deals_needing_attention_leave_the_saved_tables_unread(tmp_path):
    """``ctx.pipeline`` and ``ctx.deals_needing_attention`` in a page's kernel read the columns
    and rows they use, never a table whole (200x EMEA: 759k opportunities, 3.6M stage rows)."""
    when = pd.to_datetime(["2026-09-01", "2026-10-02"])
    opps = pd.DataFrame(
        {
            "opportunity_id": ["o1", "o2"], "account_id": ["a1", "a2"], "owner_id": ["r1", "r1"],
            "created_date": when, "close_date": pd.to_datetime(["2026-09-30", "2026-12-01"]),
            "stage": ["Proposal", "Discovery"], "status": ["open", "open"], "amount": [5.0, 7.0],
        }
    )  # fmt: skip
    sh = pd.DataFrame({"opportunity_id": ["o1", "o2"], "stage": ["Proposal", "Discovery"],
                       "entered_date": when})  # fmt: skip
    ctx = ReportContext(
        params=load_params("emea"), month="2026-10",
        tables=Tables(opportunities=opps, stage_history=sh), frames={}, notes={},
    )  # fmt: skip
    save_context(ctx, tmp_path)
    got = load_context(tmp_path)
    assert got.pipeline["value"].sum() == 12.0
    assert got.deals_needing_attention["opportunity_id"].tolist() == ["o1"]  # date passed
    assert got.tables.__dict__["_unread"].keys() == {"opportunities", "stage_history"}
