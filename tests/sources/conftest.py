"""Real engines for the company-source tests, started once per test session on 127.0.0.1.

PostgreSQL: Debian's ``postgresql`` (``make test`` installs it): ``initdb`` in a temporary
folder, listening on 127.0.0.1 only, its unix socket in that folder, password authentication
over TCP. PostgreSQL refuses to run as root: as root (CI) the server runs as the ``postgres``
user the package creates. The small demo database (tests/conftest.py) is loaded into it.

Spark: local mode (``local[2]``, two shuffle partitions, UTC) with Debian's
``openjdk-17-jre-headless``: one session shared by every test (starting one takes seconds).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import duckdb
import pytest

SUPERUSER, PASSWORD = "kamdash", "s3cret-for-tests"
READER, READER_PASSWORD = "reader", "reader-pw"  # may connect, may read nothing
TABLES = ("order_lines", "customers", "products", "cost_to_serve")
PG_TYPES = {"VARCHAR": "text", "DATE": "date", "DOUBLE": "double precision", "INTEGER": "integer"}


def pg_bindir() -> str | None:
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


PREFIX = "kamdash-pg-"
YOUNG_S = 600  # a folder without an owner this new may be one another session is setting up


def _pid_in(path: Path) -> int | None:
    """The process id on the first line of ``path`` (the owner file, postmaster.pid)."""
    try:
        first = path.read_text().split("\n", 1)[0].strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(first) if first.isdigit() else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    try:  # a zombie (exited, not yet reaped) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def sweep_stale_servers(tmp: Path | None = None) -> list[Path]:
    """Stop and remove the servers that killed test runs left behind: the ``kamdash-pg-*``
    folders whose owner (the pytest process that made it, in ``owner``) is gone, or, without
    an owner file (older runs), whose postmaster is dead and that are not brand new. A live
    postmaster of a gone owner gets SIGQUIT (PostgreSQL's immediate shutdown)."""
    removed = []
    for root in sorted(Path(tmp or tempfile.gettempdir()).glob(PREFIX + "*")):
        owner = _pid_in(root / "owner")
        postmaster = _pid_in(root / "data" / "postmaster.pid")
        running = postmaster is not None and _alive(postmaster)
        if owner is not None and _alive(owner):
            continue
        if owner is None:
            try:
                young = time.time() - root.stat().st_mtime < YOUNG_S
            except OSError:
                continue
            if running or young:
                continue
        if running:
            os.kill(postmaster, signal.SIGQUIT)
            for _ in range(100):
                if not _alive(postmaster):
                    break
                time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)
        removed.append(root)
    return removed


class Postgres:
    def __init__(self, bindir: str):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix=PREFIX))  # not under a 0700 pytest folder
        (self.root / "owner").write_text(f"{os.getpid()}\n")  # see sweep_stale_servers
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user = []
        if os.geteuid() == 0:  # PostgreSQL will not run as root
            shutil.chown(self.root, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD)
        if self.as_user:
            shutil.chown(pwfile, "postgres", "postgres")
        self._run(f"{self.bindir}/initdb", "-D", str(self.data), "-U", SUPERUSER, f"--pwfile={pwfile}",
                  "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-locale")
        opts = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=20 "
                "-c shared_buffers=32MB")
        self._run(f"{self.bindir}/pg_ctl", "-D", str(self.data), "-o", opts, "-l", str(self.root / "log"),
                  "-w", "-t", "60", "start")

    def stop(self) -> None:
        try:
            self._run(f"{self.bindir}/pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, user: str = SUPERUSER, database: str = "sales") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "sales"):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, password=PASSWORD,
                               dbname=database, autocommit=True)


def copy_tables(pg_con, duck_path: Path, where: str = "", tables=TABLES, schema: str = "sales") -> None:
    """Create ``schema.<table>`` in PostgreSQL with the demo's rows (``where``: a filter on
    order_lines, our own text)."""
    from kamdash import schema as ks

    src = duckdb.connect(str(duck_path), read_only=True)
    try:
        pg_con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        for t in tables:
            cols = ks.SALES_TABLES[t]
            ddl = ", ".join(f"{c} {PG_TYPES[typ.split()[0]]}" for c, typ in cols.items())
            pg_con.execute(f"CREATE TABLE IF NOT EXISTS {schema}.{t} ({ddl})")
            rows = src.execute(f"SELECT {', '.join(cols)} FROM {t} {where if t == 'order_lines' else ''}").fetchall()
            with pg_con.cursor().copy(f"COPY {schema}.{t} ({', '.join(cols)}) FROM STDIN") as cp:
                for r in rows:
                    cp.write_row(r)
    finally:
        src.close()


@pytest.fixture(scope="session")
def postgres():
    """A running PostgreSQL with the database ``sales`` (empty) and a user without rights."""
    bindir = pg_bindir()
    if bindir is None or (os.geteuid() == 0 and shutil.which("runuser") is None):
        pytest.skip("no PostgreSQL server (initdb): install Debian's postgresql (make test does)")
    sweep_stale_servers()
    pg = Postgres(bindir)
    pg.start()
    try:
        with pg.connect("postgres") as con:
            con.execute("CREATE DATABASE sales")
            con.execute(f"CREATE ROLE {READER} LOGIN PASSWORD '{READER_PASSWORD}'")
        yield pg
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def spark():
    """The one local Spark session of the test session (kamdash.ingest.sources keeps it)."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("no Java: install Debian's openjdk-17-jre-headless (make test does)")
    from kamdash.ingest import sources

    session = sources.spark_session("spark://local[2]")
    yield session
    session.stop()
    sources._spark_sessions.pop("spark://local[2]", None)
