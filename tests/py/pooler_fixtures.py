"""A PgBouncer in front of the test server, on a private port, with a configuration the test
writes (never the system's service): the transaction-mode pooler Supabase's Supavisor mimics
(port 6543: ``pool_mode = transaction``, and ``max_prepared_statements = 0`` on a PgBouncer that
knows that setting, 1.21 and later; older ones pass no prepared statement between server
connections either) and the session-mode one (port 5432 of Supabase's pooler host).

    from pooler_fixtures import PgBouncer
    with PgBouncer("transaction", pool_size=4) as bouncer:
        url = bouncer.url(glue_url(database_url))   # the same database, through the pooler

One PgBouncer per test module (a module-scoped fixture); it serves every database of the test
server (``* =``), each (user, database) pair a pool of its own. ``tests/pooler_tools.py``
(`make test`) installs the Debian package when it is missing.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import random
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
import push_helpers
import pytest
from pooler_tools import which  # tests/pooler_tools.py (tests/ is on the path: its conftest)
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from waiting import wait_until

PORTS = range(16400, 16500)  # this project's private range for its poolers and servers
GLUE_USERS = ("postgres", "mockbook_test_glue")


def free_port() -> int:
    """A port of PORTS nothing listens on now (bound, then let go)."""
    ports = list(PORTS)
    random.shuffle(ports)
    for port in ports:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def pgbouncer_version(path: str) -> tuple[int, int]:
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout
    found = re.search(r"PgBouncer (\d+)\.(\d+)", out)
    return (int(found[1]), int(found[2])) if found else (0, 0)


def run_as() -> str | None:
    """PgBouncer refuses to run as root: the user it switches to (`-u`) when we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    raise RuntimeError("running as root, and no user postgres or nobody for PgBouncer")


class PgBouncer:
    """A PgBouncer process in ``mode`` (``transaction`` or ``session``) in front of the server
    of ``server_url``; ``pool_size`` server connections per (user, database) at most,
    ``max_client_conn`` clients in all. Clients over the pool wait for a server connection
    without end (``query_wait_timeout = 0``), as the tests want to see them wait."""

    def __init__(self, mode: str, server_url: str, *, pool_size: int = 4,
                 max_client_conn: int = 200, settings: dict[str, Any] | None = None) -> None:
        binary = which("pgbouncer")
        if binary is None:
            raise RuntimeError("PgBouncer is not installed: `make pooler-tools` (or apt-get "
                               "install pgbouncer) installs it")
        self.binary = binary
        self.mode = mode
        self.server = {k: str(v) for k, v in conninfo_to_dict(server_url).items()}
        self.pool_size = pool_size
        self.max_client_conn = max_client_conn
        self.settings = settings or {}
        self.port = 0
        self.dir = Path(tempfile.mkdtemp(prefix="mockbook-pgbouncer-"))
        self.dir.chmod(0o777)  # PgBouncer may run as another user (run_as)
        self.process: subprocess.Popen[bytes] | None = None

    # ---- configuration -------------------------------------------------------------------------
    def config(self) -> str:
        host, port = self.server.get("host", "127.0.0.1"), self.server.get("port", "5432")
        lines = [
            "[databases]",
            f"* = host={host} port={port}",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {self.port}",
            "unix_socket_dir =",
            "auth_type = trust",
            f"auth_file = {self.dir / 'users.txt'}",
            f"admin_users = {self.server.get('user', 'postgres')}",
            f"pool_mode = {self.mode}",
            f"default_pool_size = {self.pool_size}",
            f"max_client_conn = {self.max_client_conn}",
            "query_wait_timeout = 0",
            # a suite run under tests/mutate.py sets PGOPTIONS (a statement_timeout)
            "ignore_startup_parameters = options",
            f"logfile = {self.dir / 'pgbouncer.log'}",
            "log_connections = 0",
            "log_disconnections = 0",
        ]
        if self.mode == "transaction" and pgbouncer_version(self.binary) >= (1, 21):
            lines.append("max_prepared_statements = 0")  # as Supavisor: none
        lines += [f"{key} = {value}" for key, value in self.settings.items()]
        return "\n".join(lines) + "\n"

    def users(self) -> str:
        """The auth file: the glue's test role and the server's user, each with the server's
        password (PgBouncer logs in to the server with it; clients are trusted)."""
        password = self.server.get("password", "")
        names = {self.server.get("user", "postgres"), *GLUE_USERS}
        return "".join(f'"{name}" "{password}"\n' for name in sorted(names))

    # ---- process -------------------------------------------------------------------------------
    def start(self) -> PgBouncer:
        for _ in range(5):  # a port taken between the check and PgBouncer's bind: another one
            self.port = free_port()
            (self.dir / "users.txt").write_text(self.users())
            (self.dir / "pgbouncer.ini").write_text(self.config())
            for name in ("users.txt", "pgbouncer.ini"):
                (self.dir / name).chmod(0o644)
            user = run_as()
            command = [self.binary, *(["-u", user] if user else []),
                       str(self.dir / "pgbouncer.ini")]
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
            wait_until("PgBouncer listening", self._up_or_gone, timeout=60)
            if self._listening():
                return self
            self.process.wait(timeout=10)
        raise RuntimeError(f"PgBouncer did not start: {self.log()[-2000:]}")

    def _up_or_gone(self) -> bool:
        return self._listening() or (self.process is not None and self.process.poll() is not None)

    def _listening(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PgBouncer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.dir / "pgbouncer.log").read_text()
        return ""

    # ---- use -----------------------------------------------------------------------------------
    def url(self, url: str) -> str:
        """``url``'s user and database, through this PgBouncer (a postgresql:// URL, as
        Supabase's dialog gives it: `migrate` hands it to SQLAlchemy)."""
        return postgresql_url(url, host="127.0.0.1", port=self.port)

    def _admin(self, statement: str) -> list[dict[str, Any]]:
        """A statement of PgBouncer's admin console; its rows."""
        admin = make_conninfo(host="127.0.0.1", port=str(self.port), dbname="pgbouncer",
                              user=self.server.get("user", "postgres"))
        with psycopg.connect(admin, autocommit=True, prepare_threshold=None) as conn:
            cur = conn.execute(statement)
            names = [c.name for c in cur.description or []]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def let_go(self, database: str) -> None:
        """Close every connection PgBouncer holds to ``database`` (KILL, then RESUME: new
        clients are served again) and wait until their server processes are gone, so that the
        database is dropped at once (a drop waits for them otherwise)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(psycopg.Error):
                self._admin(f"KILL {database}")
                self._admin(f"RESUME {database}")
        push_helpers.close_kept(database)  # the test's own checks' connection, kept open
        admin = make_conninfo(**{k: v for k, v in self.server.items() if k != "dbname"},
                              dbname="postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            wait_until(f"the server connections to {database} closed", lambda: conn.execute(
                "SELECT count(*) = 0 FROM pg_stat_activity WHERE datname = %s",
                (database,)).fetchone()[0], timeout=60)

    def pools(self, database: str) -> list[dict[str, Any]]:
        """SHOW POOLS of the admin console: the pools of ``database`` (cl_active, cl_waiting,
        sv_active, sv_idle, ... per user)."""
        return [row for row in self._admin("SHOW POOLS") if row["database"] == database]


def postgresql_url(url: str, **override: Any) -> str:
    """``url`` (a URL or key=value string) as a postgresql:// URL, with ``override``'s
    parameters (host, port, sslmode, ...) in place of its own."""
    params = {k: str(v) for k, v in conninfo_to_dict(url).items()} | {
        k: str(v) for k, v in override.items()}
    user = quote(params.pop("user", "postgres"), safe="")
    password = params.pop("password", None)
    auth = f"{user}:{quote(password, safe='')}" if password else user
    host, port = params.pop("host", "127.0.0.1"), params.pop("port", "5432")
    dbname = quote(params.pop("dbname", "postgres"), safe="")
    query = f"?{urlencode(params)}" if params else ""
    return f"postgresql://{auth}@{host}:{port}/{dbname}{query}"


def pooled_database(bouncer_fixture: str = "bouncer"):
    """A fixture: ``push_db`` (a fresh database of its own) whose connections through the
    module's PgBouncer (the fixture named ``bouncer_fixture``) are closed before it is dropped."""

    @pytest.fixture
    def pooled_db(push_db: str, request: pytest.FixtureRequest) -> Iterator[str]:
        bouncer = request.getfixturevalue(bouncer_fixture)
        yield push_db
        bouncer.let_go(database_of(push_db))

    return pooled_db


