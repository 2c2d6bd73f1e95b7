"""One sync cycle, shared by `mockbook run` (:func:`run_once`) and `mockbook worker`
(glue.run.worker).

A :class:`Cycle` holds what a cycle needs (settings, connection, the two seams, the cache
keeper); :func:`step` runs the steps asked for, always in the order of ``STEPS`` (pull,
waitlist, complete, cache, push, notes, analytics, purge), each reported as a
:class:`StepResult`, and returns a :class:`CycleReport`; :func:`run_once` is every step once,
under the run lock. Each step is detailed below; glue.run.describe puts a result in words.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg_pool import PoolClosed, PoolTimeout

from glue import exitcodes, lifecycle
from glue.cache import (
    CacheKeeper,
    FeedPosition,
    changes_since,
    start_position,
)
from glue.config import ConfigError, PushSettings, Settings, declared
from glue.db import runs
from glue.db.connection import Layout
from glue.db.connection import connect as db_connect
from glue.db.database import Database
from glue.db.lease import Lease, LeaseState
from glue.hubspot.catalogue import CYCLE
from glue.hubspot.client import HubSpotClient, HubSpotError, host_limiter_path, limiter_name
from glue.hubspot.ratelimit import DailyBudgetExhausted, ShareLimiter, Stopped, build_limiter
from glue.hubspot.reads import HubSpotReader, search_limiter
from glue.hubspot.setup import HubSpotUnavailable
from glue.sync.notes import push_audit_notes
from glue.sync.portal import check_portal
from glue.sync.pull import pull
from glue.sync.push import (
    PUSH_CONNECTIONS,
    RAMP_RECORDS,
    Pusher,
    PushStats,
    default_worker_name,
)

# How it works (the detail of the module docstring):
#
#   pull       exams, then contacts, changed in HubSpot (glue.sync.pull)
#   waitlist   hubspot_sync.process_waitlist(): expired waitlist offers pass to the next student,
#              free seats of exams with a waitlist are offered
#   complete   hubspot_sync.complete_past_bookings(): Active bookings of past exam days without
#              attendance become Completed (ledger-neutral; pushed by the push step that follows)
#   cache      the Redis keys of the Redis contract (glue.cache): `run` rebuilds them all (the
# safety net);
#              the worker applies the outbox changes since its last position, and rebuilds after a
#              reconnect or a pull that changed something (pulled changes are applied with
#              mockbook.origin 'hubspot', so they never reach the outbox)
#   push       the outbox to HubSpot, batch after batch (glue.sync.push.Pusher) until nothing is
# due,              the time budget is spent or a stop is asked; a batch is always finished (its
# rows              completed or given back), never abandoned
#   notes      the audit trail as HubSpot notes (glue.sync.notes), after the push so that new
# bookings              have their HubSpot ids
#   analytics  mockbook_internal.refresh_analytics() when the last refresh (sync_metadata
#              'refresh_analytics') is older than MOCKBOOK_ANALYTICS_INTERVAL
#   purge      mockbook_internal.purge_sync_queue(MOCKBOOK_RETENTION_DAYS) and
#              mockbook_internal.purge_idempotency_results(MOCKBOOK_IDEMPOTENCY_RETENTION_HOURS):
# done              outbox rows, and the stored results of keyed write RPCs
#
# A step that fails is reported (:class:`StepResult`) and the next ones still run: the cache, the
# analytics and the purge need no HubSpot. Before the first HubSpot step HubSpot is checked (the
# push's preflight): when it does not answer, the HubSpot steps are reported failed without burning
# outbox attempts; when it refuses the configuration (token, object types, a portal not set up,
# another portal than the one the database is synced with: glue.sync.portal) they are
# configuration errors. A step that loses the database connection ends the call
# (``report.database_lost``): the worker reconnects. Statuses: ok, partial (done, but something was
# dead-lettered or not applied), failed, skipped (nothing to do or not possible now: Redis away,
# analytics not due), config_error.
#
# The HubSpot rate limiter is wrapped so that a Redis outage falls back to a per-process limit
# instead of failing the push (glue.hubspot.ratelimit's Redis window raises while Redis is away).
#
# `mockbook run` (:func:`run_once`): every step once, under the per-database run lease (the
# row 'run' of mockbook_internal.glue_leases, glue.db.lease: taken before the cycle, renewed
# every 15 s while it runs, given back at its end; a run that died leaves it until it expires,
# 60 s, or until a run on the same host sees its process gone). A lease, not a session-level
# advisory lock: behind a transaction-mode pooler such a lock stays on the pooled server
# connection that took it. A second run finds the lease held: it exits 75 at once, or waits
# with --wait.
#
# (One module: the steps are short and read best next to the one dispatcher that orders them.)

log = logging.getLogger(__name__)

STEPS = ("pull", "waitlist", "complete", "cache", "push", "notes", "analytics", "purge")
HUBSPOT_STEPS = frozenset({"pull", "push", "notes"})
FEED_LIMIT = 1000
# HubSpot not answering the start-up check: checked again after 2 s, 4 s, ... up to a minute
HUBSPOT_RETRY_FIRST, HUBSPOT_RETRY_MAX = 2.0, 60.0

OK, PARTIAL, FAILED, SKIPPED, CONFIG = "ok", "partial", "failed", "skipped", "config_error"

# Errors that mean "the connection to the database is gone": the worker reconnects on them.
_LOST = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout, PoolClosed)
_NOT_LOST = (psycopg.errors.QueryCanceled, psycopg.errors.LockNotAvailable)


def database_lost(exc: BaseException) -> bool:
    return isinstance(exc, _LOST) and not isinstance(exc, _NOT_LOST)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# ---- results -------------------------------------------------------------------------------------
@dataclass
class StepResult:
    name: str
    status: str = OK
    seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    transient: bool = False  # failed because HubSpot did not answer properly: try again later

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "seconds": round(self.seconds, 3)}
        if self.error:
            out["reason" if self.status == SKIPPED else "error"] = self.error
        return out | self.detail


@dataclass
class CycleReport:
    steps: dict[str, StepResult] = field(default_factory=dict)
    seconds: float = 0.0
    database_lost: str | None = None  # why, when a step lost the database connection

    @property
    def exit_code(self) -> int:
        statuses = {s.status for s in self.steps.values()}
        if CONFIG in statuses:
            return exitcodes.CONFIG_ERROR
        failed = [s for s in self.steps.values() if s.status in (FAILED, PARTIAL)]
        if failed and all(s.transient for s in failed):  # HubSpot down: cron tries again
            return exitcodes.TEMPFAIL
        if statuses & {FAILED, PARTIAL}:
            return exitcodes.PARTIAL_FAILURE
        return exitcodes.OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.exit_code == exitcodes.OK,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 3),
            "steps": {name: s.as_dict() for name, s in self.steps.items()},
        }


# ---- the HubSpot seams ----------------------------------------------------------------------
def hubspot_seams(
    settings: Settings,
    *,
    share: float | None = None,
    stop: threading.Event | None = None,
    host_shared: bool = False,
) -> tuple[HubSpotClient, HubSpotReader]:
    """The HubSpot client (ConfigError without a token) and the reader of the pull and notes.
    ``share``: the client may use only that fraction of the rate budget (the worker's sync
    lane: glue.hubspot.ratelimit.ShareLimiter), counted in the budget as every call is.
    ``stop``: once set, the client sends nothing more (glue.hubspot.ratelimit.Stopped).
    ``host_shared``: without Redis, the budget is shared by this host's processes through a
    file (the worker's: a worker started after another one knows when its calls leave the
    window, glue.hubspot.ratelimit_host.HostWindow)."""
    client = HubSpotClient.from_settings(settings, stop=stop, host_shared=host_shared)
    if share is not None:
        name = limiter_name(settings.hubspot_access_token or "") + ":share"
        client.limiter = ShareLimiter(build_limiter(
            limit=max(1, int(settings.rate_limit_requests * share)),
            window=settings.rate_limit_window_seconds,
            daily=10**9,  # the daily budget is counted once, by the general limiter
            redis_url=settings.redis_url,
            name=name,
            host_path=host_limiter_path(name, client.base_url) if host_shared else None,
        ), client.limiter)
    return client, HubSpotReader(client, search_limiter(settings))


# ---- what the step function works with ----------------------------------------------------------
@dataclass
class Cycle:
    """The seams and the state kept between calls of :func:`step`. The worker's cache thread
    has a cycle of its own with only ``conn`` and ``keeper`` (it only does the cache step)."""

    settings: Settings
    conn: psycopg.Connection  # autocommit, tuple rows: cache, analytics, purge
    stop: threading.Event
    keeper: CacheKeeper | None = None
    db: Database | None = None  # the pool: push, pull, notes
    hubspot: HubSpotClient | None = None
    reader: HubSpotReader | None = None
    worker: str = field(default_factory=default_worker_name)
    push_settings: PushSettings = field(default_factory=PushSettings)
    push_budget: float = declared("MOCKBOOK_RUN_PUSH_BUDGET").default  # pushing per step
    # run: push batch after batch until nothing is due; worker: after a batch that did not fill
    # up, end the step (what came in meanwhile is pushed by the worker's paced next push, not
    # at once as a tiny batch costing as many calls as a full one)
    push_until_drained: bool = True
    push_linger: float = 0.0  # wait this long for rows coming due before ending the push step
    incremental_cache: bool = False  # worker: apply outbox changes; run: rebuild everything
    position: FeedPosition | None = None
    cache_stale: bool = True
    hubspot_ready: bool = False  # the preflight passed (run it again when False)
    hubspot_retry_at: float = 0.0  # after a failed check, do not ask HubSpot before this
    hubspot_retry_seconds: float = 2.0  # HUBSPOT_RETRY_FIRST, doubling to HUBSPOT_RETRY_MAX
    hubspot_problem: StepResult | None = None
    record_idle_push_every: float = 0.0  # worker: record an idle push at most this often
    _push_recorded_at: float = 0.0
    # the next push batch's size, carried from step to step: from RAMP_RECORDS up to batch_size
    push_ramp: int | None = RAMP_RECORDS

    def seams(self) -> tuple[Database, HubSpotClient, HubSpotReader]:
        """The pool and the HubSpot client and reader the HubSpot steps need."""
        if self.db is None or self.hubspot is None or self.reader is None:
            raise RuntimeError("this cycle has no database pool or HubSpot client")
        return self.db, self.hubspot, self.reader


def check_hubspot(cycle: Cycle) -> StepResult | None:
    """None when HubSpot may be used; else what to report for the HubSpot steps."""
    if cycle.hubspot_ready:
        return None
    if time.monotonic() < cycle.hubspot_retry_at and cycle.hubspot_problem is not None:
        return cycle.hubspot_problem
    cycle.hubspot_retry_at = time.monotonic() + cycle.hubspot_retry_seconds
    db, hubspot, _ = cycle.seams()
    try:
        # the portal this database is synced with (glue.sync.portal), as push and pull check
        # it: a run or worker pointed at another portal (the demo's ids against `mockbook
        # sandbox`'s) stops with a message naming both instead of mixing their records. Read
        # beside the preflight's reads (one round trip less before the first push); its
        # verdict comes first (another portal's object types are not this one's either).
        with ThreadPoolExecutor(1, thread_name_prefix="mockbook-portal") as pool:
            portal = pool.submit(check_portal, db, hubspot, cycle.settings)
            try:
                Pusher(db, hubspot, cycle.settings, worker=cycle.worker).preflight(CYCLE)
            finally:
                portal.result()
    except HubSpotUnavailable as exc:  # no proper answer: wait, check again, backing off
        problem = StepResult(
            "hubspot", FAILED, error=f"HubSpot unreachable: {exc}", transient=True
        )
        cycle.hubspot_problem = problem
        cycle.hubspot_retry_seconds = min(cycle.hubspot_retry_seconds * 2, HUBSPOT_RETRY_MAX)
        return problem
    except ConfigError as exc:
        try:  # answered with a refusal (config) or not at all (down)?
            hubspot.schema(cycle.settings.bookings_object_type)
            down = None
        except HubSpotError as probe:
            # a 429 is an answer: HubSpot is up, and the refusal stands (a busy portal, or a
            # loaded machine's slow calls bunched in one window, is not an outage)
            down = str(probe) if probe.transient and not probe.rate_limited else None
        if down is not None:
            problem = StepResult(
                "hubspot", FAILED, error=f"HubSpot unreachable: {down}", transient=True
            )
        else:
            problem = StepResult("hubspot", CONFIG, error=str(exc))
        cycle.hubspot_problem = problem
        return problem
    cycle.hubspot_ready, cycle.hubspot_problem = True, None
    cycle.hubspot_retry_seconds = HUBSPOT_RETRY_FIRST
    return None


# ---- the steps -----------------------------------------------------------------------------------
def _pull(cycle: Cycle) -> StepResult:
    db, hubspot, reader = cycle.seams()
    stats = pull(db, hubspot, cycle.settings, reader=reader, stop=cycle.stop)
    detail: dict[str, Any] = {}
    changed = 0
    for name, t in stats.targets.items():
        detail[name] = {
            k: v
            for k, v in t.as_dict().items()
            if k not in ("errors", "capacity_refused", "clamped", "failed", "total")
        } | {"not_applied": len(t.errors) + len(t.capacity_refused)}
        changed += t.inserted + t.updated + t.deactivated + t.activated + t.merged
    if changed:
        cycle.cache_stale = True  # pulled changes are not in the outbox the cache follows
    failures = [f"{n}: {t.failed}" for n, t in stats.targets.items() if t.failed]
    if failures:
        cycle.hubspot_ready = False
        return StepResult("pull", FAILED, detail=detail, error="; ".join(failures),
                          transient=stats.hubspot_down)
    if stats.problems:
        return StepResult(
            "pull",
            PARTIAL,
            detail=detail,
            error=f"{stats.problems} record(s) not applied (mockbook dlq list)",
        )
    return StepResult("pull", detail=detail)


def _cache(cycle: Cycle) -> StepResult:
    keeper, conn = cycle.keeper, cycle.conn
    if keeper is None:
        raise RuntimeError("this cycle keeps no cache")
    if cycle.settings.redis_url is None:
        keeper.apply_changes(conn, [])  # logs the one "REDIS_URL is not set" warning
        return StepResult("cache", SKIPPED, error="REDIS_URL is not set")
    if not cycle.incremental_cache or cycle.cache_stale or cycle.position is None:
        if cycle.incremental_cache:
            cycle.position = start_position(conn)  # before the rebuild: nothing falls between
        update = keeper.rebuild_all(conn)
        cycle.cache_stale = False  # when Redis is down the keeper rebuilds once it is back
        if update is None:
            return StepResult("cache", SKIPPED, error="Redis unavailable")
        return StepResult(
            "cache", detail={"rebuilt": True, "written": update.written, "deleted": update.deleted}
        )
    seen = written = deleted = 0
    rebuilt = False
    while True:
        cycle.position, changes = changes_since(conn, cycle.position, limit=FEED_LIMIT)
        update = keeper.apply_changes(conn, changes)  # empty too: it checks Redis kept the keys
        seen += len(changes)
        if update is not None:
            written, deleted = written + update.written, deleted + update.deleted
            rebuilt = rebuilt or update.rebuilt
        if len(changes) < FEED_LIMIT:
            break
    detail = {"changes": seen, "written": written, "deleted": deleted, "rebuilt": rebuilt}
    if not keeper.available:
        return StepResult("cache", SKIPPED, detail=detail, error="Redis unavailable")
    return StepResult("cache", detail=detail)


def _push(cycle: Cycle) -> StepResult:
    db, hubspot, _ = cycle.seams()
    pusher = Pusher(
        db,
        hubspot,
        cycle.settings,
        worker=cycle.worker,
        push_settings=cycle.push_settings,
        stop=cycle.stop,
        ramp=cycle.push_ramp,
    )
    calls_before = hubspot.stats.calls
    started = time.monotonic()
    more = _push_batches(cycle, pusher, db, started + cycle.push_budget)
    cycle.push_ramp = pusher.next_size
    stats = pusher.stats
    stats.seconds = round(time.monotonic() - started, 3)
    if stats.sent == 0 and stats.retried:
        cycle.hubspot_ready = False  # nothing went through: check HubSpot before the next try
    _record_push(cycle, db, stats)
    detail = _push_detail(stats, hubspot.stats.calls - calls_before, more)
    if stats.stopped:
        return StepResult("push", FAILED, detail=detail, error=stats.stopped,
                          transient=stats.stopped_transient)
    if stats.dead_lettered:
        return StepResult(
            "push",
            PARTIAL,
            detail=detail,
            error=f"{stats.dead_lettered} row(s) dead-lettered (mockbook dlq list)",
        )
    return StepResult("push", detail=detail)


def _push_batches(cycle: Cycle, pusher: Pusher, db: Database, deadline: float) -> bool:
    """Batch after batch until nothing is due (within ``push_linger``), the worker's batch did
    not fill up, a stop, or ``deadline``; True when the deadline ended it (more to push). A batch
    is always finished (its rows completed or given back)."""
    try:
        while not cycle.stop.is_set():
            if time.monotonic() >= deadline:
                return True
            if pusher.push_batch():
                if cycle.push_until_drained or pusher.last_batch_full:
                    continue
                break
            due = db.sync_queue_next_due()
            if due is None or due > cycle.push_linger or time.monotonic() + due > deadline:
                break
            cycle.stop.wait(max(due, 0.05))
    except Stopped:  # after the call in hand: the batch's other rows were given back
        pusher.stats.interrupted = True
    except DailyBudgetExhausted as exc:
        pusher.stats.stopped = str(exc)
    except HubSpotError as exc:
        pusher.stats.stopped = str(exc)
        pusher.stats.stopped_transient = exc.transient  # no proper answer: the next run (75)
        cycle.hubspot_ready = False
    finally:
        pusher.give_back_on_stop()
    return False


def _push_detail(stats: PushStats, calls: int, more: bool) -> dict[str, Any]:
    detail = {
        "sent": stats.sent,
        "rows_done": stats.rows_done,
        "retried": stats.retried,
        "dead_lettered": stats.dead_lettered,
        "batches": stats.batches,
        "calls": calls,
        "by_table": {k.removeprefix("hubspot_"): v for k, v in stats.by_table.items()},
        "more": more,
    }
    if stats.errors:
        detail["errors"] = stats.errors[:5]
    return detail


def _record_push(cycle: Cycle, db: Database, stats: PushStats) -> None:
    """The push in sync_metadata ('push') for `mockbook status`: each one that did something;
    an idle one at most every ``record_idle_push_every`` seconds (the worker's)."""
    now = time.monotonic()
    idle_due = now - cycle._push_recorded_at >= cycle.record_idle_push_every
    if not (stats.batches or stats.stopped or idle_due):
        return
    dead = f"{stats.dead_lettered} outbox row(s) dead-lettered" if stats.dead_lettered else None
    db.record_sync_run(
        "push", "failed" if stats.stopped else "success", stats.sent, stats.stopped or dead
    )
    cycle._push_recorded_at = now


def _notes(cycle: Cycle) -> StepResult:
    db, hubspot, reader = cycle.seams()
    stats = push_audit_notes(db, hubspot, cycle.settings, reader=reader, stop=cycle.stop)
    detail = {
        "created": stats.created,
        "rows_marked": stats.rows_marked,
        "recovered": stats.recovered,
    }
    if stats.locked_out:
        return StepResult(
            "notes", SKIPPED, detail=detail, error="another process is writing audit notes"
        )
    if stats.failed:
        return StepResult("notes", FAILED, detail=detail, error=stats.failed,
                          transient=stats.transient)
    if stats.unassociated:
        return StepResult("notes", PARTIAL, detail=detail | {"unassociated": stats.unassociated},
                          error=f"{stats.unassociated} note(s) not associated with their booking "
                                "or contact yet: tried again on the next run")
    return StepResult("notes", detail=detail)


def _analytics(cycle: Cycle) -> StepResult:
    interval = cycle.settings.analytics_interval_seconds
    age = runs.analytics_age(cycle.conn)
    if age is not None and age < interval:
        return StepResult(
            "analytics",
            SKIPPED,
            detail={"refreshed_ago": round(age), "due_in": round(interval - age)},
            error="not due",
        )
    try:
        result = runs.refresh_analytics(cycle.conn)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise ConfigError(
            "refreshing the analytics views needs their owner; connect as the "
            f"database owner ({first_line(exc)})"
        ) from None
    if not result.get("refreshed"):
        return StepResult("analytics", SKIPPED, error=result.get("reason"))
    return StepResult(
        "analytics",
        detail={"views": len(result.get("views", [])), "refresh_seconds": result.get("seconds")},
    )


def _purge(cycle: Cycle) -> StepResult:
    days = cycle.settings.retention_days
    hours = cycle.settings.idempotency_retention_hours
    purged, keys = runs.purge(cycle.conn, days * 86400, hours * 3600)
    return StepResult("purge", detail={"purged": purged, "retention_days": days,
                                       "idempotency_keys_purged": keys,
                                       "idempotency_retention_hours": hours})


def _waitlist(cycle: Cycle) -> StepResult:
    result = runs.process_waitlist(cycle.conn)
    return StepResult("waitlist", detail={k: result.get(k, 0) for k in (
        "closed", "left", "expired", "offered", "exams_busy")})


def _complete(cycle: Cycle) -> StepResult:
    result = runs.complete_past_bookings(cycle.conn)
    return StepResult("complete", detail={"completed": result["completed"]})


_STEP_FUNCTIONS: dict[str, Callable[[Cycle], StepResult]] = {
    "pull": _pull,
    "waitlist": _waitlist,
    "complete": _complete,
    "cache": _cache,
    "push": _push,
    "notes": _notes,
    "analytics": _analytics,
    "purge": _purge,
}


def _guarded(name: str, cycle: Cycle, report: CycleReport) -> StepResult:
    started = time.monotonic()
    try:
        result = _STEP_FUNCTIONS[name](cycle)
    except ConfigError as exc:
        result = StepResult(name, CONFIG, error=str(exc))
    except Stopped:  # a stop came while the step waited to call HubSpot
        result = StepResult(name, SKIPPED, error="stop requested")
    except HubSpotError as exc:
        cycle.hubspot_ready = False
        result = StepResult(name, FAILED, error=str(exc), transient=exc.transient)
    except psycopg.Error as exc:
        if database_lost(exc):
            report.database_lost = first_line(exc)
        result = StepResult(name, FAILED, error=f"database: {first_line(exc)}")
    except (PoolTimeout, PoolClosed) as exc:
        report.database_lost = first_line(exc)
        result = StepResult(name, FAILED, error=f"database: {first_line(exc)}")
    except Exception as exc:  # a bug in one step must not stop the others
        log.exception("step %s failed", name)
        result = StepResult(name, FAILED, error=f"{type(exc).__name__}: {exc}")
    result.seconds = time.monotonic() - started
    return result


def step(
    cycle: Cycle, wanted: Collection[str] = STEPS, *, done: Callable[[], None] = lambda: None
) -> CycleReport:
    """Do the wanted steps, in STEPS order; each one's failure is reported, the next ones run.
    After a lost database connection, or once a stop is asked, the remaining steps are
    skipped (report.database_lost). ``done()`` after each wanted step (a progress bar)."""
    started = time.monotonic()
    report = CycleReport()
    for name in STEPS:
        if name not in wanted:
            continue
        _one_step(name, cycle, report)
        done()
    report.seconds = time.monotonic() - started
    return report


def _one_step(name: str, cycle: Cycle, report: CycleReport) -> None:
    if report.database_lost:
        report.steps[name] = StepResult(name, SKIPPED, error="database connection lost")
        return
    if cycle.stop.is_set():  # the next run (or the worker's next turn) does them
        report.steps[name] = StepResult(name, SKIPPED, error="stop requested")
        return
    if name in HUBSPOT_STEPS:
        try:
            problem = check_hubspot(cycle)
        except Exception as exc:  # the database (Pusher's seam) or a bug
            problem = StepResult(name, FAILED, error=first_line(exc))
            if database_lost(exc):
                report.database_lost = first_line(exc)
        if problem is not None:
            first = next((n for n in report.steps if n in HUBSPOT_STEPS), None)
            error = problem.error if first is None else f"not run (see {first})"
            report.steps[name] = StepResult(
                name, problem.status, error=error, transient=problem.transient
            )
            return
    report.steps[name] = _guarded(name, cycle, report)


# ---- one cycle of every step: `mockbook run` ---------------------------------------------------
RUN_LEASE = "run"
RUN_APPLICATION = "mockbook-run"
# `mockbook run`'s database connections at once (glue.db.connection.Layout): the cycle's own (the
# lease, the cache, waitlist, completion, analytics and purge steps), the one a stop opens to give
# the push's leased rows back (glue.db.database.Database.give_back_leases), and the pool of the
# push, the pull and the notes (a push's connections at once, and one for the lease's renewals
# and the portal check).
RUN_LAYOUT = Layout(
    "run",
    own=(("the cycle's", 1), ("rows given back at a stop", 1)),
    pools=(("push, pull and notes", PUSH_CONNECTIONS + 1),),
)


def connect(url: str, application_name: str) -> psycopg.Connection:
    """A connection of the run or the worker (no server-side prepared statements:
    glue.db.connection); a stop cancels its statement in hand (glue.lifecycle)."""
    return lifecycle.track(db_connect(
        url, autocommit=True, application_name=application_name, connect_timeout=10
    ))


def run_lease() -> Lease:
    """This process's lease of the run (``take`` it, then keep it through :func:`run_once`)."""
    return Lease(RUN_LEASE)


def acquire_run_lease(
    conn: psycopg.Connection,
    lease: Lease,
    *,
    wait: bool,
    stop: threading.Event,
    on_wait: Callable[[LeaseState], None] = lambda state: None,
) -> LeaseState:
    """The run lease, taken on ``conn``: ``taken`` once ours; not taken when another run holds
    it and ``wait`` is off (or a stop was asked while waiting). ``on_wait(state)`` is called
    once, when waiting starts, with the holder's lease."""
    delay, announced = 0.2, False
    while True:
        state = lease.take(conn)
        if state.taken or not wait or stop.is_set():
            return state
        if not announced:
            on_wait(state)
            announced = True
        if stop.wait(delay):
            return state
        delay = min(delay * 2, 2.0)


def check_migrated(conn: psycopg.Connection) -> None:
    if not runs.is_migrated(conn):
        raise ConfigError(f"the database {conn.info.dbname} ({conn.info.host}) has no mockbook "
                          "schema: run `mockbook migrate` on it")


def run_once(
    settings: Settings,
    url: str,
    conn: psycopg.Connection,
    *,
    stop: threading.Event,
    lease: Lease | None = None,
    push_settings: PushSettings | None = None,
    push_budget: float | None = None,
    push_linger: float = 5.0,
    progress: Callable[[], None] = lambda: None,
) -> CycleReport:
    """One cron cycle on ``conn``: every step once; ``progress()`` after each. ``lease``: the run
    lease, taken: renewed while the cycle runs (on the cycle's pool); lost to another run (this
    one stalled past it), it stops the cycle as a stop does (``lease.lost``)."""
    sizes = RUN_LAYOUT.sizes(settings.database_connections)  # ConfigError below its least
    hubspot, reader = hubspot_seams(settings)
    keeper = CacheKeeper(settings.redis_url)
    with Database(url, max_size=sizes["push, pull and notes"],
                  application_name=RUN_APPLICATION) as db:
        cycle = Cycle(
            settings=settings,
            conn=conn,
            db=db,
            keeper=keeper,
            hubspot=hubspot,
            reader=reader,
            stop=stop,
            push_settings=push_settings or PushSettings(),
            push_budget=settings.run_push_budget_seconds if push_budget is None else push_budget,
            push_linger=push_linger,
        )
        kept = nullcontext() if lease is None else lease.kept(db.pool.connection,
                                                              on_lost=stop.set)
        try:
            with kept:
                return step(cycle, STEPS, done=progress)
        finally:
            keeper.close()
