"""Real servers for the engine tests: a PostgreSQL server and a local Spark session.

PostgreSQL: Debian's ``postgresql`` package (``make test`` installs it with apt when it is
missing and apt is there). ``initdb`` in a fresh temporary folder, the server listening on
the loopback address only, on a free port, with a user whose password is real (scram), and
stopped at the end. As root the server runs as the ``postgres`` user the package creates
(PostgreSQL refuses to run as root).

Spark: PySpark's local session (Java from Debian when missing), the driver bound to the
loopback address, no web UI; and a standalone cluster (a master and a worker, on the
loopback address) for what a session on a cluster does differently.

Without a server the tests skip, saying why; with ``CI`` set they fail instead: CI must run
them.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

PG_USER = "salesreport_test"


def unavailable(reason: str):
    """Skip with ``reason``; fail when ``CI`` is set (the servers must be there in CI)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: these tests must run)")
    pytest.skip(reason)


def postgres_bin() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``: on the PATH, or Debian's newest version."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return versions[-1].parent if versions else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def postgres_server():
    """A running PostgreSQL server; yields its URL (with a random password)."""
    bindir = postgres_bin()
    if bindir is None:
        unavailable("PostgreSQL is not installed (apt install postgresql)")
    run_as: list[str] = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root and there is no 'postgres' user to run the server as")
        run_as = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="salesreport-pg-"))
    password = "pw-" + secrets.token_urlsafe(12)
    port = free_port()
    try:
        (root / "pw").write_text(password + "\n")
        if owner is not None:
            for p in (root, root / "pw"):
                os.chown(p, owner.pw_uid, owner.pw_gid)
        os.chmod(root, 0o700)
        data = root / "data"

        def run(*args: str) -> None:
            proc = subprocess.run(
                [*run_as, *args], capture_output=True, text=True, timeout=120, check=False
            )
            if proc.returncode:
                log = root / "log"
                tail = log.read_text()[-2000:] if log.exists() else ""
                raise RuntimeError(f"{args[0]} failed: {proc.stdout}{proc.stderr}{tail}")

        run(
            str(bindir / "initdb"), "-D", str(data), "-U", PG_USER, f"--pwfile={root / 'pw'}",
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
            "--no-sync",
        )  # fmt: skip
        options = (
            f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            "-c shared_buffers=256MB -c work_mem=64MB"
        )
        run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"),
            "-w", "-t", "60", "start")  # fmt: skip
        try:
            yield f"postgresql://{PG_USER}:{password}@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(
                [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                capture_output=True, timeout=60, check=False,
            )  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _need_spark() -> None:
    """Skip (fail with ``CI``) without PySpark or Java."""
    try:
        import pyspark  # noqa: F401
    except ModuleNotFoundError:
        unavailable("PySpark is not installed (pip install 'salesreport[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        unavailable("Java is not installed (apt install openjdk-17-jre-headless)")


def spark_session():
    """PySpark's local session on the loopback address (one per process, as PySpark keeps)."""
    _need_spark()
    from salesreport.backends import open_engine
    from salesreport.params import EngineParams

    return open_engine(EngineParams(kind="spark", master="local[2]"))


def _spark_class() -> Path:
    """PySpark's ``spark-class`` (the launcher of Spark's own servers)."""
    import pyspark

    return Path(pyspark.__file__).parent / "bin" / "spark-class"


@contextlib.contextmanager
def spark_cluster(cores: int = 1, memory: str = "1g"):
    """A Spark standalone cluster on the loopback address: a master and one worker, each its
    own Java process started with PySpark's ``spark-class``, no web UI reachable from
    outside; yields the master's URL (``spark://127.0.0.1:PORT``) once the worker has
    registered, and stops both at the end. The worker runs executors as processes of
    their own: a session on this master is a cluster's, not a local one."""
    _need_spark()
    root = Path(tempfile.mkdtemp(prefix="salesreport-spark-"))
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(root),
           "SPARK_WORKER_DIR": str(root / "work"), "SPARK_LOCAL_DIRS": str(root / "tmp"),
           # no REST submission server (its port is fixed: two clusters would collide)
           "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false"}  # fmt: skip
    port = free_port()
    url = f"spark://127.0.0.1:{port}"
    procs: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> Path:
        log = root / f"{name}.log"
        with open(log, "w") as out:
            procs.append(
                subprocess.Popen(
                    [str(_spark_class()), *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            )  # fmt: skip
        return log

    def wait_for(log: Path, text: str, what: str) -> None:
        deadline = time.monotonic() + 120
        while text not in (log.read_text(errors="replace") if log.exists() else ""):
            if any(p.poll() is not None for p in procs) or time.monotonic() > deadline:
                raise RuntimeError(f"the Spark {what} did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)

    try:
        master = start("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                       "--port", str(port), "--webui-port", str(free_port()))  # fmt: skip
        wait_for(master, "I have been elected leader", "master")
        start("worker", "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
              "--cores", str(cores), "--memory", memory, "--webui-port", str(free_port()))  # fmt: skip
        wait_for(master, "Registering worker", "worker")
        yield url
    finally:
        for proc in procs[::-1]:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(root, ignore_errors=True)


#: DuckDB's inferred CSV types -> the PostgreSQL types a CRM database would use
_PG_TYPES = {
    "VARCHAR": "text",
    "DATE": "date",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "TIMESTAMP": "timestamp",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "DOUBLE": "double precision",
    "BOOLEAN": "boolean",
}


#: rows :func:`copy_folder_to_postgres` holds at a time
COPY_ROWS = 100_000


@contextlib.contextmanager
def postgres_role(
    url: str, name: str, settings: dict[str, str] | None = None, reads: str | None = None
):
    """A login role ``name`` on the server of ``url`` (a superuser's URL) whose sessions start
    with ``settings`` (``ALTER ROLE ... SET``), allowed to read every table of the schema
    ``reads``; yields its URL (password ``pw-<name>``), and drops it at the end."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'pw-{name}'")
        for key, value in (settings or {}).items():
            c.execute(f"ALTER ROLE {name} SET {key} = '{value}'")
        if reads:
            c.execute(f"GRANT USAGE ON SCHEMA {reads} TO {name}")
            c.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {reads} TO {name}")
    try:
        yield f"postgresql://{name}:pw-{name}@" + url.split("@")[1]
    finally:
        with psycopg.connect(url, autocommit=True) as c:
            if reads:
                c.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {reads} FROM {name}")
                c.execute(f"REVOKE ALL ON SCHEMA {reads} FROM {name}")
            c.execute(f"DROP ROLE {name}")


def copy_folder_to_postgres(url: str, folder: Path, schema: str) -> list[str]:
    """Every ``NAME.csv`` (or ``NAME.parquet``) of ``folder`` as a typed table ``schema.NAME``
    (types as DuckDB infers them, a column with any unreadable value stays text; numbers in
    ``amount`` and ``value`` columns ``numeric``, as a database stores money), rows in file
    order, copied :data:`COPY_ROWS` rows at a time. Returns the table names."""
    import duckdb
    import psycopg

    names = []
    with psycopg.connect(url) as conn, duckdb.connect() as duck:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        paths = sorted([*folder.glob("*.csv"), *folder.glob("*.parquet")])
        for path in paths:
            read = "read_csv" if path.suffix == ".csv" else "read_parquet"
            extra = ", all_varchar=false" if path.suffix == ".csv" else ""
            rel = duck.sql(f"SELECT * FROM {read}('{path}'{extra})")
            cols = []
            for name, typ in zip(rel.columns, rel.types, strict=True):
                pg = _PG_TYPES[str(typ)]
                if name in ("amount", "value") and pg == "double precision":
                    pg = "numeric"
                cols.append(f'"{name}" {pg}')
            conn.execute(f'CREATE TABLE "{schema}"."{path.stem}" ({", ".join(cols)})')
            with conn.cursor().copy(f'COPY "{schema}"."{path.stem}" FROM STDIN') as copy:
                while rows := rel.fetchmany(COPY_ROWS):
                    for row in rows:
                        copy.write_row(row)
            names.append(path.stem)
    return names
