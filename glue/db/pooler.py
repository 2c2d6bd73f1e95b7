"""What stands between the glue and PostgreSQL: a direct connection, a pooler in session mode
(one server connection per client connection, for the client's life) or a pooler in transaction
mode (a server connection per transaction: Supabase's Supavisor on port 6543, PgBouncer with
``pool_mode = transaction``). `mockbook status` names it; the commands that need a session of
their own (`migrate`, `demo`) refuse a transaction pooler at start (:func:`refuse_transaction`).
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from glue.config import ConfigError
from glue.db.connection import connect

TRANSACTION, SESSION, DIRECT, UNKNOWN = "transaction", "session", "direct", "unknown"
SUPABASE_POOLER = ".pooler.supabase.com"
SUPAVISOR_TRANSACTION_PORT, SUPAVISOR_SESSION_PORT = 6543, 5432
# the probe's transactions: A, B, A, B, A (A's server connection must stay A's; B's never be A's)
PROBE_ROUNDS = 2
PROBE_WAIT = 5.0  # seconds the probe waits for its second connection's answers


@dataclass(frozen=True)
class Mode:
    """``mode``: transaction, session, direct or unknown; ``evidence``: why, in words."""

    mode: str
    evidence: str

    def describe(self) -> str:
        names = {TRANSACTION: "transaction-mode pooler", SESSION: "session mode",
                 DIRECT: "direct", UNKNOWN: "cannot tell"}
        return f"{names[self.mode]} ({self.evidence})"

    def as_dict(self) -> dict[str, str]:
        return {"mode": self.mode, "evidence": self.evidence}


def _params(url: str) -> dict[str, Any]:
    try:
        return conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return {}


def by_host(url: str) -> Mode | None:
    """What Supabase's host names and ports say, or None."""
    params = _params(url)
    host = str(params.get("host") or "").lower()
    port = int(str(params.get("port") or "5432").split(",")[0] or 5432)
    if host.endswith(SUPABASE_POOLER):
        if port == SUPAVISOR_TRANSACTION_PORT:
            return Mode(TRANSACTION, f"{host}:{port} is Supavisor's transaction mode")
        if port == SUPAVISOR_SESSION_PORT:
            return Mode(SESSION, f"{host}:{port} is Supavisor's session mode")
    if host.startswith("db.") and host.endswith(".supabase.co"):
        return Mode(DIRECT, f"{host} is Supabase's direct connection")
    return None


def _pid(conn: psycopg.Connection[Any]) -> int:
    with conn.cursor() as cur:
        row = cur.execute("SELECT pg_backend_pid()").fetchone()
    return int(next(iter(row.values())) if isinstance(row, dict) else row[0])  # type: ignore[index]


def _local_end(conn: psycopg.Connection[Any]) -> tuple[str, int] | None:
    """The glue's own end of ``conn`` over TCP (address, port); None over a Unix socket."""
    fd = os.dup(conn.pgconn.socket)
    with socket.socket(fileno=fd) as sock:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return None
        address = sock.getsockname()
    return str(address[0]).removeprefix("::ffff:"), int(address[1])


def _server_sees(conn: psycopg.Connection[Any]) -> tuple[str | None, int | None]:
    with conn.cursor() as cur:
        row = cur.execute(
            "SELECT host(inet_client_addr()) AS addr, inet_client_port() AS port").fetchone()
    values = list(row.values()) if isinstance(row, dict) else list(row or (None, None))
    return (values[0], values[1])


def _probe(conn: psycopg.Connection[Any], url: str, pid_a: int, wait: float) -> dict[str, Any]:
    """A second connection's server pids beside ``conn``'s (``b``), and ``conn``'s again
    between them (``a``): a few rounds in a thread, given up after ``wait`` seconds (``error``
    then says why)."""
    probe: dict[str, Any] = {"a": [], "b": []}

    def second() -> None:
        try:
            with connect(url, autocommit=True, application_name="mockbook-probe",
                         connect_timeout=10) as other:
                for _ in range(PROBE_ROUNDS):
                    probe["b"].append(_pid(other))
                    probe["a"].append(_pid(conn))
                    if probe["b"][-1] == pid_a or probe["a"][-1] != pid_a:
                        return
            probe["done"] = True
        except psycopg.Error as exc:
            probe["error"] = str(exc).strip().splitlines()[0] if str(exc).strip() else "failed"

    thread = threading.Thread(target=second, name="mockbook-probe", daemon=True)
    thread.start()
    thread.join(wait)
    if thread.is_alive():
        probe["error"] = f"a second connection was not served within {wait:.0f} s: a full " \
                         "session pool?"
    return probe


