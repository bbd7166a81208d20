"""Opening the engine a team's YAML names (``engine:``): DuckDB, PostgreSQL or Spark.

The semantic layer (:mod:`salesreport.kpis`, :mod:`salesreport.cohorts`,
:mod:`salesreport.revenue`) is written in Ibis expressions; :func:`open_engine` gives the
:class:`~salesreport.engine.Engine` they run on:

``duckdb`` (default)
    Embedded, in memory: nothing to start.
``postgres``
    A PostgreSQL server whose URL (``postgresql://user:password@host:port/database``) is in
    the environment variable ``engine.url_env`` names; the URL never comes from YAML and is
    masked in every message. The team's tables go into temporary tables of the session
    (gone when the run disconnects) and every query runs in the server.
``spark``
    A Spark session through PySpark: ``local[*]`` by default (for trying it; the driver bound
    to the loopback address, no web UI), a cluster when ``engine.master`` names one.
    ``engine.options`` are Spark settings (``spark.driver.memory: 4g``).
``ibis``
    Any other backend Ibis connects to by URL (``snowflake://``, ``trino://``,
    ``bigquery://``), its driver installed by the user: **not tested** against a server (the
    tests check only that the catalogue compiles to BigQuery's, Snowflake's and Trino's SQL).

A server that cannot be reached (a Spark master too), a wrong URL or a missing driver is an
:class:`EngineError` (exit 3) naming the engine and what to fix.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from salesreport.exceptions import EngineError

if TYPE_CHECKING:
    from salesreport.engine import Engine
    from salesreport.params import EngineParams

#: the Spark settings a local session starts with (each can be overridden in engine.options)
SPARK_DEFAULTS = {
    "spark.sql.session.timeZone": "UTC",  # naive timestamps are the team's wall clock
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",  # no stage bars over the run's own progress
    # the driver keeps every query's plan for its UI even when the UI is off: a report runs
    # hundreds of queries with large plans, so keep few
    "spark.sql.ui.retainedExecutions": "20",
    "spark.ui.retainedJobs": "50",
    "spark.ui.retainedStages": "50",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "3g",
    "spark.sql.ansi.enabled": "false",
}
SPARK_LOCAL = {"spark.driver.bindAddress": "127.0.0.1", "spark.driver.host": "127.0.0.1"}
JAVA_OPTIONS = "spark.driver.extraJavaOptions"
#: errors only, on standard error, for the session's Java side (applied when the session's
#: Java process starts: PySpark passes the settings to spark-submit)
SPARK_LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")


def open_engine(spec: EngineParams | None, source: str = "the team's YAML") -> Engine:
    """The engine ``spec`` names (``None``: the embedded DuckDB)."""
    from salesreport.engine import Engine

    kind = spec.kind if spec is not None else "duckdb"
    if kind == "duckdb":
        return Engine.duckdb()
    if kind == "postgres":
        return _postgres(spec, source)
    if kind == "ibis":
        return _other(spec, source)
    return _spark(spec, source)


def check_engine(spec: EngineParams | None, source: str = "the team's YAML") -> None:
    """Connect to a server engine once and disconnect, so that a wrong URL or a server that
    is down stops the run before the data is read and the notebooks start (a Spark session
    is started when the numbers are computed: starting it twice would cost seconds)."""
    if spec is not None and spec.kind in ("postgres", "ibis"):
        open_engine(spec, source).close()
    elif spec is not None and spec.kind == "spark":
        check_spark_master(spec.master, source)
        if spec.staging is not None and not is_local_master(spec.master):
            # the session the numbers need, started now (PySpark keeps it for the process)
            # so that a staging folder Spark cannot write stops the run before the data is read
            session = spark_session(spec, source)
            remove_staging_folder(session, staging_folder(session, spec.staging))


def is_local_master(master: str | None) -> bool:
    """Whether a Spark master runs every process on this machine (``local``, ``local[N]``,
    ``local-cluster[...]``; the default), so that the executors read this machine's files."""
    return (master or "local").startswith("local")


def hadoop_file(session, uri: str | Path):
    """``(filesystem, path)`` of ``uri`` (a local path as its ``file://`` URI) through
    ``session``'s Hadoop filesystems, with the session's settings: PySpark's gateway to
    Hadoop's FileSystem API, which every filesystem the cluster reads goes through."""
    name = uri.as_uri() if isinstance(uri, Path) else uri
    path = session._jvm.org.apache.hadoop.fs.Path(name)  # noqa: SLF001 - PySpark's gateway
    return path.getFileSystem(session._jsc.hadoopConfiguration()), path  # noqa: SLF001


