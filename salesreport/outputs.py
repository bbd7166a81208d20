"""The files of a report month: ``kpis.csv`` (and ``kpis.parquet``), ``okrs.csv``,
``cohorts.csv``, ``forecast.csv``, ``forecast_accuracy.csv``, ``forecast_targets.csv``,
``forecast_changes.csv``.

Every CSV is written by the engine (DuckDB's CSV writer, streaming, whatever the size), with
the bytes pandas' ``to_csv(index=False, float_format="%.12g", lineterminator="\\n")`` writes
for the same frame: floats as ``'%.12g' % value`` (DuckDB's ``printf`` is C's), missing values
empty, fields quoted by the minimal rule (a comma, a quote or a line break), ``True`` /
``False``. ``tests/test_outputs.py`` holds the two writers to that, byte for byte.
``kpis.parquet`` holds every KPI row computed, typed (numbers as doubles, empty as null), for
teams whose KPI file is too large to open as CSV. ``kpis.csv`` holds the same rows up to the
team's ``kpis_csv_max_rows`` (default: the 1,048,575 rows below its header that a spreadsheet
opens). A larger team's per-rep rows of the months before the report month are not computed
(:mod:`salesreport.kpis.compiler`), and when the rest is still too many its ``kpis.csv``
leaves every per-rep row out (:func:`kpis_csv_rows`); the run says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from salesreport.rules import REP_SEGMENT

FLOAT_FORMAT = "%.12g"
#: a per-rep row of kpis.csv (its segment is a rep: ``owner_id=R012``)
REP_ROW = f"coalesce(starts_with(segment, '{REP_SEGMENT}='), false)"
CSV_FILES = (
    "kpis.csv",
    "okrs.csv",
    "cohorts.csv",
    "forecast.csv",
    "forecast_accuracy.csv",
    "forecast_targets.csv",
    "forecast_changes.csv",
)


def write_outputs(ctx, stage: Path) -> dict[str, str]:
    """The month's CSV files (and ``kpis.parquet``) from the context's frames into ``stage``.

    Returns what a file leaves out, by file name (``kpis.csv`` and ``kpis.parquet`` over the
    team's ``kpis_csv_max_rows``: :func:`kpis_csv_rows`), also put in
    ``ctx.notes["left_out"]``."""
    from salesreport.kpis.compiler import NOT_COMPUTED

    left_out = {}
    for name in CSV_FILES:
        frame = ctx.frames[name.removesuffix(".csv")]
        where = None
        if name == "kpis.csv":
            where, left_out = kpis_csv_rows(
                frame, ctx.month, ctx.params.kpis_csv_max_rows, ctx.notes.get(NOT_COMPUTED, 0)
            )
        write_csv(frame, stage / name, where=where)
    write_parquet(ctx.frames["kpis"], stage / "kpis.parquet")
    ctx.notes["left_out"] = left_out
    return left_out


def kpis_csv_rows(
    kpis, month: str, limit: int, not_computed: int = 0
) -> tuple[str | None, dict[str, str]]:
    """Which KPI rows ``kpis.csv`` holds: a condition on its columns (``None``: every row),
    and the sentences saying what ``kpis.csv`` and ``kpis.parquet`` leave out, by file (empty:
    nothing).

    Every row when there are at most ``limit`` (``0``: no limit). Beyond, a file no
    spreadsheet opens whole helps nobody (a thousand reps make millions of per-rep rows, most
    of them months a rep did nothing in): the per-rep rows (segment ``owner_id=...``) of the
    months before ``month`` are left out, the report month's kept in its four windows; and
    when that is still over the limit, every per-rep row. The team's and every other
    segment's rows are always there.

    ``not_computed``: the per-rep rows of the months before ``month`` the KPI computation
    left out already (:data:`salesreport.kpis.compiler.NOT_COMPUTED`; they count towards the
    limit), so not in ``kpis.parquet`` either; else ``kpis.parquet`` holds every row.
    """
    if not limit:
        return None, {}
    rows = _Rows(kpis)
    n = rows.count()
    if n + not_computed <= limit:
        return None, {}
    con = _connection()
    try:
        con.register("frame", rows.raw())
        reps, past = con.execute(
            f"SELECT count(*) FILTER (WHERE {REP_ROW}), count(*) FILTER (WHERE {REP_ROW} AND "
            "period IS DISTINCT FROM $month) FROM frame",
            {"month": month},
        ).fetchone()
    finally:
        con.close()
    earlier = f"the per-rep rows (segment owner_id=...) of the months before {month}"
    if n <= limit:  # (only when the earlier months' per-rep rows were not computed)
        where, left = None, ""
    elif n - past <= limit:
        where = f"NOT ({REP_ROW} AND period IS DISTINCT FROM '{month}')"
        left = f"kpis.csv leaves out {earlier}, {past:,} rows; kpis.parquet holds every row"
    else:
        where = f"NOT {REP_ROW}"
        left = f"kpis.csv leaves out every per-rep row (segment owner_id=...), {reps:,} rows"
        left += "; kpis.parquet holds " + ("the report month's" if not_computed else "them")
    from salesreport.params import SPREADSHEET_ROWS

    what = ", the rows a spreadsheet opens" if limit == SPREADSHEET_ROWS else ""
    head = f"{n + not_computed:,} KPI rows are more than kpis_csv_max_rows ({limit:,}{what}): "
    tail = ". Set kpis_csv_max_rows: 0 in the team's YAML to compute and write them all."
    if not not_computed:
        return where, {"kpis.csv": head + left + tail}
    skipped = (
        f"{earlier} are not computed, {not_computed:,} rows (each month's report holds that "
        "month's)"
    )
    csv = head + skipped + (f"; {left}" if left else "") + tail
    return where, {"kpis.csv": csv, "kpis.parquet": head + skipped + tail}


def write_csv(df, path: Path, where: str | None = None) -> None:
    """``df`` (periods as text) as a report CSV (module docstring), written by DuckDB; only
    the rows meeting ``where`` (a condition on its columns) when given.

    A frame DuckDB cannot write the same way (one column, a label that is not text, a column
    of dates or mixed objects, text with a carriage return or a ``#``) is written by pandas itself,
    which the bytes are defined by. ``df`` may be rows saved in an Arrow file
    (:class:`salesreport.context.SavedRows`: the KPI rows of a report run), read a batch at a
    time, never whole.
    """
    rows = _Rows(df)
    select = _select(rows.csv_kinds())
    if select is None:
        _pandas_csv(_meeting(rows.to_pandas(), where), path)
        return
    con = _connection()
    try:
        con.register("frame", rows.scan())
        if _quoted_by_duckdb_only(con, rows.text_columns):
            _pandas_csv(_meeting(rows.to_pandas(), where), path)
            return
        if rows.saved:  # a reader is read once
            con.unregister("frame")
            con.register("frame", rows.scan())
            # on two threads DuckDB holds the rows of one while the other's go first (in
            # order): 100x's kpis.csv took 960 MB, on one 300 MB and 1.7 s more
            con.execute("SET threads = 1")
        target = str(path).replace("'", "''")
        only = f" WHERE {where}" if where else ""
        con.execute(f"COPY (SELECT {select} FROM frame{only}) TO '{target}' (FORMAT CSV, HEADER)")
    finally:
        con.close()


def _meeting(df: pd.DataFrame, where: str | None) -> pd.DataFrame:
    """The rows of ``df`` meeting ``where``, told by DuckDB as the CSV writer tells them (one
    rule), for the frames pandas writes."""
    from salesreport.context import periods_as_text

    if not where:
        return df
    con = _connection()
    try:
        con.register("frame", _text_frame(periods_as_text(df)))
        keep = con.execute(f"SELECT coalesce({where}, false) AS k FROM frame").fetchnumpy()["k"]
    finally:
        con.close()
    return df[np.asarray(keep, dtype=bool)]


def write_parquet(df, path: Path) -> None:
    """``df`` (periods as text; or :class:`salesreport.context.SavedRows`) as Parquet, NaN as
    null."""
    rows = _Rows(df)
    con = _connection()
    try:
        con.register("frame", rows.raw())
        cols = ", ".join(
            f"CASE WHEN isnan({_q(c)}) THEN NULL ELSE {_q(c)} END AS {_q(c)}"
            if c in rows.float_columns
            else _q(c)
            for c, _ in rows.kinds
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


class _Rows:
    """What the writers read of ``df``: a frame (its periods made text) or rows saved in an
    Arrow file (:class:`salesreport.context.SavedRows`, read a batch at a time).

    ``kinds``: each column's name and kind: numpy's kind letter for a frame's column (``f``,
    ``i``, ``u``, ``b``, ``O`` for ``object``; ``""`` for a pandas extension type), for saved
    rows ``f``, ``i``, ``b`` or ``T`` (Arrow ``string``), ``""`` for any other type."""

    def __init__(self, df) -> None:
        from salesreport.context import SavedRows, periods_as_text

        self.saved = isinstance(df, SavedRows)
        if self.saved:
            import pyarrow as pa

            self.df = df
            self.kinds = [
                (f.name, "f" if pa.types.is_floating(f.type) else "i" if pa.types.is_integer(f.type)
                 else "b" if pa.types.is_boolean(f.type) else "T" if pa.types.is_string(f.type)
                 else "")
                for f in df.schema
            ]  # fmt: skip
        else:
            self.df = periods_as_text(df)
            self.kinds = [
                (c, t.kind if isinstance(t, np.dtype) else "")
                for c, t in zip(self.df.columns, self.df.dtypes, strict=True)
            ]

    @property
    def float_columns(self) -> set:
        """The columns of floats (a frame's extension float types too)."""
        if self.saved:
            return {c for c, kind in self.kinds if kind == "f"}
        return {c for c, t in zip(self.df.columns, self.df.dtypes, strict=True) if t.kind == "f"}

    @property
    def text_columns(self) -> list[str]:
        """The columns holding text (``object`` in a frame, ``string`` in saved rows)."""
        return [c for c, kind in self.kinds if kind in ("O", "T")]

    def csv_kinds(self) -> list[tuple[str, str]] | None:
        """:attr:`kinds` for the CSV writer, a frame's ``object`` column ``T`` when its present
        values are all text (pandas' own inference, in C), ``O`` otherwise. ``None`` when a
        column is not one DuckDB can write the same way (module docstring) or the columns are
        not plain text labels."""
        if self.saved:
            return self.kinds if len(self.kinds) > 1 else None
        df = self.df
        if df.shape[1] < 2 or isinstance(df.columns, pd.MultiIndex):
            return None  # a lone empty field is quoted by pandas, not by DuckDB
        if not all(isinstance(c, str) for c in df.columns) or not df.columns.is_unique:
            return None
        # every present value text (None, NaN and NA are missing; NaT is not text): a loop
        # in Python took 8 s for 100x's 11.7M KPI rows
        return [
            (c, "T" if infer_dtype(df[c].to_numpy(object), skipna=True) in ("string", "empty")
             else "O") if kind == "O" else (c, kind)
            for c, kind in self.kinds
        ]  # fmt: skip

    def scan(self):
        """What DuckDB scans for the CSV: saved rows' batch reader (read once), a frame's
        text with ``None`` for missing (:func:`_text_frame`)."""
        return self.df.reader() if self.saved else _text_frame(self.df)

    def raw(self):
        """What DuckDB scans for Parquet: saved rows' batch reader, the frame itself."""
        return self.df.reader() if self.saved else self.df

    def to_pandas(self) -> pd.DataFrame:
        return self.df.to_pandas() if self.saved else self.df

    def count(self) -> int:
        return self.df.num_rows if self.saved else len(self.df)


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
