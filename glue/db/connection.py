"""How the glue opens a database connection: the one place that knows the connection may pass
through a pooler, and that counts the connections a process holds.

Supabase's "Connect" dialog offers three URLs for one database: the direct connection, Supavisor
in session mode (port 5432 of the pooler host) and Supavisor in transaction mode (port 6543).
Every connection of the glue is opened here (:class:`GlueConnection`, the pools' connection class
too) so that it works the same through each, and the connections a process holds at once are
kept within MOCKBOOK_DATABASE_CONNECTIONS (:func:`configure`; docs/operations.md, "Connection
budget").
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from glue import lifecycle
from glue.config import ConfigError
from glue.logs import fields

log = logging.getLogger(__name__)

# psycopg's option: never prepare a statement on the server (docs/operations.md, "Which URL")
NO_PREPARE: dict[str, Any] = {"prepare_threshold": None}
# a new connection not served within this long is logged as waiting (then again when served)
WAIT_REPORT_SECONDS = 2.0
SETTING = "MOCKBOOK_DATABASE_CONNECTIONS"
# A stop (glue.lifecycle) ends a wait for a connection: a new connection that no server has
# served yet has no statement to cancel (a cancel request reaches no server: PgBouncer holds the
# client), so the signal's usual way of ending work in hand cannot end it, and the pooler may keep
# it waiting for minutes (PgBouncer's ``query_wait_timeout``, 120 s by default). psycopg drives a
# connection attempt and each statement from Python: a generator says what it waits for, and its
# wait function hands it back what is ready, or nothing when it woke with nothing (every tenth of
# a second: psycopg.waiting's ``interval``, "to check for other interrupt, e.g. to allow Ctrl-C";
# https://github.com/psycopg/psycopg/issues/231). Until a new
# connection is served, its generators pass through :func:`_until_stopped`, which ends them
# (:class:`WaitEnded`) when they wake with nothing and the stop ends connection waits; a wait
# for a pool's connection (:class:`GluePool`) waits in steps of psycopg_pool's own timeout,
# looking at the stop between two.
POOL_WAIT_STEP = 0.1  # seconds
T = TypeVar("T")


class WaitEnded(psycopg.OperationalError):
    """A wait for a database connection that a stop ended (glue.lifecycle): the connection
    was given up."""


def _until_stopped(gen: Generator[Any, Any, T]) -> Generator[Any, Any, T]:
    """psycopg's generator ``gen`` (a connection attempt, or a statement on a connection not
    served yet), ended with :class:`WaitEnded` when its wait function wakes it with nothing
    ready and the stop ends connection waits."""
    try:
        wanted = next(gen)
    except StopIteration as done:
        return done.value
    while True:
        ready = yield wanted
        if not ready and lifecycle.connection_waits_end():
            gen.close()
            raise WaitEnded("the stop ended a wait for the database to serve a new connection")
        try:
            wanted = gen.send(ready)
        except StopIteration as done:
            return done.value


class _Budget:
    """The connections this process holds now (``open``), the most it held at once since the
    command started (``peak``), and the cap (None: none).

    In session mode each client connection holds a server connection for its life, and Supavisor
    admits as many clients per role and database as the project's pool size (15 is common; the
    16th waits up to a minute, then is refused:
    https://github.com/supabase/supabase/discussions/22305). So each process lays its pools out
    within the cap (:class:`Layout`), and a connection beyond it waits for one to close, saying
    so, rather than adding to the pooler's queue. A new connection's first statement is watched
    as well (:func:`_served`): a session pooler whose server connections are all taken keeps a
    new client waiting there, and after WAIT_REPORT_SECONDS the wait is logged
    (``database_wait``) instead of passing in silence.
    """

    def __init__(self) -> None:
        self.cap: int | None = None
        self.open = 0
        self.peak = 0
        self._cond = threading.Condition()

    def configure(self, cap: int | None) -> None:
        with self._cond:
            self.cap = cap
            self.peak = self.open
            self._cond.notify_all()

    def acquire(self) -> None:
        with self._cond:
            waited_from: float | None = None
            while self.cap is not None and self.open >= self.cap:
                if waited_from is None:
                    waited_from = time.monotonic()
                if not self._cond.wait(WAIT_REPORT_SECONDS) and waited_from is not None and \
                        time.monotonic() - waited_from >= WAIT_REPORT_SECONDS:
                    log.warning(
                        "waiting for a database connection: this process holds its %d "
                        "(%s), all in use", self.cap, SETTING,
                        extra=fields(event="database_wait", cap=self.cap))
                    waited_from = float("inf")  # said once per wait
            self.open += 1
            self.peak = max(self.peak, self.open)

    def release(self) -> None:
        with self._cond:
            self.open -= 1
            self._cond.notify()


_BUDGET = _Budget()


def configure(cap: int | None) -> None:
    """The process's cap (MOCKBOOK_DATABASE_CONNECTIONS; None: none), set once a command has
    read its settings; the peak is counted from here."""
    _BUDGET.configure(cap)


def cap() -> int | None:
    return _BUDGET.cap


def peak() -> int:
    """The most connections this process held at once since :func:`configure`."""
    return _BUDGET.peak


def held() -> int:
    """The connections this process holds now."""
    return _BUDGET.open


def _served(conn: GlueConnection, what: str) -> None:
    """A first round trip on a new connection, watched: through a session-mode pooler whose
    server connections are all taken, this is where a new client waits (a stop ends it)."""
    started = time.monotonic()
    waiting = threading.Event()

    def report() -> None:
        waiting.set()
        log.warning("waiting for the database to serve a new connection (%s): a pooler in "
                    "session mode with every server connection of its pool in use keeps a new "
                    "client waiting (docs/operations.md, Connection budget)", what,
                    extra=fields(event="database_wait", connection=what))

    timer = threading.Timer(WAIT_REPORT_SECONDS, report)
    timer.daemon = True
    timer.start()
    conn._pending = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        if not conn.autocommit:
            conn.rollback()
    finally:
        conn._pending = False
        timer.cancel()
    if waiting.is_set():
        log.info("the database served the new connection after %.1f s",
                 time.monotonic() - started, extra=fields(event="database_served"))


class GlueConnection(psycopg.Connection[Any]):
    """A psycopg connection of the glue: no server-side prepared statements, counted in the
    process's budget from its opening to its close (or its collection), its first round trip
    watched.

    In transaction mode a client's connection is served by whichever server connection is free
    for each transaction, so nothing may live on a server connection from one transaction to the
    next: no server-side prepared statement (Supabase, "Disabling prepared statements":
    https://supabase.com/docs/guides/troubleshooting/disabling-prepared-statements-qL8lEL;
    psycopg prepares a statement once it has run five times unless ``prepare_threshold`` is
    None), no session ``SET``, no ``LISTEN``, no session advisory lock (PgBouncer's feature map
    of its pooling modes: https://www.pgbouncer.org/features.html). So these connections never
    prepare; the glue sets only transaction-local settings (``SET LOCAL``, ``set_config(...,
    true)``), holds its one-at-a-time work with leases (glue.db.lease) and follows the outbox by
    polling (glue.cache.OutboxWatch).
    """

    _slot: Callable[[], Any] | None = None
    _pending = False  # its first round trip is under way: a stop ends its waits

    @classmethod
    def connect(cls, conninfo: str = "", **kwargs: Any) -> GlueConnection:  # type: ignore[override]
        _BUDGET.acquire()
        with lifecycle.connection_wait():
            try:
                conn = super().connect(conninfo, **(NO_PREPARE | kwargs))
            except BaseException:
                _BUDGET.release()
                raise
            conn._slot = weakref.finalize(conn, _BUDGET.release)
            try:
                _served(conn, str(kwargs.get("application_name") or "mockbook"))
            except BaseException:
                conn.close()
                raise
        return conn  # type: ignore[return-value]

    @classmethod
    def _connect_gen(cls, conninfo: str = "", **kwargs: Any) -> Any:
        # the attempt's generator (psycopg 3.2 passes it a timeout, 3.3 does not)
        return _until_stopped(super()._connect_gen(conninfo, **kwargs))

    def wait(self, gen: Any, *args: Any, **kwargs: Any) -> Any:
        return super().wait(_until_stopped(gen) if self._pending else gen, *args, **kwargs)

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._slot is not None:
                self._slot()  # once: a finalizer runs at most once


def connect(url: str, **kwargs: Any) -> GlueConnection:
    """``psycopg.connect(url, **kwargs)`` as the glue connects: :class:`GlueConnection`."""
    return GlueConnection.connect(url, **kwargs)


class GluePool(ConnectionPool[Any]):
    """psycopg_pool's pool, whose wait for a connection a stop ends (:class:`WaitEnded`): it
    waits in steps of POOL_WAIT_STEP, psycopg_pool's own timeout, within the caller's."""

    def getconn(self, timeout: float | None = None) -> Any:
        if lifecycle.current() is None:
            return super().getconn(timeout)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        with lifecycle.connection_wait():
            while True:
                left = deadline - time.monotonic()
                try:  # a connection the pool has is taken, stop or not
                    return super().getconn(max(min(POOL_WAIT_STEP, left), 0.0))
                except PoolTimeout:
                    if left <= POOL_WAIT_STEP:
                        raise PoolTimeout(f"couldn't get a connection after "
                                          f"{self.timeout if timeout is None else timeout:.2f} "
                                          "sec") from None
                if lifecycle.connection_waits_end():
                    raise WaitEnded(f"the stop ended a wait for a connection of the pool "
                                    f"{self.name!r}")


def pool_kwargs(**kwargs: Any) -> dict[str, Any]:
    """The ``kwargs`` of a psycopg_pool pool's connections (whose ``connection_class`` is
    :class:`GlueConnection`): ``kwargs`` without server-side prepared statements."""
    return NO_PREPARE | kwargs


def pool_size(wanted: int) -> int:
    """A pool's largest size within the process's cap: ``wanted``, or what the cap leaves
    beside one connection of the process's own (at least 1). The layouts of `run`, `worker`
    and `webhooks serve` (:class:`Layout`) size their pools within the cap already."""
    if _BUDGET.cap is None:
        return wanted
    return max(1, min(wanted, _BUDGET.cap - 1))


# ---- how each process lays its connections out ----------------------------------------------
@dataclass(frozen=True)
class Layout:
    """The connections of one kind of process: those it keeps or opens beside its pools
    (``own``: name, count) and its pools' sizes (``pools``: name, largest size), the pools
    listed in the order they keep connections under a cap (the first the longest)."""

    command: str
    own: tuple[tuple[str, int], ...]
    pools: tuple[tuple[str, int], ...]

    @property
    def most(self) -> int:
        """Connections at once, uncapped."""
        return sum(n for _, n in self.own) + sum(n for _, n in self.pools)

    @property
    def least(self) -> int:
        """The smallest cap it runs with: its own connections and one per pool."""
        return sum(n for _, n in self.own) + len(self.pools)

    def sizes(self, cap: int | None) -> dict[str, int]:
        """Each pool's largest size within ``cap`` (None: uncapped); ConfigError (exit 2)
        below :attr:`least`. Under a cap every pool keeps one connection, and what is left
        goes to the pools in their order, one connection each in turn."""
        if cap is None or cap >= self.most:
            return dict(self.pools)
        if cap < self.least:
            parts = ", ".join([f"{name} {n}" for name, n in self.own]
                              + [f"{name} pool 1" for name, _ in self.pools])
            raise ConfigError(f"{SETTING}={cap} is below what `mockbook {self.command}` needs "
                              f"at least: {self.least} ({parts})")
        sizes = {name: 1 for name, _ in self.pools}
        left = cap - self.least
        while left:
            for name, most in self.pools:
                if left and sizes[name] < most:
                    sizes[name] += 1
                    left -= 1
        return sizes
