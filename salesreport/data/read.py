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

from salesreport.data.parse import MISSING_MARKERS, cells_to_arrow, ident, kind_of, sql_text
from salesreport.exceptions import DataError
from salesreport.tables import TABLE_NAMES

FORMATS = (".csv", ".parquet", ".xlsx")
#: compressed formats: a gzip-compressed CSV file and a zip archive of table files
COMPRESSED = (".csv.gz", ".zip")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
#: bytes read to find a CSV file's encoding and header
HEAD_BYTES = 1 << 16
#: bytes per step when a CSV file is transcoded to UTF-8
TRANSCODE_CHUNK = 1 << 22
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
    #: header names written more than once: (name, [positions, 1 = the first column])
    repeats: list[tuple[str, list[int]]] = field(default_factory=list)
    #: the lines of a report's footer under the rows (not rows: skipped and counted); for a
    #: CSV file ``footer_rows`` is how many rows the engine reads from them (the last ones)
    footer: list[str] = field(default_factory=list)
    footer_rows: int = 0
    #: the field separator of a CSV file
    delimiter: str = ","

    def run(self, con, query) -> None:
        """Execute ``query(source)`` (which reads the rows); an engine error is a
        :class:`ReadError` naming what is wrong with the file (a CSV file is read again with
        one reader when a quoted value spans lines, or as Windows-1252 when a byte is not
        UTF-8)."""
        self.fetch(con, query)

    def fetch(self, con, query) -> list[tuple]:
        """:meth:`run`, returning the query's rows."""
        import duckdb

        while True:
            try:
                return con.execute(query(self.source)).fetchall()
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


@dataclass(frozen=True)
class Member:
    """A table file inside a ``.zip`` archive of the data folder (a Salesforce Data Export):
    read from the archive, never unpacked beside it."""

    archive: Path
    member: str  # the name inside the archive

    @property
    def name(self) -> str:
        return f"{self.archive.name}/{self.member}"

    @property
    def suffix(self) -> str:
        return Path(self.member).suffix


def table_suffix(name: str) -> str | None:
    """The format of a file name (``.csv``, ``.csv.gz``, ``.parquet``, ``.xlsx``, ``.zip``;
    any case), ``None`` for another file."""
    low = name.lower()
    for suffix in (*COMPRESSED, *FORMATS):
        if low.endswith(suffix) and len(low) > len(suffix):
            return suffix
    return None


def find_table_files(
    folder: Path,
    aliases: dict[str, str] | None = None,
    detect: dict[str, list[str]] | None = None,
) -> tuple[dict[str, list[Path | Member]], list[str]]:
    """Map each contract table to the files in ``folder`` that hold it.

    A file holds table NAME when its name is ``NAME.csv``, ``NAME.csv.gz``, ``NAME.parquet`` or
    ``NAME.xlsx`` (case-insensitive), or when a preset's alias names it (``Opportunity.csv``
    for Salesforce). A ``.zip`` archive's members count as files of the folder (a Salesforce
    Data Export). ``detect`` (table -> header names, a screen export's preset): a file of
    another name whose header holds all of them holds the table (a report export is named by
    the user). Returns ``(found, ignored)``: table -> files (more than one is an error for the
    caller to report) and the names of the other files in the folder.
    """
    import zipfile

    aliases = {k.lower(): v for k, v in (aliases or {}).items()}
    names = {n.lower(): n for n in TABLE_NAMES}
    found: dict[str, list[Path | Member]] = {}
    ignored: list[str] = []

    def by_name(name: str) -> str | None:
        suffix = table_suffix(name)
        if suffix is None or suffix == ".zip":
            return None
        stem = name[: -len(suffix)].lower()
        return aliases.get(stem) or names.get(stem)

    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith((".", "~$")):
            continue
        if table_suffix(path.name) == ".zip":
            try:
                with zipfile.ZipFile(path) as zf:
                    members = [m.filename for m in zf.infolist() if not m.is_dir()]
            except (zipfile.BadZipFile, OSError):
                ignored.append(path.name)
                continue
            hits = [(by_name(Path(m).name), m) for m in sorted(members)]
            for table, m in hits:
                if table is not None:
                    found.setdefault(table, []).append(Member(path, m))
            if not any(t for t, _ in hits):
                ignored.append(path.name)
            continue
        table = by_name(path.name)
        if table is None and detect and table_suffix(path.name):
            table = _detect_table(path, detect)
        if table is None:
            ignored.append(path.name)
            continue
        found.setdefault(table, []).append(path)
    return found, ignored


def _detect_table(path: Path, detect: dict[str, list[str]]) -> str | None:
    """The table whose signature headers ``path``'s header holds (``None``: none, or the file
    cannot be read: it is then ignored like any other file)."""
    try:
        header = {h.lower() for h in peek_header(path)}
    except (ReadError, OSError):
        return None
    for table, needed in detect.items():
        if all(n.lower() in header for n in needed):
            return table
    return None


