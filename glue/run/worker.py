"""`mockbook worker` (:class:`Worker`): the sync job long-running, on the step function
`mockbook run` shares (glue.run.cycle.step): outbox wake-ups, Redis kept coherent, periodic
pulls, graceful stop, reconnects. The detail follows the imports.
"""

from __future__ import annotations

import abc
import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import psycopg

from glue import exitcodes
from glue.cache import CacheKeeper, OutboxWatch
from glue.config import PushSettings, Settings
from glue.db import runs
from glue.db.connection import Layout
from glue.db.database import Database
from glue.hubspot.client import HubSpotClient
from glue.hubspot.ratelimit import Stopped
from glue.hubspot.ratelimit_host import pid_alive
from glue.hubspot.reads import HubSpotReader
from glue.logs import fields
from glue.run.cycle import (
    CONFIG,
    FAILED,
    HUBSPOT_RETRY_MAX,
    Cycle,
    CycleReport,
    StepResult,
    check_hubspot,
    connect,
    database_lost,
    first_line,
    hubspot_seams,
    step,
)
from glue.run.describe import describe, level_of
from glue.sync.push import PUSH_CONNECTIONS, default_worker_name
from glue.sync.refresh import RefreshProcessor

# How it works (the detail of the module docstring):
#
# - `mockbook worker` (:class:`Worker`): the steps of `mockbook run` (glue.run.cycle.run_once) when
#   they are due, in three threads, so that no step waits for another. The cache thread
#   (:class:`CacheFollower`, its own connection) looks at the outbox's high-water mark every
#   ``worker_wake_seconds`` (50 ms; :class:`glue.cache.OutboxWatch`: one read of the sequence, no
#   lock; the outbox itself only when it moved), applies newly committed changes to Redis at once
#   (so a push waiting for HubSpot never holds the keys back) and hands the wake-up to the push
#   loop, which pushes after ``worker_debounce_seconds``, counted from the first wake-up so a rush
#   is batched but never postponed. No LISTEN/NOTIFY: a notifying transaction commits under
#   PostgreSQL's one cluster-wide notification lock, which serialised the bookings' commits. The
#   push loop (this thread) reads the outbox every ``worker_poll_seconds`` anyway (the check that
#   Redis kept its keys; rows coming due after a backoff: the next due time is asked after each
#   push), pushes for at most 10 s a step, then looks at its timers again; it pushes at once on
#   start. The sync lane (:class:`SyncLane`, its own connections) pulls and writes the audit notes
#   every ``worker_pull_seconds`` (a pull that changed something asks the cache thread for a
#   rebuild: pulled changes are not in the outbox), refreshes the analytics when due (checked every
#   minute) and purges daily: a long pull or a notes backlog never holds the push back. The
#   refresh lane (:class:`RefreshLane`) reads the records apps asked for with
#   hubspot_sync.request_refresh within a second (glue.sync.refresh).
#
# Reconnection: each thread that loses the database (a restart, pg_terminate_backend) closes its
# connections and reconnects, at once then after 1 s, doubling up to 30 s. The push loop then gives
# back the outbox rows it still leased (the interrupted batch: due now, no attempt counted; HubSpot
# writes are idempotent) and pushes; the cache thread watches again and rebuilds the keys. Redis
# restarts are the CacheKeeper's business (it rebuilds the keys once Redis answers); the rate
# limiter falls back to a per-process budget meanwhile (glue.hubspot.ratelimit.FallbackWindow).
#
# Stopping: SIGTERM/SIGINT set ``stop``; the HubSpot call in hand is answered and written back,
# no other call is sent, the rest of the batch is given back (due now, no attempt counted), no new
# one is claimed, nothing stays leased, exit 0. All connections carry application_name
# 'mockbook-worker' (or 'mockbook-run'), so an operator can find them in pg_stat_activity.

log = logging.getLogger(__name__)