def _by_address(conn: psycopg.Connection[Any]) -> Mode:
    """Session or direct, from the address and port the server sees against this end's."""
    local = _local_end(conn)
    addr, port = _server_sees(conn)
    if local is None:
        return Mode(SESSION, "over a Unix socket: each client connection keeps its server "
                             "connection; direct or a session-mode pooler, which cannot be "
                             "told apart here")
    if port is None:
        return Mode(SESSION, "the server sees a Unix-socket client while this process "
                             "connected over TCP: a pooler in session mode in between")
    loopback = ("127.0.0.1", "::1")
    if (addr, port) == local or (port == local[1] and addr in loopback
                                  and local[0] in loopback):
        return Mode(DIRECT, f"the server sees this process's own end {local[0]}:{local[1]}")
    return Mode(SESSION, f"the server sees {addr}:{port}, not this process's {local[0]}:"
                         f"{local[1]}: a pooler in session mode, or a proxy or NAT, in between; "
                         "each client connection keeps its server connection")


def detect(conn: psycopg.Connection[Any], url: str, *, wait: float = PROBE_WAIT) -> Mode:
    """What stands between this process and the server of ``conn`` (autocommit, opened on
    ``url``): the probe opens one more connection for a few transactions, and gives up on it
    after ``wait`` seconds (a session pool with no server connection free keeps it waiting).

    What can be told, and how sure it is (docs/operations.md, "Which URL for which command"):

    - **transaction mode, for certain**: two client connections open at once were served by one
      server connection (``pg_backend_pid()``), or one client connection by two in turn. Direct and
      session-mode connections never do either. A transaction pooler that happens to hand each of
      the probe's transactions its own server connection every time (a busy pool, round-robin) is
      not caught by the probe.
    - **Supabase's host names**: ``*.pooler.supabase.com`` port 6543 is Supavisor's transaction
      mode, port 5432 its session mode; ``db.<ref>.supabase.co`` is the direct connection.
    - **something in between, session mode**: the server sees the connection come from another
      address or port than the glue's own end of it (over TCP): a session-mode pooler, or a proxy or
      NAT, which look the same from here.
    - **direct**: the server sees the glue's own address and port. Over a Unix socket neither side
      has a port: a pooler listening on a socket cannot be told from the server itself.
    """
    pid_a = _pid(conn)
    probe = _probe(conn, url, pid_a, wait)
    if pid_a in probe["b"]:
        return Mode(TRANSACTION, "two client connections open at once were served by one "
                                 f"server connection (pid {pid_a})")
    changed = [pid for pid in probe["a"] if pid != pid_a]
    if changed:
        return Mode(TRANSACTION, "one client connection was served by server connections "
                                 f"{pid_a} and {changed[0]} in turn")
    named = by_host(url)
    if named is not None:
        return named
    if "error" in probe:
        return Mode(UNKNOWN, f"the probe could not tell ({probe['error']})")
    return _by_address(conn)


def session_url_hint(url: str) -> str:
    """Where a command that needs a session should connect instead, in words."""
    params = _params(url)
    host = str(params.get("host") or "")
    if host.lower().endswith(SUPABASE_POOLER):
        return (f"the session pooler ({host}:{SUPAVISOR_SESSION_PORT}, the same URL with port "
                f"{SUPAVISOR_SESSION_PORT}) or the direct connection (db.<project-ref>."
                "supabase.co:5432)")
    return ("the direct connection, or a pooler in session mode (Supabase: the session pooler, "
            f"port {SUPAVISOR_SESSION_PORT} of the pooler host)")


def refuse_transaction(conn: psycopg.Connection[Any], url: str, command: str, why: str) -> None:
    """ConfigError (one line, exit 2) when ``url`` goes through a transaction-mode pooler:
    ``command`` needs a session of its own (``why``)."""
    found = detect(conn, url)
    if found.mode == TRANSACTION:
        raise ConfigError(
            f"{command} cannot run through a transaction-mode pooler ({found.evidence}): "
            f"{why}. Use {session_url_hint(url)} for it")