@contextlib.contextmanager
def staging_step(staging: str):
    """A failing Hadoop filesystem call on ``engine.staging`` as an :class:`EngineError`
    naming the setting and what to check."""
    try:
        yield
    except Exception as exc:  # no connector, refused, a folder that cannot be made
        raise EngineError(
            f"engine spark: cannot use engine.staging {staging}: {first_line(exc)}",
            fix="Check engine.staging in the team's YAML: a folder every executor reads "
            "and the report's user may write (its filesystem's connector and settings in "
            "engine.options, credentials from Spark's environment), or remove it: the "
            "tables then go through the driver.",
        ) from None


def staging_folder(session, staging: str) -> str:
    """A new folder of the run's own in ``staging`` (``salesreport-<random>``), made through
    ``session``'s Hadoop filesystems; its URI."""
    import uuid

    folder = f"{staging.rstrip('/')}/salesreport-{uuid.uuid4().hex}"
    with staging_step(staging):
        fs, path = hadoop_file(session, folder)
        if not fs.mkdirs(path):
            raise OSError(f"{folder} could not be made")
    return folder


def remove_staging_folder(session, folder: str) -> None:
    """Remove ``folder`` (:func:`staging_folder`) and what it holds; a warning when it
    cannot be (the report is made: say what is left)."""
    try:
        fs, path = hadoop_file(session, folder)
        fs.delete(path, True)
    except Exception as exc:  # noqa: BLE001
        import warnings

        warnings.warn(
            f"engine spark: could not remove {folder} (the run's tables in engine.staging): "
            f"{first_line(exc)}; remove it by hand",
            stacklevel=2,
        )


def spark_masters(master: str | None) -> list[tuple[str, int]]:
    """The hosts and ports of a standalone cluster's master URL (``spark://host:7077``, or
    ``spark://h1:7077,h2:7077`` for masters in standby; 7077 when no port is given); none
    for a local session or another cluster manager (``yarn``, ``k8s://...``)."""
    from urllib.parse import urlsplit

    if not master or not master.startswith("spark://"):
        return []
    pairs = []
    for item in master.removeprefix("spark://").split(","):
        parts = urlsplit(f"spark://{item.strip()}")
        try:
            port = parts.port or 7077
        except ValueError:
            port = -1
        pairs.append((parts.hostname or "", port))
    return pairs


def check_spark_master(master: str | None, source: str = "the team's YAML") -> None:
    """A standalone master that answers on its port, or an :class:`EngineError` at once:
    without this check Spark retries for a minute ("All masters are unresponsive!") and then
    says only that its context was stopped. Run before the data is read (:func:`check_engine`)
    and before a session starts."""
    import socket

    tried = []
    for host, port in spark_masters(master):
        if not host or not 0 < port < 65536:
            tried.append(f"'{host}:{port}' is not a host and a port")
            continue
        try:
            socket.create_connection((host, port), timeout=10).close()
            return
        except OSError as exc:
            tried.append(f"{host}:{port}: {exc.strerror or type(exc).__name__}")
    if tried:
        raise EngineError(
            f"engine spark: no Spark master answers at {master} ({'; '.join(tried)})",
            fix=f"Check engine.master in {source} (spark://host:7077) and that the master is "
            "running and reachable from this machine (its log says 'Starting Spark master at "
            "spark://...').",
        )


def url_from_env(name: str | None) -> str | None:
    """The connection URL in the environment variable ``name``, without the spaces and line
    ends around it (a URL read from a file, ``export URL=$(cat secret)``, or a mounted secret
    often ends in one, which would become part of the database's name); None when unset."""
    return os.environ.get(name or "", "").strip() or None


def engine_url(spec: EngineParams, source: str) -> str:
    """The connection URL from the environment variable ``spec.url_env`` names."""
    url = url_from_env(spec.url_env)
    if not url:
        raise EngineError(
            f"engine {spec.kind}: the environment variable {spec.url_env} (url_env in "
            f"{source}) is not set",
            fix=f"Export {spec.url_env}=postgresql://user:password@host:5432/database before "
            "the run; the URL never goes into YAML.",
        )
    return url


