"""The files of a report month: ``kpis.csv`` (and ``kpis.parquet``), ``okrs.csv``,
``cohorts.csv``, ``forecast.csv``, ``forecast_accuracy.csv``, ``forecast_targets.csv``,
``forecast_changes.csv``.

Every CSV is written by the engine (DuckDB's CSV writer, streaming, whatever the size), with
the bytes pandas' ``to_csv(index=False, float_format="%.12g", lineterminator="\\n")`` writes
for the same frame: floats as ``'%.12g' % value`` (DuckDB's ``printf`` is C's), missing values
empty, fields quoted by the minimal rule (a comma, a quote or a line break), ``True`` /
``False``. ``tests/test_outputs.py`` holds the two writers to that, byte for byte.
``kpis.parquet`` holds the same rows as ``kpis.csv``, typed (numbers as doubles, empty as
null), for teams whose KPI file is too large to open as CSV.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

FLOAT_FORMAT = "%.12g"
CSV_FILES = (
    "kpis.csv",
    "okrs.csv",
    "cohorts.csv",
    "forecast.csv",
    "forecast_accuracy.csv",
    "forecast_targets.csv",
    "forecast_changes.csv",
)


def write_outputs(ctx, stage: Path) -> None:
    """The month's CSV files (and ``kpis.parquet``) from the context's frames into ``stage``."""
    for name in CSV_FILES:
        write_csv(ctx.frames[name.removesuffix(".csv")], stage / name)
    write_parquet(ctx.frames["kpis"], stage / "kpis.parquet")


def write_csv(df, path: Path) -> None:
    """``df`` (periods as text) as a report CSV (module docstring), written by DuckDB.

    A frame DuckDB cannot write the same way (one column, a label that is not text, a column
    of dates or mixed objects, text with a carriage return or a ``#``) is written by pandas itself,
    which the bytes are defined by. ``df`` may be rows saved in an Arrow file
    (:class:`salesreport.context.SavedRows`: the KPI rows of a report run), read a batch at a
    time, never whole.
    """
    from salesreport.context import SavedRows, periods_as_text

    saved = isinstance(df, SavedRows)
    if not saved:
        df = periods_as_text(df)
    select = _select(_kinds(df))
    if select is None:
        _pandas_csv(df.to_pandas() if saved else df, path)
        return
    con = _connection()
    try:
        con.register("frame", _scan(df))
        if _quoted_by_duckdb_only(con, _text_columns(df)):
            _pandas_csv(df.to_pandas() if saved else df, path)
            return
        if saved:  # a reader is read once
            con.unregister("frame")
            con.register("frame", _scan(df))
            # on two threads DuckDB holds the rows of one while the other's go first (in
            # order): 100x's kpis.csv took 960 MB, on one 300 MB and 1.7 s more
            con.execute("SET threads = 1")
        target = str(path).replace("'", "''")
        con.execute(f"COPY (SELECT {select} FROM frame) TO '{target}' (FORMAT CSV, HEADER)")
    finally:
        con.close()


def write_parquet(df, path: Path) -> None:
    """``df`` (periods as text; or :class:`salesreport.context.SavedRows`) as Parquet, NaN as
    null."""
    from salesreport.context import SavedRows, periods_as_text

    if not isinstance(df, SavedRows):
        df = periods_as_text(df)
    con = _connection()
    try:
        con.register("frame", df if isinstance(df, pd.DataFrame) else df.reader())
        floats = _float_columns(df)
        cols = ", ".join(
            f"CASE WHEN isnan({_q(c)}) THEN NULL ELSE {_q(c)} END AS {_q(c)}"
            if c in floats
            else _q(c)
            for c in _names(df)
        )
        target = str(path).replace("'", "''")
        con.execute(f"COPY (SELECT {cols} FROM frame) TO '{target}' (FORMAT PARQUET)")
    finally:
        con.close()


def _pandas_csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")


def _connection():
    import duckdb

    from salesreport.data.parse import quiet

    con = duckdb.connect(config={"threads": 2})
    quiet(con)  # writing 100x the sample's kpis.csv takes seconds
    return con


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _names(df) -> list:
    from salesreport.context import SavedRows

    return df.schema.names if isinstance(df, SavedRows) else list(df.columns)


def _float_columns(df) -> set:
    from salesreport.context import SavedRows

    if isinstance(df, SavedRows):
        import pyarrow as pa

        return {f.name for f in df.schema if pa.types.is_floating(f.type)}
    return {c for c in df.columns if df[c].dtype.kind == "f"}


def _kinds(df) -> list[tuple[str, str]] | None:
    """Each column's name and kind for the CSV writer: numpy's kind letter (``f``, ``i``,
    ``u``, ``b``), ``T`` for text (an ``object`` column whose present values are all text:
    pandas' own inference, in C; an Arrow ``string``), ``O`` for other objects, ``""`` for any
    other type. ``None`` when a column is not one DuckDB can write the same way
    (module docstring) or the columns are not plain text labels."""
    from salesreport.context import SavedRows

    if isinstance(df, SavedRows):
        import pyarrow as pa

        kinds = []
        for field in df.schema:
            t = field.type
            kind = (
                "f" if pa.types.is_floating(t) else "i" if pa.types.is_integer(t)
                else "b" if pa.types.is_boolean(t) else "T" if pa.types.is_string(t) else ""
            )  # fmt: skip
            kinds.append((field.name, kind))
        return kinds if len(kinds) > 1 else None
    if df.shape[1] < 2 or isinstance(df.columns, pd.MultiIndex):
        return None  # a lone empty field is quoted by pandas, not by DuckDB
    if not all(isinstance(c, str) for c in df.columns) or not df.columns.is_unique:
        return None
    kinds = []
    for c in df.columns:
        kind = df[c].dtype.kind if isinstance(df[c].dtype, np.dtype) else ""
        if kind == "O":
            # every present value text (None, NaN and NA are missing; NaT is not text): pandas'
            # own inference, in C (a loop in Python took 8 s for 100x's 11.7M KPI rows)
            text = infer_dtype(df[c].to_numpy(object), skipna=True) in ("string", "empty")
            kind = "T" if text else "O"
        kinds.append((c, kind))
    return kinds


def _select(kinds: list[tuple[str, str]] | None) -> str | None:
    """The SELECT list writing each column as pandas writes it; ``None`` when a column is not
    one DuckDB can write the same way (module docstring)."""
    if kinds is None:
        return None
    parts = []
    for c, kind in kinds:
        if kind == "f":
            parts.append(
                f"CASE WHEN isnan({_q(c)}) THEN NULL ELSE printf('{FLOAT_FORMAT}', "
                f"{_q(c)}::DOUBLE) END AS {_q(c)}"
            )
        elif kind in ("i", "u"):
            parts.append(f"{_q(c)}::VARCHAR AS {_q(c)}")
        elif kind == "b":
            parts.append(f"CASE WHEN {_q(c)} THEN 'True' ELSE 'False' END AS {_q(c)}")
        elif kind == "T":
            # pandas writes '' and a missing value alike (empty, unquoted); DuckDB quotes ''
            parts.append(f"NULLIF({_q(c)}, '') AS {_q(c)}")
        else:
            return None
    return ", ".join(parts)


def _text_columns(df) -> list[str]:
    """The columns holding text (``object`` in a frame, ``string`` in saved rows)."""
    from salesreport.context import SavedRows

    if isinstance(df, SavedRows):
        import pyarrow as pa

        return [f.name for f in df.schema if pa.types.is_string(f.type)]
    return [c for c in df.columns if df[c].dtype == object]


def _scan(df):
    """What DuckDB scans for ``df``: a frame's text with ``None`` for missing
    (:func:`_text_frame`), saved rows' batch reader."""
    from salesreport.context import SavedRows

    return df.reader() if isinstance(df, SavedRows) else _text_frame(df)


def _quoted_by_duckdb_only(con, text: list[str]) -> bool:
    """Whether a value of the ``text`` columns holds a character DuckDB quotes and pandas'
    writer (``\\n`` rows) does not: a carriage return or ``#`` (DuckDB's comment character)."""
    if not text:
        return False
    cond = " OR ".join(f"(contains({_q(c)}, chr(13)) OR contains({_q(c)}, '#'))" for c in text)
    return bool(con.execute(f"SELECT count(*) FROM frame WHERE {cond}").fetchone()[0])


def _text_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its text columns as ``None``-for-missing objects (NaN in an object column
    would reach DuckDB as a float)."""
    out = df.copy(deep=False)
    for c in df.columns:
        if df[c].dtype == object:
            values = df[c].to_numpy(object)
            missing = pd.isna(values)
            if missing.any():
                out[c] = np.where(missing, None, values)
    return out