WORKER_APPLICATION = "mockbook-worker"
# The worker's database connections at once (glue.db.connection.Layout): one each for the cache
# thread, the sync lane and the push loop, one a connect or a stop opens to give leased rows
# back, and the pools of the push (a push's connections at once, and one more), of the sync
# lane (pull, notes, analytics, purge) and of the refresh lane (on-demand refreshes).
PUSH_POOL, SYNC_POOL, REFRESH_POOL = "push", "sync lane", "refresh lane"
WORKER_LAYOUT = Layout(
    "worker",
    own=(("cache thread", 1), ("sync lane", 1), ("push loop", 1), ("rows given back", 1)),
    pools=((PUSH_POOL, PUSH_CONNECTIONS + 1), (SYNC_POOL, 3), (REFRESH_POOL, 2)),
)


# ---- long-running: `mockbook worker` -------------------------------------------------------------
DAY = 86400.0
ANALYTICS_CHECK_SECONDS = 60.0
WORKER_PUSH_BUDGET = 10.0  # then the loop looks at wake-ups and timers, and goes on
MAX_WAIT = 0.5  # the longest a loop sleeps without looking at the stop flag
MAX_BACKOFF = 30.0
# the pull and the notes take at most this share of the HubSpot rate budget: the push has the rest
SYNC_LANE_SHARE = 0.3
# and the on-demand refreshes this share (apps' requests are limited per caller too)
REFRESH_LANE_SHARE = 0.1
CHECK_WAIT = 10.0  # the sync lane waits this long for the push loop's start-up check of HubSpot
CALLS_PER_PUSH = 5.0  # a first guess of a push's calls: contacts, bookings, 2 associations, exams


class _DatabaseLost(Exception):
    pass


def log_report(report: CycleReport) -> None:
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


def _close_quietly(*closers: Callable[[], object] | None) -> None:
    for closer in closers:
        if closer is None:
            continue
        try:
            closer()
        except Exception as exc:  # closing a broken connection may complain
            log.debug("closing: %s", exc)


def _next_delay(delay: float) -> float:
    return min(max(delay * 2, 1.0), MAX_BACKOFF)


