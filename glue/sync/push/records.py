"""What one push batch works on: a record to push (:class:`Work`) with its claimed outbox rows
and current state, the run's counters (:class:`PushStats`), and the names the push's modules
share (the synced tables, mockbook's BUSY SQLSTATE, the push's actor).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from glue.clock import SYSTEM, Clock, utcnow
from glue.errsummary import ErrorSummary
from glue.hubspot.catalogue import SYNCED, WAITLIST_TABLE

# The outbox's tables (a waitlist place goes to HubSpot as a booking object: the catalogue).
BOOKINGS_TABLE = SYNCED["bookings"].table
CONTACTS_TABLE = SYNCED["contacts"].table
EXAMS_TABLE = SYNCED["exams"].table
PUSHED_TABLES = (CONTACTS_TABLE, BOOKINGS_TABLE, WAITLIST_TABLE, EXAMS_TABLE)

# The push of `mockbook run` and of a worker that starts begins with a batch of RAMP_RECORDS
# records and doubles it batch after batch up to its batch size: on a backlog its first rows are
# done after a few calls instead of after a whole batch's (up to 8,000 records, ~80 calls), and
# one killed or stopped early has made progress; full batches come within a few batches.
RAMP_RECORDS = 200

# mockbook's BUSY (docs/rpc.md "Errors"): a row stayed locked past mockbook.lock_timeout
BUSY_SQLSTATE = "PT503"
PUSH_ACTOR = "hubspot:push"


# ---- what one batch works on ---------------------------------------------------------------------
@dataclass
class Work:
    """One record to push: its claimed outbox rows and its current state (None: deleted).
    A "lookup" is a contact with no outbox row in this batch, resolved for the batch's bookings
    and never written (no credits, no write-back: see glue/sync/push/contacts.py)."""

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
    stopped: str | None = None  # why the run ended early (daily budget, HubSpot's answer)
    stopped_transient: bool = False  # ...because HubSpot did not answer properly: try later
    interrupted: bool = False  # a stop (SIGTERM/SIGINT) ended it: the rest is left queued
    worker: str = ""
    seconds: float = 0.0

    def note_error(self, message: str) -> None:
        if len(self.errors) < 20:
            self.errors.append(message)


class Abort(Exception):
    """Stop the batch: give back what is not settled, then re-raise ``cause``."""

    def __init__(self, cause: Exception, retry_after: float | None = None) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.retry_after = retry_after


def default_worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def seconds_to_utc_midnight(clock: Clock = SYSTEM) -> float:
    now = utcnow(clock)
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()



def chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
