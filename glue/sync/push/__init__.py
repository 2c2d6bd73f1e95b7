"""Push (Postgres -> HubSpot): drain the sync_queue outbox. ``push()`` is `mockbook push`;
:class:`Pusher` is what `run` and the worker drive, batch after batch.

The modules: ``pusher`` (the loop: claiming batches, the database lanes, the three steps of a
batch in order, ``push()``), ``settle`` (completing and failing records, bisecting a refused
call), ``contacts`` (credits with the credit merge, lookups), ``bookings`` (upserts by code and
associations), ``exams`` (totals, capacity, prerequisites), ``records`` (what a batch works on)
and ``lanes`` (the background threads of the database work).
"""

from glue.sync.push.pusher import (
    BATCH_RECORDS,
    CLAIM_LIMIT,
    LEASE_SECONDS,
    PUSH_CONNECTIONS,
    Pusher,
    push,
)
from glue.sync.push.records import RAMP_RECORDS, PushStats, Work, default_worker_name

__all__ = [
    "BATCH_RECORDS",
    "CLAIM_LIMIT",
    "LEASE_SECONDS",
    "PUSH_CONNECTIONS",
    "RAMP_RECORDS",
    "PushStats",
    "Pusher",
    "Work",
    "default_worker_name",
    "push",
]
