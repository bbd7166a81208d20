"""The report's CSV files (``salesreport.outputs``): written by DuckDB, byte for byte what
pandas' ``to_csv`` writes for the same frame (the slow, obvious path)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesreport import outputs
from salesreport.outputs import FLOAT_FORMAT, write_csv


def _pandas_csv(df: pd.DataFrame) -> bytes:
    """The slow path: pandas' writer (periods written as text value by value first)."""
    slow = df.copy()
    for i in range(slow.shape[1]):
        col = slow.iloc[:, i]
        if isinstance(col.dtype, pd.PeriodDtype):
            slow.isetitem(i, pd.Series([None if pd.isna(p) else str(p) for p in col], dtype=object))
    text = slow.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
    return text.encode("utf-8")


def _fast_csv(df: pd.DataFrame, tmp_path) -> bytes:
    path = tmp_path / "out.csv"
    write_csv(df, path)
    return path.read_bytes()


EDGE_FLOATS = [
    np.nan, -0.0, 0.0, 1e15, 1e-7, 0.1 + 0.2, np.inf, -np.inf, 1e12, 1e12 - 1, -(1e12 - 1),
    999999999999.5, 123456789012.75, 2.0**53, 1.5, -2.0, 1 / 3, 5e-324, 1.7976931348623157e308,
    11469566.9291, 0.659455507385, -1e-300, 100.0,
]  # fmt: skip


def test_float_cells_match_percent_12g_value_by_value(tmp_path):
    values = np.array(EDGE_FLOATS)
    # the slow path: '%.12g' % v per value, '' for NaN (pandas' float_format rule)
    expected = ["" if np.isnan(v) else "%.12g" % v for v in EDGE_FLOATS]  # noqa: UP031
    df = pd.DataFrame({"x": values, "k": "k"})
    write_csv(df, tmp_path / "f.csv")
    lines = (tmp_path / "f.csv").read_text().splitlines()[1:]
    assert [line.removesuffix(",k") for line in lines] == expected
    assert expected[1] == "-0" and expected[3] == "1e+15"
    small = values[~(np.abs(values) > 3e38)].astype(np.float32)  # within float32's range
    slow = ["" if np.isnan(v) else "%.12g" % float(v) for v in small]  # noqa: UP031
    write_csv(pd.DataFrame({"x": small, "k": "k"}), tmp_path / "g.csv")
    lines = (tmp_path / "g.csv").read_text().splitlines()[1:]
    assert [line.removesuffix(",k") for line in lines] == slow


def test_report_csv_bytes_equal_pandas_on_edge_cases(tmp_path):
    n = len(EDGE_FLOATS)
    text = ["a", "b,c", 'say "hi"', "two\nlines", "", None, "ü €", " lead", "cr\rhere", "x"]
    df = pd.DataFrame(
        {
            "f": EDGE_FLOATS,
            "i": np.arange(n, dtype=np.int64) * 10**17 - 10**18,
            "u": np.arange(n, dtype=np.uint64) + np.uint64(2**63),
            "b": [i % 2 == 0 for i in range(n)],
            "t": [text[i % len(text)] for i in range(n)],
            "p": pd.period_range("2026-01", periods=n, freq="M"),
            "f32": np.array([v if abs(v) < 3e38 else 1.25 for v in EDGE_FLOATS], np.float32),
        }
    )
    df.loc[3, "p"] = pd.NaT
    assert outputs._select(outputs._Rows(df).csv_kinds()) is not None  # by DuckDB, not pandas
    assert _fast_csv(df, tmp_path) == _pandas_csv(df)
    plain = df.drop(columns="t")
    assert _fast_csv(plain, tmp_path) == _pandas_csv(plain)


@pytest.mark.parametrize(
    "df",
    [
        pd.DataFrame({"a": [1.5, np.nan], "b": ["x", "y"]}).iloc[0:0],  # no rows
        pd.DataFrame(),  # no columns
        pd.DataFrame(index=range(3)),  # rows, no columns
        pd.DataFrame({"only": [np.nan, 1.0, np.nan]}),  # a lone empty field is quoted
        pd.DataFrame({"only": ["", "a", None]}),
        pd.DataFrame({"only": [1.0, 2.0]}),
        pd.DataFrame({"a,b": [1.0], 'q"': ["x"]}),  # header fields that need quotes
        pd.DataFrame({"o": [True, None, "x"], "v": [1, 2, 3]}),  # non-text objects: pandas
        pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64")}),  # extension dtype: pandas
        pd.DataFrame({"d": pd.to_datetime(["2026-01-01", None]), "v": [0.5, 1.0]}),
        pd.DataFrame({"o": [pd.Period("2026-03", "M"), None, "text"]}),  # periods in objects
        pd.DataFrame([[1.0, 2.0]], columns=[0, 1]),  # non-text labels: pandas
        pd.DataFrame([[1.0, 2.0]], columns=["a", "a"]),  # duplicate labels
        pd.DataFrame({"f": [0.0], "t": ["#"]}),  # DuckDB quotes a '#', pandas does not
        pd.DataFrame({"t": ["a", pd.NA, np.nan, None, np.str_("b")], "v": [1.0] * 5}),  # missing
        pd.DataFrame({"t": ["a", pd.NaT], "v": [1.0, 2.0]}),  # NaT is not text: pandas
        pd.DataFrame({"t": ["a", b"b"], "v": [1.0, 2.0]}),  # bytes are not text: pandas
        pd.DataFrame({"f": [0.0, 1.0], "t": ["Team #2", "a\rb"]}),
    ],
)
def test_report_csv_bytes_equal_pandas_on_odd_frames(df, tmp_path):
    assert _fast_csv(df, tmp_path) == _pandas_csv(df)