def _postgres(spec: EngineParams, source: str) -> Engine:
    from urllib.parse import urlsplit

    from salesreport.data.read import mask_secret
    from salesreport.engine import Engine

    url = engine_url(spec, source)
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise EngineError(
            f"engine postgres: ${spec.url_env} is not a PostgreSQL URL (it must look like "
            "postgresql://user:password@host:5432/database)",
            fix=f"Check ${spec.url_env}.",
        )
    try:
        import ibis
    except ImportError as exc:  # pragma: no cover - ibis is a runtime dependency
        raise EngineError(f"engine postgres: {exc}", fix="Run `make setup`.") from None
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 0 < port < 65536:
        raise EngineError(
            f"engine postgres: the port in ${spec.url_env} is not a number from 1 to 65535",
            fix=f"Check ${spec.url_env}.",
        )
    try:
        conn = postgres_connection(url)
        conn.autocommit = True
        backend = ibis.postgres.from_connection(conn)
    except ModuleNotFoundError as exc:
        raise EngineError(
            f"engine postgres needs the psycopg driver ({exc.name} is not installed)",
            fix="Install it: pip install 'salesreport[postgres]' (or make setup).",
        ) from None
    except Exception as exc:  # psycopg.OperationalError and friends; the URL masked
        raise EngineError(
            mask_secret(
                f"engine postgres: cannot connect to "
                f"{f'{parts.hostname}:{port or 5432}' if parts.hostname else 'the server'} "
                f"(${spec.url_env}): {first_line(exc)}",
                url,
            ),
            fix=f"Check ${spec.url_env} (host, port, user, password, database) and that the "
            "server is running and reachable.",
        ) from None
    _check_temporary_tables(backend, spec.url_env)
    return Engine(backend, "postgres", secret=url)


def _check_temporary_tables(backend, url_env: str | None) -> None:
    """The run computes in temporary tables of its session: a read-only connection (a
    standby server, ``default_transaction_read_only``) or a user without the ``TEMPORARY``
    privilege is stopped when it connects (:func:`check_engine`, before the data is read),
    not after the load with the server's "cannot execute CREATE TABLE"."""
    cur = backend.raw_sql(
        "SELECT current_setting('transaction_read_only') = 'on', "
        "has_database_privilege(current_database(), 'TEMPORARY'), current_user, "
        "current_database()"
    )
    read_only, temporary, user, database = cur.fetchone()
    cur.close()
    if read_only or not temporary:
        backend.disconnect()
        if read_only:
            why = "the connection is read-only (a standby server, or default_transaction_read_only)"
            fix = (
                "Point the engine at a primary server (or a user whose sessions are not read-only)"
            )
        else:
            why = f"user {user} may not create temporary tables in database {database}"
            fix = f"Grant it (GRANT TEMPORARY ON DATABASE {database} TO {user})"
        raise EngineError(
            f"engine postgres: the report computes in temporary tables of its session, and "
            f"{why} (${url_env})",
            fix=f"{fix}, or keep data.sql on this server and compute with the default engine "
            "(remove engine: postgres): the tables are then only read from it.",
        )


