"""Push (Postgres -> HubSpot): drain the sync_queue outbox, batch after batch.

One batch: claim due outbox rows (``claim_sync_batch``: SKIP LOCKED, a lease, every pending row
of the same records; several claims of up to 1,000 rows, until the batch holds 8,000 records or
4,000 bookings, so that calls go out full), group them by record (coalescing: many queued
changes of a record become one push of its current state, read fresh with ``push_state``), then
push them in three steps (contacts, bookings with their associations, exams: the modules beside
this one) and settle the batch (glue/sync/push/settle.py). ``push()`` is `mockbook push`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass

from glue.config import PUSH_BATCH_SIZE, PUSH_LEASE_SECONDS, PUSH_LINGER_SECONDS, Settings
from glue.db.database import Database
from glue.db.pull import PullDatabase
from glue.hubspot.catalogue import WAITLIST_TABLE
from glue.hubspot.client import MAX_ASSOCIATION_BATCH, HubSpotClient
from glue.hubspot.ratelimit import DailyBudgetExhausted, Stopped
from glue.hubspot.reads import HubSpotReader
from glue.hubspot.setup import require as require_portal
from glue.sync.push.bookings import BookingPush, Sending
from glue.sync.push.contacts import ContactPush
from glue.sync.push.exams import ExamPush
from glue.sync.push.lanes import Lane
from glue.sync.push.records import (
    BOOKINGS_TABLE,
    CONTACTS_TABLE,
    EXAMS_TABLE,
    PUSHED_TABLES,
    Abort,
    PushStats,
    Work,
    default_worker_name,
)

# How it works (the detail of the module docstring):
#
# The database work runs beside the HubSpot calls (measured in bench B5: in line, it left 3-8 s
# per batch with no call at all): two lanes of background threads (``Lane``, lanes.py). The
# "prep" lane (PREP_THREADS threads) reads and merges the contacts' credits chunk after chunk
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
# The three steps share the settling of one batch (glue/sync/push/settle.py: complete, fail,
# bisect, abort), each in its own module: contacts.py, bookings.py, exams.py.

log = logging.getLogger(__name__)

# One claim takes at most CLAIM_LIMIT due rows (claim_sync_batch's bound); a batch is gathered
# from several claims, up to ``batch_size`` records (BATCH_RECORDS by default) and as many bookings
# as fill whole association calls (MAX_ASSOCIATION_BATCH pairs each, one call per target type):
# the objects calls go out full (100 inputs), the association calls carry up to 2,000 bookings each
# (at 1,000 rows a claim, a fifth of the calls were association calls carrying ~470 bookings), and
# a batch's fixed costs (claims, the final completion) are spread over many records.
CLAIM_LIMIT = 1000
BATCH_RECORDS, LEASE_SECONDS = PUSH_BATCH_SIZE.default, PUSH_LEASE_SECONDS.default
# Contact chunks read and merged at once (the prep lane's threads; each merge is one database
# transaction on its own connection, on disjoint contacts). The merge is the costliest database
# call of the push (~150-350 ms per 100 contacts on the shared 2-core box: docs/performance.md,
# "The push").
PREP_THREADS = 2
# connections a push uses at once: its main thread, the PREP_THREADS merges, the settle lane
PUSH_CONNECTIONS = PREP_THREADS + 2


@dataclass
class Batch:
    """Claimed outbox rows, their records with the state read right after the claim."""

    rows: list[dict]
    works: dict[tuple[str, uuid.UUID], Work]
    full: bool  # stopped at the batch size, not at a drained queue
    claimed_at: float  # time.monotonic() before the claim


class Pusher(ContactPush, BookingPush, ExamPush):
    """Drains the outbox to HubSpot. ``Pusher(db, hubspot, settings)``; ``run()`` -> PushStats."""

    def __init__(
        self,
        db: Database,
        hubspot: HubSpotClient,
        settings: Settings,
        *,
        worker: str | None = None,
        batch_size: int = BATCH_RECORDS,
        lease_seconds: int = LEASE_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        stop: threading.Event | None = None,
        ramp: int | None = None,
    ) -> None:
        self.db = db
        self.hubspot = hubspot
        self.settings = settings
        self.worker = worker or default_worker_name()
        self.batch_size = batch_size
        self.next_size = min(batch_size, ramp) if ramp else batch_size  # doubled (RAMP_RECORDS)
        self.lease_seconds = lease_seconds
        self.stop = stop
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
        self._prep: Lane | None = None
        self._settle: Lane | None = None
        self._next: Future | None = None

    # ---- start-up check ----------------------------------------------------------------------
    def preflight(self, uses: Iterable[str] = ("push",)) -> None:
        """Check once that HubSpot answers, accepts the token and has everything the push (or
        ``uses``: the commands of a run) needs (glue.hubspot.setup: both object types, the
        properties they use, the association definitions); misconfiguration raises ConfigError
        (exit 2) naming what is missing, before anything is claimed, so a portal missing a
        property never dead-letters the queue."""
        require_portal(self.hubspot, self.settings, uses)

    # ---- the loop ----------------------------------------------------------------------------
    def run(
        self, *, max_batches: int | None = None, linger: float = PUSH_LINGER_SECONDS.default
    ) -> PushStats:
        """Push batches until the queue has nothing due, waiting up to ``linger`` seconds for
        rows coming due (a rate-limit wait, a short backoff); at most ``max_batches``. A stop
        (``stop`` set) ends it after the HubSpot call in hand, its batch settled."""
        started = time.monotonic()
        idle_deadline: float | None = None
        try:
            with self._lanes():
                while not self.stopping() and (
                    max_batches is None or self.stats.batches < max_batches
                ):
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
                    pause = min(max(due, 0.2), idle_deadline - now)
                    (self.stop.wait if self.stop is not None else self._sleep)(pause)
        except Stopped:
            self.stats.interrupted = True
        except DailyBudgetExhausted as exc:
            self.stats.stopped = str(exc)
            log.warning("push stopped: %s", exc)
        finally:
            self.stats.interrupted = self.stats.interrupted or self.stopping()
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
        self._prep, self._settle = Lane("prep", PREP_THREADS), Lane("settle")
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

    def _release(self, batch: Batch) -> None:
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

    def _gather(self) -> Batch:
        """Claim a batch and read its records' current state."""
        claimed_at = time.monotonic()
        rows, full = self._claim()
        works: dict[tuple[str, uuid.UUID], Work] = {}
        for row in rows:
            key = (row["table_name"], row["record_id"])
            works.setdefault(key, Work(row["table_name"], row["record_id"])).rows.append(row)
        for table in PUSHED_TABLES:
            ids = [rid for (t, rid) in works if t == table]
            if ids:
                for rid, state in self.db.push_state(table, ids).items():
                    works[(table, rid)].state = state
        return Batch(rows, works, full, claimed_at)

    def _take_batch(self) -> Batch:
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
        writes nothing now (contacts.py): the same clash between two processes, where
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
        size = self.next_size
        self.next_size = min(self.batch_size, 2 * size)
        floor = max(1, size // 50)  # not worth another claim below this room
        per_call = MAX_ASSOCIATION_BATCH
        max_bookings = per_call * max(1, size // (2 * per_call))
        while True:
            left = min(size - len(records), max_bookings - bookings)
            if left < (floor if rows else 1) or self.stopping():
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
            sending = Sending(
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
        except Abort as abort:
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


def push(
    db: Database,
    hubspot: HubSpotClient,
    settings: Settings,
    *,
    requeue: bool = False,
    exam: str | None = None,
    max_batches: int | None = None,
    batch_size: int = BATCH_RECORDS,
    lease_seconds: int = LEASE_SECONDS,
    linger: float = PUSH_LINGER_SECONDS.default,
    worker: str | None = None,
    stop: threading.Event | None = None,
) -> PushStats:
    """One ``mockbook push``: preflight, optionally re-queue everything (or one exam), drain,
    and record the run in sync_metadata ('push'); ``stop`` set: as Pusher.run."""
    pusher = Pusher(
        db, hubspot, settings, worker=worker, batch_size=batch_size, lease_seconds=lease_seconds,
        stop=stop,
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
