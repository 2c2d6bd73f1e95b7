"""A push batch is gathered from several claims (glue.sync.push.pusher.Pusher._claim): up to
``batch_size`` records and whole association calls' worth of bookings, each claim asking for no
more than the room left, so the calls go out full and no bound is overshot; the batch still
settles every record once."""

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
from glue.db.database import Database
from glue.sync.push import Pusher

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db


def test_one_batch_gathers_several_claims(push_db, sandbox, monkeypatch) -> None:
    world = make_world(push_db, sandbox, students=12)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    monkeypatch.setattr(glue.sync.push.pusher, "CLAIM_LIMIT", 5)  # 36 outbox rows: several claims
    settings = settings_for(push_db, sandbox)
    with Database(push_db) as db:
        claims: list[int] = []
        real = db.claim_sync_batch

        def counting(worker, limit, lease):
            claims.append(limit)
            return real(worker, limit, lease)

        monkeypatch.setattr(db, "claim_sync_batch", counting)
        pusher = Pusher(db, client_for(settings), settings)
        stats = pusher.run(linger=0)
    assert max(claims) <= 5 and len(claims) >= 3
    assert stats.batches == 1  # 12 bookings + 12 contacts + 1 exam: one batch
    assert stats.sent == 25 and pending(push_db) == 0
    assert len(hubspot_bookings(sandbox)) == 12
    assert len(calls(sandbox, "/batch/associate/default")) == 2


def test_batch_bookings_bounded_by_association_calls(push_db, sandbox, monkeypatch) -> None:
    world = make_world(push_db, sandbox, students=10)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    # (the claim bounds its bookings by it, the bookings step chunks its associations by it)
    monkeypatch.setattr(glue.sync.push.pusher, "MAX_ASSOCIATION_BATCH", 4)
    monkeypatch.setattr(glue.sync.push.bookings, "MAX_ASSOCIATION_BATCH", 4)
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
