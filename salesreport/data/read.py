"""Read the contract's tables from a folder (CSV, Parquet, Excel) or a SQL source.

Reading does not interpret values: CSV cells stay text (blank = missing),
Parquet and Excel keep their own cell types; :mod:`salesreport.data.parse`
turns them into the contract's dtypes.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from salesreport.exceptions import DataError
from salesreport.tables import TABLE_NAMES

FORMATS = (".csv", ".parquet", ".xlsx")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


class ReadError(DataError):
    """A file cannot be read; ``reason`` and ``fix`` go into the structural problem list."""

    def __init__(self, reason: str, fix: str, file: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.fix = fix
        self.file = file

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        return f"{where}{self.reason}. {self.fix}"


@dataclass
class RawTable:
    """One table as read: the frame (index = spreadsheet row numbers), its file and fingerprint."""

    table: str
    file: str  # short name used in messages (``opportunities.csv``)
    path: str  # full path or ``sql:<table>``
    frame: pd.DataFrame
    sha256: str
    notes: list[str] = field(default_factory=list)


def find_table_files(
    folder: Path, aliases: dict[str, str] | None = None
) -> tuple[dict[str, list[Path]], list[str]]:
    """Map each contract table to the files in ``folder`` that hold it.

    A file holds table NAME when its name is ``NAME.csv``, ``NAME.parquet`` or
    ``NAME.xlsx`` (case-insensitive), or when a preset's alias names it
    (``Opportunity.csv`` for Salesforce). Returns ``(found, ignored)``: table ->
    files (more than one is an error for the caller to report) and the names of
    the other files in the folder.
    """
    aliases = {k.lower(): v for k, v in (aliases or {}).items()}
    names = {n.lower(): n for n in TABLE_NAMES}
    found: dict[str, list[Path]] = {}
    ignored: list[str] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith((".", "~$")):
            continue
        suffix = path.suffix.lower()
        stem = path.stem.lower()
        table = aliases.get(stem) or names.get(stem) if suffix in FORMATS else None
        if table is None:
            ignored.append(path.name)
            continue
        found.setdefault(table, []).append(path)
    return found, ignored


def decode_csv(data: bytes, encoding: str | None = None) -> str:
    """Bytes of a CSV file to text.

    With ``encoding`` given, that one. Otherwise UTF-8 (with or without a
    byte-order mark; UTF-16 with its mark), falling back to Windows-1252.
    """
    if encoding:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ReadError(
                f"cannot be decoded as {encoding} ({exc})",
                "Fix data.encoding in the team's YAML or save the file as UTF-8.",
            ) from exc
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise ReadError(
                "is neither UTF-8 nor Windows-1252 text",
                "Save it as UTF-8 CSV or set data.encoding in the team's YAML.",
            ) from exc


def _delimiter(text: str) -> str:
    """The separator of the header line: the most frequent of ``,``, ``;`` and tab."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def read_csv_bytes(data: bytes, encoding: str | None = None) -> pd.DataFrame:
    """Parse CSV bytes with every cell as text; blank cells are missing."""
    text = decode_csv(data, encoding)
    if not text.strip():
        raise ReadError("is empty", "Export the table again with its header row and data.")
    try:
        df = pd.read_csv(
            io.StringIO(text),
            header=None,  # a line with more fields than the header is then an error
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            sep=_delimiter(text),
            skip_blank_lines=True,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise ReadError(
            f"is not a readable CSV file ({exc})",
            "Check that no line has more fields than the header and that quotes are closed.",
        ) from exc
    header = [f"Unnamed: {i}" if pd.isna(h) else str(h) for i, h in enumerate(df.iloc[0])]
    seen: dict[str, int] = {}
    names = []
    for h in header:
        n = seen.get(h, 0)
        names.append(h if n == 0 else f"{h}.{n}")
        seen[h] = n + 1
    out = df.iloc[1:].reset_index(drop=True)
    out.columns = names
    return out


def read_table(
    path: str | Path, encoding: str | None = None, *, arrow_text: bool = False
) -> pd.DataFrame:
    """Read one CSV, Parquet or Excel (first sheet) file into a frame, values uninterpreted.

    Parameters
    ----------
    path : str or Path
        A ``.csv``, ``.parquet`` or ``.xlsx`` file.
    encoding : str, optional
        Forced CSV encoding; default UTF-8 (with or without byte-order mark),
        else Windows-1252.
    arrow_text : bool
        Keep Parquet text columns Arrow-backed (``pd.ArrowDtype(pa.string())``) instead of
        ``object`` (what :func:`~salesreport.data.load_tables` reads: several times smaller;
        the parsers read both alike). CSV and Excel are not affected.

    Returns
    -------
    pandas.DataFrame
        CSV cells as text (blank cells missing; separator ``,``, ``;`` or tab
        from the header line); Parquet and Excel cells as stored. Header
        names stripped of spaces. The index is the spreadsheet row number
        (header = row 1, first data row = 2).

    Raises
    ------
    ReadError
        The file is unreadable, empty or has no data rows (``load_tables``
        turns it into a :class:`~salesreport.exceptions.DataError`).
    """
    path = Path(path)
    try:
        return _read_table(path, encoding, arrow_text)
    except ReadError as exc:
        exc.file = path.name
        exc.problems = [
            {"file": path.name, "column": None, "rows": [], "reason": exc.reason, "fix": exc.fix}
        ]
        raise


# Parquet text columns kept in Arrow memory (``arrow_text``): a fraction of the size of Python
# strings; :func:`salesreport.data.parse.as_objects` gives the values ``read_parquet`` gives.
_ARROW_TEXT = {
    pa.string(): pd.ArrowDtype(pa.string()),
    pa.large_string(): pd.ArrowDtype(pa.large_string()),
}


def _read_table(path: Path, encoding: str | None, arrow_text: bool = False) -> pd.DataFrame:
    suffix = path.suffix.lower()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ReadError(
            f"cannot be opened ({exc.strerror})", "Check the path and permissions."
        ) from exc
    if not data:
        raise ReadError("is empty", "Export the table again with its header row and data.")
    if suffix == ".csv":
        df = read_csv_bytes(data, encoding)
    elif suffix == ".parquet":
        try:
            if arrow_text:
                table = pq.read_table(io.BytesIO(data))
                del data
                df = table.to_pandas(types_mapper=_ARROW_TEXT.get, self_destruct=True)
                del table
            else:
                df = pd.read_parquet(io.BytesIO(data), engine="pyarrow")
        except Exception as exc:  # pyarrow raises several kinds for a broken file
            raise ReadError(
                f"is not a readable Parquet file ({type(exc).__name__}: {exc})",
                "Write it again with pandas/pyarrow or export CSV instead.",
            ) from exc
    elif suffix == ".xlsx":
        try:
            df = pd.read_excel(io.BytesIO(data), sheet_name=0, dtype=object, engine="openpyxl")
        except Exception as exc:  # openpyxl raises several kinds for a broken workbook
            raise ReadError(
                f"is not a readable Excel workbook ({type(exc).__name__}: {exc})",
                "Save it again as .xlsx (the table on the first sheet) or export CSV instead.",
            ) from exc
        df = df.dropna(how="all")
    else:
        raise ReadError(f"has an unknown format {suffix!r}", "Use .csv, .parquet or .xlsx.")
    # the frame was just made here: no need to copy its millions of cells
    return _finish(df, copy=False)


def _finish(df: pd.DataFrame, copy: bool = True) -> pd.DataFrame:
    """Header names stripped, index = spreadsheet rows; ``copy=False`` for a frame just read."""
    if copy:
        df = df.copy()
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    if len(df.columns) == 0 or len(df) == 0:
        raise ReadError(
            "has no data rows" if len(df.columns) else "is empty",
            "Export the table again with its header row and data, or remove the file.",
        )
    df.index = pd.RangeIndex(2, len(df) + 2)
    return df


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_file(path: Path, table: str, encoding: str | None = None) -> RawTable:
    """Read one table file into a :class:`RawTable` (raises :class:`ReadError`).

    Parquet text columns stay Arrow-backed (see :func:`read_table`)."""
    frame = read_table(path, encoding, arrow_text=True)
    return RawTable(table, path.name, str(path), frame, sha256_bytes(path.read_bytes()))


# --------------------------------------------------------------------------- SQL


def mask_secret(text: str, secret: str | None) -> str:
    """Replace every occurrence of ``secret`` (a connection URL) and its password in ``text``."""
    if not secret:
        return text
    text = text.replace(secret, "***")
    m = re.match(r"^[^:]+://[^:/@]*:([^@]+)@", secret)
    if m and m.group(1):
        text = text.replace(m.group(1), "***")
    return text


def sql_query(spec: str) -> str:
    """A table name becomes ``SELECT * FROM "name"``; anything else is used as a query."""
    spec = spec.strip()
    if _IDENT.match(spec):
        quoted = ".".join(f'"{p}"' for p in spec.split("."))
        return f"SELECT * FROM {quoted}"
    return spec


def read_sql_tables(url_env: str, tables: dict[str, str]) -> dict[str, RawTable]:
    """Read each ``table -> name or query`` from the database whose URL is in ``$url_env``.

    ``sqlite:///path`` uses the standard library (read only); other URLs need
    SQLAlchemy. The URL never appears in an error message.
    """
    url = os.environ.get(url_env)
    if not url:
        raise ReadError(
            f"the environment variable {url_env} (data.sql.url_env) is not set",
            f"Export {url_env}=<database URL> before the run; the URL never goes into YAML.",
        )
    unknown = sorted(set(tables) - set(TABLE_NAMES))
    if unknown:
        raise ReadError(
            f"data.sql.tables names unknown tables {unknown}",
            f"Use the contract's table names: {', '.join(TABLE_NAMES)}.",
        )
    out: dict[str, RawTable] = {}
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if not Path(path).exists():
            raise ReadError(
                f"the SQLite database named by ${url_env} does not exist",
                f"Check the path in ${url_env}.",
            )
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        except sqlite3.Error as exc:
            raise ReadError(
                mask_secret(f"cannot open the SQLite database (${url_env}): {exc}", url),
                f"Check ${url_env}.",
            ) from exc
        try:
            for table, spec in tables.items():
                out[table] = _read_query(conn, table, spec, url, url_env, sqlite3.Error)
        finally:
            conn.close()
        return out
    try:
        import sqlalchemy
    except ImportError as exc:
        raise ReadError(
            f"${url_env} names a database other than SQLite and SQLAlchemy is not installed",
            "Install SQLAlchemy and the database's driver, or use a sqlite:///path URL.",
        ) from exc
    try:
        engine = sqlalchemy.create_engine(url)
        with engine.connect() as conn:
            for table, spec in tables.items():
                out[table] = _read_query(
                    conn, table, sqlalchemy.text(sql_query(spec)), url, url_env, Exception
                )
    except ReadError:
        raise
    except Exception as exc:  # connection failures of any driver; message masked
        raise ReadError(
            mask_secret(f"cannot connect to the database in ${url_env}: {exc}", url),
            f"Check ${url_env} and that the database is reachable.",
        ) from None
    return out


def _read_query(conn, table: str, spec, url: str, url_env: str, errors) -> RawTable:
    query = sql_query(spec) if isinstance(spec, str) else spec
    try:
        df = pd.read_sql_query(query, conn)
    except (errors, pd.errors.DatabaseError) as exc:
        raise ReadError(
            mask_secret(f"query for {table} failed: {exc}", url),
            f"Fix data.sql.tables.{table} in the team's YAML.",
        ) from None
    df = df.astype(object).where(df.notna(), None)
    df = _finish(df)
    data = df.to_csv(index=False).encode("utf-8")
    return RawTable(table, f"sql:{table}", f"sql:{table}", df, sha256_bytes(data))
