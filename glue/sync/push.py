"""Push (Postgres -> HubSpot): drain the sync_queue outbox.

One batch: claim due outbox rows (``claim_sync_batch``: SKIP LOCKED, a lease, every pending row
of the same records; several claims of up to 1,000 rows, until the batch holds 8,000 records or
4,000 bookings, so that calls go out full), group them by record (coalescing: many queued
changes of a record become one push of its current state, read fresh with ``push_state``), then
push them in three steps (contacts, bookings with their associations, exams: the comment below
says how each is sent) and settle the batch: rows done and HubSpot ids written back in one
transaction per outcome, failures retried with backoff or dead-lettered.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from glue.config import ConfigError, Settings
from glue.credit_fields import CREDIT_FIELD_NAMES
from glue.db.database import Database
from glue.db.pull import PullDatabase
from glue.errsummary import ErrorSummary
from glue.hubspot.catalogue import BOOKING_COLUMNS
from glue.hubspot.client import (
    CONTACTS,
    MAX_ASSOCIATION_BATCH,
    MAX_BATCH,
    MAX_HISTORY_BATCH,
    BatchResult,
    HubSpotClient,
    HubSpotError,
)
from glue.hubspot.ratelimit import DailyBudgetExhausted
from glue.hubspot.reads import HubSpotReader
from glue.hubspot.setup import require as require_portal

# How it works (the detail of the module docstring):
#
# 1. contacts: the five credit properties, ``batch/update`` by HubSpot id — after a batch read of
#    HubSpot's current values (with their history, so 50 contacts a read: ``MAX_HISTORY_BATCH``)
#    merged against the last synced values, so an admin's change is kept, never written over
#    (``_merge_credits``; a contact merged or deleted in HubSpot is re-linked there); a contact
#    without one
#    is matched by email (``batch/upsert`` with ``idProperty=email``: found and updated, or
#    created) and its id written back. The values are given to the pull's credit merge before
#    each call (``record_credit_push``), so HubSpot's copy of the push's own write is never taken
#    for an admin's change. Lookups: a contact the batch's bookings need for their associations
#    but whose outbox rows the batch did not claim is only looked up, never pushed: by the
#    HubSpot id it has by now (no call), else by a ``batch/upsert`` by email with no property
#    (found, or created empty), and neither its credits, nor the merge's bookkeeping
#    (``contact_credit_sync``), nor its id are written; its own outbox rows push those, under
#    their lease. (A lookup used to send the contact's credits and write its id back, which
#    turned what it sent into the merge's base. Beside another worker holding the contact's
#    lease that corrupted the base: the lookup's write-back
#    cleared the "pushing" values the holder had recorded, the holder's write-back then took
#    the current balances for what HubSpot held, and the next merge read a local change made
#    meanwhile as an admin's change in HubSpot: the deduction lost (or a stale upsert of either
#    one landed last). tests/py/test_push_lookup_race.py.) Two upserts by one email, a lookup's
#    and the holder's, find or create one HubSpot contact: email is unique there.
#    While this push holds a contact's lease (from the claim to the write-back), no pull or
#    webhook apply merges that contact (apply_pulled_contacts: BUSY, read again by the next
#    pass): only the lease holder's own merge (``merge_credits_for_push``) and its write-back
#    touch the merge's bookkeeping, so the write-back turns exactly what was sent into the base
#    (tests/py/test_push_pull_race.py: a pull between the write and the write-back used to clear
#    "pushing", and a local deduction made meanwhile came back as a phantom admin change);
# 2. bookings: ``batch/upsert`` with ``idProperty=booking_id`` (the booking code, unique in
#    HubSpot, so a retry or a crash at any instant never makes a second HubSpot booking; a
#    booking whose repeated production code the adoption renamed is first renamed in HubSpot by
#    its id, ``_rename_legacy_bookings``), each
#    input with ``objectWriteTraceId`` = the record's uuid; then the associations booking->contact
#    and booking->exam (v4 batch, default or configured types, up to 2,000 per call: one call
#    each for the whole batch) for bookings that are new, or whose exam or contact changed;
# 3. exams: ``batch/update`` of ``total_bookings`` (and ``capacity`` when it was changed here) by
#    HubSpot id; prerequisites changed here become exam->exam associations (created and removed).
#    A booking HubSpot archived is re-created by its upsert, and the new id replaces the old.
#
# At most 100 inputs per objects call. After each call the records that went through are completed
# (``complete_sync_batch``: rows done and HubSpot ids + hubspot_last_sync_at written back, one
# transaction) and the others failed (``fail_sync_rows``): a 429 gives the rows back without
# counting an attempt, due after Retry-After; 5xx/timeouts/connection errors back off; a
# per-record error (207, or an associations error) fails that record alone; a 4xx refusing a
# whole batch is bisected until the culprit is alone. After N attempts a row is dead-lettered
# and the rest keeps flowing. The HubSpot client retries transient errors a few times itself
# first (glue.hubspot.client).
#
# The database work runs beside the HubSpot calls (B5: it used to leave 3-8 s per batch
# with no call at all): two lanes of background threads (``_Lane``). The "prep" lane
# (PREP_THREADS threads) reads and merges the contacts' credits chunk after chunk
# (``_prepare_contacts``: the batch read, the merge, ``record_credit_push``) while the main
# thread sends the updates of the chunks already merged (in chunk order), and meanwhile upserts
# the bookings whose contact's HubSpot id is known (``_upsert_early``); the "settle" lane (one
# thread, in order) writes the outcomes (``complete_sync_batch``, ``fail_sync_rows``) while the
# next calls go out, and in ``run()`` claims and reads the next batch while this one is sent
# (only after a full batch; a batch claimed ahead more than half its lease ago is given back and
# claimed afresh). Nothing is completed before HubSpot answered, and the ids are still written
# in the transaction that marks the rows done; what changes is only when that transaction runs.
# ``push_batch()`` returns with its batch settled (the worker reads the stats right after);
# ``run()`` settles everything before it returns. On any error or Ctrl-C the lanes stop taking
# work, the running calls finish, queued outcomes are written (a second Ctrl-C drops them: those
# rows come back when their lease expires) and a batch claimed ahead is given back (``_lanes``):
# no thread outlives the call, no lease outlives its expiry. The lanes' transactions are those
# several workers already run at once (merges of disjoint contacts, completions in the lock
# order of docs/rpc.md): no new lock order.
#
# (One module on purpose: the three phases share the settle / bisect / abort machinery of one
# batch, and reading them together is how one checks that nothing is completed early.)

log = logging.getLogger(__name__)

BOOKINGS_TABLE = "hubspot_bookings"
CONTACTS_TABLE = "hubspot_contact_credits"
EXAMS_TABLE = "hubspot_mock_exams"
# Waitlist places are pushed as HubSpot booking objects: push_state shapes a place as
# a booking (booking code WL-<place id>, is_active Waitlisted / Offered / Accepted / Expired /
# Left / Closed), upserted and associated exactly like a booking (README "Waitlist in HubSpot").
WAITLIST_TABLE = "waitlist_entries"
WAITLIST_CODE_PREFIX = "WL-"

# mockbook's BUSY (docs/rpc.md "Errors"): a row stayed locked past mockbook.lock_timeout
BUSY_SQLSTATE = "PT503"
CREDIT_PROPERTIES = CREDIT_FIELD_NAMES  # the contact's credit properties (glue/credit_fields.py)
# HubSpot booking property <- hubspot_bookings column: the catalogue's one map.
BOOKING_PROPERTIES = BOOKING_COLUMNS
DATE_PROPERTIES = frozenset({"exam_date"})
# What the credit merge before a contact write reads (apply_pulled_contacts' properties, and
# hs_merged_object_ids: the ids of contacts merged into this one).
CONTACT_READ_PROPERTIES = (
    "email",
    "student_id",
    "firstname",
    "lastname",
    "ndecc_exam_date",
    *CREDIT_PROPERTIES,
    "lastmodifieddate",
    "hs_merged_object_ids",
)
PUSH_ACTOR = "hubspot:push"
# What a contact the push creates in HubSpot is given besides its email and credits.
PROFILE_PROPERTIES = ("student_id", "firstname", "lastname")


# ---- HubSpot property values ---------------------------------------------------------------------
def hubspot_date(value: Any) -> str:
    """A HubSpot date property: midnight UTC of the day, in epoch milliseconds ("" for none)."""
    if value in (None, ""):
        return ""
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return str(int(midnight.timestamp()) * 1000)


def hubspot_value(value: Any) -> str:
    """Property values are strings; None clears ("")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def booking_properties(state: dict[str, Any], contact_id: str | None) -> dict[str, str]:
    props = {}
    for prop, column in BOOKING_PROPERTIES.items():
        value = state.get(column)
        props[prop] = hubspot_date(value) if prop in DATE_PROPERTIES else hubspot_value(value)
    props["associated_contact_id"] = contact_id or ""
    return props