@given(
    st.lists(
        st.tuples(
            st.floats(allow_nan=True, allow_infinity=True),
            st.integers(-(2**63), 2**63 - 1),
            st.one_of(st.none(), st.text(max_size=6)),
        ),
        max_size=30,
    )
)
def test_report_csv_bytes_equal_pandas_on_random_frames(rows):
    import tempfile
    from pathlib import Path

    df = pd.DataFrame(rows, columns=["f", "i", "t"]).astype({"f": float, "i": np.int64})
    with tempfile.TemporaryDirectory() as tmp:
        try:
            expected = _pandas_csv(df)
        except UnicodeEncodeError:  # lone surrogates: both paths refuse them
            with pytest.raises(UnicodeEncodeError):
                write_csv(df, Path(tmp) / "out.csv")
            return
        assert _fast_csv(df, Path(tmp)) == expected


def test_kpis_parquet_holds_the_csv_rows_typed(tmp_path):
    from salesreport.outputs import write_parquet

    kpis = pd.DataFrame(
        {
            "metric": ["revenue", "win_rate"],
            "window": ["month", "ytd"],
            "period": pd.PeriodIndex(["2026-09", "2026-10"], freq="M"),
            "segment": ["all", "owner_id=R1"],
            "value": [1250.5, np.nan],
            "target": [np.nan, 0.3],
            "prior": [1000.0, np.nan],
            "unit": ["EUR", "ratio"],
        }
    )
    write_parquet(kpis, tmp_path / "kpis.parquet")
    back = pd.read_parquet(tmp_path / "kpis.parquet")
    assert back["period"].tolist() == ["2026-09", "2026-10"]
    assert back["value"].iloc[0] == 1250.5 and pd.isna(back["value"].iloc[1])
    assert back["target"].isna().tolist() == [True, False]
    assert list(back.columns) == list(kpis.columns)


def _kpi_rows() -> pd.DataFrame:
    """Eight KPI rows of October 2026's report: the team, a region, two reps (one a rep id
    with a ``#``, which pandas writes), over September and October."""
    return pd.DataFrame(
        {
            "metric": ["calls"] * 8,
            "window": ["month"] * 8,
            "period": pd.PeriodIndex(
                [
                    "2026-09",
                    "2026-10",
                    "2026-09",
                    "2026-10",
                    "2026-09",
                    "2026-10",
                    "2026-09",
                    "2026-10",
                ],
                freq="M",
            ),  # fmt: skip
            "segment": [
                "all",
                "all",
                "owner_id=R1",
                "owner_id=R1",
                "owner_id=R#2",
                "owner_id=R#2",
                "region=DE",
                "region=DE",
            ],  # fmt: skip
            "value": [10.0, 12.0, 4.0, 5.0, 6.0, 7.0, 10.0, np.nan],
            "target": np.nan,
            "prior": np.nan,
            "unit": "count",
        }
    )


