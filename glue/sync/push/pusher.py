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
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future

from glue.clock import SYSTEM, Clock
from glue.config import (
    PUSH_BATCH_SIZE,
    PUSH_LEASE_SECONDS,
    PUSH_LINGER_SECONDS,
    PushSettings,
    Settings,
)
from glue.db.database import Database
from glue.hubspot.catalogue import WAITLIST_TABLE
from glue.hubspot.client import HubSpotClient
from glue.hubspot.ratelimit import DailyBudgetExhausted, Stopped
from glue.hubspot.setup import require as require_portal
from glue.logs import fields
from glue.sync.push.bookings import BookingPush, Sending
from glue.sync.push.claim import CLAIM_LIMIT, Batch, Claimer
from glue.sync.push.contacts import ContactPush
from glue.sync.push.exams import ExamPush
from glue.sync.push.lanes import Lane
from glue.sync.push.records import (
    BOOKINGS_TABLE,
    CONTACTS_TABLE,
    EXAMS_TABLE,
    Abort,
    PushStats,
    Work,
    default_worker_name,
)
from glue.sync.push.send import Sender
from glue.sync.push.settle import Settler

__all__ = ["BATCH_RECORDS", "CLAIM_LIMIT", "LEASE_SECONDS", "PUSH_CONNECTIONS", "Pusher", "push"]

# How it works (the detail of the module docstring):
#
# The database work runs beside the HubSpot calls (measured in bench B5: in line, it left 3-8 s per
# batch with no call at all): two lanes of background threads (``Lane``, lanes.py). The "prep" lane
# (PREP_THREADS threads) reads and merges the contacts' credits chunk after chunk
# (``ContactPush._prepare_contacts``: the batch read, the merge, ``record_credit_push``) while the
# main thread sends the updates of the chunks already merged (in chunk order), and meanwhile upserts
# the bookings whose contact's HubSpot id is known (``BookingPush.upsert_early``); the "settle" lane
# (one thread, in order) writes the outcomes (``complete_sync_batch``, ``fail_sync_rows``) while the
# next calls go out, and in ``run()`` claims and reads the next batch while this one is sent (only
# after a full batch; a batch claimed ahead more than half its lease ago is given back and claimed
# afresh). Nothing is completed before HubSpot answered, and the ids are still written in the
# transaction that marks the rows done; what changes is only when that transaction runs.
# ``push_batch()`` returns with its batch settled (the worker reads the stats right after);
# ``run()`` settles everything before it returns. On any error or Ctrl-C the lanes stop taking work,
# the running calls finish, queued outcomes are written (a second Ctrl-C drops them: those rows come
# back when their lease expires) and a batch claimed ahead is given back (``_lanes``): no thread
# outlives the call, no lease outlives its expiry. The lanes' transactions are those several workers
# already run at once (merges of disjoint contacts, completions in the lock order of docs/rpc.md):
# no new lock order.
#
# The parts, each an object the Pusher holds (no part inherits another): the claimer (claim.py)
# claims a batch; the three steps, each in its own module (contacts.py, bookings.py, exams.py),
# make its records into HubSpot inputs and hand each call to the sender (send.py: bisect, abort);
# the settler (settle.py: complete, fail) writes the outcomes, on the lanes opened here.

log = logging.getLogger(__name__)

BATCH_RECORDS, LEASE_SECONDS = PUSH_BATCH_SIZE.default, PUSH_LEASE_SECONDS.default
# Contact chunks read and merged at once (the prep lane's threads; each merge is one database
# transaction on its own connection, on disjoint contacts). The merge is the costliest database
# call of the push (~150-350 ms per 100 contacts on the shared 2-core box: docs/performance.md,
# "The push").
PREP_THREADS = 2
# connections a push uses at once: its main thread, the PREP_THREADS merges, the settle lane
PUSH_CONNECTIONS = PREP_THREADS + 2