def database_of(url: str) -> str:
    return str(conninfo_to_dict(url)["dbname"])


LEFTOVERS = """
SELECT pg_backend_pid(),
       (SELECT count(*) FROM pg_prepared_statements)::int,
       (SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory')::int,
       (SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema())::int,
       (SELECT count(*) FROM pg_listening_channels())::int,
       (SELECT count(*) FROM pg_cursors)::int,
       coalesce((SELECT string_agg(name || '=' || setting, ', ' ORDER BY name) FROM pg_settings
                 WHERE source = 'session' AND NOT name = ANY(%(tracked)s)), '')
"""
# not leftovers: set by PgBouncer itself on the server connection it hands a client (its
# tracked parameters), or a transaction's own characteristics, which PostgreSQL sets afresh at
# every transaction's start (SET TRANSACTION leaves them marked as set in the session)
TRACKED = ["application_name", "client_encoding", "DateStyle", "TimeZone",
           "standard_conforming_strings", "IntervalStyle", "search_path",
           "transaction_isolation", "transaction_read_only", "transaction_deferrable"]


def leftovers(bouncer: PgBouncer, url: str) -> list[str]:
    """What earlier transactions left on the pooled server connections of ``url``'s (user,
    database) pool: server-side prepared statements, advisory locks, temporary tables, LISTEN,
    open cursors, session settings. Every server connection of the pool is looked at: as many
    clients as the pool holds each open a transaction and keep it until all have answered, so
    each is served by a server connection of its own. One line per finding, none when clean."""
    found: list[str] = []
    conns = [psycopg.connect(bouncer.url(url), autocommit=True, prepare_threshold=None)
             for _ in range(bouncer.pool_size)]
    try:
        seen: set[int] = set()
        for conn in conns:
            conn.execute("BEGIN")
            pid, prepared, locks, temp, listening, cursors, settings = conn.execute(
                LEFTOVERS, {"tracked": TRACKED}).fetchone()
            assert pid not in seen, "two clients in one transaction each: one server connection"
            seen.add(pid)
            for what, count in (("prepared statement(s)", prepared), ("advisory lock(s)", locks),
                                ("temporary table(s)", temp), ("LISTEN channel(s)", listening),
                                ("open cursor(s) besides this one's", cursors - 1)):
                if count > 0:
                    found.append(f"server connection {pid}: {count} {what}")
            if settings:
                found.append(f"server connection {pid}: session settings {settings}")
    finally:
        for conn in conns:
            with contextlib.suppress(psycopg.Error):
                conn.execute("ROLLBACK")
            conn.close()
    return found


@contextlib.contextmanager
def pgbouncer(mode: str, server_url: str, **options: Any) -> Iterator[PgBouncer]:
    with PgBouncer(mode, server_url, **options) as bouncer:
        yield bouncer
