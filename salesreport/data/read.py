"""Read the contract's tables into the engine from a folder (CSV, Parquet, Excel) or a SQL source.

Reading does not interpret values (:mod:`salesreport.data.parse` does):

* **CSV** is read by DuckDB itself, every cell as text (``VARCHAR``), blank cells missing.
  The header line is read here (its separator: the most frequent of ``,``, ``;`` and tab;
  header cells stripped; an empty one is ``Unnamed: i``, a repeated one ``name.1``), then
  DuckDB reads the rows with those columns, quotes ``"`` (doubled inside a value); a line
  with more fields than the header is an error, one with fewer has the rest missing; empty
  lines and lines of only spaces or tabs are skipped. UTF-8 (with or without byte-order
  mark) is read directly; a file that is not UTF-8 is read as Windows-1252, and a forced
  ``data.encoding`` other than UTF-8 (or UTF-16 with its mark) is transcoded to UTF-8 first,
  in a streaming way, into a scratch file.
* **Parquet** is read by DuckDB with its own column types.
* **Excel** (``.xlsx``, the first sheet) is read with openpyxl: the first row that is not
  empty is the header, rows with every cell empty are skipped, text cells that are one of
  pandas' missing-value markers (``N/A``, ``NULL``, ``#N/A``, ...) or an Excel error are
  missing; each column keeps its cells' type when they all share one, else becomes text.
* **SQL** (``data.sql``): each query's result, as for Excel.

Every table gets ``_line``, its spreadsheet row number (the header is row 1, the first row
read is row 2), which messages name.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
import io
import os
import re
import sqlite3
import threading
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv

from salesreport.backends import first_line
from salesreport.data.parse import cells_to_arrow, column_to_arrow, ident, kind_of, sql_text
from salesreport.exceptions import DataError
from salesreport.tables import TABLE_NAMES

FORMATS = (".csv", ".parquet", ".xlsx")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
#: bytes read to find a CSV file's encoding and header
HEAD_BYTES = 1 << 16
#: bytes per step when a CSV file is transcoded to UTF-8
TRANSCODE_CHUNK = 1 << 22
#: text cells of an Excel sheet or a SQL result that are missing (pandas' default markers)
MISSING_MARKERS = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
     "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)  # fmt: skip
#: Excel's error values, read as missing cells
EXCEL_ERRORS = frozenset(
    {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA"}
)
_names = count()


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
    """One table as the engine reads it, values uninterpreted.

    ``source`` is a SQL ``FROM`` item with one column per header, named ``c0, c1, ...``
    (``columns`` holds the header names, ``kinds`` each column's kind, see
    :class:`salesreport.data.parse.Raw`), in file order: a query that creates a table from it
    keeps that order, so a row's position in that table is its position in the file (DuckDB
    keeps insertion order). ``blank`` (CSV): SQL true for a line of only spaces or tabs, which
    is not a row. The rows are read by :meth:`run`, the query that parses them; ``drop`` lists
    what to remove once that is done.
    """

    table: str
    file: str  # short name used in messages (``opportunities.csv``)
    path: str  # full path or ``sql:<table>``
    source: str
    columns: list[str]
    kinds: list[str]
    sha256: str
    blank: str | None = None
    drop: list[tuple[str, str]] = field(default_factory=list)  # (kind, name)
    csv: _CsvSource | None = None

    def run(self, con, query) -> None:
        """Execute ``query(source)`` (which reads the rows); an engine error is a
        :class:`ReadError` naming what is wrong with the file (a CSV file is read again with
        one reader when a quoted value spans lines, or as Windows-1252 when a byte is not
        UTF-8)."""
        import duckdb

        while True:
            try:
                con.execute(query(self.source))
                return
            except duckdb.Error as exc:
                if self.csv is None:
                    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    raise ReadError(
                        f"cannot be read ({first.replace(self.path, self.file)})",
                        "Export it again, or as CSV.",
                    ) from None
                self.csv.retry(exc, self)

    def release(self, con) -> None:
        """Remove what reading left in the engine and on disk."""
        import shutil

        for kind, name in self.drop:
            if kind == "table":
                con.execute(f"DROP TABLE IF EXISTS {ident(name)}")
            elif kind == "view":
                con.unregister(name)
            elif kind == "file":
                Path(name).unlink(missing_ok=True)
            elif kind == "dir":
                shutil.rmtree(name, ignore_errors=True)
        self.drop = []


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


def header_names(cells: list) -> list[str]:
    """Header cells as column names: stripped (and of a byte-order mark), ``Unnamed: i`` for an
    empty one, ``name.1``, ``name.2`` for repeats (what pandas names them)."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(cells):
        name = f"Unnamed: {i}" if h is None or h == "" else str(h)
        n = seen.get(name, 0)
        out.append(name if n == 0 else f"{name}.{n}")
        seen[name] = n + 1
    return [c.strip().lstrip("\ufeff") for c in out]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