class _Reconnecting(threading.Thread, abc.ABC):
    """A worker thread with connections of its own: connects, serves until the stop flag, and
    on a lost database closes them and connects again (at once after a first loss, then after
    1 s; while the server is away, after 1 s, doubling up to 30 s). ``label`` and ``tag`` name
    it in the log lines and their ``thread`` field."""

    label = ""
    tag = ""

    def __init__(self, name: str, stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.stop = stop
        self.connections = 0

    @abc.abstractmethod
    def _connect(self) -> Any:
        """Open what the thread works with (raises when the database is away)."""

    @abc.abstractmethod
    def _serve(self, opened: Any) -> None:
        """Work until the stop flag (returns) or a lost database (raises)."""

    @abc.abstractmethod
    def _disconnect(self, opened: Any) -> None:
        """Close what ``_connect`` opened, quietly."""

    def run(self) -> None:
        delay = 0.0
        while not self.stop.wait(delay):
            try:
                opened = self._connect()
            except Exception as exc:
                delay = _next_delay(delay)
                log.warning(
                    "%s: database unavailable (%s): next attempt in %.0f s",
                    self.label,
                    first_line(exc),
                    delay,
                    extra=fields(event="reconnect_wait", thread=self.tag, delay=delay),
                )
                continue
            self.connections += 1
            if self.connections > 1:
                log.info("%s: reconnected", self.label,
                         extra=fields(event="reconnected", thread=self.tag))
            try:
                self._serve(opened)
                return  # stopped
            except Exception as exc:
                if not database_lost(exc) and not isinstance(exc, _DatabaseLost):
                    log.exception("%s: unexpected error; starting again", self.label)
                log.warning(
                    "%s: database connection lost (%s): reconnecting",
                    self.label,
                    first_line(exc),
                    extra=fields(event="database_lost", thread=self.tag, error=first_line(exc)),
                )
                delay = 0.0 if self.connections == 1 else 1.0
            finally:
                self._disconnect(opened)


class CacheFollower(_Reconnecting):
    """The cache step of the worker, and its wake-ups, in a thread of its own with its own
    connection, so that a push waiting for HubSpot (slow answers, a rate-limit wait) never holds
    the Redis keys back. Every ``worker_wake_seconds`` it asks :class:`OutboxWatch` whether outbox
    rows were committed; if so it applies them to Redis at once, then hands the wake-up to the
    push loop (``on_notify``). Also every poll interval (the check that Redis kept its keys), a
    full rebuild on request (after a pull changed something) and after each (re)connection.
    Reconnects by itself. ``wakeups`` counts the wake-ups handed on."""

    label, tag = "cache", "cache"

    def __init__(
        self,
        settings: Settings,
        url: str,
        keeper: CacheKeeper,
        stop: threading.Event,
        on_notify: Callable[[], None],
    ) -> None:
        super().__init__("mockbook-cache", stop)
        self.settings = settings
        self.url = url
        self.keeper = keeper
        self.on_notify = on_notify
        self.rebuild = threading.Event()
        self.wakeups = 0

    def request_rebuild(self) -> None:
        self.rebuild.set()

    def _connect(self) -> psycopg.Connection:
        return connect(self.url, WORKER_APPLICATION)

    def _disconnect(self, opened: psycopg.Connection) -> None:
        _close_quietly(opened.close)

    def _serve(self, opened: psycopg.Connection) -> None:
        self._follow(opened)

    def _follow(self, conn: psycopg.Connection) -> None:
        watch = OutboxWatch(conn)
        self.on_notify()  # rows may have been committed while not watching: push now
        cycle = Cycle(
            self.settings, conn=conn, stop=self.stop, keeper=self.keeper, incremental_cache=True
        )
        poll = self.settings.worker_poll_seconds
        wake = max(self.settings.worker_wake_seconds, 0.001)
        next_poll = time.monotonic()  # the first call rebuilds (cycle.cache_stale)
        while not self.stop.is_set():
            committed = watch.poll()
            if self.rebuild.is_set():
                self.rebuild.clear()
                cycle.cache_stale = True
            now = time.monotonic()
            if committed or cycle.cache_stale or now >= next_poll:
                if now >= next_poll:
                    next_poll = now + poll
                report = step(cycle, ("cache",))
                if committed:
                    self.wakeups += 1
                    self.on_notify()
                log_report(report)
                if report.database_lost:
                    raise _DatabaseLost(report.database_lost)
            self.stop.wait(min(wake, max(next_poll - time.monotonic(), 0.0)))


class SyncLane(_Reconnecting):
    """The worker's slow steps in a thread of their own, with their own connections, so that
    the push loop never waits for them: the pull and the audit notes every
    ``worker_pull_seconds`` (at once after start, and again within seconds when HubSpot did not
    answer), the analytics when due (checked every minute), the completion of past bookings and
    the purge daily. A pull that changed something asks the cache thread for a rebuild
    (``on_changed``). A stop ends the pull after the page in hand and the notes after the batch
    in hand; a refresh of the analytics is cancelled (:meth:`cancel`). Reconnects by itself."""

    label, tag = "sync lane", "sync"

    def __init__(
        self,
        settings: Settings,
        url: str,
        stop: threading.Event,
        *,
        hubspot: HubSpotClient,
        reader: HubSpotReader,
        worker: str,
        on_changed: Callable[[], None],
        checked: threading.Event | None = None,
        pool_size: int = 3,
    ) -> None:
        super().__init__("mockbook-sync", stop)
        self.pool_size = pool_size  # its pool's largest size (WORKER_LAYOUT)
        # set once the push loop's start-up check of HubSpot passed: the lane waits for it (up to
        # CHECK_WAIT) rather than spend the same calls of the rate budget on a check of its own
        self.checked = checked
        self.settings = settings
        self.url = url
        self.hubspot = hubspot
        self.reader = reader
        self.worker = worker
        self.on_changed = on_changed
        self._conn: psycopg.Connection | None = None

    def cancel(self) -> None:
        """Cancel the statement the lane is running (a refresh of the analytics) at stop."""
        conn = self._conn
        if conn is not None:
            try:
                conn.cancel_safe(timeout=2.0)
            except Exception as exc:  # already closed, or the server away
                log.debug("cancelling the sync lane's statement: %s", exc)

    def _connect(self) -> Cycle:
        conn = connect(self.url, WORKER_APPLICATION)
        try:
            db = Database(self.url, max_size=self.pool_size, application_name=WORKER_APPLICATION)
        except Exception:
            _close_quietly(conn.close)
            raise
        db.pool.timeout = 10.0
        self._conn = conn
        return Cycle(self.settings, conn=conn, stop=self.stop, db=db, hubspot=self.hubspot,
                     reader=self.reader, worker=self.worker, cache_stale=False)

    def _disconnect(self, opened: Cycle) -> None:
        self._conn = None
        _close_quietly(opened.db.close if opened.db else None, opened.conn.close)

    def _serve(self, cycle: Cycle) -> None:
        if self.checked is not None and self.connections == 1:
            self._wait_for_check(cycle)
        now = time.monotonic()
        due = {"pull": now, "analytics": now, "daily": now}  # when each kind of step is due
        while not self.stop.is_set():
            wanted = self._wanted(due, time.monotonic())
            if wanted:
                self._run_steps(cycle, wanted, due)
            wait = min(due.values()) - time.monotonic()
            self.stop.wait(min(max(wait, 0.0), MAX_WAIT))

    def _wait_for_check(self, cycle: Cycle) -> None:
        """Up to CHECK_WAIT for the push loop's start-up check of HubSpot."""
        assert self.checked is not None
        deadline = time.monotonic() + CHECK_WAIT
        while not self.stop.is_set() and time.monotonic() < deadline:
            if self.checked.wait(MAX_WAIT):
                cycle.hubspot_ready = True
                return

    def _wanted(self, due: dict[str, float], now: float) -> set[str]:
        """The steps due at ``now``; their next times set in ``due``."""
        settings = self.settings
        wanted: set[str] = set()
        if now >= due["pull"]:
            wanted |= {"pull", "notes"}
            due["pull"] = now + settings.worker_pull_seconds
        if now >= due["analytics"]:
            wanted.add("analytics")
            due["analytics"] = now + min(
                ANALYTICS_CHECK_SECONDS, settings.analytics_interval_seconds
            )
        if now >= due["daily"]:
            wanted |= {"purge", "complete"}
            due["daily"] = now + DAY
        return wanted

    def _run_steps(self, cycle: Cycle, wanted: set[str], due: dict[str, float]) -> None:
        report = step(cycle, wanted)
        log_report(report)
        if cycle.cache_stale:  # pulled changes are not in the outbox the cache follows
            cycle.cache_stale = False
            self.on_changed()
        if report.database_lost:
            raise _DatabaseLost(report.database_lost)
        pulled = report.steps.get("pull")
        if pulled is not None and pulled.status in (FAILED, CONFIG) and not (
            cycle.hubspot_ready
        ):  # HubSpot did not answer: pull again as soon as it may answer
            due["pull"] = min(due["pull"], time.monotonic() + cycle.hubspot_retry_seconds)


class RefreshLane(threading.Thread):
    """The on-demand refreshes (glue.sync.refresh.RefreshProcessor) in a thread of their own,
    with their own connections and REFRESH_LANE_SHARE of the HubSpot budget, so that a request
    is read within a second whatever the push and the pull are doing. A pulled record changed
    the Redis keys' sources: ``on_changed`` asks the cache thread for a rebuild."""

    def __init__(self, settings: Settings, url: str, stop: threading.Event, *,
                 reader: HubSpotReader, worker: str, on_changed: Callable[[], None],
                 pool_size: int = 2) -> None:
        super().__init__(name="mockbook-refresh", daemon=True)
        self.pool_size = pool_size  # its pool's largest size (WORKER_LAYOUT)
        self.settings = settings
        self.url = url
        self.stop = stop
        self.reader = reader
        self.worker = worker
        self.on_changed = on_changed

    def run(self) -> None:
        db = Database(self.url, max_size=self.pool_size, application_name=WORKER_APPLICATION)
        db.pool.timeout = 10.0
        try:
            RefreshProcessor(db, self.reader, self.settings, worker=self.worker,
                             on_changed=self.on_changed).run(self.stop)
        except Exception:
            log.exception("refresh lane: unexpected error; on-demand refreshes stop")
        finally:
            _close_quietly(db.close)


class Worker:
    """``Worker(settings, url, stop=event).run()`` -> exit code; returns once ``stop`` is set
    (SIGTERM/SIGINT), after the HubSpot call in hand. The push loop runs here; the cache in a
    :class:`CacheFollower` thread."""

    def __init__(
        self,
        settings: Settings,
        url: str,
        *,
        stop: threading.Event,
        push_settings: PushSettings | None = None,
        name: str | None = None,
        pool_sizes: dict[str, int] | None = None,
    ) -> None:
        self.settings = settings
        self.url = url
        self.stop = stop
        # its pools' sizes within MOCKBOOK_DATABASE_CONNECTIONS (WORKER_LAYOUT, or the layout
        # with the webhook intake's pools: glue.cli.runner)
        self.pool_sizes = pool_sizes or WORKER_LAYOUT.sizes(settings.database_connections)
        self.name = name or default_worker_name()
        self.push_settings = push_settings or PushSettings()
        self.keeper = CacheKeeper(settings.redis_url)
        # the push's client: once ``stop`` is set it sends nothing more (the call in hand ends)
        self.hubspot, self.reader = hubspot_seams(settings, stop=stop, host_shared=True)
        self.notified = threading.Event()
        self.follower = CacheFollower(settings, url, self.keeper, stop, self.notified.set)
        self.hubspot_checked = threading.Event()
        lane_hubspot, lane_reader = hubspot_seams(settings, share=SYNC_LANE_SHARE,
                                                  host_shared=True)
        self.lane = SyncLane(settings, url, stop, hubspot=lane_hubspot, reader=lane_reader,
                             worker=self.name, on_changed=self.follower.request_rebuild,
                             checked=self.hubspot_checked,
                             pool_size=self.pool_sizes[SYNC_POOL])
        _, refresh_reader = hubspot_seams(settings, share=REFRESH_LANE_SHARE, stop=stop,
                                          host_shared=True)
        self.refresh = RefreshLane(settings, url, stop, reader=refresh_reader, worker=self.name,
                                   on_changed=self.follower.request_rebuild,
                                   pool_size=self.pool_sizes[REFRESH_POOL])
        self.cycle: Cycle | None = None
        self.hubspot_ready = False
        self.reconnects = 0
        now = time.monotonic()
        self.push_at: float | None = now
        self.next_poll = now + settings.worker_poll_seconds
        # pacing of the pushes by the rate budget (see _paced)
        self.calls_log: deque[tuple[float, int]] = deque()  # (time, calls so far), one window
        self.calls_per_push = CALLS_PER_PUSH
        self.last_push_at = float("-inf")

    # ---- connections --------------------------------------------------------------------------
    def _open(self) -> None:
        """Connect, give back what an interrupted batch of ours had leased, push at once."""
        self._close()
        conn = connect(self.url, WORKER_APPLICATION)
        # a push's connections at once (a pool timeout here reads as a lost database), and one more
        db = Database(self.url, max_size=self.pool_sizes[PUSH_POOL],
                      application_name=WORKER_APPLICATION)
        db.pool.timeout = 10.0  # a pool waiting 30 s for a dead server would stall the loop
        self.cycle = Cycle(
            self.settings,
            conn=conn,
            stop=self.stop,
            db=db,
            hubspot=self.hubspot,
            reader=self.reader,
            worker=self.name,
            push_settings=self.push_settings,
            push_budget=WORKER_PUSH_BUDGET,
            push_until_drained=False,
            cache_stale=False,
            record_idle_push_every=60.0,
            hubspot_ready=self.hubspot_ready,
        )
        self.release_leases("the worker lost its database connection mid-batch")
        self.release_orphaned_leases()
        self.push_at = time.monotonic()

    def _close(self) -> None:
        cycle, self.cycle = self.cycle, None
        if cycle is not None:
            self.hubspot_ready = cycle.hubspot_ready
            _close_quietly(cycle.db.close if cycle.db else None, cycle.conn.close)

    def release_leases(self, reason: str) -> int:
        """Give back (due now, no attempt counted) the outbox rows this worker still leases.
        Only called when no batch of ours is in flight: at connect time and at the end."""
        assert self.cycle is not None and self.cycle.db is not None
        given = self.cycle.db.give_back_leases(self.name, reason,
                                               max_attempts=self.settings.max_attempts)
        if given:
            log.info("gave back %d leased outbox row(s): %s", given, reason,
                     extra=fields(event="release", rows=given))
        return given

    def release_orphaned_leases(self) -> int:
        """Give back the leases of workers of this host whose process is gone (killed: SIGKILL,
        a crash, a restart past TimeoutStopSec) instead of leaving their rows for the rest of
        the lease. A worker's default name is ``host:pid:random``; other names are left alone."""
        assert self.cycle is not None and self.cycle.db is not None
        released = 0
        for owner in runs.lease_owners(self.cycle.conn, f"{socket.gethostname()}:"):
            pid = owner.split(":")[1] if owner.count(":") == 2 else ""
            if not pid.isdigit() or int(pid) == os.getpid() or pid_alive(int(pid)):
                continue
            given = self.cycle.db.give_back_leases(owner, f"worker {owner} is gone",
                                                   max_attempts=self.settings.max_attempts)
            if given:
                released += given
                log.info("gave back %d outbox row(s) leased by %s, whose process is gone",
                         given, owner, extra=fields(event="release", rows=given))
        return released

    def _reconnect(self, why: str) -> None:
        log.warning(
            "database connection lost (%s): reconnecting",
            why,
            extra=fields(event="database_lost", thread="push", error=why),
        )
        delay = 0.0
        while not self.stop.wait(delay):
            try:
                self._open()
            except Exception as exc:
                if not database_lost(exc):
                    raise
                self._close()
                delay = _next_delay(delay)
                log.warning(
                    "database unavailable (%s): next attempt in %.0f s",
                    first_line(exc),
                    delay,
                    extra=fields(event="reconnect_wait", thread="push", delay=delay),
                )
                continue
            self.reconnects += 1
            log.info(
                "reconnected to the database",
                extra=fields(event="reconnected", thread="push", reconnects=self.reconnects),
            )
            return

    # ---- pacing ---------------------------------------------------------------------------
    def _note_calls(self, now: float) -> None:
        """Remember how many HubSpot calls this worker had made by ``now`` (one window back)."""
        window = self.settings.rate_limit_window_seconds
        self.calls_log.append((now, self.hubspot.stats.calls))
        while len(self.calls_log) > 1 and self.calls_log[1][0] <= now - window:
            self.calls_log.popleft()

    def _spent(self, now: float) -> int:
        """HubSpot calls this worker made in the last rate window (about: sampled per step)."""
        self._note_calls(now)
        return self.calls_log[-1][1] - self.calls_log[0][1]

    def _paced(self, now: float, at: float) -> float:
        """When a push wanted at ``at`` may start. A push costs about the same calls whatever
        its size (contacts, bookings, two association batches, exams), so pushes are spaced by
        the budget left in the rate window: ``calls per push x window / calls left``. With the
        window unused that is half a second for 5 calls at 100 per 10 s; at a steady booking
        rate it settles where the pushes use half the budget (one push a second), instead of
        spending the whole window on tiny pushes and then waiting seconds for the window to
        come back (the lag's sawtooth). Never more than a fifth of the window."""
        limit = max(self.settings.rate_limit_requests, 1)
        window = self.settings.rate_limit_window_seconds
        left = max(limit - self._spent(now), 1)
        spacing = min(self.calls_per_push * window / left, window / 5)
        return max(at, self.last_push_at + spacing)

    # ---- the loop -----------------------------------------------------------------------------
    def _due(self, now: float, notified: bool) -> set[str]:
        settings = self.settings
        wanted: set[str] = set()
        if notified and self.push_at is None:
            self.push_at = self._paced(now, now + settings.worker_debounce_seconds)
        if now >= self.next_poll:
            self.push_at = now if self.push_at is None else min(self.push_at, now)
            self.next_poll = now + settings.worker_poll_seconds
        if self.push_at is not None and now >= self.push_at:
            wanted.add("push")
            wanted.add("waitlist")  # offers expire by the minute: checked with every push
        return wanted

    def _after_push(self, result: StepResult, started: float) -> None:
        assert self.cycle is not None and self.cycle.db is not None
        now = time.monotonic()
        self.push_at = None
        calls = result.detail.get("calls") or 0
        batches = result.detail.get("batches") or 0
        if batches:
            self.last_push_at = started
            per_push = calls / batches
            self.calls_per_push = 0.7 * self.calls_per_push + 0.3 * max(per_push, 1.0)
        if result.detail.get("more"):
            self.push_at = now  # the budget ran out with rows still due
            return
        if result.status in (FAILED, CONFIG) and not self.cycle.hubspot_ready:
            if result.status == FAILED and self.cycle.hubspot_problem is not None:
                # HubSpot did not answer properly (a 5xx in the start-up check): checked again
                # as soon as its backoff allows, not at the next poll (seconds later)
                self.push_at = max(now, self.cycle.hubspot_retry_at)
            return  # else the poll tries again; HubSpot is checked first
        due = self.cycle.db.sync_queue_next_due()
        if due is not None and due < self.settings.worker_poll_seconds:
            self.push_at = self._paced(now, now + max(due, 0.25))

    def _serve(self) -> None:
        while not self.stop.is_set():
            cycle = self.cycle
            assert cycle is not None
            now = time.monotonic()
            deadlines = [self.next_poll]
            if self.push_at is not None:
                deadlines.append(self.push_at)
            timeout = min(max(min(deadlines) - now, 0.0), MAX_WAIT)
            notified = self.notified.wait(timeout)
            if notified:
                self.notified.clear()
            wanted = self._due(time.monotonic(), notified)
            if not wanted:
                continue
            started = time.monotonic()
            report = step(cycle, wanted)
            self._note_calls(time.monotonic())
            log_report(report)
            if report.database_lost:
                raise _DatabaseLost(report.database_lost)
            if "push" in report.steps:
                try:
                    self._after_push(report.steps["push"], started)
                except Exception as exc:
                    if database_lost(exc):
                        raise _DatabaseLost(first_line(exc)) from exc
                    raise

    def run(self) -> int:
        """Serve until stopped; the exit code (0, or 2 when HubSpot refuses the configuration
        at start)."""
        log.info("worker %s starting", self.name, extra=fields(event="start", worker=self.name))
        self.follower.start()
        self.lane.start()
        self.refresh.start()
        try:
            try:
                self._open()
            except Exception as exc:
                if not database_lost(exc):
                    raise
                self._reconnect(first_line(exc))
            if self.cycle is not None and not self.stop.is_set():
                try:
                    problem = check_hubspot(self.cycle)
                except Stopped:  # stopped during the start-up check
                    problem = None
                if problem is None:
                    self.hubspot_checked.set()
                if problem is not None and problem.status == CONFIG:
                    log.error("%s", problem.error, extra=fields(event="config_error"))
                    return exitcodes.CONFIG_ERROR
                if problem is not None:
                    log.warning(
                        "%s: waiting, checking again in %.0f s (backing off up to %.0f s), "
                        "pushing as soon as it answers",
                        problem.error,
                        self.cycle.hubspot_retry_seconds,
                        HUBSPOT_RETRY_MAX,
                        extra=fields(event="hubspot_down"),
                    )
            while not self.stop.is_set():
                try:
                    self._serve()
                except _DatabaseLost as lost:
                    self._close()
                    self._reconnect(str(lost))
            if self.cycle is not None:
                try:
                    self.release_leases("the worker stopped")  # none expected: given back
                except Exception as exc:
                    log.warning("could not check the leases at stop: %s", first_line(exc))
            log.info("worker %s stopped", self.name, extra=fields(event="stop", worker=self.name))
            return exitcodes.OK
        finally:
            self.stop.set()  # the other threads too (also on a configuration error)
            self.lane.join(1.0)
            if self.lane.is_alive():  # in a statement that does not look at the flag
                self.lane.cancel()
                self.lane.join(10)
            self.follower.join(10)
            self.refresh.join(10)
            self._close()
            self.keeper.close()