@pytest.mark.parametrize("saved", [False, True], ids=["frame", "saved rows"])
@pytest.mark.parametrize("hash_in_id", [False, True], ids=["duckdb writes", "pandas writes"])
def test_kpis_csv_leaves_per_rep_rows_out_only_beyond_its_limit(tmp_path, saved, hash_in_id):
    """8 rows, 4 of them a rep's, 2 of those in months before October. Within the limit every
    row; over it, first the reps' earlier months go (6 rows left), then every rep row (4)."""
    import pyarrow as pa

    from salesreport.context import SavedRows, periods_as_text
    from salesreport.outputs import kpis_csv_rows

    df = _kpi_rows()
    if not hash_in_id:
        df["segment"] = df["segment"].str.replace("#", "")
    rows = df
    if saved:
        path = tmp_path / "kpis.arrow"
        table = pa.Table.from_pandas(periods_as_text(df), preserve_index=False)
        with pa.OSFile(str(path), "wb") as f, pa.ipc.new_file(f, table.schema) as w:
            w.write_table(table, max_chunksize=3)
        rows = SavedRows(path)
        assert rows.num_rows == 8
    expected = {  # limit -> (rows kept by position, rows left out, what)
        0: (range(8), 0, None),
        8: (range(8), 0, None),
        7: ([0, 1, 3, 5, 6, 7], 2, "months before 2026-10"),
        6: ([0, 1, 3, 5, 6, 7], 2, "months before 2026-10"),
        5: ([0, 1, 6, 7], 4, "every per-rep row"),
    }
    for limit, (kept, left, what) in expected.items():
        where, notes = kpis_csv_rows(rows, "2026-10", limit)
        out = tmp_path / f"kpis-{limit}.csv"
        write_csv(rows, out, where=where)
        want = df.iloc[list(kept)].reset_index(drop=True)
        assert out.read_bytes() == _pandas_csv(want), limit
        if what is None:
            assert where is None and notes == {}
        else:
            assert set(notes) == {"kpis.csv"}  # kpis.parquet holds every row
            note = notes["kpis.csv"]
            assert what in note and f"{left:,} rows" in note and f"({limit:,})" in note
            assert note.startswith("8 KPI rows are more than") and "parquet holds" in note


def test_kpi_rows_not_computed_count_towards_the_limit_and_are_said_for_both_files(tmp_path):
    """The KPI computation left the 2 per-rep rows of September out (over the limit): the 6
    rows computed are all of kpis.csv within a limit of 6 or 7, both files' notes saying what
    was not computed (8 rows in all); over 6, kpis.csv leaves out the 2 reps' October rows too,
    kpis.parquet keeps them. Within 8, nothing is said (as if they had been computed)."""
    from salesreport.outputs import kpis_csv_rows

    df = _kpi_rows().iloc[[0, 1, 3, 5, 6, 7]].reset_index(drop=True)
    df["segment"] = df["segment"].str.replace("#", "")
    assert kpis_csv_rows(df, "2026-10", 8, not_computed=2) == (None, {})
    for limit in (6, 7):
        where, notes = kpis_csv_rows(df, "2026-10", limit, not_computed=2)
        assert where is None and set(notes) == {"kpis.csv", "kpis.parquet"}
        assert (
            notes["kpis.csv"]
            == notes["kpis.parquet"]
            == (
                f"8 KPI rows are more than kpis_csv_max_rows ({limit}): the per-rep rows "
                "(segment owner_id=...) of the months before 2026-10 are not computed, 2 rows "
                "(each month's report holds that month's). Set "
                "kpis_csv_max_rows: 0 in the team's YAML to compute and write them all."
            )
        )
    # the default limit is named for what it is
    from salesreport.params import SPREADSHEET_ROWS

    _, notes = kpis_csv_rows(df, "2026-10", SPREADSHEET_ROWS, not_computed=SPREADSHEET_ROWS)
    assert notes["kpis.parquet"].startswith(
        "1,048,581 KPI rows are more than kpis_csv_max_rows (1,048,575, the rows a spreadsheet "
        "opens): the per-rep rows (segment owner_id=...) of the months before 2026-10 are not "
        "computed, 1,048,575 rows"
    )
    where, notes = kpis_csv_rows(df, "2026-10", 5, not_computed=2)
    out = tmp_path / "kpis.csv"
    write_csv(df, out, where=where)
    assert pd.read_csv(out)["segment"].tolist() == ["all", "all", "region=DE", "region=DE"]
    assert "not computed, 2 rows" in notes["kpis.parquet"]
    assert "kpis.csv leaves out every per-rep row (segment owner_id=...), 2 rows; kpis.parquet holds the report month's" in notes["kpis.csv"]  # fmt: skip


def test_a_report_run_records_what_kpis_csv_leaves_out(tmp_path):
    """write_outputs on a context over its limit: kpis.csv without the reps' earlier months,
    kpis.parquet every row, and the sentence in the context's notes."""
    from types import SimpleNamespace

    from salesreport.outputs import CSV_FILES, write_outputs
    from salesreport.params import TeamParams

    frames = {name.removesuffix(".csv"): pd.DataFrame({"a": [1], "b": ["x"]}) for name in CSV_FILES}
    frames["kpis"] = _kpi_rows().assign(segment=lambda d: d["segment"].str.replace("#", ""))
    ctx = SimpleNamespace(
        frames=frames, month="2026-10", notes={},
        params=TeamParams(team="emea", kpis_csv_max_rows=6),
    )  # fmt: skip
    left_out = write_outputs(ctx, tmp_path)
    assert set(left_out) == {"kpis.csv"} and ctx.notes["left_out"] == left_out
    written = pd.read_csv(tmp_path / "kpis.csv")
    assert written["segment"].tolist() == ["all", "all", "owner_id=R1", "owner_id=R2",
                                           "region=DE", "region=DE"]  # fmt: skip
    assert len(pd.read_parquet(tmp_path / "kpis.parquet")) == 8