def postgres_connection(url: str):
    """A psycopg connection to the server ``url`` names, with every setting the URL holds,
    its query string's too (``?sslmode=verify-full&sslrootcert=...``, ``options``,
    ``host=/run/postgresql`` for a socket), and a 10 s connection timeout and the
    application name ``salesreport`` unless the URL sets them. The engine and the reader of
    ``data.sql`` both connect through it, so a URL means the same to both."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    settings = conninfo_to_dict(url)
    settings.setdefault("connect_timeout", 10)
    settings.setdefault("application_name", "salesreport")
    conn = psycopg.connect(**settings)
    # what the server writes as text (COPY's CSV, results) read back as meant, whatever the
    # server's or the database's settings: times in UTC (naive timestamps stay as written),
    # dates ISO (DateStyle 'SQL, DMY' writes 31/10/2026, which psycopg cannot read and the
    # checks would take as empty) and floats to their last digit (extra_float_digits 0 cuts
    # them to 15)
    for setting in ("TIME ZONE 'UTC'", "DateStyle = 'ISO, YMD'", "extra_float_digits = 3"):
        conn.execute(f"SET {setting}")
    conn.commit()  # kept for the session; the reader then makes it read-only
    return conn


def _other(spec: EngineParams, source: str) -> Engine:
    """Another Ibis backend by URL (not tested against a server: module docstring)."""
    from urllib.parse import urlsplit

    import ibis

    from salesreport.data.read import mask_secret
    from salesreport.engine import Engine

    url = engine_url(spec, source)
    scheme = urlsplit(url).scheme or "?"
    try:
        backend = ibis.connect(url)
    except Exception as exc:  # an unknown scheme, a missing driver, a refused connection
        raise EngineError(
            mask_secret(f"engine ibis ({scheme}): cannot connect: {first_line(exc)}", url),
            fix=f"Check ${spec.url_env} and that the Ibis backend for {scheme} is installed "
            f"(pip install 'ibis-framework[{scheme}]'); this engine is not tested",
        ) from None
    return Engine(backend, getattr(backend, "name", scheme), secret=url)


def _spark(spec: EngineParams, source: str) -> Engine:
    import ibis

    from salesreport.engine import Engine

    session = spark_session(spec, source)  # first: PySpark missing is said as such
    engine = Engine(ibis.pyspark.connect(session), "spark")
    engine.staging = spec.staging
    return engine


def spark_session(spec: EngineParams, source: str = "the team's YAML"):
    """The process's Spark session for ``spec`` (PySpark keeps one per process: started on
    first use, the same one after; the engine and a data folder given by URI share it)."""
    try:
        from pyspark.sql import SparkSession
    except ModuleNotFoundError as exc:
        raise EngineError(
            f"engine spark needs PySpark ({exc.name} is not installed)",
            fix="Install it: pip install 'salesreport[spark]'; Spark also needs Java 17 or "
            "later (Debian: apt install openjdk-17-jre-headless).",
        ) from None
    master = spec.master or "local[*]"
    settings = dict(SPARK_DEFAULTS)
    if is_local_master(master):
        settings.update(SPARK_LOCAL)
        # the address Spark looks up before reading its settings: without it, a host name
        # that resolves to the loopback makes it warn and pick the first network interface
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    settings.update({str(k): str(v) for k, v in spec.options.items()})
    settings[JAVA_OPTIONS] = " ".join(
        filter(None, [f"-Dlog4j.configurationFile={SPARK_LOG_CONFIG}", settings.get(JAVA_OPTIONS)])
    )  # the user's own options after ours: a -D given twice, the last one holds
    check_spark_master(master, source)
    builder = SparkSession.builder.master(master).appName("salesreport")
    for key, value in settings.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # no Java, a master that does not answer
        said = first_line(exc)
        if "stopped SparkContext" in said:  # the master gave up on the application
            said = "the cluster did not take the application (Spark stopped it: " + said + ")"
        raise EngineError(
            f"engine spark: cannot start a session on {master}: {said}",
            fix="Check engine.master in "
            f"{source} and that Java 17 or later is installed (java -version).",
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    return session


#: what to do when a query fails on a server, by the class of its SQLSTATE (PostgreSQL's
#: error codes; other servers' drivers seldom give one)
SERVER_FIXES = {
    "57014": "The server's statement_timeout stopped the query: raise it for the URL's user "
    "(ALTER ROLE name SET statement_timeout = '30min') or for the run alone, in the URL's "
    "query string (?options=-cstatement_timeout%3D0).",
    "08": "The connection to the server was lost: check that it is running and reachable, "
    "and run again.",
    "57P": "The server was shut down or restarted during the run: run again once it is up.",
    "53": "The server ran out of resources (disk for temporary tables, memory or "
    "connections): free them or ask its administrator, and run again.",
    "42501": "The URL's user lacks a privilege the query needs (SELECT on a table, "
    "TEMPORARY on the database): grant it, or use a user who has it.",
}


def server_fix(exc: BaseException, otherwise: str = "") -> str:
    """The advice for a query that failed on a server: by its SQLSTATE (the longest code or
    class in :data:`SERVER_FIXES` it starts with), else ``otherwise``, else to check the
    server."""
    sqlstate = getattr(exc, "sqlstate", None) or ""
    for code in sorted(SERVER_FIXES, key=len, reverse=True):
        if sqlstate.startswith(code):
            return SERVER_FIXES[code]
    return otherwise or (
        "Check that the server is running and reachable; if it is, run again with --debug "
        "and report the query's error with the server's version."
    )


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type's name when it has none); for
    PySpark's ``An error occurred while calling o40.sql.``, the Java exception's line under
    it (``org.apache.spark.sql.AnalysisException: ...``), which says what failed."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    if not lines:
        return type(exc).__name__
    if lines[0].startswith("An error occurred while calling") and len(lines) > 1:
        return lines[1].removeprefix(": ")
    return lines[0]
