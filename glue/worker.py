"""The sync job in its two modes (SPEC §8; STYLE: one-shot and long-running share one step
function, glue.steps.step):

- `mockbook run` (:func:`run_once`): every step once, under a per-database advisory lock
  (``pg_try_advisory_lock(hashtextextended('mockbook:run', 0))``, session-level, on the
  connection the cycle uses, so it is released when the run ends or dies). A second run finds
  it taken: it exits 75 at once, or waits with --wait.
- `mockbook worker` (:class:`Worker`): the same steps when they are due. A notification on
  ``mockbook_sync`` (on its own autocommit connection) applies the cache changes at once and
  pushes after ``worker_debounce_seconds``, counted from the first notification so a rush is
  batched but never postponed; the outbox is read every ``worker_poll_seconds`` anyway (a
  missed notification, rows coming due after a backoff: the next due time is asked after each
  push); the pull and the audit notes every ``worker_pull_seconds``; the analytics when due
  (checked every minute); the purge daily. A push step pushes for at most 10 s, then the loop
  looks at notifications and timers again and carries on.

Reconnection: a lost database connection (a restart, pg_terminate_backend) closes every
connection and reconnects, at once then after 1 s, doubling up to 30 s; then LISTEN again, the
outbox rows this worker still leased (the interrupted batch) are given back at once (no attempt
counted; HubSpot writes are idempotent), the Redis keys are rebuilt and the queue is pushed. Redis
restarts are the CacheKeeper's business (it rebuilds the keys once Redis answers).

Stopping: SIGTERM/SIGINT set ``stop``; the current batch is finished (completed or given back),
no new one is claimed, nothing stays leased, exit 0. All connections carry application_name
'mockbook-worker' (or 'mockbook-run'), so an operator can find them in pg_stat_activity.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import psycopg

from glue import exitcodes
from glue.cache import CHANNEL, CacheKeeper
from glue.config import ConfigError, Settings
from glue.db import Database
from glue.logs import fields
from glue.push import default_worker_name
from glue.steps import (
    CONFIG,
    FAILED,
    STEPS,
    Cycle,
    CycleReport,
    StepResult,
    check_hubspot,
    database_lost,
    describe,
    first_line,
    hubspot_seams,
    level_of,
    step,
)

log = logging.getLogger(__name__)

RUN_LOCK = "mockbook:run"
RUN_APPLICATION = "mockbook-run"
WORKER_APPLICATION = "mockbook-worker"


# ---- one-shot: `mockbook run` --------------------------------------------------------------------
def connect(url: str, application_name: str) -> psycopg.Connection:
    return psycopg.connect(
        url, autocommit=True, application_name=application_name, connect_timeout=10
    )


def try_run_lock(conn: psycopg.Connection) -> bool:
    """The per-database run lock, session-level: held until released or the session ends."""
    return bool(
        conn.execute(
            "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (RUN_LOCK,)
        ).fetchone()[0]
    )


def acquire_run_lock(
    conn: psycopg.Connection,
    *,
    wait: bool,
    stop: threading.Event,
    on_wait: Callable[[], None] = lambda: None,
) -> bool:
    """True once ``conn`` holds the run lock; False when another run holds it and ``wait`` is
    off (or a stop was asked while waiting). ``on_wait`` is called once, when waiting starts."""
    delay, announced = 0.2, False
    while not try_run_lock(conn):
        if not wait or stop.is_set():
            return False
        if not announced:
            on_wait()
            announced = True
        if stop.wait(delay):
            return False
        delay = min(delay * 2, 2.0)
    return True


def check_migrated(conn: psycopg.Connection) -> None:
    found = conn.execute(
        "SELECT to_regprocedure('hubspot_sync.purge_sync_queue(interval)') IS NOT NULL"
    ).fetchone()[0]
    if not found:
        raise ConfigError("the database has no mockbook schema; run `mockbook migrate`")


def run_once(
    settings: Settings,
    url: str,
    conn: psycopg.Connection,
    *,
    stop: threading.Event,
    batch_size: int = 1000,
    lease_seconds: int = 120,
    push_budget: float | None = None,
    push_linger: float = 5.0,
) -> CycleReport:
    """One cron cycle on ``conn`` (which holds the run lock): every step once."""
    hubspot, reader = hubspot_seams(settings)
    keeper = CacheKeeper(settings.redis_url)
    with Database(url, max_size=3, application_name=RUN_APPLICATION) as db:
        cycle = Cycle(
            settings=settings,
            conn=conn,
            db=db,
            keeper=keeper,
            hubspot=hubspot,
            reader=reader,
            stop=stop,
            batch_size=batch_size,
            lease_seconds=lease_seconds,
            push_budget=settings.run_push_budget_seconds if push_budget is None else push_budget,
            push_linger=push_linger,
        )
        try:
            return step(cycle, STEPS)
        finally:
            keeper.close()


# ---- long-running: `mockbook worker` -------------------------------------------------------------
DAY = 86400.0
ANALYTICS_CHECK_SECONDS = 60.0
WORKER_PUSH_BUDGET = 10.0  # then the loop looks at notifications and timers, and goes on
MAX_WAIT = 0.5  # the longest the loop sleeps without looking at the stop flag


class _DatabaseLost(Exception):
    pass


class Worker:
    """``Worker(settings, url, stop=event).run()`` -> exit code; returns once ``stop`` is set
    (SIGTERM/SIGINT), after the current batch."""

    def __init__(
        self,
        settings: Settings,
        url: str,
        *,
        stop: threading.Event,
        batch_size: int = 1000,
        lease_seconds: int = 120,
        name: str | None = None,
    ) -> None:
        self.settings = settings
        self.url = url
        self.stop = stop
        self.name = name or default_worker_name()
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.keeper = CacheKeeper(settings.redis_url)
        self.hubspot, self.reader = hubspot_seams(settings)
        self.cycle: Cycle | None = None
        self.listen_conn: psycopg.Connection | None = None
        now = time.monotonic()
        self.push_at: float | None = now
        self.next_poll = now + settings.worker_poll_seconds
        self.next_pull = now
        self.next_analytics = now
        self.next_purge = now
        self.reconnects = 0
        self.hubspot_ready = False
        self.cache_due = True

    # ---- connections --------------------------------------------------------------------------
    def _open(self) -> None:
        """Connect, LISTEN, give back what an interrupted batch of ours had leased, and ask for
        a cache rebuild and a push (notifications may have been missed)."""
        self._close()
        listen_conn = connect(self.url, WORKER_APPLICATION)
        self.listen_conn = listen_conn
        listen_conn.execute(f"LISTEN {CHANNEL}")
        conn = connect(self.url, WORKER_APPLICATION)
        db = Database(self.url, max_size=3, application_name=WORKER_APPLICATION)
        db.pool.timeout = 10.0  # a pool waiting 30 s for a dead server would stall the loop
        self.cycle = Cycle(
            settings=self.settings,
            conn=conn,
            db=db,
            keeper=self.keeper,
            hubspot=self.hubspot,
            reader=self.reader,
            stop=self.stop,
            worker=self.name,
            batch_size=self.batch_size,
            lease_seconds=self.lease_seconds,
            push_budget=WORKER_PUSH_BUDGET,
            incremental_cache=True,
            record_idle_push_every=60.0,
            hubspot_ready=self.hubspot_ready,
        )
        self.release_leases("the worker lost its database connection mid-batch")
        now = time.monotonic()
        self.push_at = now
        self.cache_due = True

    def _close(self) -> None:
        cycle, self.cycle = self.cycle, None
        for closer in (
            (lambda: cycle.db.close()) if cycle else None,
            (lambda: cycle.conn.close()) if cycle else None,
            self.listen_conn.close if self.listen_conn else None,
        ):
            if closer is not None:
                try:
                    closer()
                except Exception as exc:  # closing a broken connection may complain
                    log.debug("closing: %s", exc)
        self.listen_conn = None
        if cycle is not None:  # what the next cycle needs to know
            self.hubspot_ready = cycle.hubspot_ready

    def release_leases(self, reason: str) -> int:
        """Give back (due now, no attempt counted) the outbox rows this worker still leases.
        Only called when no batch of ours is in flight: at connect time and at the end."""
        assert self.cycle is not None
        ids = self.cycle.conn.execute(
            "SELECT coalesce(array_agg(id), '{}') FROM hubspot_sync.sync_queue "
            "WHERE lease_owner = %s AND done_at IS NULL AND dead_at IS NULL",
            (self.name,),
        ).fetchone()[0]
        if not ids:
            return 0
        self.cycle.db.fail_sync_rows(
            self.name,
            ids,
            reason,
            max_attempts=self.settings.max_attempts,
            retry_after=0,
            count_attempt=False,
        )
        log.info(
            "gave back %d leased outbox row(s): %s",
            len(ids),
            reason,
            extra=fields(event="release", rows=len(ids)),
        )
        return len(ids)

    def _reconnect(self, why: str) -> None:
        log.warning(
            "database connection lost (%s): reconnecting",
            why,
            extra=fields(event="database_lost", error=why),
        )
        self._close()
        delay = 1.0
        while not self.stop.is_set():
            try:
                self._open()
            except Exception as exc:
                if not database_lost(exc):
                    raise
                log.warning(
                    "database unavailable (%s): next attempt in %.0f s",
                    first_line(exc),
                    delay,
                    extra=fields(event="reconnect_wait", delay=delay),
                )
                self._close()
                self.stop.wait(delay)
                delay = min(delay * 2, 30.0)
                continue
            self.reconnects += 1
            log.info(
                "reconnected to the database",
                extra=fields(event="reconnected", reconnects=self.reconnects),
            )
            return

    # ---- the loop -----------------------------------------------------------------------------
    def _wait(self, timeout: float) -> set[str]:
        """Notification payloads (table names) within ``timeout`` seconds (empty: none)."""
        assert self.listen_conn is not None
        got = {n.payload for n in self.listen_conn.notifies(timeout=timeout, stop_after=1)}
        if got:
            got.update(n.payload for n in self.listen_conn.notifies(timeout=0))
        return got

    def _due(self, now: float, tables: set[str]) -> set[str]:
        settings = self.settings
        wanted: set[str] = set()
        if tables or self.cache_due:
            wanted.add("cache")
            self.cache_due = False
            if tables and self.push_at is None:
                self.push_at = now + settings.worker_debounce_seconds
        if now >= self.next_poll:
            wanted.add("cache")
            self.push_at = now if self.push_at is None else min(self.push_at, now)
            self.next_poll = now + settings.worker_poll_seconds
        if self.push_at is not None and now >= self.push_at:
            wanted.add("push")
        if now >= self.next_pull:
            wanted |= {"pull", "cache", "notes"}
            self.next_pull = now + settings.worker_pull_seconds
        if now >= self.next_analytics:
            wanted.add("analytics")
            self.next_analytics = now + min(
                ANALYTICS_CHECK_SECONDS, settings.analytics_interval_seconds
            )
        if now >= self.next_purge:
            wanted.add("purge")
            self.next_purge = now + DAY
        return wanted

    def _after_push(self, result: StepResult | None) -> None:
        assert self.cycle is not None
        now = time.monotonic()
        self.push_at = None
        if result is None:
            return
        if result.detail.get("more"):
            self.push_at = now  # the budget ran out with rows still due
            return
        if result.status in (FAILED, CONFIG) and not self.cycle.hubspot_ready:
            return  # the poll tries again; HubSpot is checked first
        due = self.cycle.db.sync_queue_next_due()
        if due is not None and due < self.settings.worker_poll_seconds:
            self.push_at = now + max(due, 0.25)

    def _serve(self) -> None:
        while not self.stop.is_set():
            assert self.cycle is not None
            now = time.monotonic()
            deadlines = [self.next_poll, self.next_pull, self.next_analytics, self.next_purge]
            if self.push_at is not None:
                deadlines.append(self.push_at)
            timeout = 0.0 if self.cache_due else min(max(min(deadlines) - now, 0.0), MAX_WAIT)
            try:
                tables = self._wait(timeout)
            except Exception as exc:
                if database_lost(exc):
                    raise _DatabaseLost(first_line(exc)) from exc
                raise
            wanted = self._due(time.monotonic(), tables)
            if not wanted:
                continue
            report = step(self.cycle, wanted)
            self._log(report)
            if report.database_lost:
                raise _DatabaseLost(report.database_lost)
            if "push" in report.steps:
                try:
                    self._after_push(report.steps["push"])
                except Exception as exc:
                    if database_lost(exc):
                        raise _DatabaseLost(first_line(exc)) from exc
                    raise

    def _log(self, report: CycleReport) -> None:
        for result in report.steps.values():
            level = level_of(result)
            if log.isEnabledFor(level):
                log.log(
                    level,
                    "%s",
                    describe(result),
                    extra=fields(
                        event=result.name,
                        status=result.status,
                        seconds=round(result.seconds, 3),
                        error=result.error,
                        **result.detail,
                    ),
                )

    def run(self) -> int:
        """Serve until stopped; the exit code (0, or 2 when HubSpot refuses the configuration
        at start)."""
        log.info("worker %s starting", self.name, extra=fields(event="start", worker=self.name))
        self.cache_due = True
        try:
            try:
                self._open()
            except Exception as exc:
                if not database_lost(exc):
                    raise
                self._reconnect(first_line(exc))
            if self.cycle is not None:
                problem = check_hubspot(self.cycle)
                if problem is not None and problem.status == CONFIG:
                    log.error("%s", problem.error, extra=fields(event="config_error"))
                    return exitcodes.CONFIG_ERROR
                if problem is not None:
                    log.warning(
                        "%s: pushing as soon as it answers",
                        problem.error,
                        extra=fields(event="hubspot_down"),
                    )
            while not self.stop.is_set():
                try:
                    self._serve()
                except _DatabaseLost as lost:
                    self._reconnect(str(lost))
            if self.cycle is not None:
                try:
                    self.release_leases("the worker stopped")  # none expected: batches finish
                except Exception as exc:
                    log.warning("could not check the leases at stop: %s", first_line(exc))
            log.info("worker %s stopped", self.name, extra=fields(event="stop", worker=self.name))
            return exitcodes.OK
        finally:
            self._close()
            self.keeper.close()
