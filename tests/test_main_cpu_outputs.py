"""The main process's faster paths give exactly what the slow, obvious paths give.

Each fast path (report CSVs, periods as text) is compared with the independent slow path
it replaces: pandas' ``to_csv``, ``astype(str)`` value by value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesreport import pipeline
from salesreport.context import ContextWriter, build_context, load_context, periods_as_text
from salesreport.params import load_params
from salesreport.pipeline import FLOAT_FORMAT, _csv, _csv_fast, _format_floats


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
    _csv(df, path)
    return path.read_bytes()


EDGE_FLOATS = [
    np.nan, -0.0, 0.0, 1e15, 1e-7, 0.1 + 0.2, np.inf, -np.inf, 1e12, 1e12 - 1, -(1e12 - 1),
    999999999999.5, 123456789012.75, 2.0**53, 1.5, -2.0, 1 / 3, 5e-324, 1.7976931348623157e308,
    11469566.9291, 0.659455507385, -1e-300, 100.0,
]  # fmt: skip


def test_float_cells_match_percent_12g_value_by_value():
    values = np.array(EDGE_FLOATS)
    # the slow path: '%.12g' % v per value, '' for NaN (pandas' float_format rule)
    expected = ["" if np.isnan(v) else "%.12g" % v for v in EDGE_FLOATS]  # noqa: UP031
    assert _format_floats(values) == expected
    assert _format_floats(values)[1] == "-0" and _format_floats(values)[3] == "1e+15"
    small = values[~(np.abs(values) > 3e38)].astype(np.float32)  # within float32's range
    slow = ["" if np.isnan(v) else "%.12g" % float(v) for v in small]  # noqa: UP031
    assert _format_floats(small) == slow


def test_report_csv_bytes_equal_pandas_on_edge_cases(tmp_path, monkeypatch):
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
    assert _csv_fast(periods_as_text(df))  # the fast path, not pandas
    assert _fast_csv(df, tmp_path) == _pandas_csv(df)
    # quoted fields only in rows that need them: a plain frame takes the joined path
    plain = df.drop(columns="t")
    assert _fast_csv(plain, tmp_path) == _pandas_csv(plain)
    # written a few rows at a time: chunks with and without quoted fields, one partial
    monkeypatch.setattr(pipeline, "CSV_CHUNK_ROWS", 4)
    assert _fast_csv(df, tmp_path) == _pandas_csv(df)


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
                _csv(df, Path(tmp) / "out.csv")
            return
        assert _fast_csv(df, Path(tmp)) == expected


def test_periods_as_text_converts_through_distinct_values_and_leaves_the_input_alone():
    months = pd.period_range("2025-11", periods=3, freq="M")
    df = pd.DataFrame(
        {
            "m": pd.array([months[0], pd.NaT, months[2], months[0]], dtype="period[M]"),
            "q": pd.period_range("2026Q1", periods=4, freq="Q"),
            "d": pd.period_range("2026-02-27", periods=4, freq="D"),
            "o": [None, pd.Period("2026-05", "M"), "kept", 3],
            "x": [1.0, 2.0, 3.0, 4.0],
        },
        index=pd.period_range("2026-01", periods=4, freq="M"),
    )
    before = df.copy()
    out = periods_as_text(df)
    assert out["m"].tolist() == ["2025-11", None, "2026-01", "2025-11"]
    assert out["q"].tolist() == ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    assert out["d"].tolist() == ["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"]
    assert out["o"].tolist() == [None, "2026-05", "kept", 3]
    assert out.index.tolist() == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert all(out[c].dtype == object for c in "mqdo")
    pd.testing.assert_frame_equal(df, before)  # the input is not changed
    plain = pd.DataFrame({"a": ["x", None], "b": [1.0, 2.0]})
    assert periods_as_text(plain) is plain  # nothing to convert: no copy


def test_kpis_stay_in_memory_and_the_saved_context_reads_kpi_status(tmp_path):
    from salesreport.tables import Tables

    params = load_params("emea")
    writer = ContextWriter(tmp_path)
    writer.begin(params, "2026-10", Tables())
    kpis = pd.DataFrame({"metric": ["revenue"], "value": [3.5]})
    writer.frames.keep_unsaved("kpis", kpis)
    writer.frames["kpi_status"] = kpis.assign(status="green")
    with pytest.raises(RuntimeError, match="kpis"):
        writer.frames["kpis"] = kpis  # still one frame per name
    writer.finish({})
    assert writer.frames["kpis"] is kpis
    assert not (tmp_path / "frames" / "kpis.arrow").exists()
    saved = load_context(tmp_path, wait_seconds=5)
    assert sorted(saved.frames) == ["kpi_status"] and saved.frames.get("kpis") is None
    header = (tmp_path / "context.json").read_text(encoding="utf-8")
    assert '"not_saved": [\n  "kpis"\n ]' in header


def test_build_context_keeps_kpis_unsaved_only_when_it_has_rows(tmp_path, sample_dir, monkeypatch):
    """Without KPI rows kpi_status is empty too, and a section falls back on kpis: then kpis
    is saved like any frame."""
    import salesreport.kpis as kpis_mod
    from salesreport.data import load_tables
    from tests.conftest import REPORT_MONTH

    params = load_params("emea")
    loaded = load_tables(params, str(sample_dir), REPORT_MONTH)
    real = kpis_mod.compute_kpis
    for empty in (False, True):
        if empty:
            monkeypatch.setattr(kpis_mod, "compute_kpis", lambda *a, **k: real(*a, **k).iloc[0:0])
        run_dir = tmp_path / f"empty-{empty}"
        writer = ContextWriter(run_dir)
        writer.begin(params, REPORT_MONTH, loaded.tables)
        ctx = build_context(params, loaded.tables, REPORT_MONTH, frames=writer.frames)
        writer.finish(ctx.notes)
        assert ctx.frames["kpis"].empty is empty and "kpis" in ctx.frames
        assert (run_dir / "frames" / "kpis.arrow").exists() is empty
        assert writer.frames.unsaved == (set() if empty else {"kpis"})
