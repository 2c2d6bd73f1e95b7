"""A push batch is gathered from several claims (glue.sync.push.pusher.Pusher._claim): up to
``batch_size`` records and whole association calls' worth of bookings, each claim asking for no
more than the room left, so the calls go out full and no bound is overshot; the batch still
settles every record once; its bookings are written back chunk by chunk of associations."""

from __future__ import annotations

import push_helpers
import sandbox_fixtures
from push_helpers import (
    book,
    calls,
    client_for,
    hubspot_bookings,
    make_world,
    pending,
    settings_for,
)

import glue.sync.push.bookings
import glue.sync.push.pusher
import glue.sync.push.records
from glue.db.database import Database
from glue.sandbox import CONTACTS
from glue.sync.push import Pusher

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db


def test_one_batch_gathers_several_claims(push_db, sandbox, monkeypatch) -> None:
    world = make_world(push_db, sandbox, students=12)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    queued = pending(push_db)
    monkeypatch.setattr(glue.sync.push.pusher, "CLAIM_LIMIT", 5)  # 36+ outbox rows: several claims
    settings = settings_for(push_db, sandbox)
    with Database(push_db) as db:
        claims: list[int] = []
        real = db.claim_sync_batch

        def counting(worker, limit, lease):
            claims.append(limit)
            return real(worker, limit, lease)

        monkeypatch.setattr(db, "claim_sync_batch", counting)
        pusher = Pusher(db, client_for(settings), settings)
        assert pusher.push_batch() == queued
        stats = pusher.stats
    assert max(claims) <= 5 and len(claims) >= 3
    assert stats.batches == 1  # 12 bookings + 12 contacts + 1 exam: one batch
    assert stats.sent == 25 and pending(push_db) == 0
    assert len(hubspot_bookings(sandbox)) == 12
    assert len(calls(sandbox, "/batch/associate/default")) == 2


def ten_bookings_four_per_association_call(push_db, sandbox, monkeypatch) -> None:
    """10 students booked on one exam; association calls of at most 4 pairs (the claim bounds
    its bookings by it, the bookings step chunks its associations by it)."""
    world = make_world(push_db, sandbox, students=10)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    monkeypatch.setattr(glue.sync.push.pusher, "MAX_ASSOCIATION_BATCH", 4)
    monkeypatch.setattr(glue.sync.push.bookings, "MAX_ASSOCIATION_BATCH", 4)


def test_batch_bookings_bounded_by_association_calls(push_db, sandbox, monkeypatch) -> None:
    ten_bookings_four_per_association_call(push_db, sandbox, monkeypatch)
    settings = settings_for(push_db, sandbox)
    with Database(push_db) as db:
        pusher = Pusher(db, client_for(settings), settings, batch_size=8)  # 4 bookings at most
        assert pusher.push_batch() > 0
        assert pusher.stats.by_table[glue.sync.push.records.BOOKINGS_TABLE] <= 4
        assert pusher.last_batch_full
        stats = pusher.run(linger=0)
    assert pending(push_db) == 0
    assert len(hubspot_bookings(sandbox)) == 10
    # every association call carried at most 4 pairs
    assert all(len(r["json"]["inputs"]) <= 4 for r in calls(sandbox, "/batch/associate/default"))
    assert stats.batches >= 3


def test_bookings_are_completed_chunk_by_chunk_of_associations(
    push_db, sandbox, monkeypatch
) -> None:
    """A batch's bookings are written back once their association chunk is sent, while the
    next chunk's calls go out, not all after the batch's last association call; each booking is
    completed once, none before its associations."""
    ten_bookings_four_per_association_call(push_db, sandbox, monkeypatch)
    settings = settings_for(push_db, sandbox)
    with Database(push_db) as db:
        pusher = Pusher(db, client_for(settings), settings, batch_size=100)
        events: list[tuple[str, int]] = []  # ("associate", pairs) / ("complete", bookings)
        real_associate = pusher.hubspot.associate

        def associate(from_type, to_type, pairs, *args, **kwargs):
            if to_type == CONTACTS:
                events.append(("associate", len(pairs)))
            return real_associate(from_type, to_type, pairs, *args, **kwargs)

        real_complete = pusher._complete

        def complete(works, hubspot_ids):
            bookings = [w for w in works if w.table == glue.sync.push.records.BOOKINGS_TABLE]
            if bookings:
                events.append(("complete", len(bookings)))
            return real_complete(works, hubspot_ids)

        monkeypatch.setattr(pusher.hubspot, "associate", associate)
        monkeypatch.setattr(pusher, "_complete", complete)
        assert pusher.push_batch() > 0
    # 10 bookings in chunks of 4: each chunk completed right after its associations
    assert events == [
        ("associate", 4), ("complete", 4),
        ("associate", 4), ("complete", 4),
        ("associate", 2), ("complete", 2),
    ]
    assert pending(push_db) == 0 and len(hubspot_bookings(sandbox)) == 10