class _Hasher(threading.Thread):
    """The file's SHA-256, computed beside the engine's read (``hashlib`` frees the GIL)."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.digest = ""

    def run(self) -> None:
        self.digest = sha256_file(self.path)


def read_file(
    con, path: Path, table: str, encoding: str | None = None, scratch: Path | None = None
) -> RawTable:
    """Read one table file into the engine connection ``con`` (raises :class:`ReadError`).

    ``scratch``: a folder for a file transcoded to UTF-8 (a temporary one by default).
    """
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ReadError(
            f"cannot be opened ({exc.strerror})", "Check the path and permissions."
        ) from exc
    if size == 0:
        raise ReadError("is empty", "Export the table again with its header row and data.")
    hasher = _Hasher(path)
    hasher.start()
    try:
        if suffix == ".csv":
            raw = _read_csv(con, path, table, encoding, scratch)
        elif suffix == ".parquet":
            raw = _read_parquet(con, path, table)
        elif suffix == ".xlsx":
            raw = _read_excel(con, path, table)
        else:
            raise ReadError(f"has an unknown format {suffix!r}", "Use .csv, .parquet or .xlsx.")
    finally:
        hasher.join()
    raw.sha256 = hasher.digest
    return raw


def _no_rows(columns: bool) -> ReadError:
    return ReadError(
        "has no data rows" if columns else "is empty",
        "Export the table again with its header row and data, or remove the file.",
    )


# --------------------------------------------------------------------------- CSV


@dataclass
class CsvFormat:
    """How a CSV file is written: what :func:`sniff_csv` finds (or, later, a team's YAML says).

    ``encoding``: the codec the file is in (``utf-8`` is read directly by the engine, others
    are transcoded); ``skip``: empty lines before the header.
    """

    encoding: str = "utf-8"
    delimiter: str = ","
    quote: str = '"'
    header: list[str] = field(default_factory=list)
    skip: int = 0


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError as exc:
        raise ReadError(
            f"cannot be decoded as {name} ({exc})",
            "Fix data.encoding in the team's YAML or save the file as UTF-8.",
        ) from exc


def sniff_csv(path: Path, encoding: str | None = None) -> CsvFormat:
    """The encoding, separator and header of a CSV file, from its first bytes.

    With ``encoding`` given, that one. Otherwise UTF-8 (with or without a byte-order mark;
    UTF-16 with its mark), falling back to Windows-1252 when the first bytes are not UTF-8
    (the engine's read falls back too when a later byte is not).
    """
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
        whole = len(head) < HEAD_BYTES
    if encoding:
        codec = _codec(encoding)
    elif head.startswith(b"\xef\xbb\xbf"):
        codec = "utf-8"
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec = "utf-16"
    else:
        codec = "utf-8"
    text = _decode_head(head, codec, whole, forced=bool(encoding))
    if text is None:  # not UTF-8 in the first bytes
        codec = "cp1252"
        text = _decode_head(head, codec, whole, forced=False)
        if text is None:
            raise _not_text()
    text = text.lstrip("\ufeff")
    if whole and not text.strip():
        raise ReadError("is empty", "Export the table again with its header row and data.")
    lines = text.split("\n")
    skip = 0
    while skip < len(lines) - 1 and not lines[skip].strip():
        skip += 1
    first = lines[skip]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    delimiter = best if counts[best] > 0 else ","
    rest = "\n".join(lines[skip:])
    try:
        cells = next(csv.reader(io.StringIO(rest), delimiter=delimiter, quotechar='"'))
    except (StopIteration, csv.Error) as exc:
        raise ReadError(
            f"is not a readable CSV file (the header line: {exc})",
            "Check that no line has more fields than the header and that quotes are closed.",
        ) from exc
    return CsvFormat(codec, delimiter, '"', header_names(cells), skip)


def _decode_head(head: bytes, codec: str, whole: bool, forced: bool) -> str | None:
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    try:
        return decoder.decode(head, final=whole)
    except UnicodeDecodeError as exc:
        if forced or codec != "utf-8":
            if forced:
                raise ReadError(
                    f"cannot be decoded as {codec} ({exc})",
                    "Fix data.encoding in the team's YAML or save the file as UTF-8.",
                ) from exc
            return None
        return None


def _not_text() -> ReadError:
    return ReadError(
        "is neither UTF-8 nor Windows-1252 text",
        "Save it as UTF-8 CSV or set data.encoding in the team's YAML.",
    )


def transcode(path: Path, codec: str, folder: Path, forced: bool) -> Path:
    """``path`` (in ``codec``) rewritten as UTF-8 in ``folder``, chunk by chunk."""
    out = folder / f"{path.stem}.{next(_names)}.utf8.csv"
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    try:
        with open(path, "rb") as src, open(out, "w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(TRANSCODE_CHUNK):
                dst.write(decoder.decode(chunk))
            dst.write(decoder.decode(b"", final=True))
    except UnicodeDecodeError as exc:
        out.unlink(missing_ok=True)
        if forced:
            raise ReadError(
                f"cannot be decoded as {codec} ({exc})",
                "Fix data.encoding in the team's YAML or save the file as UTF-8.",
            ) from exc
        raise _not_text() from exc
    return out


def _csv_error(exc: Exception) -> ReadError:
    """The engine's CSV error without its file path and settings dump."""
    lines = [
        re.sub(r"^[\w ]+ Error: ", "", ln.strip()) for ln in str(exc).splitlines() if ln.strip()
    ]
    keep = [
        ln
        for ln in lines
        if ln.startswith(
            ("CSV Error on Line", "Expected Number of Columns", "Value with unterminated")
        )
        or "unterminated quote" in ln.lower()
    ]
    what = "; ".join(keep[:2]) or (lines[0] if lines else type(exc).__name__)
    return ReadError(
        f"is not a readable CSV file ({what})",
        "Check that no line has more fields than the header and that quotes are closed.",
    )


@dataclass
class _CsvSource:
    """How the engine reads one CSV file (and reads it again after an error)."""

    path: Path  # the file read: the user's, or a transcoded copy
    original: Path
    fmt: CsvFormat
    forced: bool  # data.encoding named the encoding
    scratch: Path | None
    parallel: bool = True
    transcoded: bool = False

    def source(self) -> str:
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(self.fmt.header))) + "}"
        return (
            f"read_csv({sql_text(str(self.path))}, columns = {columns}, header = true, "
            f"skip = {self.fmt.skip}, delim = {sql_text(self.fmt.delimiter)}, quote = '\"', "
            f"escape = '\"', null_padding = true, auto_detect = false, "
            f"parallel = {'true' if self.parallel else 'false'})"
        )

    def transcode(self, raw: RawTable, codec: str) -> None:
        folder = self.scratch
        if folder is None:
            import tempfile

            folder = Path(tempfile.mkdtemp(prefix="salesreport-csv-"))
            raw.drop.append(("dir", str(folder)))
        self.path = transcode(self.original, codec, folder, self.forced)
        raw.drop.append(("file", str(self.path)))
        self.transcoded = True
        raw.source = self.source()

    def retry(self, exc: Exception, raw: RawTable) -> None:
        """Change how the file is read after the engine's error ``exc``, or raise
        :class:`ReadError`."""
        msg = str(exc)
        if "null_padding in conjunction with quoted new lines" in msg and self.parallel:
            self.parallel = False  # a quoted value spans lines: one reader
            raw.source = self.source()
            return
        if "Invalid unicode" in msg and not self.transcoded:
            if self.forced:  # data.encoding says UTF-8
                raise ReadError(
                    "cannot be decoded as utf-8 (a byte sequence is not UTF-8)",
                    "Fix data.encoding in the team's YAML or save the file as UTF-8.",
                ) from None
            self.transcode(raw, "cp1252")
            return
        raise _csv_error(exc) from None