def peek_header(path: Path) -> list[str]:
    """The header names of a CSV (or ``.csv.gz``) or Excel file, from its first bytes or row."""
    if path.name.lower().endswith(".xlsx"):
        import openpyxl

        try:
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # a broken workbook is reported when it is read
            raise ReadError("is not a readable Excel workbook", "") from exc
        try:
            for row in wb.worksheets[0].iter_rows(values_only=True):
                if any(v is not None for v in row):
                    return header_names(list(row))
        finally:
            wb.close()
        return []
    if path.name.lower().endswith((".csv", ".csv.gz")):
        return sniff_csv(path).header
    return []


def outside_links(folder: Path) -> list[tuple[str, str]]:
    """The entries of ``folder`` that are symbolic links to a place outside it:
    ``(name, target)``."""
    root = folder.resolve()
    out = []
    for path in sorted(folder.iterdir()):
        if path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(root):
                out.append((path.name, str(target)))
    return out


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


def repeated_headers(cells: list) -> list[tuple[str, list[int]]]:
    """Header names written more than once (after stripping): ``(name, positions)``, the
    positions counted from 1."""
    where: dict[str, list[int]] = {}
    for i, h in enumerate(cells):
        if h is None or str(h).strip() == "":
            continue
        where.setdefault(str(h).strip().lstrip("\ufeff"), []).append(i + 1)
    return [(name, pos) for name, pos in where.items() if len(pos) > 1]


def column_letter(position: int) -> str:
    """A spreadsheet column's letters (1 -> ``A``, 28 -> ``AB``)."""
    out = ""
    while position:
        position, r = divmod(position - 1, 26)
        out = chr(65 + r) + out
    return out


#: a line of a Salesforce report's footer (the report's title, filters and these lines follow
#: the rows after an empty line): what tells a footer from data
FOOTER_SIGNATURE = re.compile(
    r"^(generated by\b|copyright \(c\).*salesforce\.com|confidential information - do not distribute)",
    re.IGNORECASE,
)


def footer_start(rows: list[list]) -> int:
    """Where a report's footer starts in ``rows`` (lists of cells, empty rows included), or
    ``len(rows)`` when there is none.

    A footer is the block after the last row with two or more cells filled, starting at an
    empty row, whose rows have at most one cell filled, one of them a line of
    :data:`FOOTER_SIGNATURE` (Salesforce's "Generated By", "Copyright (c) ... salesforce.com").
    Anything else at the end of a file is data (and checked as such).
    """

    def filled(row: list) -> list:
        return [v for v in row if v is not None and str(v).strip() != ""]

    end = len(rows)
    i = end
    while i > 0 and len(filled(rows[i - 1])) <= 1:
        i -= 1
    while i < end and filled(rows[i]):  # one-cell rows right under the data are data
        i += 1
    block = rows[i:]
    if not block or not any(
        FOOTER_SIGNATURE.match(str(filled(r)[0]).strip()) for r in block if filled(r)
    ):
        return end
    return i


def _csv_footer(path: Path, codec: str, delimiter: str, width: int) -> tuple[list[str], int]:
    """A CSV file's footer (:func:`footer_start`), from its last bytes: ``(the footer's lines
    with text, how many rows the engine reads from the footer)``."""
    if width < 2:
        return [], 0
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - HEAD_BYTES))
        tail = fh.read()
    text = tail.decode(codec, errors="replace").lstrip("\ufeff")
    lines = text.splitlines()
    if size > HEAD_BYTES and lines:
        lines = lines[1:]  # the first may be cut
    cells = []
    for line in lines:
        try:
            cells.append(next(csv.reader([line], delimiter=delimiter, quotechar='"'), []))
        except csv.Error:
            cells.append([line, line])  # not a footer line
    start = footer_start(cells)
    footer = lines[start:]
    texts = [str(next(v for v in c if str(v).strip())).strip() for c in cells[start:] if any(str(v).strip() for v in c)]
    return texts, sum(1 for line in footer if line != "")


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
    suffix = table_suffix(path.name) or path.suffix.lower()
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
        if suffix in (".csv", ".csv.gz"):
            raw = _read_csv(con, path, table, encoding, scratch)
        elif suffix == ".parquet":
            raw = _read_parquet(con, path, table)
        elif suffix == ".xlsx":
            raw = _read_excel(con, path, table)
        else:
            raise ReadError(
                f"has an unknown format {suffix!r}", "Use .csv, .csv.gz, .parquet or .xlsx."
            )
    finally:
        hasher.join()
    raw.sha256 = hasher.digest
    return raw


def read_member(
    con,
    member: Member,
    table: str,
    encoding: str | None = None,
    scratch: Path | None = None,
) -> RawTable:
    """Read a table file inside a ``.zip`` archive: the member is copied (streaming) into a
    scratch folder, read from there and removed with the table's other leftovers."""
    import shutil
    import tempfile
    import zipfile

    folder = Path(tempfile.mkdtemp(prefix="salesreport-zip-", dir=scratch))
    out = folder / Path(member.member).name
    try:
        with zipfile.ZipFile(member.archive) as zf, zf.open(member.member) as src:
            with open(out, "wb") as dst:
                shutil.copyfileobj(src, dst, TRANSCODE_CHUNK)
        raw = read_file(con, out, table, encoding, scratch)
    except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise ReadError(f"cannot be read from the archive ({exc})", "Export it again.") from exc
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    raw.file, raw.path = member.name, f"{member.archive}/{member.member}"
    raw.drop.append(("dir", str(folder)))
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
    repeats: list[tuple[str, list[int]]] = field(default_factory=list)
    #: the first bytes hold a date written with the year last (31/10/2026)
    slashed: bool = False