def contact_credits(state: dict[str, Any]) -> dict[str, int]:
    return {p: int(state.get(p) or 0) for p in CREDIT_PROPERTIES}


def contact_properties(state: dict[str, Any]) -> dict[str, str]:
    return {p: str(v) for p, v in contact_credits(state).items()}


# ---- what one batch works on ---------------------------------------------------------------------
@dataclass
class Work:
    """One record to push: its claimed outbox rows and its current state (None: deleted).
    A "lookup" is a contact with no outbox row in this batch, resolved for the batch's bookings
    and never written (no credits, no write-back: see the module comment)."""

    table: str
    record_id: uuid.UUID
    rows: list[dict] = field(default_factory=list)
    state: dict[str, Any] | None = None

    @property
    def row_ids(self) -> list[int]:
        return [r["id"] for r in self.rows]

    @property
    def trace(self) -> str:
        return str(self.record_id)


@dataclass
class PushStats:
    sent: int = 0  # records pushed (completed)
    rows_done: int = 0  # outbox rows marked done
    retried: int = 0  # outbox rows given back for a later attempt
    dead_lettered: int = 0  # outbox rows dead-lettered in this run
    batches: int = 0
    requeued: int = 0  # rows queued by --all / --exam
    by_table: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    errors: list[str] = field(default_factory=list)  # a sample of the failures
    # dead-lettered rows per error kind, a few examples each: logged once at the end of run()
    dead_by_kind: ErrorSummary = field(default_factory=ErrorSummary)
    stopped: str | None = None  # why the run ended early (daily budget)
    worker: str = ""
    seconds: float = 0.0

    def note_error(self, message: str) -> None:
        if len(self.errors) < 20:
            self.errors.append(message)


@dataclass
class _Batch:
    """Claimed outbox rows, their records with the state read right after the claim."""

    rows: list[dict]
    works: dict[tuple[str, uuid.UUID], Work]
    full: bool  # stopped at the batch size, not at a drained queue
    claimed_at: float  # time.monotonic() before the claim


@dataclass
class _Sending:
    """A batch's bookings on their way (``_push_bookings``): the contact each is associated
    with, the HubSpot ids of those upserted, those to associate. ``early``: bookings whose
    contact's HubSpot id their own state already gives, upserted while the contacts are still
    being read and merged (``_upsert_early``); ``tried``: the traces upserted so far."""

    early: list[Work] = field(default_factory=list)
    contact_of: dict[str, str | None] = field(default_factory=dict)
    upserted: dict[str, str] = field(default_factory=dict)
    to_associate: list[Work] = field(default_factory=list)
    tried: set[str] = field(default_factory=set)


class _Abort(Exception):
    """Stop the batch: give back what is not settled, then re-raise ``cause``."""

    def __init__(self, cause: Exception, retry_after: float | None = None) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.retry_after = retry_after


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _seconds_to_utc_midnight() -> float:
    now = datetime.now(UTC)
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


# One claim takes at most CLAIM_LIMIT due rows (claim_sync_batch's bound); a batch is gathered
# from several claims, up to ``batch_size`` records (BATCH_RECORDS by default) and as many
# bookings as fill whole association calls (MAX_ASSOCIATION_BATCH pairs each, one call per
# target type), so that the objects calls go out full (100 inputs), the association calls carry
# up to 2,000 bookings each (at 1,000 rows a claim, a fifth of the calls were association calls
# carrying ~470 bookings), and the fixed costs of a batch (claims, the final completion) are
# spread over many records.
CLAIM_LIMIT = 1000
BATCH_RECORDS = 8000
# Contact chunks read and merged at once (the prep lane's threads; each merge is one database
# transaction on its own connection, on disjoint contacts). The merge is the costliest database
# call of the push (~150-350 ms per 100 contacts on the shared 2-core box: docs/performance.md,
# "The push").
PREP_THREADS = 2
# connections a push uses at once: its main thread, the PREP_THREADS merges, the settle lane
PUSH_CONNECTIONS = PREP_THREADS + 2


class _Lane:
    """Background threads running database calls (a ThreadPoolExecutor; with one worker, in
    the order they were given). A call's error is raised in the caller's thread by the
    next ``submit``/``check``/``drain``, as if the caller had made the call itself."""

    def __init__(self, name: str, workers: int = 1) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix=f"mockbook-push-{name}"
        )
        self._futures: list[Future] = []
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], *args: Any, track: bool = True) -> Future:
        """Queue a call. ``track=False``: the caller reads the future itself (its error is
        not raised again by check/drain)."""
        self.check()
        with self._lock:
            future = self._pool.submit(fn, *args)
            if track:
                self._futures.append(future)
        return future

    def check(self) -> None:
        """Raise the error of a call that has finished with one."""
        with self._lock:
            failed = [f for f in self._futures if f.done() and not f.cancelled() and f.exception()]
            self._futures = [f for f in self._futures if not f.done()]
        if failed:
            raise failed[0].exception()  # type: ignore[misc]

    def drain(self) -> None:
        """Wait for every call given so far; raise the first error."""
        while True:
            with self._lock:
                if not self._futures:
                    return
                future = self._futures.pop(0)
            future.result()

    def close(self, *, finish: bool) -> None:
        """Stop: with ``finish``, run what is queued first (stopping at the first error, which
        is raised); otherwise cancel what has not started. The running call is always waited
        for, so the thread is gone when this returns."""
        try:
            if finish:
                self.drain()
        finally:
            with self._lock:
                for future in self._futures:
                    future.cancel()
            self._pool.shutdown(wait=True, cancel_futures=True)


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