def _read_csv(con, path: Path, table: str, encoding: str | None, scratch: Path | None) -> RawTable:
    fmt = sniff_csv(path, encoding)
    cols = [f"c{i}" for i in range(len(fmt.header))]
    blank = f"regexp_full_match({cols[0]}, '[ \\t]+')" + "".join(
        f" AND {c} IS NULL" for c in cols[1:]
    )
    src = _CsvSource(path, path, fmt, bool(encoding), scratch)
    raw = RawTable(
        table,
        path.name,
        str(path),
        src.source(),
        fmt.header,
        ["text"] * len(cols),
        "",
        blank,
        [],
        src,
    )
    if fmt.encoding != "utf-8":  # the first bytes were not UTF-8, or a codec was forced
        src.transcode(raw, fmt.encoding)
    return raw


# --------------------------------------------------------------------------- Parquet


def _read_parquet(con, path: Path, table: str) -> RawTable:
    import duckdb

    src = f"read_parquet({sql_text(str(path))})"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()
        rows = con.execute(f"SELECT count(*) FROM {src}").fetchone()[0]
    except duckdb.Error as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        first = first.replace(str(path), path.name)
        raise ReadError(
            f"is not a readable Parquet file ({type(exc).__name__}: {first})",
            "Write it again with pandas/pyarrow or export CSV instead.",
        ) from None
    keep = [i for i, d in enumerate(described) if not re.fullmatch(r"__index_level_\d+__", d[0])]
    names = header_names([described[i][0] for i in keep])
    if not names:
        raise _no_rows(False)
    if rows == 0:
        raise _no_rows(True)
    alias = ", ".join(f"c{i}" for i in range(len(described)))
    picked = ", ".join(f"c{i} AS c{j}" for j, i in enumerate(keep))
    source = f"(SELECT {picked} FROM {src} AS _t({alias}))"
    kinds = [kind_of(described[i][1]) for i in keep]
    return RawTable(table, path.name, str(path), source, names, kinds, "")


