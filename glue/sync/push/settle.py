"""Settling a push batch's records: completing those HubSpot took (their rows done, their
HubSpot ids written back), failing the others (retried with backoff, or dead-lettered). A part
of :class:`glue.sync.push.pusher.Pusher`, shared by the sender (glue/sync/push/send.py) and the
steps (contacts, bookings, exams).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

import psycopg

from glue.db.database import Database
from glue.sync.push.lanes import Lane
from glue.sync.push.records import BUSY_SQLSTATE, PushStats, Work

# How it works (the detail of the module docstring):
#
# At most 100 inputs per objects call. After each call the records that went through are completed
# (``complete_sync_batch``: rows done and HubSpot ids + hubspot_last_sync_at written back, one
# transaction) and the others failed (``fail_sync_rows``): a 429 gives the rows back without
# counting an attempt, due after Retry-After; 5xx/timeouts/connection errors back off; a per-record
# error (207, or an associations error) fails that record alone; a 4xx refusing a whole batch is
# bisected until the culprit is alone (send.py). After N attempts a row is dead-lettered and the
# rest keeps flowing. The HubSpot client retries transient errors a few times itself first
# (glue.hubspot.client).
#
# Nothing is completed before HubSpot answered, and the ids are written in the transaction that
# marks the rows done. Those transactions run on the settle lane while the next calls go out
# (glue/sync/push/pusher.py); a record is taken out of the batch's unsettled ones at once, so a
# record is settled once.

log = logging.getLogger(__name__)


class Settler:
    """The records of the batch being pushed, and how each is settled (once); the lanes the
    database work of one push_batch() or run() goes to (set by the Pusher, None outside)."""

    def __init__(
        self,
        db: Database,
        worker: str,
        max_attempts: int,
        stats: PushStats,
        stop: threading.Event | None,
    ) -> None:
        self.db = db
        self.worker = worker
        self.max_attempts = max_attempts
        self.stats = stats
        self.stop = stop  # SIGTERM/SIGINT: no call is started once it is set
        self.unsettled: dict[tuple[str, uuid.UUID], Work] = {}
        self.lock = threading.Lock()  # unsettled is emptied from two threads
        self.prep_lane: Lane | None = None
        self.settle_lane: Lane | None = None

    def unsettled_of(self, works: Sequence[Work]) -> list[Work]:
        """The works not settled yet (not those completed or failed meanwhile)."""
        with self.lock:
            return [w for w in works if (w.table, w.record_id) in self.unsettled]

    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    # ---- the lanes ---------------------------------------------------------------------------
    def on_settle(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run a settling database call on the settle lane (now, outside push_batch/run)."""
        if self.settle_lane is None:
            fn(*args)
        else:
            self.settle_lane.submit(fn, *args)

    def on_prep(self, fn: Callable[..., Any], *args: Any) -> Future:
        if self.prep_lane is not None:
            return self.prep_lane.submit(fn, *args, track=False)
        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def drain(self) -> None:
        if self.settle_lane is not None:
            self.settle_lane.drain()

    # ---- settling records --------------------------------------------------------------------
    def settled(self, works: Sequence[Work]) -> None:
        with self.lock:
            for work in works:
                self.unsettled.pop((work.table, work.record_id), None)

    def complete(
        self,
        works: Sequence[Work],
        hubspot_ids: dict[str, dict[str, str]],
        modified: dict[str, int] | None = None,
    ) -> None:
        """HubSpot took these records: mark their rows done and write the ids back (one
        complete_sync_batch transaction), on the settle lane. ``modified``: {trace: HubSpot's
        modification time of the write (epoch ms, from its answer)} of exams, so that no read
        HubSpot made before it is applied later."""
        works = list(works)
        self.settled(works)
        self.on_settle(self._complete_now, works, hubspot_ids, modified or {})

    def _complete_now(
        self, works: list[Work], hubspot_ids: dict[str, dict[str, str]], modified: dict[str, int]
    ) -> None:
        mine = [w for w in works if w.rows]
        row_ids = [i for w in mine for i in w.row_ids]
        try:
            done = self.db.complete_sync_batch(self.worker, row_ids, hubspot_ids, modified)
        except psycopg.errors.UniqueViolation as exc:
            # Two local records answered by one HubSpot id (e.g. two contacts sharing an email):
            # complete them one by one; the clashing ones fail alone.
            log.warning("write-back clash, completing one record at a time: %s", exc)
            self._complete_each(works, hubspot_ids, modified)
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
                self._complete_each(works, hubspot_ids, modified)
            else:
                self._busy_write_back(works)
            return
        self.stats.rows_done += done
        self.stats.sent += len(mine)
        for work in mine:
            self.stats.by_table[work.table] += 1

    def _complete_each(
        self, works: list[Work], hubspot_ids: dict[str, dict[str, str]], modified: dict[str, int]
    ) -> None:
        for work in works:
            known = hubspot_ids.get(work.table, {})
            one = {work.table: {work.trace: known[work.trace]}} if work.trace in known else {}
            at = {work.trace: modified[work.trace]} if work.trace in modified else {}
            try:
                self._complete_one(work, one, at)
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

    def _complete_one(
        self, work: Work, hubspot_ids: dict[str, dict[str, str]], modified: dict[str, int]
    ) -> None:
        done = self.db.complete_sync_batch(self.worker, work.row_ids, hubspot_ids, modified)
        if work.rows:
            self.stats.rows_done += done
            self.stats.sent += 1
            self.stats.by_table[work.table] += 1

    def fail(
        self,
        works: Sequence[Work],
        error: str,
        *,
        retry_after: float | None = None,
        count_attempt: bool = True,
    ) -> None:
        works = list(works)
        self.settled(works)
        mine = [w for w in works if w.rows]
        if mine:
            self.on_settle(self._fail_now, mine, error, retry_after, count_attempt)

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

    def fail_per_record(self, failed: dict[tuple[str, uuid.UUID], tuple[Work, str]]) -> None:
        by_message: dict[str, list[Work]] = defaultdict(list)
        for work, message in failed.values():
            by_message[message].append(work)
        for message, works in by_message.items():
            self.fail(works, message)