class Pusher:
    """Drains the outbox to HubSpot. ``Pusher(db, hubspot, settings)``; ``run()`` -> PushStats.

    Composed of parts, each holding what it needs: ``claimer`` (claims a batch, claim.py),
    ``contacts``, ``bookings`` and ``exams`` (the three steps of a batch: its records made into
    HubSpot inputs and sent, contacts.py, bookings.py, exams.py), ``sender`` (a HubSpot call on
    a chunk of records, send.py) and ``settler`` (the batch's records completed or failed, on
    the lanes this object opens, settle.py)."""

    def __init__(
        self,
        db: Database,
        hubspot: HubSpotClient,
        settings: Settings,
        *,
        worker: str | None = None,
        push_settings: PushSettings | None = None,
        sleep: Callable[[float], None] | None = None,
        stop: threading.Event | None = None,
        ramp: int | None = None,
        clock: Clock = SYSTEM,
    ) -> None:
        self.db = db
        self.hubspot = hubspot
        self.settings = settings
        self.worker = worker or default_worker_name()
        self.stop = stop
        self._sleep = sleep or clock.sleep
        self.stats = PushStats(worker=self.worker)
        self.settler = Settler(db, self.worker, settings.max_attempts, self.stats, stop)
        self.claimer = Claimer(
            db,
            self.worker,
            push_settings or PushSettings(),
            ramp=ramp,
            max_attempts=settings.max_attempts,
            stopping=self.stopping,
        )
        self.sender = Sender(hubspot, self.settler, clock)
        self.contacts = ContactPush(db, self.sender, self.settler)
        self.bookings = BookingPush(settings, self.sender, self.settler)
        self.exams = ExamPush(settings, self.sender, self.settler)
        self.last_batch_full = False  # the last batch stopped at its size, not at a drained queue
        # In run(), the next batch being claimed on the settle lane.
        self._next: Future | None = None

    @property
    def next_size(self) -> int:
        """The size of the next claim (doubled after each, up to the batch size)."""
        return self.claimer.next_size

    def stopping(self) -> bool:
        return self.settler.stopping()

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
                    self.settler.drain()  # the outcomes written: what is due now is known
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
            self.give_back_on_stop()
            self._log_error_summary()
        return self.stats

    def give_back_on_stop(self) -> None:
        """After a stop, every row this push still leases, given back at once (due now, no
        attempt counted): what a statement cancelled at the end of the stop's grace (one claim
        of several, a write-back) or a HubSpot call left unanswered left leased
        (glue.lifecycle). HubSpot's writes are idempotent: a record sent whose write-back was
        lost is sent again."""
        if not self.stopping():
            return
        given = self.db.give_back_leases(self.worker, "the push was stopped",
                                         max_attempts=self.settings.max_attempts)
        if given:
            log.info("gave back %d leased outbox row(s) at the stop", given,
                     extra=fields(event="release", rows=given))

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
        database error drops the rest: those rows come back when their lease expires; a stop's
        grace ending drops them too, and give_back_on_stop gives their rows back at once); a
        batch claimed ahead is given back; both threads are joined."""
        settler = self.settler
        if settler.settle_lane is not None:  # already inside (push_batch from run)
            yield
            return
        settler.prep_lane, settler.settle_lane = Lane("prep", PREP_THREADS), Lane("settle")
        try:
            yield
        except BaseException:
            self._close_lanes(finish=True, raising=False)
            raise
        self._close_lanes(finish=True, raising=True)

    def _close_lanes(self, *, finish: bool, raising: bool) -> None:
        prep, settle = self.settler.prep_lane, self.settler.settle_lane
        self.settler.prep_lane = self.settler.settle_lane = None
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
        except Exception as exc:
            if raising:
                raise
            if self.stopping():  # cancelled at the end of the stop's grace
                log.info("the push's last outcomes were not written at the stop (%s): their "
                         "rows are given back", str(exc).strip().splitlines()[0] if str(exc)
                         else type(exc).__name__)
                return
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
        self.claimer.release(future.result())

    def _take_batch(self) -> Batch:
        """The batch claimed ahead, else a new claim. One claimed ahead more than half its
        lease ago is given back and claimed afresh (its state could be old, and its lease
        could run out while it is sent)."""
        future, self._next = self._next, None
        if future is not None:
            batch = future.result()
            if time.monotonic() - batch.claimed_at <= self.claimer.lease_seconds / 2:
                return batch
            self.claimer.release(batch)
        # A claim must come after the write-backs of the contacts pushed before it (see
        # _claim_ahead): the last batch's outcomes are written first.
        self.settler.drain()
        return self.claimer.gather()

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
        if self.settler.settle_lane is not None:
            self._next = self.settler.settle_lane.submit(self.claimer.gather)

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
        self.stats.batches += 1
        with self.settler.lock:
            self.settler.unsettled = dict(batch.works)
        try:
            self._push_steps(batch, ahead=ahead)
        except Abort as abort:
            self._give_back_unsettled(abort)
            raise abort.cause from None
        return len(batch.rows)

    def _push_steps(self, batch: Batch, *, ahead: bool) -> None:
        """The batch's three steps: contacts (meanwhile the bookings whose contact is known),
        bookings with their associations, exams."""
        by_table = defaultdict(list)
        for work in batch.works.values():
            by_table[work.table].append(work)
        self.contacts.relinked = False
        # a waitlist place goes as a booking object: with the bookings, after its contact
        bookings = by_table[BOOKINGS_TABLE] + by_table[WAITLIST_TABLE]
        sending = Sending(early=[w for w in bookings if self._contact_known(w)])
        contacts = self.contacts.push(
            by_table[CONTACTS_TABLE], bookings, idle=lambda: self.bookings.upsert_early(sending)
        )
        if ahead and batch.full:  # (not before: see _claim_ahead)
            self._claim_ahead()
        if self.contacts.relinked:  # bookings took their contact's new HubSpot id: read again
            for table in (BOOKINGS_TABLE, WAITLIST_TABLE):
                fresh = self.db.push_state(table, [w.record_id for w in by_table[table]])
                for work in by_table[table]:
                    work.state = fresh.get(work.record_id)
        self.bookings.push(bookings, contacts, sending)
        self.exams.push(by_table[EXAMS_TABLE])

    def _contact_known(self, work: Work) -> bool:
        """A booking that can be upserted before the batch's contacts are pushed: one with no
        contact, or whose contact's HubSpot id it knows."""
        if work.state is None:
            return False
        return work.state.get("contact_record_id") is None or bool(
            self.bookings.contact_id(work.state, {})
        )

    def _give_back_unsettled(self, abort: Abort) -> None:
        """An aborted batch: its records not settled yet given back, no attempt counted."""
        with self.settler.lock:
            leftover = [w for w in self.settler.unsettled.values() if w.rows]
        if leftover:
            self.settler.fail(
                leftover,
                f"push aborted: {abort.cause}",
                retry_after=abort.retry_after,
                count_attempt=False,
            )


def push(
    db: Database,
    hubspot: HubSpotClient,
    settings: Settings,
    *,
    requeue: bool = False,
    exam: str | None = None,
    max_batches: int | None = None,
    push_settings: PushSettings | None = None,
    linger: float = PUSH_LINGER_SECONDS.default,
    worker: str | None = None,
    stop: threading.Event | None = None,
    clock: Clock = SYSTEM,
) -> PushStats:
    """One ``mockbook push``: preflight, optionally re-queue everything (or one exam), drain,
    and record the run in sync_metadata ('push'); ``stop`` set: as Pusher.run."""
    pusher = Pusher(db, hubspot, settings, worker=worker, push_settings=push_settings, stop=stop,
                    clock=clock)
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