class Pusher:
    """Drains the outbox to HubSpot. ``Pusher(db, hubspot, settings)``; ``run()`` -> PushStats."""

    def __init__(
        self,
        db: Database,
        hubspot: HubSpotClient,
        settings: Settings,
        *,
        worker: str | None = None,
        batch_size: int = BATCH_RECORDS,
        lease_seconds: int = 120,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.db = db
        self.hubspot = hubspot
        self.settings = settings
        self.worker = worker or default_worker_name()
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.bookings_type = settings.bookings_object_type
        self.exams_type = settings.exams_object_type
        self.max_attempts = settings.max_attempts
        self._sleep = sleep
        self.stats = PushStats(worker=self.worker)
        self.store = PullDatabase(db)
        self._reader: HubSpotReader | None = None
        self._unsettled: dict[tuple[str, uuid.UUID], Work] = {}
        self._settle_lock = threading.Lock()  # _unsettled is emptied from two threads
        self._relinked = False
        self.last_batch_full = False  # the last batch stopped at its size, not at a drained queue
        # The lanes of one push_batch() or run() (``_lanes``) and, in run(), the next batch
        # being claimed on the settle lane.
        self._prep: _Lane | None = None
        self._settle: _Lane | None = None
        self._next: Future | None = None

    @property
    def reader(self) -> HubSpotReader:
        if self._reader is None:
            self._reader = HubSpotReader(self.hubspot)
        return self._reader

    @staticmethod
    def changed(work: Work, column: str) -> bool:
        """Whether one of the work's outbox rows is a local change of ``column``."""
        return any(
            r.get("old_data") is not None
            and r.get("new_data") is not None
            and r["old_data"].get(column) != r["new_data"].get(column)
            for r in work.rows
        )

    # ---- start-up check ----------------------------------------------------------------------
    def preflight(self, uses: Iterable[str] = ("push",)) -> None:
        """Check once that HubSpot answers, accepts the token and has everything the push (or
        ``uses``: the commands of a run) needs (glue.hubspot.setup: both object types, the
        properties they use, the association definitions); misconfiguration raises ConfigError
        (exit 2) naming what is missing, before anything is claimed, so a portal missing a
        property never dead-letters the queue."""
        require_portal(self.hubspot, self.settings, uses)

    # ---- the loop ----------------------------------------------------------------------------
    def run(self, *, max_batches: int | None = None, linger: float = 10.0) -> PushStats:
        """Push batches until the queue has nothing due, waiting up to ``linger`` seconds for
        rows coming due (a rate-limit wait, a short backoff); at most ``max_batches``."""
        started = time.monotonic()
        idle_deadline: float | None = None
        try:
            with self._lanes():
                while max_batches is None or self.stats.batches < max_batches:
                    last = max_batches is not None and self.stats.batches + 1 >= max_batches
                    if self._push_batch(ahead=not last):
                        idle_deadline = None
                        continue
                    self._drain_settle()  # the outcomes written: what is due now is known
                    due = self.db.sync_queue_next_due()
                    now = time.monotonic()
                    if idle_deadline is None:
                        idle_deadline = now + linger
                    if due is None or now + due > idle_deadline or now >= idle_deadline:
                        break
                    self._sleep(min(max(due, 0.2), idle_deadline - now))
        except DailyBudgetExhausted as exc:
            self.stats.stopped = str(exc)
            log.warning("push stopped: %s", exc)
        finally:
            self.stats.seconds = round(time.monotonic() - started, 3)
            self._log_error_summary()
        return self.stats

    def _log_error_summary(self) -> None:
        """Failures by kind with a few examples, one line each (not one per record)."""
        for line in self.stats.dead_by_kind.lines("dead-lettered outbox rows"):
            log.warning("%s", line)

    # ---- the lanes ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _lanes(self) -> Iterator[None]:
        """The prep and settle lanes for one push_batch() or run(). On the way out, also on an
        error or Ctrl-C: the prep lane's queued work is dropped (it only served the batch that
        stopped); the settle lane's queued outcomes are written, since HubSpot has them (a
        second Ctrl-C or a database error drops the rest: those rows come back when their lease
        expires); a batch claimed ahead is given back; both threads are joined."""
        if self._settle is not None:  # already inside (push_batch from run)
            yield
            return
        self._prep, self._settle = _Lane("prep", PREP_THREADS), _Lane("settle")
        try:
            yield
        except BaseException:
            self._close_lanes(finish=True, raising=False)
            raise
        self._close_lanes(finish=True, raising=True)

    def _close_lanes(self, *, finish: bool, raising: bool) -> None:
        prep, settle = self._prep, self._settle
        self._prep = self._settle = None
        try:
            try:
                if prep is not None:
                    prep.close(finish=False)
            finally:
                try:
                    if settle is not None:
                        settle.close(finish=finish)
                finally:
                    self._give_back_next()
        except Exception:
            if raising:
                raise
            log.exception(
                "writing the push's outcomes after an error failed (the rows come "
                "back when their lease expires)"
            )

    def _give_back_next(self) -> None:
        """A batch claimed ahead and not pushed: release its rows at once, the attempt given
        back (fail_sync_rows with count_attempt false, due now)."""
        future, self._next = self._next, None
        if future is None or future.cancelled() or future.exception() is not None:
            return
        self._release(future.result())

    def _release(self, batch: _Batch) -> None:
        ids = [r["id"] for r in batch.rows]
        if ids:
            self.db.fail_sync_rows(
                self.worker,
                ids,
                "claimed ahead and given back unsent",
                max_attempts=self.max_attempts,
                retry_after=0,
                count_attempt=False,
            )

    def _on_settle(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run a settling database call on the settle lane (now, outside push_batch/run)."""
        if self._settle is None:
            fn(*args)
        else:
            self._settle.submit(fn, *args)

    def _on_prep(self, fn: Callable[..., Any], *args: Any) -> Future:
        if self._prep is not None:
            return self._prep.submit(fn, *args, track=False)
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def _drain_settle(self) -> None:
        if self._settle is not None:
            self._settle.drain()

    def _gather(self) -> _Batch:
        """Claim a batch and read its records' current state."""
        claimed_at = time.monotonic()
        rows, full = self._claim()
        works: dict[tuple[str, uuid.UUID], Work] = {}
        for row in rows:
            key = (row["table_name"], row["record_id"])
            works.setdefault(key, Work(row["table_name"], row["record_id"])).rows.append(row)
        for table in (CONTACTS_TABLE, BOOKINGS_TABLE, WAITLIST_TABLE, EXAMS_TABLE):
            ids = [rid for (t, rid) in works if t == table]
            if ids:
                for rid, state in self.db.push_state(table, ids).items():
                    works[(table, rid)].state = state
        return _Batch(rows, works, full, claimed_at)

    def _take_batch(self) -> _Batch:
        """The batch claimed ahead, else a new claim. One claimed ahead more than half its
        lease ago is given back and claimed afresh (its state could be old, and its lease
        could run out while it is sent)."""
        future, self._next = self._next, None
        if future is not None:
            batch = future.result()
            if time.monotonic() - batch.claimed_at <= self.lease_seconds / 2:
                return batch
            self._release(batch)
        # A claim must come after the write-backs of the contacts pushed before it (see
        # _claim_ahead): the last batch's outcomes are written first.
        self._drain_settle()
        return self._gather()

    def _claim_ahead(self) -> None:
        """Claim the next batch on the settle lane, behind the write-backs queued so far. Only
        once this batch's contacts are pushed and their write-backs queued, so that the next
        batch reads the HubSpot ids this one wrote back (its bookings' contacts are then no
        lookups). This ordering was first needed because a lookup wrote its contact back: a
        claim records the balances it will send as the contact's ``pushing`` credits (the
        credit_push_claimed trigger), which a write-back turns into the credit merge's base
        (credit_push_done), so a next claim taken before a lookup's write-back made the base
        what the next batch would send, not what HubSpot held (a deduction lost). A lookup
        writes nothing now (the module comment): the same clash between two processes, where
        no ordering inside one process helps, is gone with it."""
        if self._settle is not None:
            self._next = self._settle.submit(self._gather)

    def _claim(self) -> tuple[list[dict], bool]:
        """Claim one batch: claims of at most CLAIM_LIMIT rows until the batch holds
        ``batch_size`` records or whole association calls' worth of bookings (2,000 per 4,000
        records of ``batch_size``), or the queue has nothing more due. Each claim asks for no
        more due rows than there is room left (a due row brings at most one new record; its
        siblings are rows of the same record), so neither bound is overshot. Records leased by
        an earlier claim are not claimed again (claim_sync_batch skips records under a live
        lease), so a record is in the batch once."""
        rows: list[dict] = []
        records: set[tuple[str, uuid.UUID]] = set()
        bookings = 0
        floor = max(1, self.batch_size // 50)  # not worth another claim below this room
        per_call = MAX_ASSOCIATION_BATCH
        max_bookings = per_call * max(1, self.batch_size // (2 * per_call))
        while True:
            left = min(self.batch_size - len(records), max_bookings - bookings)
            if left < (floor if rows else 1):
                return rows, True
            room = min(CLAIM_LIMIT, left)
            got = self.db.claim_sync_batch(self.worker, room, self.lease_seconds)
            rows.extend(got)
            for row in got:
                key = (row["table_name"], row["record_id"])
                if key not in records:
                    records.add(key)
                    bookings += row["table_name"] in (BOOKINGS_TABLE, WAITLIST_TABLE)
            if len(got) < room:
                return rows, False  # fewer due rows than asked (siblings only add): drained

    def push_batch(self) -> int:
        """Claim and push one batch, settled (every row done, failed or given back) when this
        returns; returns the number of outbox rows claimed."""
        with self._lanes():
            return self._push_batch(ahead=False)

    def _push_batch(self, *, ahead: bool) -> int:
        """Push one batch; with ``ahead``, claim the next one on the settle lane meanwhile
        (when this one was full: a queue that is not drained)."""
        batch = self._take_batch()
        self.last_batch_full = batch.full
        if not batch.rows:
            return 0
        rows, works = batch.rows, batch.works
        self.stats.batches += 1
        with self._settle_lock:
            self._unsettled = dict(works)
        try:
            by_table = defaultdict(list)
            for work in works.values():
                by_table[work.table].append(work)
            self._relinked = False
            # a waitlist place goes as a booking object: with the bookings, after its contact
            bookings = by_table[BOOKINGS_TABLE] + by_table[WAITLIST_TABLE]
            sending = _Sending(
                early=[
                    w
                    for w in bookings
                    if w.state is not None
                    and (w.state.get("contact_record_id") is None or self._contact_id(w.state, {}))
                ]
            )
            contacts = self._push_contacts(
                by_table[CONTACTS_TABLE], bookings, idle=lambda: self._upsert_early(sending)
            )
            if ahead and batch.full:  # (not before: see _claim_ahead)
                self._claim_ahead()
            if self._relinked:  # bookings took their contact's new HubSpot id: read them again
                for table in (BOOKINGS_TABLE, WAITLIST_TABLE):
                    fresh = self.db.push_state(table, [w.record_id for w in by_table[table]])
                    for work in by_table[table]:
                        work.state = fresh.get(work.record_id)
            self._push_bookings(bookings, contacts, sending)
            self._push_exams(by_table[EXAMS_TABLE])
        except _Abort as abort:
            with self._settle_lock:
                leftover = [w for w in self._unsettled.values() if w.rows]
            if leftover:
                self._fail(
                    leftover,
                    f"push aborted: {abort.cause}",
                    retry_after=abort.retry_after,
                    count_attempt=False,
                )
            raise abort.cause from None
        return len(rows)

    # ---- settling records --------------------------------------------------------------------
    def _settled(self, works: Sequence[Work]) -> None:
        with self._settle_lock:
            for work in works:
                self._unsettled.pop((work.table, work.record_id), None)

    def _complete(self, works: Sequence[Work], hubspot_ids: dict[str, dict[str, str]]) -> None:
        """HubSpot took these records: mark their rows done and write the ids back (one
        complete_sync_batch transaction), on the settle lane."""
        works = list(works)
        self._settled(works)
        self._on_settle(self._complete_now, works, hubspot_ids)

    def _complete_now(self, works: list[Work], hubspot_ids: dict[str, dict[str, str]]) -> None:
        mine = [w for w in works if w.rows]
        row_ids = [i for w in mine for i in w.row_ids]
        try:
            done = self.db.complete_sync_batch(self.worker, row_ids, hubspot_ids)
        except psycopg.errors.UniqueViolation as exc:
            # Two local records answered by one HubSpot id (e.g. two contacts sharing an email):
            # complete them one by one; the clashing ones fail alone.
            log.warning("write-back clash, completing one record at a time: %s", exc)
            self._complete_each(works, hubspot_ids)
            return
        except psycopg.Error as exc:
            if exc.sqlstate != BUSY_SQLSTATE:
                raise
            # A row stayed locked by another transaction (a student's booking, an admin's
            # call) past mockbook.lock_timeout: nothing of this write-back happened. Complete
            # the records one by one, so that only the busy ones are given back.
            if len(works) > 1:
                log.info(
                    "write-back busy, completing one record at a time: %s", str(exc).splitlines()[0]
                )
                self._complete_each(works, hubspot_ids)
            else:
                self._busy_write_back(works)
            return
        self.stats.rows_done += done
        self.stats.sent += len(mine)
        for work in mine:
            self.stats.by_table[work.table] += 1

    def _complete_each(self, works: list[Work], hubspot_ids: dict[str, dict[str, str]]) -> None:
        for work in works:
            known = hubspot_ids.get(work.table, {})
            one = {work.table: {work.trace: known[work.trace]}} if work.trace in known else {}
            try:
                self._complete_one(work, one)
            except psycopg.errors.UniqueViolation as clash:
                if work.rows:
                    msg = str(clash).splitlines()[0]
                    self._fail_now(
                        [work], f"HubSpot id already used by another record: {msg}", None, True
                    )
            except psycopg.Error as exc:
                if exc.sqlstate != BUSY_SQLSTATE:
                    raise
                self._busy_write_back([work])

    def _busy_write_back(self, works: list[Work]) -> None:
        """HubSpot took these records but their write-back found a row held by another
        transaction past mockbook.lock_timeout (BUSY: nothing was written). Their rows are given
        back uncounted, as for a BUSY of ``record_credit_push``; the next push sends them again:
        a booking is upserted by its code (the same HubSpot object, whose id is then written),
        a contact's credits are merged as after a lost answer (its ``pushing`` values are kept
        by the next claim), an exam's total is written again."""
        mine = [w for w in works if w.rows]
        if mine:
            self._fail_now(
                mine,
                "BUSY: a row stayed locked by another transaction during the write-back",
                None,
                False,
            )

    def _complete_one(self, work: Work, hubspot_ids: dict[str, dict[str, str]]) -> None:
        done = self.db.complete_sync_batch(self.worker, work.row_ids, hubspot_ids)
        if work.rows:
            self.stats.rows_done += done
            self.stats.sent += 1
            self.stats.by_table[work.table] += 1

    def _fail(
        self,
        works: Sequence[Work],
        error: str,
        *,
        retry_after: float | None = None,
        count_attempt: bool = True,
    ) -> None:
        works = list(works)
        self._settled(works)
        mine = [w for w in works if w.rows]
        if mine:
            self._on_settle(self._fail_now, mine, error, retry_after, count_attempt)

    def _fail_now(
        self, mine: list[Work], error: str, retry_after: float | None, count_attempt: bool
    ) -> None:
        self.stats.note_error(error)
        res = self.db.fail_sync_rows(
            self.worker,
            [i for w in mine for i in w.row_ids],
            error,
            max_attempts=self.max_attempts,
            retry_after=retry_after,
            count_attempt=count_attempt,
        )
        self.stats.retried += res["retried"]
        self.stats.dead_lettered += res["dead"]
        self.stats.dead_by_kind.add(error, res["dead"])  # one summary line per kind, in run()

    def _fail_per_record(self, failed: dict[tuple[str, uuid.UUID], tuple[Work, str]]) -> None:
        by_message: dict[str, list[Work]] = defaultdict(list)
        for work, message in failed.values():
            by_message[message].append(work)
        for message, works in by_message.items():
            self._fail(works, message)

    def _run_chunk(self, works: list[Work], op: Callable[[list[Work]], None]) -> None:
        """Run ``op`` on a chunk; map a call-level failure to the chunk's records: a 429 gives
        them back uncounted, transient errors back off, a 4xx refusing the whole batch is
        bisected until the record it is about is alone."""
        try:
            op(works)
        except HubSpotError as exc:
            if exc.unauthorized:
                raise _Abort(
                    ConfigError(f"HubSpot refused the token during the push ({exc})")
                ) from None
            if exc.rate_limited:
                self._fail(works, str(exc), retry_after=exc.retry_after, count_attempt=False)
            elif exc.transient or len(works) <= 1:
                self._fail(works, str(exc))
            else:
                half = len(works) // 2
                self._run_chunk(works[:half], op)
                self._run_chunk(works[half:], op)
        except DailyBudgetExhausted as exc:
            raise _Abort(exc, retry_after=_seconds_to_utc_midnight()) from None

    @staticmethod
    def _errors_by_work(
        result: BatchResult, works: Sequence[Work], keys: Callable[[Work], Sequence[str]]
    ) -> dict[tuple[str, uuid.UUID], tuple[Work, str]]:
        """Per-record errors of a batch answer, mapped to works by objectWriteTraceId, else by
        any id the error's context mentions (``keys(work)``: the ids a work is known by)."""
        by_trace = {w.trace: w for w in works}
        failed: dict[tuple[str, uuid.UUID], tuple[Work, str]] = {}
        for err in result.errors:
            hit = [by_trace[t] for t in err.trace_ids if t in by_trace]
            if not hit:
                mentioned = err.mentioned_ids()
                hit = [w for w in works if mentioned.intersection(k for k in keys(w) if k)]
            if not hit:
                log.warning("HubSpot reported an error about no known record: %s", err)
            for work in hit:
                failed[(work.table, work.record_id)] = (work, str(err))
        return failed

    def _confirmed(
        self, result: BatchResult, chunk: Sequence[Work],
        failed: dict[tuple[str, uuid.UUID], tuple[Work, str]],
    ) -> list[Work]:
        """The works of a batch update HubSpot confirmed: a result names them (by
        objectWriteTraceId, else by HubSpot id). One answered with neither a result nor an error
        (a 207 missing an input) is not counted as written: it is failed here, tried again."""
        traces = {str(r.get("objectWriteTraceId")) for r in result.results}
        ids = {str(r.get("id")) for r in result.results}
        ok, unknown = [], []
        for work in chunk:
            if (work.table, work.record_id) in failed:
                continue
            if work.trace in traces or str(work.state.get("hubspot_id")) in ids:
                ok.append(work)
            else:
                unknown.append(work)
        if unknown:
            self._fail(unknown, "HubSpot answered the batch without this record (neither a "
                                "result nor an error): not counted as written, tried again")
        return ok

    # ---- contacts ----------------------------------------------------------------------------
    def _push_contacts(
        self,
        works: list[Work],
        bookings: list[Work],
        idle: Callable[[], bool] | None = None,
    ) -> dict[str, str | None]:
        """Push claimed contacts, and resolve the HubSpot ids of the bookings' contacts that
        have none (lookups: found by id or email, nothing of theirs written, see the module
        comment). Returns {contact record uuid (str): HubSpot id or None if unresolved}.
        ``idle()``: one other call to make while a chunk's merge is not ready (False: none
        left)."""
        resolved: dict[str, str | None] = {}
        claimed = {w.record_id for w in works}
        lookups: list[uuid.UUID] = []
        for b in bookings:
            s = b.state or {}
            rid = s.get("contact_record_id")
            if rid and not s.get("contact_hubspot_id") and not s.get("associated_contact_id"):
                rid = uuid.UUID(str(rid))
                if rid not in claimed and rid not in lookups:
                    lookups.append(rid)
        if lookups:  # an earlier batch's write-back may have given them their HubSpot id
            self._drain_settle()
        # A lookup only resolves the HubSpot id (see "Lookups" in the module comment): one with
        # an id is not sent at all; one without is upserted by email with no property, and
        # neither its credits nor the credit merge's bookkeeping nor its id are written.
        unknown: list[Work] = []
        for rid, state in self.db.push_state(CONTACTS_TABLE, lookups).items():
            if state.get("hubspot_id"):
                resolved[str(rid)] = str(state["hubspot_id"])
            else:
                unknown.append(Work(CONTACTS_TABLE, rid, [], state))
        gone = [w for w in works if w.state is None]
        if gone:  # deleted locally: HubSpot keeps its contact
            self._complete(gone, {})
        live = [w for w in works if w.state is not None]
        with_id = [w for w in live if w.state.get("hubspot_id")]
        by_email = [w for w in live if not w.state.get("hubspot_id")] + unknown
        for work in with_id:
            resolved[work.trace] = work.state["hubspot_id"]

        def update(chunk: list[Work]) -> None:
            # (record_credit_push was called by _prepare_contacts, after the merge)
            result = self.hubspot.update(
                CONTACTS,
                [
                    {
                        "id": w.state["hubspot_id"],
                        "properties": contact_properties(w.state),
                        "trace": w.trace,
                    }
                    for w in chunk
                ],
            )
            failed = self._errors_by_work(result, chunk, lambda w: [w.state["hubspot_id"]])
            self._fail_per_record(failed)
            ok = self._confirmed(result, chunk, failed)
            self._complete(ok, {CONTACTS_TABLE: {w.trace: w.state["hubspot_id"] for w in ok}})

        def upsert(chunk: list[Work]) -> None:
            owned = [w for w in chunk if w.rows]  # the rest are lookups: no credits, no base
            if len(self._record_sending(owned)) < len(owned):  # BUSY: given back, not sent
                chunk = [w for w in chunk if not w.rows]
                if not chunk:
                    return
            result = self.hubspot.upsert(
                CONTACTS,
                "email",
                [
                    {
                        "id": w.state["email"].strip().lower(),
                        "properties": contact_properties(w.state) if w.rows else {},
                        "trace": w.trace,
                    }
                    for w in chunk
                ],
            )
            failed = self._errors_by_work(
                result, chunk, lambda w: [w.state["email"].strip().lower()]
            )
            self._fail_per_record(failed)
            ids = self._result_ids(
                result, chunk, lambda w: w.state["email"].strip().lower(), "email"
            )
            ok = [w for w in chunk if (w.table, w.record_id) not in failed and w.trace in ids]
            missing = [
                w for w in chunk if (w.table, w.record_id) not in failed and w.trace not in ids
            ]
            if missing:
                self._fail(missing, "HubSpot answered the contact upsert without this contact")
            for w in ok:
                resolved[w.trace] = ids[w.trace]
            ok = [w for w in ok if w.rows]  # a lookup's id is not written back
            self._give_profile(ok, ids, result)
            self._complete(ok, {CONTACTS_TABLE: {w.trace: ids[w.trace] for w in ok}})

        # Read and merge on the prep lane, chunk after chunk, while the chunks already merged
        # are written here (an update waits only for its own chunk's merge).
        prepared = [
            self._on_prep(self._prepare_contacts, chunk) for chunk in _chunks(with_id, MAX_BATCH)
        ]
        ready: list[Work] = []
        try:
            for future in prepared:
                while not future.done() and idle is not None and idle():
                    pass
                merged, gone = future.result()
                for work in merged:
                    resolved[work.trace] = work.state["hubspot_id"]
                for work in gone:
                    resolved.pop(work.trace, None)
                by_email.extend(gone)
                ready.extend(merged)
                while len(ready) >= MAX_BATCH:  # full calls only, until the last
                    chunk, ready = ready[:MAX_BATCH], ready[MAX_BATCH:]
                    self._run_chunk(chunk, update)
        finally:  # an error: stop the reads not started, wait for the one running
            for future in prepared:
                future.cancel()
            wait_futures(prepared)
        for chunk in _chunks(ready, MAX_BATCH):
            self._run_chunk(chunk, update)
        for chunk in _chunks(by_email, MAX_BATCH):
            self._run_chunk(chunk, upsert)
        return resolved

    def _give_profile(self, works: list[Work], ids: dict[str, str], result: BatchResult) -> None:
        """The contacts the upsert created (``new`` in its answer: a student new to HubSpot, or
        one re-created after an admin deleted it) get the profile Postgres holds (student_id,
        names), which the upsert by email did not carry: HubSpot owns an existing contact's
        profile, so it is only ever written to a contact that had none. A failure here is
        logged, not retried: the credits are written, and reconcile reports the empty names."""
        new = {str(r.get("id")) for r in result.results if r.get("new")}
        inputs = [
            {"id": ids[w.trace], "properties": profile, "trace": w.trace}
            for w in works
            if ids[w.trace] in new and w.state
            and (profile := {p: str(w.state[p]) for p in PROFILE_PROPERTIES if w.state.get(p)})
        ]
        if not inputs:
            return
        try:
            answer = self.hubspot.update(CONTACTS, inputs)
        except HubSpotError as exc:
            log.warning("the profile of %d new HubSpot contact(s) was not written: %s",
                        len(inputs), exc)
            return
        if answer.errors:
            log.warning("the profile of %d new HubSpot contact(s) was not written: %s",
                        len(answer.errors), answer.errors[0].message)

    def _prepare_contacts(self, chunk: list[Work]) -> tuple[list[Work], list[Work]]:
        """(prep lane) The credit merge of one chunk (``_merge_credits``: HubSpot's batch read,
        then the database), then ``record_credit_push`` of the values about to be written, so
        the pull's merge knows them as ours even if the answer to the write is lost. Returns
        (works to update by id, works to upsert by email)."""
        merged: list[Work] = []
        gone: list[Work] = []

        def merge(part: list[Work]) -> None:
            ready, lost = self._merge_credits(part)
            merged.extend(ready)
            gone.extend(lost)

        # One read with history per MAX_HISTORY_BATCH contacts: HubSpot refuses more (a 400 the
        # bisection in _run_chunk would only find after a wasted call); the update stays 100.
        for part in _chunks(chunk, MAX_HISTORY_BATCH):
            self._run_chunk(part, merge)
        return self._record_sending(merged), gone

    def _record_sending(self, works: list[Work]) -> list[Work]:
        """``record_credit_push(sent=False)`` of the credits about to be written: the pull's
        credit merge must know them as ours even if HubSpot applies them and the answer is lost
        (the write-back makes them the synced base). Returns the works recorded: all, or none
        when a contact stayed locked past mockbook.lock_timeout (BUSY: the function writes under
        the contacts' row locks, docs/rpc.md "Lock order"); those are given back uncounted and
        not sent, as values sent unrecorded could later be read as an admin's change."""
        if not works:
            return []
        try:
            self.db.record_credit_push(
                {w.trace: contact_credits(w.state) for w in works}, sent=False
            )
        except psycopg.Error as exc:
            if exc.sqlstate != BUSY_SQLSTATE:
                raise
            self._fail(
                works,
                "BUSY: a contact stayed locked while its credits were recorded",
                count_attempt=False,
            )
            return []
        return works

    def _merge_credits(self, chunk: list[Work]) -> tuple[list[Work], list[Work]]:
        """Before writing credits, read HubSpot's current values (batch read) and merge them
        against the last synced values (``contact_credit_sync``), as the pull does: an admin's
        change made since is applied locally as a ``hubspot_adjustment`` ledger row, so what is
        written is base + local deltas + HubSpot deltas, never a blind overwrite.

        A contact HubSpot merged into another (its id in the survivor's
        ``hs_merged_object_ids``; a read of a merged-away id answers with the survivor —
        https://knowledge.hubspot.com/records/merge-records) is re-linked to the survivor; one
        HubSpot deleted is re-linked by email (returned second: the caller upserts by email).
        Returns (works to update by id, with their merged state; works to upsert by email)."""
        ids = [str(w.state["hubspot_id"]) for w in chunk]
        records = self.reader.read(
            CONTACTS, ids, properties=CONTACT_READ_PROPERTIES, history=CREDIT_PROPERTIES
        )
        by_id = {r["id"]: r for r in records}
        survivor: dict[str, dict] = {}
        for rec in records:
            for old in (rec["properties"].get("hs_merged_object_ids") or "").split(";"):
                if old.strip():
                    survivor[old.strip()] = rec
        ready: list[Work] = []
        gone: list[Work] = []
        found: dict[str, dict] = {}
        for work in chunk:
            hid = str(work.state["hubspot_id"])
            rec = by_id.get(hid) or survivor.get(hid)
            target = rec["id"] if rec is not None else None
            if target != hid:
                why = (
                    f"HubSpot contact {hid} was merged into {target}"
                    if target
                    else f"HubSpot contact {hid} was deleted; matched again by email"
                )
                try:
                    self.store.relink_contact(work.record_id, target, f"{PUSH_ACTOR}: {why}")
                except psycopg.errors.UniqueViolation:
                    self._fail(
                        [work],
                        f"{why}, which is linked to another local contact: "
                        "merge the two students by hand",
                    )
                    continue
                log.info("%s (contact %s re-linked)", why, work.state.get("student_id"))
                self._relinked = True
                work.state["hubspot_id"] = target
                if target is None:
                    gone.append(work)
                    continue
            found[target] = rec
            ready.append(work)
        if found:
            result = self.store.merge_credits_for_push(list(found.values()), PUSH_ACTOR)
            # HubSpot's record holds a value the database cannot take (glue.hubspot.values):
            # its credits cannot be merged, so nothing is written over them until it is fixed
            # or a credit change too large to take unconfirmed (CREDIT_JUMP, held for an admin)
            stopped = set(result.get("refused") or []) | set(result.get("held") or [])
            refused = {e["id"]: e["error"] for e in result.get("errors") or []
                       if e.get("id") in stopped}
            for work in [w for w in ready if w.state["hubspot_id"] in refused]:
                self._fail([work], f"HubSpot contact {work.state['hubspot_id']} cannot be "
                                   f"merged: {refused[work.state['hubspot_id']]}")
            ready = [w for w in ready if w.state["hubspot_id"] not in refused]
            busy = set(result.get("retry") or [])
            if busy:
                self._fail(
                    [w for w in ready if w.state["hubspot_id"] in busy],
                    "BUSY: the contact stayed locked during the credit merge",
                    count_attempt=False,
                )
                ready = [w for w in ready if w.state["hubspot_id"] not in busy]
        fresh = self.db.push_state(CONTACTS_TABLE, [w.record_id for w in ready + gone])
        for work in ready + gone:
            if work.record_id in fresh:
                work.state = fresh[work.record_id]
        return [w for w in ready if w.state.get("hubspot_id")], gone

    @staticmethod
    def _result_ids(
        result: BatchResult, chunk: Sequence[Work], key: Callable[[Work], str], prop: str
    ) -> dict[str, str]:
        """{work trace: HubSpot id} from batch results, by objectWriteTraceId, else by the
        unique property value."""
        traces = {w.trace for w in chunk}
        by_key = {key(w): w.trace for w in chunk}
        out: dict[str, str] = {}
        for r in result.results:
            trace = r.get("objectWriteTraceId")
            if trace not in traces:
                value = (r.get("properties") or {}).get(prop) or ""
                trace = by_key.get(value.strip().lower() if prop == "email" else value)
            if trace:
                out[trace] = str(r["id"])
        return out

    # ---- bookings ----------------------------------------------------------------------------
    def _contact_id(self, state: dict[str, Any], resolved: dict[str, str | None]) -> str | None:
        return (
            state.get("associated_contact_id")
            or state.get("contact_hubspot_id")
            or resolved.get(str(state.get("contact_record_id")))
        )

    @staticmethod
    def _needs_associations(work: Work) -> bool:
        """A booking is associated when it is new, re-queued (push --all), or its exam or
        contact changed; a plain status change does not cost the two association calls."""
        state = work.state or {}
        for row in work.rows:
            old = row.get("old_data")
            if row["operation"] == "INSERT" or old is None:
                return True
            if work.table == WAITLIST_TABLE:  # a place's exam and contact never change
                continue
            if old.get("associated_mock_exam") != state.get("associated_mock_exam"):
                return True
            if (old.get("associated_contact_id") or None) != (
                state.get("associated_contact_id") or None
            ):
                return True
        return False

    def _upsert_early(self, sending: _Sending) -> bool:
        """Upsert the next chunk of the bookings whose contact's HubSpot id is known from
        their own state (the contacts are still being merged: the main thread would wait);
        False when none is left. Their associations and completion wait for _push_bookings."""
        if not sending.early:
            return False
        chunk, sending.early = sending.early[:MAX_BATCH], sending.early[MAX_BATCH:]
        with self._settle_lock:
            chunk = [w for w in chunk if (w.table, w.record_id) in self._unsettled]
        if not chunk:
            return True
        for work in chunk:
            sending.contact_of[work.trace] = self._contact_id(work.state, {})
            sending.tried.add(work.trace)
        self._run_chunk(
            chunk,
            lambda c: self._upsert_bookings(
                c, sending.contact_of, sending.upserted, sending.to_associate
            ),
        )
        return True

    def _push_bookings(
        self,
        works: list[Work],
        resolved: dict[str, str | None],
        sending: _Sending | None = None,
    ) -> None:
        """Upsert the batch's bookings (100 per call; those upserted early are not sent again
        unless their contact's HubSpot id changed since: a re-linked contact), then associate
        the ones that need it (up to 2,000 pairs per call, so a batch of new bookings costs two
        association calls, not two per 100), then complete them. Nothing is completed before
        its associations."""
        sending = sending or _Sending()
        gone = [w for w in works if w.state is None]
        if gone:
            self._run_chunk(gone, self._archive_bookings)
        with self._settle_lock:  # not those an early upsert already failed
            live = [
                w
                for w in works
                if w.state is not None and (w.table, w.record_id) in self._unsettled
            ]
        waiting, ready = [], []
        for work in live:
            has_contact = work.state.get("contact_record_id") is not None
            if has_contact and not self._contact_id(work.state, resolved):
                waiting.append(work)
            else:
                ready.append(work)
        if waiting:
            self._fail(waiting, "the booking's contact has no HubSpot id yet (not synced)")
        contact_of = {w.trace: self._contact_id(w.state, resolved) for w in ready}
        again = {
            w.trace
            for w in ready
            if w.trace in sending.tried and sending.contact_of.get(w.trace) != contact_of[w.trace]
        }
        for trace in again:
            sending.upserted.pop(trace, None)
        upserted = sending.upserted  # trace -> HubSpot id
        to_associate = [w for w in sending.to_associate if w.trace not in again]
        sending.contact_of.update(contact_of)
        fresh = [w for w in ready if w.trace not in sending.tried or w.trace in again]
        for chunk in _chunks(fresh, MAX_BATCH):
            self._run_chunk(
                chunk, lambda c: self._upsert_bookings(c, contact_of, upserted, to_associate)
            )
        with self._settle_lock:  # an early upsert's associations: only if still to complete
            to_associate = [w for w in to_associate if (w.table, w.record_id) in self._unsettled]

        def associate(chunk: list[Work]) -> None:
            self._fail_per_record(self._associate_bookings(chunk, upserted, contact_of))

        for chunk in _chunks(to_associate, MAX_ASSOCIATION_BATCH):
            self._run_chunk(chunk, associate)
        done = [
            w for w in ready if w.trace in upserted and (w.table, w.record_id) in self._unsettled
        ]
        written: dict[str, dict[str, str]] = defaultdict(dict)
        for w in done:
            written[w.table][w.trace] = upserted[w.trace]
        self._complete(done, dict(written))

    def _archive_bookings(self, chunk: list[Work]) -> None:
        ids = sorted(
            {
                str(hid)
                for w in chunk
                for r in w.rows
                if (hid := (r.get("old_data") or {}).get("hubspot_id"))
            }
        )
        if ids:
            self.hubspot.archive(self.bookings_type, ids)
        self._complete(chunk, {})

    def _upsert_bookings(
        self,
        chunk: list[Work],
        contact_of: dict[str, str | None],
        upserted: dict[str, str],
        to_associate: list[Work],
    ) -> None:
        """One ``batch/upsert`` by booking code; per-record errors fail those bookings now, the
        others are noted (with their HubSpot id) for the associations and the completion."""
        self._rename_legacy_bookings(chunk)
        result = self.hubspot.upsert(
            self.bookings_type,
            "booking_id",
            [
                {
                    "id": w.state["booking_id"],
                    "properties": booking_properties(w.state, contact_of[w.trace]),
                    "trace": w.trace,
                }
                for w in chunk
            ],
        )
        failed = self._errors_by_work(result, chunk, lambda w: [w.state["booking_id"]])
        ids = self._result_ids(result, chunk, lambda w: w.state["booking_id"], "booking_id")
        new = {r.get("objectWriteTraceId") for r in result.results if r.get("new")}
        for work in chunk:
            if (work.table, work.record_id) in failed:
                continue
            if work.trace not in ids:
                failed[(work.table, work.record_id)] = (
                    work,
                    "HubSpot answered the booking upsert without this booking",
                )
                continue
            upserted[work.trace] = ids[work.trace]
            if work.trace in new or self._needs_associations(work):
                to_associate.append(work)
        self._fail_per_record(failed)

    def _rename_legacy_bookings(self, chunk: list[Work]) -> None:
        """A booking whose repeated production code the adoption renamed (``legacy_booking_id``
        set, README "Legacy booking codes") has a HubSpot object that still carries the old
        code: give that object the new code by its id (``batch/update``) first, so the upsert
        by code finds it instead of creating a second HubSpot booking. Idempotent; per-record
        errors (an object HubSpot archived or merged away) are left to the upsert, which
        re-creates an archived booking as for any other."""
        legacy = [
            w for w in chunk if w.state.get("legacy_booking_id") and w.state.get("hubspot_id")
        ]
        if not legacy:
            return
        try:
            self.hubspot.update(
                self.bookings_type,
                [
                    {
                        "id": str(w.state["hubspot_id"]),
                        "properties": {"booking_id": w.state["booking_id"]},
                        "trace": w.trace,
                    }
                    for w in legacy
                ],
            )
        except HubSpotError as exc:
            if exc.transient or exc.unauthorized:
                raise  # _run_chunk: retried later / the run aborts
            log.warning("renaming legacy bookings in HubSpot refused (%s); upserting", exc)

    def _associate_bookings(
        self, works: list[Work], ids: dict[str, str], contact_of: dict[str, str | None]
    ) -> dict[tuple[str, uuid.UUID], tuple[Work, str]]:
        """Associate each booking with its contact and its exam; per-record failures."""
        failed: dict[tuple[str, uuid.UUID], tuple[Work, str]] = {}
        plans = (
            (
                CONTACTS,
                self.settings.booking_contact_association_type,
                lambda w: contact_of[w.trace],
            ),
            (
                self.exams_type,
                self.settings.booking_exam_association_type,
                lambda w: w.state.get("associated_mock_exam"),
            ),
        )
        for to_type, type_id, target in plans:
            chunk = [w for w in works if target(w)]
            if not chunk:
                continue
            pairs = [(ids[w.trace], str(target(w))) for w in chunk]
            result = self.hubspot.associate(self.bookings_type, to_type, pairs, type_id)
            failed.update(
                self._errors_by_work(
                    result, chunk, lambda w, target=target: [ids[w.trace], str(target(w))]
                )
            )
        return failed

    # ---- exams -------------------------------------------------------------------------------
    def _push_exams(self, works: list[Work]) -> None:
        gone = [w for w in works if w.state is None]
        if gone:  # HubSpot owns exams: a local delete is not pushed
            self._complete(gone, {})
        live = [w for w in works if w.state is not None]

        prerequisites: list[Work] = []

        def update(chunk: list[Work]) -> None:
            result = self.hubspot.update(
                self.exams_type,
                [
                    {
                        "id": w.state["hubspot_id"],
                        "properties": self._exam_properties(w),
                        "trace": w.trace,
                    }
                    for w in chunk
                ],
            )
            failed = self._errors_by_work(result, chunk, lambda w: [w.state["hubspot_id"]])
            self._fail_per_record(failed)
            ok = self._confirmed(result, chunk, failed)
            later = [w for w in ok if self.changed(w, "prerequisite_exam_ids")]
            prerequisites.extend(later)
            now = [w for w in ok if w not in later]
            self._complete(now, {EXAMS_TABLE: {w.trace: w.state["hubspot_id"] for w in now}})

        for chunk in _chunks(live, MAX_BATCH):
            self._run_chunk(chunk, update)
        for chunk in _chunks(prerequisites, MAX_ASSOCIATION_BATCH // 2):
            self._run_chunk(chunk, self._push_prerequisites)

    def _exam_properties(self, work: Work) -> dict[str, str]:
        """total_bookings always (Postgres owns it); capacity only when it was changed here
        (set_exam_capacity): an admin's capacity edit in HubSpot not pulled yet is not written
        over by an exam queued for its booking count."""
        props = {"total_bookings": hubspot_value(work.state.get("total_bookings") or 0)}
        if self.changed(work, "capacity"):
            props["capacity"] = hubspot_value(work.state.get("capacity"))
        return props

    def _push_prerequisites(self, chunk: list[Work]) -> None:
        """Write the exams' prerequisite lists as exam->exam associations of the prerequisite
        type (HUBSPOT_PREREQUISITE_ASSOCIATION_TYPE_ID, USER_DEFINED, from the exam to each
        prerequisite, as the original admin app writes them): read what HubSpot has, create the
        missing ones, remove that type from the others (``batch/labels/archive``: any other
        association between the two exams stays)."""
        type_id = self.settings.prerequisite_association_type_id
        ids = [str(w.state["hubspot_id"]) for w in chunk]
        current = self.hubspot.associations(self.exams_type, self.exams_type, ids)
        create: list[tuple[str, str]] = []
        remove: list[tuple[str, str]] = []
        for work in chunk:
            hid = str(work.state["hubspot_id"])
            want = {str(x) for x in work.state.get("prerequisite_exam_ids") or []}
            have = {to for to, types in current.get(hid, []) if type_id in types}
            create += [(hid, to) for to in sorted(want - have)]
            remove += [(hid, to) for to in sorted(have - want)]
        failed: dict[tuple[str, uuid.UUID], tuple[Work, str]] = {}
        if create:
            result = self.hubspot.associate(self.exams_type, self.exams_type, create, type_id)
            failed = self._errors_by_work(
                result,
                chunk,
                lambda w: [
                    str(w.state["hubspot_id"]),
                    *map(str, w.state.get("prerequisite_exam_ids") or []),
                ],
            )
        if remove:
            self.hubspot.dissociate_labels(self.exams_type, self.exams_type, remove, type_id)
        self._fail_per_record(failed)
        ok = [w for w in chunk if (w.table, w.record_id) not in failed]
        self._complete(ok, {EXAMS_TABLE: {w.trace: w.state["hubspot_id"] for w in ok}})


def push(
    db: Database,
    hubspot: HubSpotClient,
    settings: Settings,
    *,
    requeue: bool = False,
    exam: str | None = None,
    max_batches: int | None = None,
    batch_size: int = BATCH_RECORDS,
    lease_seconds: int = 120,
    linger: float = 10.0,
    worker: str | None = None,
) -> PushStats:
    """One ``mockbook push``: preflight, optionally re-queue everything (or one exam), drain,
    and record the run in sync_metadata ('push')."""
    pusher = Pusher(
        db, hubspot, settings, worker=worker, batch_size=batch_size, lease_seconds=lease_seconds
    )
    pusher.preflight()
    if requeue or exam:
        pusher.stats.requeued = db.requeue_for_push(None, exam)
    try:
        stats = pusher.run(max_batches=max_batches, linger=linger)
    except Exception as exc:
        db.record_sync_run("push", "failed", pusher.stats.sent, str(exc)[:500])
        raise
    if stats.stopped:
        db.record_sync_run("push", "failed", stats.sent, stats.stopped)
    else:
        dead = stats.dead_lettered
        error = f"{dead} outbox row(s) dead-lettered" if dead else None
        db.record_sync_run("push", "success", stats.sent, error)
    return stats
