"""A data folder only Spark's cluster reads (``hdfs://``, ``s3a://``, ``gs://``, ``abfss://``...).

``data.path`` (or ``--data``) may name a folder by URI when the team's engine is Spark: the
report's machine reads it through Spark's own Hadoop filesystems, with the settings the cluster
uses (``engine.options``: ``spark.hadoop.fs.s3a.endpoint``, ``spark.jars.packages`` for a
connector...; credentials from Spark's environment, never from YAML). Each table file of the
folder (``NAME.csv``, ``.csv.gz``, ``.parquet``, ``.xlsx``, ``.zip``) is copied to the run's work
folder and loaded as any local folder is: the same formats, checks, repairs and messages; the
checked tables then go to the cluster as Spark tables (:meth:`salesreport.engine.Engine.copy_tables`).
Other files are listed as ignored, as in a local folder, without being copied.

The report's machine thus holds the team's files once, on disk (the load reads them a batch at a
time); the checks running in the cluster itself are not there yet (README, "Where the numbers
are computed").
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from salesreport.data.read import ReadError, size_text, table_suffix
from salesreport.data.validate import problem, problem_line
from salesreport.exceptions import DataError, ParameterError
from salesreport.params import is_uri, uri_credentials


def remote_folder(params, data_dir) -> str | None:
    """The URI of the data folder the load would read (``--data`` wins, then ``data.path``
    when there is no ``data.sql``), or ``None`` when it is a local folder or a database."""
    if data_dir is not None:
        return str(data_dir) if is_uri(data_dir) else None
    if params.data.sql is None and is_uri(params.data.path):
        return str(params.data.path)
    return None


def fetch_folder(
    session, uri: str, dest: Path, say: Callable[[str], None] | None = None
) -> dict[str, str]:
    """Copy the table files of folder ``uri`` into ``dest`` through ``session``'s Hadoop
    filesystems; ``{local path: its URI}`` for every file copied. Other files become empty
    files of the same name (listed as ignored by the load, never read). Raises
    :class:`ReadError` naming the URI when the folder cannot be read. ``say`` is told each
    file as its copy starts (a large folder on object storage takes a while)."""
    from salesreport.backends import first_line, hadoop_file

    try:
        fs, root = hadoop_file(session, uri)
        if not fs.exists(root) or not fs.getFileStatus(root).isDirectory():
            raise ReadError(
                "is not a folder Spark can read",
                "Check data.path (or --data): the folder holding NAME.csv/.parquet/.xlsx.",
            )
        statuses = list(fs.listStatus(root))
    except ReadError:
        raise
    except Exception as exc:  # no filesystem for the scheme, refused, unknown host
        raise ReadError(
            f"cannot be read through Spark: {first_line(exc)}",
            "Give Spark the filesystem's connector and settings in engine.options (for s3a: "
            "spark.jars.packages org.apache.hadoop:hadoop-aws:<Hadoop's version> and "
            "spark.hadoop.fs.s3a.* settings; credentials from Spark's environment), or copy "
            "the files to a local folder.",
        ) from None
    dest.mkdir(parents=True, exist_ok=True)
    copied: dict[str, str] = {}
    for status in sorted(statuses, key=lambda s: s.getPath().getName()):
        if not status.isFile():
            continue
        name = status.getPath().getName()
        local = dest / name
        if table_suffix(name) is None or name.startswith((".", "~$")):
            local.touch()  # listed as ignored, as in a local folder
            continue
        if say is not None:
            say(f"copying {name} ({size_text(status.getLen())}) from {uri}")
        try:
            fs.copyToLocalFile(False, status.getPath(), hadoop_file(session, local)[1], True)
        except Exception as exc:  # noqa: BLE001 - a file that cannot be read (permissions)
            raise ReadError(
                f"cannot be copied through Spark: {first_line(exc)}",
                "Check the file's permissions for the user Spark runs as.",
                file=name,
            ) from None
        copied[str(local)] = f"{uri.rstrip('/')}/{name}"
    return copied


@contextlib.contextmanager
def fetched(
    params, data_dir, scratch: Path | None, say: Callable[[str], None] | None = None
) -> Iterator[tuple[object, dict[str, str]]]:
    """``(folder to load, {local path: URI})``: ``data_dir`` unchanged and ``{}`` for a local
    folder or a database; for a folder given by URI, a local copy in ``scratch`` (the run's
    work folder; a temporary folder by default), removed when the block ends (the loaded tables
    are in the engine by then). A :class:`DataError` raised in the block names the URI, not the
    copy."""
    uri = remote_folder(params, data_dir)
    if uri is None:
        yield data_dir, {}
        return
    # credentials are never in YAML or the reports
    shown = uri_credentials(uri)
    if shown is not None:
        raise ParameterError(
            f"{shown}: the folder's URI holds credentials. Give them through Spark's "
            "environment (for s3a: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or an instance "
            "role), never in data.path or --data, which run.json and the messages show."
        )
    if params.engine.kind != "spark":
        raise ParameterError(
            f"{uri}: a folder given by URI is read through Spark's filesystems, and the team's "
            f"engine is {params.engine.kind}. Set `engine: spark` in the team's YAML (the "
            "filesystem's settings in engine.options), or copy the files to a local folder "
            "and give that."
        )
    if _SHARED is None:
        parent, local, copied = _copy(params, uri, scratch, say)
    else:  # --all-teams: one copy for every team, removed with shared_copies' block
        if uri not in _SHARED:
            _SHARED[uri] = _copy(params, uri, _SHARED_ROOT, say)[1:]
        parent, (local, copied) = None, _SHARED[uri]
    try:
        yield local, copied
    except DataError as exc:  # "<copy>/orders.csv ..." -> "s3a://.../orders.csv ..."
        _name_the_uri(exc, str(local), uri.rstrip("/"))
        raise
    finally:
        if parent is not None:
            shutil.rmtree(parent, ignore_errors=True)


def _copy(params, uri: str, where: Path | None, say) -> tuple[Path, Path, dict[str, str]]:
    """``(temporary folder, the copy's folder in it, {local path: URI})``: folder ``uri``
    copied under ``where`` (the system's temporary folder when ``None``); nothing is left
    behind when it fails (:class:`DataError` naming the URI)."""
    from salesreport.backends import spark_session

    session = spark_session(params.engine)
    if where is not None:
        where.mkdir(parents=True, exist_ok=True)
    parent = Path(tempfile.mkdtemp(prefix="salesreport-remote-", dir=where))
    try:
        return parent, parent / "data", fetch_folder(session, uri, parent / "data", say)
    except BaseException as exc:
        shutil.rmtree(parent, ignore_errors=True)
        if not isinstance(exc, ReadError):
            raise
        where = f"{uri.rstrip('/')}/{exc.file}" if exc.file else uri
        p = problem(where, None, [], exc.reason, exc.fix)
        raise DataError(problem_line(p), [p]) from None


#: within :func:`shared_copies`: URI -> (its local copy, {local path: URI})
_SHARED: dict[str, tuple[Path, dict[str, str]]] | None = None
_SHARED_ROOT: Path | None = None


@contextlib.contextmanager
def shared_copies(folder: Path) -> Iterator[None]:
    """Within this block a folder given by URI is copied once, into ``folder``, and the copy
    serves every team that reads it (``salesreport report --all-teams``: the data is read
    once per source); ``folder`` is removed when the block ends."""
    global _SHARED, _SHARED_ROOT
    if _SHARED is not None:  # already inside one
        yield
        return
    _SHARED, _SHARED_ROOT = {}, folder  # made when a folder is copied
    try:
        yield
    finally:
        _SHARED = _SHARED_ROOT = None
        shutil.rmtree(folder, ignore_errors=True)


def _name_the_uri(exc: DataError, local: str, uri: str) -> None:
    """The local copy's folder replaced by ``uri`` in ``exc``'s message and problems."""
    exc.args = tuple(a.replace(local, uri) if isinstance(a, str) else a for a in exc.args)
    for p in exc.problems:
        for key in ("file", "reason", "fix"):
            if isinstance(p.get(key), str):
                p[key] = p[key].replace(local, uri)
