"""A push batch is gathered from several claims (glue.sync.push.claim.Claimer.claim): up to
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
    query,
    settings_for,
)

import glue.sync.push.bookings
import glue.sync.push.claim
import glue.sync.push.records
from glue.config import PushSettings
from glue.db.database import Database
from glue.sandbox import CONTACTS
from glue.sync.push import Pusher
from glue.sync.push.bookings import BookingPush

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db


def test_one_batch_gathers_several_claims(push_db, sandbox, monkeypatch) -> None:
    world = make_world(push_db, sandbox, students=12)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    queued = pending(push_db)
    monkeypatch.setattr(glue.sync.push.claim, "CLAIM_LIMIT", 5)  # 36+ outbox rows: several claims
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
    monkeypatch.setattr(glue.sync.push.claim, "MAX_ASSOCIATION_BATCH", 4)
    monkeypatch.setattr(glue.sync.push.bookings, "MAX_ASSOCIATION_BATCH", 4)


def test_batch_bookings_bounded_by_association_calls(push_db, sandbox, monkeypatch) -> None:
    ten_bookings_four_per_association_call(push_db, sandbox, monkeypatch)
    settings = settings_for(push_db, sandbox)
    with Database(push_db) as db:
        # 4 bookings at most
        pusher = Pusher(
            db, client_for(settings), settings, push_settings=PushSettings(batch_size=8)
        )
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
        pusher = Pusher(
            db, client_for(settings), settings, push_settings=PushSettings(batch_size=100)
        )
        events: list[tuple[str, int]] = []  # ("associate", pairs) / ("complete", bookings)
        real_associate = pusher.hubspot.associate

        def associate(from_type, to_type, pairs, *args, **kwargs):
            if to_type == CONTACTS:
                events.append(("associate", len(pairs)))
            return real_associate(from_type, to_type, pairs, *args, **kwargs)

        real_complete = pusher.settler.complete

        def complete(works, hubspot_ids, *args, **kwargs):
            bookings = [w for w in works if w.table == glue.sync.push.records.BOOKINGS_TABLE]
            if bookings:
                events.append(("complete", len(bookings)))
            return real_complete(works, hubspot_ids, *args, **kwargs)

        monkeypatch.setattr(pusher.hubspot, "associate", associate)
        monkeypatch.setattr(pusher.settler, "complete", complete)
        assert pusher.push_batch() > 0
    # 10 bookings in chunks of 4: each chunk completed right after its associations
    assert events == [
        ("associate", 4), ("complete", 4),
        ("associate", 4), ("complete", 4),
        ("associate", 2), ("complete", 2),
    ]
    assert pending(push_db) == 0 and len(hubspot_bookings(sandbox)) == 10


def test_bookings_are_written_back_as_their_association_call_lands(
    push_db, sandbox, monkeypatch
) -> None:
    """In one batch, a chunk of bookings is associated as soon as it is full and written back
    then, not after the batch's last upsert: a stop or a kill later in the batch keeps it."""
    ten_bookings_four_per_association_call(push_db, sandbox, monkeypatch)
    monkeypatch.setattr(glue.sync.push.bookings, "MAX_BATCH", 2)  # five upserts of two
    # all five after the contacts (none upserted while their merge is read): a fixed order
    monkeypatch.setattr(BookingPush, "upsert_early", lambda self, sending: False)
    settings = settings_for(push_db, sandbox)
    done_at_last_upsert: list[int] = []
    with Database(push_db) as db:
        client = client_for(settings)
        # the ten bookings: one batch
        pusher = Pusher(db, client, settings, push_settings=PushSettings(batch_size=40))
        real_upsert = client.upsert

        def upsert(object_type, id_property, inputs):
            if id_property == "booking_id" and len(calls(sandbox, "/batch/upsert")) == 4:
                pusher.settler.drain()  # what was queued for the settle lane, written
                done_at_last_upsert.append(query(push_db, DONE_BOOKINGS)[0]["n"])
            return real_upsert(object_type, id_property, inputs)

        monkeypatch.setattr(client, "upsert", upsert)
        assert pusher.push_batch() > 0
        assert pusher.stats.batches == 1
    # two association calls of four went out and were written back before the fifth upsert
    assert done_at_last_upsert == [8]
    assert pending(push_db) == 0 and len(hubspot_bookings(sandbox)) == 10


DONE_BOOKINGS = (
    "SELECT count(*) AS n FROM hubspot_sync.sync_queue "
    "WHERE table_name = 'hubspot_bookings' AND done_at IS NOT NULL"
)


def test_a_ramp_starts_with_a_small_batch_and_doubles_it(push_db, sandbox) -> None:
    """``ramp``: the first batch holds that many records, the next ones twice as many up to
    ``batch_size`` (the worker's first rows are done after a few calls, not a full batch's)."""
    world = make_world(push_db, sandbox, students=60)
    book(push_db, [(s, world.exams[0]) for s in world.students])  # 121 records
    settings = settings_for(push_db, sandbox)
    sizes: list[int] = []
    with Database(push_db) as db:
        pusher = Pusher(
            db, client_for(settings), settings, push_settings=PushSettings(batch_size=100), ramp=20
        )
        while True:
            before = pusher.stats.sent
            if not pusher.push_batch():
                break
            sizes.append(pusher.stats.sent - before)
        assert pusher.next_size == 100
    assert sizes[:3] == [20, 40, 61]  # 20, then 40, then the 61 left (under 80)
    assert pending(push_db) == 0 and len(hubspot_bookings(sandbox)) == 60
