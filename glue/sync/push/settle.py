"""Settling a push batch's records: completing those HubSpot took (their rows done, their
HubSpot ids written back), failing the others (retried with backoff, or dead-lettered), running
a HubSpot call on a chunk of records (a 4xx refusing the whole chunk is bisected down to its
culprit) and mapping a batch answer's results and errors to records. The base of
:class:`glue.sync.push.pusher.Pusher`, whose constructor sets the state declared here.
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

from glue.config import ConfigError, Settings
from glue.db.database import Database
from glue.hubspot.client import BatchResult, HubSpotClient, HubSpotError
from glue.hubspot.ratelimit import DailyBudgetExhausted, Stopped
from glue.sync.push.lanes import Lane
from glue.sync.push.records import (
    BUSY_SQLSTATE,
    Abort,
    PushStats,
    Work,
    seconds_to_utc_midnight,
)

# How it works (the detail of the module docstring):
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
# Nothing is completed before HubSpot answered, and the ids are written in the transaction that
# marks the rows done. Those transactions run on the settle lane while the next calls go out
# (glue/sync/push/pusher.py); a record is taken out of the batch's unsettled ones at once, so a
# record is settled once.

log = logging.getLogger(__name__)


class Settler:
    """The records of the batch being pushed, and how each is settled (once)."""

    db: Database
    hubspot: HubSpotClient
    settings: Settings
    worker: str
    max_attempts: int
    stats: PushStats
    _unsettled: dict[tuple[str, uuid.UUID], Work]
    _settle_lock: threading.Lock  # _unsettled is emptied from two threads
    _prep: Lane | None
    _settle: Lane | None
    stop: threading.Event | None  # SIGTERM/SIGINT: no call is started once it is set

    def stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    # ---- the lanes ---------------------------------------------------------------------------
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
        bisected until the record it is about is alone. Once ``stop`` is set, nothing more is
        sent: the batch stops (Abort) and gives back what is not settled."""
        if self.stopping():
            raise Abort(Stopped("a stop was asked"), retry_after=0)
        try:
            op(works)
        except Stopped as exc:  # between two calls of ``op``, or before a wait's end
            raise Abort(exc, retry_after=0) from None
        except HubSpotError as exc:
            if exc.unauthorized:
                raise Abort(
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
            raise Abort(exc, retry_after=seconds_to_utc_midnight()) from None

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
