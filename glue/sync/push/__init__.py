"""Push (Postgres -> HubSpot): drain the sync_queue outbox. ``push()`` is `mockbook push`;
:class:`Pusher` is what `run` and the worker drive, batch after batch.

The parts the Pusher holds, a module each: ``claim`` (claiming a batch), ``contacts`` (credits,
lookups; the credit merge before a write in ``merge``), ``bookings`` (upserts by code,
associations), ``exams`` (totals, capacity, prerequisites), ``send`` (a call on a chunk,
bisecting a refused one), ``settle`` (completing and failing records); ``pusher`` (the loop:
the lanes, the parts in order, ``push()``), ``records`` (what a batch works on), ``lanes``
(the database threads).
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
