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


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """``df`` (periods as text) as a report CSV (module docstring), written by DuckDB.

    A frame DuckDB cannot write the same way (one column, a label that is not text, a column
    of dates or mixed objects, text with a carriage return or a ``#``) is written by pandas itself,
    which the bytes are defined by.
    """
    from salesreport.context import periods_as_text

    df = periods_as_text(df)
    select = _select(df)
    if select is None:
        df.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
        return
    con = _connection()
    try:
        con.register("frame", _text_frame(df))
        if _quoted_by_duckdb_only(con, df):
            df.to_csv(path, index=False, float_format=FLOAT_FORMAT, lineterminator="\n")
            return
        target = str(path).replace("'", "''")
        con.execute(f"COPY (SELECT {select} FROM frame) TO '{target}' (FORMAT CSV, HEADER)")
    finally:
        con.close()


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """``df`` (periods as text) as Parquet, NaN as null."""
    from salesreport.context import periods_as_text

    df = periods_as_text(df)
    con = _connection()
    try:
        con.register("frame", df)
        cols = ", ".join(
            f"CASE WHEN isnan({_q(c)}) THEN NULL ELSE {_q(c)} END AS {_q(c)}"
            if df[c].dtype.kind == "f"
            else _q(c)
            for c in df.columns
        )
        target = str(path).replace("'", "''")
        con.execute(f"COPY (SELECT {cols} FROM frame) TO '{target}' (FORMAT PARQUET)")
    finally:
        con.close()


def _connection():
    import duckdb

    from salesreport.data.parse import quiet

    con = duckdb.connect(config={"threads": 2})
    quiet(con)  # writing 100x the sample's kpis.csv takes seconds
    return con


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _select(df: pd.DataFrame) -> str | None:
    """The SELECT list writing each column as pandas writes it; ``None`` when a column is not
    one DuckDB can write the same way (module docstring)."""
    if df.shape[1] < 2 or isinstance(df.columns, pd.MultiIndex):
        return None  # a lone empty field is quoted by pandas, not by DuckDB
    if not all(isinstance(c, str) for c in df.columns) or not df.columns.is_unique:
        return None
    parts = []
    for c in df.columns:
        kind = df[c].dtype.kind if isinstance(df[c].dtype, np.dtype) else ""
        if kind == "f":
            parts.append(
                f"CASE WHEN isnan({_q(c)}) THEN NULL ELSE printf('{FLOAT_FORMAT}', "
                f"{_q(c)}::DOUBLE) END AS {_q(c)}"
            )
        elif kind in "iu" and kind:
            parts.append(f"{_q(c)}::VARCHAR AS {_q(c)}")
        elif kind == "b":
            parts.append(f"CASE WHEN {_q(c)} THEN 'True' ELSE 'False' END AS {_q(c)}")
        elif kind == "O":
            # every present value text (None, NaN and NA are missing; NaT is not text): pandas'
            # own inference, in C (a loop in Python took 8 s for 100x's 11.7M KPI rows)
            if infer_dtype(df[c].to_numpy(object), skipna=True) not in ("string", "empty"):
                return None
            # pandas writes '' and a missing value alike (empty, unquoted); DuckDB quotes ''
            parts.append(f"NULLIF({_q(c)}, '') AS {_q(c)}")
        else:
            return None
    return ", ".join(parts)


def _quoted_by_duckdb_only(con, df: pd.DataFrame) -> bool:
    """Whether a text value holds a character DuckDB quotes and pandas' writer (``\\n`` rows)
    does not: a carriage return or ``#`` (DuckDB's comment character)."""
    text = [c for c in df.columns if df[c].dtype == object]
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
