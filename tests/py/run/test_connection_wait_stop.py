"""A signal ends a wait for a database connection. Through PgBouncer in session mode with every
server connection of the pool taken (``query_wait_timeout = 0``: the pooler would keep a new
client waiting for ever), a command waiting for a new connection to be served gets SIGTERM: the
main thread's own first connection (`status`, interrupted where it stands; `run`, before its
steps), and a pool's connection that psycopg_pool's thread opens while a step waits for it (`run`,
and the worker, a service, whose steps finish their work in hand first). Each ends with its
documented exit code (143; 0 for the worker) and last line, no traceback, and no cancel request
psycopg would send for a statement that never reached a server. The waits never end by
themselves, so a command that ended at all ended because of the signal: no timing is asserted
(``BOUND`` only stops a hung test).

And a connection attempt no server answers (a socket that listens and says nothing) made in a
thread of a command that finishes its work in hand is ended by the stop when the grace ends:
psycopg's connection generator passes through the glue's (glue.db.connection)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from collections.abc import Iterator

import psycopg
import push_helpers
import pytest
import sandbox_fixtures
from glue_role import glue_url
from pooler_fixtures import PgBouncer, database_of, pooled_database
from push_helpers import env_for, mockbook
from waiting import wait_until

from glue import lifecycle
from glue.db.connection import GlueConnection, WaitEnded

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db
pooled_db = pooled_database("session_pool")
POOL = 2
BOUND = 60.0  # seconds: only stops a hung test
WAITING = "waiting for the database to serve a new connection"


@pytest.fixture(scope="module")
def session_pool(database_url: str) -> Iterator[PgBouncer]:
    with PgBouncer("session", database_url, pool_size=POOL) as bouncer:
        yield bouncer


@contextlib.contextmanager
def pool_taken(url: str, count: int) -> Iterator[None]:
    """``count`` of the pool's server connections held by clients of the test's own."""
    held = [psycopg.connect(url, autocommit=True, prepare_threshold=None) for _ in range(count)]
    try:
        for conn in held:
            conn.execute("SELECT 1")  # session mode: each holds a server connection now
        yield
    finally:
        for conn in held:
            conn.close()


@pytest.mark.parametrize("args, free, code", [
    (["status"], 0, 143),  # its first connection, in the main thread
    (["run"], 0, 143),  # the cycle's own connection, before the steps
    (["run"], 1, 143),  # a step's pool connection: psycopg_pool's thread waits, the step too
    (["worker"], 1, 0),  # a service: the lanes' pool connections
], ids=["status", "run-first-connection", "run-pool-connection", "worker"])
def test_a_signal_ends_a_wait_for_a_connection_the_pooler_holds(
        session_pool: PgBouncer, pooled_db: str, sandbox, args: list[str], free: int,
        code: int) -> None:
    url = session_pool.url(glue_url(pooled_db))
    with pool_taken(url, POOL - free):
        proc = mockbook(args, env_for(pooled_db, sandbox) | {"DATABASE_URL": url})
        said: list[str] = []
        reader = threading.Thread(target=lambda: said.extend(proc.stderr or ()), daemon=True)
        reader.start()
        try:
            wait_until("the wait reported", lambda: any(WAITING in line for line in said)
                       or proc.poll() is not None, timeout=BOUND)
            assert proc.poll() is None, said
            assert any(p["cl_waiting"] for p in session_pool.pools(database_of(pooled_db)))
            proc.send_signal(signal.SIGTERM)
            got = proc.wait(BOUND)  # the pool stays taken: only the signal ends the wait
            reader.join(BOUND)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(BOUND)
    text = "".join(said)
    assert got == code, text
    assert said[-1].strip() == f"mockbook {args[0]}: stopped by SIGTERM", text
    assert "Traceback" not in text and "cancellation" not in text, text


def test_a_connection_attempt_no_server_answers_ends_at_the_stop() -> None:
    """In a graceful command's thread (as psycopg_pool's), the attempt is left when the grace
    ends: WaitEnded, the connection closed."""
    outcome: dict[str, BaseException | None] = {}

    def attempt(url: str) -> None:
        try:
            GlueConnection.connect(url, autocommit=True).close()
            outcome["error"] = None
        except BaseException as exc:  # handed to the test
            outcome["error"] = exc

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"postgresql://nobody@127.0.0.1:{silent.getsockname()[1]}/nothing"
        with lifecycle.installed(), lifecycle.graceful():
            thread = threading.Thread(target=attempt, args=(url,), daemon=True)
            thread.start()
            peer, _ = silent.accept()  # the attempt waits for the server's answer now
            with peer:
                os.kill(os.getpid(), signal.SIGTERM)
                thread.join(BOUND)
    assert not thread.is_alive(), "the attempt outlived the stop"
    assert isinstance(outcome["error"], WaitEnded), outcome

