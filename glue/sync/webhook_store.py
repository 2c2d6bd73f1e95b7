"""The webhook intake's database calls (:class:`EventStore`), which answer at once while the
database is known to be down: HubSpot gives up on a delivery after 5 s and retries a 5xx, so a
503 now is worth more than one after the pool's wait.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg

from glue.db.database import Database
from glue.logs import fields

log = logging.getLogger("glue.sync.webhooks")

# The intake's calls answer within HubSpot's 5 s: a connection is waited for 2 s at most, a new
# one may take 2 s to connect (libpq's connect_timeout; 2 is its smallest).
STORE_WAIT_SECONDS = 2.0
CONNECT_TIMEOUT_SECONDS = 2
PROBE_SECONDS = 1.0  # while the database is down, a new connection is tried this often


class DatabaseDown(Exception):
    """The database is known to be down: the intake answers 503 without waiting for it."""


def _is_connection_failure(exc: psycopg.Error) -> bool:
    """A failure to reach the database (not an error of the call): no connection within the wait,
    a connection refused, lost or shut down, too many connections."""
    state = exc.sqlstate
    return isinstance(exc, psycopg.OperationalError) and (
        state is None or state.startswith(("08", "57P", "53"))
    )


class EventStore:
    """The intake's database calls: store a delivery (``store_webhook_events``), and ``health()``
    for ``/healthz``. A call that cannot reach the database marks it down: until a fresh
    connection succeeds again (tried every ``probe_seconds`` in a thread of its own), ``store``
    raises :class:`DatabaseDown` at once and ``health`` answers why, so that neither waits for the
    pool (HubSpot gives up after 5 s and retries a 5xx)."""

    def __init__(
        self,
        db: Database,
        *,
        probe: Callable[[], None] | None = None,
        probe_seconds: float = PROBE_SECONDS,
    ) -> None:
        self.db = db
        self._probe = probe or self._connect
        self._probe_seconds = probe_seconds
        self._down: str | None = None
        self._lock = threading.Lock()
        self._probing: threading.Thread | None = None
        self._closed = threading.Event()

    @property
    def down(self) -> str | None:
        """Why the database is known to be down, or None."""
        return self._down

    def store(self, events: list[dict[str, Any]]) -> dict[str, int]:
        down = self._down
        if down is not None:
            raise DatabaseDown(down)
        try:
            return self.db.store_webhook_events(events)
        except psycopg.Error as exc:
            if _is_connection_failure(exc):
                self.mark_down(exc)
            raise

    def health(self) -> str | None:
        """None when the database answers, else why it is down."""
        if self._down is None:
            try:
                self.db.ping()
            except psycopg.Error as exc:
                if not _is_connection_failure(exc):
                    raise
                self.mark_down(exc)
        return self._down

    def check_in_background(self) -> None:
        """Try a connection now (at start), without waiting for its answer."""
        threading.Thread(
            target=self._first_probe, name="mockbook-webhooks-probe", daemon=True
        ).start()

    def mark_down(self, exc: BaseException) -> None:
        why = first_line(exc)
        with self._lock:
            was_up = self._down is None
            self._down = why
            if was_up:
                log.warning(
                    "webhook intake: the database is down, deliveries get 503 (HubSpot retries "
                    "them) until it answers again: %s",
                    why,
                    extra=fields(event="webhook_database_down", why=why),
                )
            if self._probing is None or not self._probing.is_alive():
                self._probing = threading.Thread(
                    target=self._watch, name="mockbook-webhooks-probe", daemon=True
                )
                self._probing.start()

    def close(self) -> None:
        self._closed.set()

    def _first_probe(self) -> None:
        try:
            self._probe()
        except Exception as exc:
            self.mark_down(exc)

    def _watch(self) -> None:
        while not self._closed.wait(self._probe_seconds):
            try:
                self._probe()
            except Exception as exc:
                self._down = first_line(exc)
                continue
            # connections the pool held across the outage are broken: replaced before use
            try:
                self.db.pool.check()
            except psycopg.Error:
                continue
            with self._lock:
                self._down = None
            log.info(
                "webhook intake: the database answers again",
                extra=fields(event="webhook_database_up"),
            )
            return

    def _connect(self) -> None:
        self.db.probe(connect_timeout=CONNECT_TIMEOUT_SECONDS)


def first_line(exc: BaseException) -> str:
    """An error's first line (its type's name when it has no text)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
