"""Leases: one process at a time for a piece of the glue's work (`mockbook run`'s cycle, the
audit-notes writer), held as a row of mockbook_internal.glue_leases.

Taken with one call of ``take_glue_lease`` (its own transaction), renewed by the same call every
quarter of its length while the work goes on (:meth:`Lease.kept`, a thread), given back with
``release_glue_lease``. Nothing of it lives on a server connection, so it works alike directly
and through a pooler in either mode (glue.db.connection). A holder that dies keeps its lease
until it expires (``LEASE_SECONDS``); a holder of this host whose process is gone (its name is
``host:pid:random``) is taken over at once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import tuple_row

log = logging.getLogger(__name__)

# A lease lasts this long unless renewed; it is renewed every RENEW_EVERY seconds, so a renewal
# may fail (the database away, a pool busy) twice before the lease runs out.
LEASE_SECONDS = 60.0
RENEW_EVERY = LEASE_SECONDS / 4

_TAKE = ("SELECT mockbook_internal.take_glue_lease(p_name => %s, p_holder => %s, "
         "p_seconds => %s, p_take_from => %s)")
_RELEASE = "SELECT mockbook_internal.release_glue_lease(p_name => %s, p_holder => %s)"

Connections = Callable[[], AbstractContextManager[psycopg.Connection[Any]]]


def holder_name() -> str:
    """This process's name as a lease holder: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def holder_gone(holder: str) -> bool:
    """Whether ``holder`` (``host:pid:random``) names a process of this host that no longer
    runs. Another host's holder, or another name, is never judged gone: its lease expires."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)  # signal 0: nothing is sent
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: alive
        return False
    return False


@dataclass(frozen=True)
class LeaseState:
    """A lease as take_glue_lease answered: held by us (``taken``) or by ``holder`` until
    ``expires_at`` (``expires_in`` seconds from the answer)."""

    taken: bool
    holder: str | None
    taken_at: datetime | None = None
    expires_in: float | None = None

    def describe(self) -> str:
        """``held by host:pid:abc123 since 12:00:01 UTC, for 41 s more unless renewed``."""
        if self.holder is None:
            return "just released"
        since = f" since {self.taken_at:%H:%M:%S} UTC" if self.taken_at else ""
        more = (f", for {self.expires_in:.0f} s more unless renewed"
                if self.expires_in is not None else "")
        return f"held by {self.holder}{since}{more}"


class Lease:
    """``Lease(name)``: the lease ``name`` for this process. ``take(conn)`` once (or until it is
    ours), then ``with lease.kept(connections, on_lost=...):`` around the work, which renews it
    on connections from ``connections``; ``release(conn)`` at the end. ``lost`` is set when a
    renewal found another holder (this process stalled past its lease)."""

    def __init__(self, name: str, holder: str | None = None, *,
                 seconds: float = LEASE_SECONDS) -> None:
        self.name = name
        self.holder = holder or holder_name()
        self.seconds = seconds
        self.lost = threading.Event()

    def _call(self, conn: psycopg.Connection[Any], take_from: str | None) -> LeaseState:
        with conn.cursor(row_factory=tuple_row) as cur:  # whatever rows the connection makes
            (answer,) = cur.execute(
                _TAKE, (self.name, self.holder, self.seconds, take_from)).fetchone() or (None,)
        answer = answer or {}
        taken_at = answer.get("taken_at")
        return LeaseState(
            taken=bool(answer.get("taken")),
            holder=answer.get("holder"),
            taken_at=datetime.fromisoformat(taken_at) if taken_at else None,
            expires_in=answer.get("expires_in"),
        )

    def take(self, conn: psycopg.Connection[Any]) -> LeaseState:
        """Take (or renew) the lease on ``conn`` (autocommit): ours when free, expired, already
        ours, or held by a process of this host that is gone."""
        state = self._call(conn, None)
        if not state.taken and state.holder and holder_gone(state.holder):
            log.info("lease %s: its holder %s is gone: taken over", self.name, state.holder)
            state = self._call(conn, state.holder)
        return state

    def release(self, conn: psycopg.Connection[Any]) -> bool:
        """Give the lease back (False: it was not ours any more)."""
        with conn.cursor(row_factory=tuple_row) as cur:
            row = cur.execute(_RELEASE, (self.name, self.holder)).fetchone()
        return bool(row and row[0])

    @contextmanager
    def kept(self, connections: Connections, *,
             on_lost: Callable[[], None] = lambda: None) -> Iterator[None]:
        """Renew the lease every RENEW_EVERY seconds while the block runs, each time on a
        connection of ``connections()`` (a pool's ``connection``). A renewal that finds another
        holder sets ``lost`` and calls ``on_lost()`` once; one that fails (the database away)
        is tried again at the next turn."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(RENEW_EVERY):
                try:
                    with connections() as conn:
                        state = self._call(conn, None)
                except Exception as exc:  # the database away: the next turn tries again
                    log.warning("lease %s: could not renew it (%s); trying again in %.0f s",
                                self.name, str(exc).strip().splitlines()[0] if str(exc).strip()
                                else type(exc).__name__, RENEW_EVERY)
                    continue
                if not state.taken:
                    log.error("lease %s: lost to %s (this process did not renew it for %.0f s)",
                              self.name, state.holder, self.seconds)
                    self.lost.set()
                    on_lost()
                    return

        thread = threading.Thread(target=renew, name=f"mockbook-lease-{self.name}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join(timeout=30)
