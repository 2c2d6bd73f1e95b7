"""Claiming a push batch: due outbox rows taken under a lease (``claim_sync_batch``: SKIP
LOCKED, every pending row of the same records), several claims until the batch is full, grouped
by record with each record's current state (``push_state``); a batch claimed and not sent is
given back. A part of :class:`glue.sync.push.pusher.Pusher`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from glue.config import PushSettings
from glue.db.database import Database
from glue.hubspot.catalogue import WAITLIST_TABLE
from glue.hubspot.client import MAX_ASSOCIATION_BATCH
from glue.sync.push.records import BOOKINGS_TABLE, PUSHED_TABLES, Work

# One claim takes at most CLAIM_LIMIT due rows (claim_sync_batch's bound); a batch is gathered
# from several claims, up to ``batch_size`` records (PushSettings) and as many bookings
# as fill whole association calls (MAX_ASSOCIATION_BATCH pairs each, one call per target type):
# the objects calls go out full (100 inputs), the association calls carry up to 2,000 bookings each
# (at 1,000 rows a claim, a fifth of the calls were association calls carrying ~470 bookings), and
# a batch's fixed costs (claims, the final completion) are spread over many records.
CLAIM_LIMIT = 1000


@dataclass
class Batch:
    """Claimed outbox rows, their records with the state read right after the claim."""

    rows: list[dict]
    works: dict[tuple[str, uuid.UUID], Work]
    full: bool  # stopped at the batch size, not at a drained queue
    claimed_at: float  # time.monotonic() before the claim


class Claimer:
    """Claims the batches of one worker: ``gather()`` -> Batch, ``release(batch)``."""

    def __init__(
        self,
        db: Database,
        worker: str,
        push_settings: PushSettings,
        *,
        ramp: int | None,
        max_attempts: int,
        stopping: Callable[[], bool],
    ) -> None:
        self.db = db
        self.worker = worker
        self.batch_size = push_settings.batch_size
        # the first claim's size (``ramp``: RAMP_RECORDS), doubled after each, up to batch_size
        self.next_size = min(self.batch_size, ramp) if ramp else self.batch_size
        self.lease_seconds = push_settings.lease_seconds
        self.max_attempts = max_attempts
        self.stopping = stopping

    def gather(self) -> Batch:
        """Claim a batch and read its records' current state."""
        claimed_at = time.monotonic()
        rows, full = self.claim()
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

    def release(self, batch: Batch) -> None:
        """A batch claimed and not pushed: its rows released at once, the attempt given back
        (fail_sync_rows with count_attempt false, due now)."""
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

    def claim(self) -> tuple[list[dict], bool]:
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