# --------------------------------------------------------------------------- Excel, SQL


def _register_cells(
    con, table: str, file: str, path: str, header: list, rows: list[list]
) -> RawTable:
    """Rows of Python cells (Excel, a SQL result) as an Arrow table registered in the engine."""
    return _register_arrow(con, table, file, path, *_cells_table(header, rows))


def _cells_table(header: list, rows: list[list]) -> tuple[list[str], pa.Table, list[str]]:
    """``(column names, Arrow table c0, c1, ..., kinds)`` of rows of Python cells."""
    names = header_names(header)
    if not names:
        raise _no_rows(False)
    if not rows:
        raise _no_rows(True)
    arrays, kinds = [], []
    for j in range(len(names)):
        arr, kind = cells_to_arrow([r[j] if j < len(r) else None for r in rows])
        arrays.append(arr)
        kinds.append(kind)
    return names, pa.table(arrays, names=[f"c{i}" for i in range(len(names))]), kinds


def _register_arrow(
    con, table: str, file: str, path: str, names: list[str], data: pa.Table, kinds: list[str]
) -> RawTable:
    name = f"_sr_cells_{table}_{next(_names)}"
    con.register(name, data)
    return RawTable(table, file, path, ident(name), names, kinds, "", None, [("view", name)])


def _excel_cell(v: object) -> object:
    if isinstance(v, str) and (v in MISSING_MARKERS or v in EXCEL_ERRORS):
        return None
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _read_excel(con, path: Path, table: str) -> RawTable:
    try:
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            ws = wb.worksheets[0]
            rows = [[_excel_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
    except Exception as exc:  # openpyxl raises several kinds for a broken workbook
        raise ReadError(
            f"is not a readable Excel workbook ({type(exc).__name__}: {exc})",
            "Save it again as .xlsx (the table on the first sheet) or export CSV instead.",
        ) from exc
    rows = [list(r) for r in rows if any(v is not None for v in r)]
    if not rows:
        raise _no_rows(False)
    width = max(len(r) for r in rows)
    rows = [r + [None] * (width - len(r)) for r in rows]
    while width and all(r[width - 1] is None for r in rows):  # (formatted, empty columns)
        width -= 1
    header, data = rows[0][:width], [r[:width] for r in rows[1:]]
    return _register_cells(con, table, path.name, str(path), header, data)


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


#: while :func:`shared_reads` is on: (URL, table, spec) -> what the query returned
_SHARED: dict[tuple[str, str, str], tuple] | None = None


@contextlib.contextmanager
def shared_reads():
    """Within this block a database table is queried once and its rows serve every team that
    reads the same table or query from the same URL (``salesreport report --all-teams``: the
    data is read once per source, each team checking and filtering its own copy). The rows
    are kept in memory until the block ends."""
    global _SHARED
    before, _SHARED = _SHARED, {} if _SHARED is None else _SHARED
    try:
        yield
    finally:
        _SHARED = before


def read_sql_tables(con, url_env: str, tables: dict[str, str]) -> dict[str, RawTable]:
    """Read each ``table -> name or query`` from the database whose URL is in ``$url_env``
    into the engine connection ``con``, where the contract's checks run.

    ``sqlite:///path`` uses the standard library (read only), ``postgresql://`` psycopg (in a
    read-only transaction, times in UTC), any other URL SQLAlchemy and the database's driver
    (installed by the user; not tested). Rows keep the order the query returns them in (the
    order that breaks ties such as "the later row"): give the query an ``ORDER BY`` when it
    matters. The URL never appears in an error message.
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
    shared = _SHARED
    if shared is not None and all((url, t, spec) in shared for t, spec in tables.items()):
        return {t: _register_read(con, t, *shared[url, t, spec]) for t, spec in tables.items()}
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        if not Path(path).exists():
            raise ReadError(
                f"the SQLite database named by ${url_env} does not exist",
                f"Check the path in ${url_env}.",
            )
        connect, errors = (lambda: sqlite3.connect(f"file:{path}?mode=ro", uri=True)), sqlite3.Error
    elif url.split(":", 1)[0] in ("postgres", "postgresql"):
        connect, errors = _postgres_reader(url, url_env)
    else:
        connect, errors = _sqlalchemy_reader(url, url_env)
    try:
        conn = connect()
    except ReadError:
        raise
    except Exception as exc:  # connection failures of any driver; message masked
        raise ReadError(
            mask_secret(f"cannot connect to the database in ${url_env}: {first_line(exc)}", url),
            f"Check ${url_env} (host, port, user, password, database) and that the database "
            "is running and reachable.",
        ) from None
    try:
        out = {}
        for table, spec in tables.items():
            read = _read_query(conn, table, spec, url, errors)
            if shared is not None:
                shared[url, table, spec] = read
            out[table] = _register_read(con, table, *read)
        return out
    finally:
        conn.close()


def _register_read(con, table: str, names, data, kinds, digest: str) -> RawTable:
    raw = _register_arrow(con, table, f"sql:{table}", f"sql:{table}", names, data, kinds)
    raw.sha256 = digest
    return raw


def _postgres_reader(url: str, url_env: str):
    try:
        import psycopg
    except ImportError:
        raise ReadError(
            f"${url_env} names a PostgreSQL database and the psycopg driver is not installed",
            "Install it: pip install 'salesreport[postgres]' (or make setup).",
        ) from None

    def connect():
        conn = psycopg.connect(url, connect_timeout=10, application_name="salesreport")
        conn.read_only = True
        conn.execute("SET TIME ZONE 'UTC'")
        return conn

    return connect, psycopg.Error


def _sqlalchemy_reader(url: str, url_env: str):
    try:
        import sqlalchemy
    except ImportError:
        raise ReadError(
            f"${url_env} names a database other than SQLite and PostgreSQL, and SQLAlchemy "
            "is not installed",
            "Install SQLAlchemy and the database's driver, or use a sqlite:/// or "
            "postgresql:// URL.",
        ) from None
    return (lambda: sqlalchemy.create_engine(url).raw_connection()), Exception


def _read_query(conn, table: str, spec: str, url: str, errors) -> tuple:
    """One table or query through a DB-API connection: ``(column names, Arrow table, kinds,
    sha256 of its rows)``."""
    try:
        cur = conn.cursor()
        try:
            cur.execute(sql_query(spec))
            names = [d[0] for d in cur.description or []]
            rows = cur.fetchall()
        finally:
            cur.close()
    except errors as exc:
        raise ReadError(
            mask_secret(f"query for {table} failed: {first_line(exc)}", url),
            f"Fix data.sql.tables.{table} in the team's YAML (a table the database has, or "
            "a query it runs).",
        ) from None
    if not names or not rows:
        raise ReadError(
            f"the query for {table} returned no rows",
            f"Check data.sql.tables.{table} (its table, or its query's WHERE clause), or leave "
            f"{table} out of data.sql.tables if the team has none.",
        )
    arrays, kinds = [], []
    for values in zip(*rows, strict=True):
        arr, kind = column_to_arrow(list(values))
        arrays.append(arr)
        kinds.append(kind)
    data = pa.table(arrays, names=[f"c{i}" for i in range(len(names))])
    names = header_names(names)
    out = pa.BufferOutputStream()
    pa_csv.write_csv(data.rename_columns(names), out)  # the fingerprint: the rows as CSV
    return names, data, kinds, hashlib.sha256(out.getvalue().to_pybytes()).hexdigest()


# --------------------------------------------------------------------------- one file, as pandas


def read_table(path: str | Path, encoding: str | None = None):
    """Read one CSV, Parquet or Excel (first sheet) file into a pandas frame, values uninterpreted.

    CSV cells are text (blank cells missing), Parquet and Excel cells as stored; header names
    stripped; the index is the spreadsheet row number (header = row 1, first data row = 2).
    Raises :class:`ReadError` naming the file when it cannot be read.
    """
    import duckdb

    from salesreport.data.parse import install

    path = Path(path)
    con = duckdb.connect()
    try:
        install(con)
        raw = read_file(con, path, path.stem, encoding)
        cols = ", ".join(f"c{i}" for i in range(len(raw.columns)))
        keep = f"NOT coalesce({raw.blank}, false)" if raw.blank else "true"
        try:
            raw.run(
                con,
                lambda src: (
                    f"CREATE TEMP TABLE _sr_read AS SELECT {cols}, {keep} AS _keep FROM {src}"
                ),
            )
        finally:
            raw.release(con)
        df = con.execute(
            f"SELECT row_number() OVER (ORDER BY rowid) + 1 AS _line, {cols} FROM _sr_read "
            "WHERE _keep ORDER BY _line"
        ).df()
        if df.empty:
            raise _no_rows(True)
    except ReadError as exc:
        exc.file = path.name
        exc.problems = [
            {"file": path.name, "column": None, "rows": [], "reason": exc.reason, "fix": exc.fix}
        ]
        raise
    finally:
        con.close()
    df = df.set_index("_line")
    df.index.name = None
    df.columns = raw.columns
    return df