#: the first bytes of compressed files: what a file under a ``.csv`` name really is
MAGIC = {b"\x1f\x8b": "gzip-compressed", b"PK\x03\x04": "a zip archive (or an Excel workbook)"}


def _open(path: Path):
    """The file's bytes (a ``.gz`` file decompressed)."""
    if path.name.lower().endswith(".gz"):
        import gzip

        return gzip.open(path, "rb")
    return open(path, "rb")


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
    import gzip
    import zlib

    try:
        with _open(path) as fh:
            head = fh.read(HEAD_BYTES)
            whole = len(head) < HEAD_BYTES
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ReadError(
            f"is not a readable gzip file ({exc})", "Compress it again with gzip, or save it as .csv."
        ) from exc
    for magic, what in MAGIC.items():
        if head.startswith(magic) and not path.name.lower().endswith(".gz"):
            real = ".csv.gz" if magic == b"\x1f\x8b" else ".zip (or .xlsx for a workbook)"
            raise ReadError(
                f"is {what} under a .csv name",
                f"Rename it to {path.name[:-4]}{real} (it is then read as it is) or decompress it.",
            )
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
    slashed = bool(re.search(r"(?<![\d/.-])\d{1,2}[/.-]\d{1,2}[/.-]\d{4}\b", rest))
    return CsvFormat(
        codec, delimiter, '"', header_names(cells), skip, repeated_headers(cells), slashed
    )


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
        with _open(path) as src, open(out, "w", encoding="utf-8", newline="") as dst:
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
        fmt.repeats,
        delimiter=fmt.delimiter,
    )
    if not path.name.lower().endswith(".gz"):
        raw.footer, raw.footer_rows = _csv_footer(path, fmt.encoding, fmt.delimiter, len(cols))
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
    data = pa.table(arrays, names=[f"c{i}" for i in range(len(names))])
    name = f"_sr_cells_{table}_{next(_names)}"
    con.register(name, data)
    return RawTable(
        table, file, path, ident(name), names, kinds, "", None, [("view", name)],
        repeats=repeated_headers(header),
    )  # fmt: skip


def _excel_cell(v: object) -> object:
    if isinstance(v, str) and (
        v.strip() == "" or v.strip().lower() in MISSING_MARKERS or v in EXCEL_ERRORS
    ):
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
    start = footer_start(rows) if rows and max(len(r) for r in rows) > 1 else len(rows)
    footer = [str(c).strip() for r in rows[start:] for c in r if c is not None]
    rows = [list(r) for r in rows[:start] if any(v is not None for v in r)]
    if not rows:
        raise _no_rows(False)
    width = max(len(r) for r in rows)
    rows = [r + [None] * (width - len(r)) for r in rows]
    while width and all(r[width - 1] is None for r in rows):  # (formatted, empty columns)
        width -= 1
    header, data = rows[0][:width], [r[:width] for r in rows[1:]]
    raw = _register_cells(con, table, path.name, str(path), header, data)
    raw.footer = footer
    return raw


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


def read_sql_tables(con, url_env: str, tables: dict[str, str]) -> dict[str, RawTable]:
    """Read each ``table -> name or query`` from the database whose URL is in ``$url_env``
    into the engine connection ``con``.

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
                out[table] = _read_query(con, conn, table, spec, url, sqlite3.Error)
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
                    con, conn, table, sqlalchemy.text(sql_query(spec)), url, Exception
                )
    except ReadError:
        raise
    except Exception as exc:  # connection failures of any driver; message masked
        raise ReadError(
            mask_secret(f"cannot connect to the database in ${url_env}: {exc}", url),
            f"Check ${url_env} and that the database is reachable.",
        ) from None
    return out


def _read_query(con, conn, table: str, spec, url: str, errors) -> RawTable:
    import pandas as pd

    query = sql_query(spec) if isinstance(spec, str) else spec
    try:
        df = pd.read_sql_query(query, conn)
    except (errors, pd.errors.DatabaseError) as exc:
        raise ReadError(
            mask_secret(f"query for {table} failed: {exc}", url),
            f"Fix data.sql.tables.{table} in the team's YAML.",
        ) from None
    df = df.astype(object).where(df.notna(), None)
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    if len(df.columns) == 0 or len(df) == 0:
        raise _no_rows(bool(len(df.columns)))
    df.index = pd.RangeIndex(2, len(df) + 2)
    digest = hashlib.sha256(df.to_csv(index=False).encode("utf-8")).hexdigest()
    raw = _register_cells(
        con,
        table,
        f"sql:{table}",
        f"sql:{table}",
        list(df.columns),
        df.to_numpy(dtype=object).tolist(),
    )
    raw.sha256 = digest
    return raw


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
