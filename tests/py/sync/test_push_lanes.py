"""The push's database lanes (glue.sync.push: the contact merges on a prep thread ahead of the
updates, the write-backs on a settle thread, run() claiming the next batch while one is sent):
a push that ends — drained, on an error, or on Ctrl-C — leaves no thread running and no lease
held beyond its expiry (a batch claimed ahead is given back at once), and pushers running at
once, each with its lanes, still send every booking once with the invariants holding."""

from __future__ import annotations

import threading
import time

import psycopg
import push_helpers
import pytest
import sandbox_fixtures
from invariants import check_invariants, snapshot
from push_helpers import (
    book,
    client_for,
    hubspot_bookings,
    make_world,
    pending,
    query,
    settings_for,
)

from glue.config import PushSettings
from glue.db.database import Database
from glue.hubspot.client import HubSpotClient
from glue.sandbox import CONTACTS, EXAMS
from glue.sync.push import BATCH_RECORDS, Pusher

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db


def lane_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("mockbook-push-")]


def leased(url: str) -> list[dict]:
    return query(
        url,
        "SELECT id, lease_owner FROM hubspot_sync.sync_queue "
        "WHERE done_at IS NULL AND dead_at IS NULL AND lease_owner IS NOT NULL",
    )


def test_run_claims_ahead_and_settles_everything(push_db, sandbox) -> None:
    """Small batches: every batch after the first was claimed while the one before was sent;
    each booking reaches HubSpot once, every row is done, the lanes are gone."""
    world = make_world(push_db, sandbox, students=30, exams=2)
    book(push_db, [(s, world.exams[i % 2]) for i, s in enumerate(world.students)])
    settings = settings_for(push_db, sandbox)
    with Database(push_db) as db:
        gathered: list[str] = []
        pusher = Pusher(
            db, client_for(settings), settings, push_settings=PushSettings(batch_size=10)
        )
        real = pusher.claimer.gather

        def gather():
            gathered.append(threading.current_thread().name)
            return real()

        pusher.claimer.gather = gather
        stats = pusher.run(linger=0)
    assert stats.batches >= 6
    assert any(name.startswith("mockbook-push-settle") for name in gathered)  # claimed ahead
    assert stats.sent == 30 + 30 + 2 and pending(push_db) == 0 and leased(push_db) == []
    assert sorted(hubspot_bookings(sandbox)) == sorted(
        r["booking_id"]
        for r in query(push_db, "SELECT booking_id FROM hubspot_sync.hubspot_bookings")
    )
    assert lane_threads() == []


class Interrupting(HubSpotClient):
    """A client whose HubSpot writes raise ``exc`` (Ctrl-C: KeyboardInterrupt) once ``when()``."""

    when = staticmethod(lambda: False)
    exc: BaseException = KeyboardInterrupt()

    def upsert(self, *args, **kwargs):
        if self.when():
            raise self.exc
        return super().upsert(*args, **kwargs)

    def update(self, *args, **kwargs):
        if self.when():
            raise self.exc
        return super().update(*args, **kwargs)


@pytest.mark.parametrize(
    "exc", [KeyboardInterrupt(), psycopg.OperationalError("the database went away")]
)
def test_an_interrupted_run_leaves_no_thread_and_gives_the_next_batch_back(
    push_db, sandbox, exc
) -> None:
    """Ctrl-C (or an error) in the middle of a batch, with the next batch already claimed:
    the run stops, both lane threads are joined, the batch claimed ahead is released at once
    (unleased, its attempt given back), and only the interrupted batch's own rows keep their
    lease, until it expires; a later push sends everything, each booking once."""
    world = make_world(push_db, sandbox, students=40, exams=1)
    book(push_db, [(s, world.exams[0]) for s in world.students])
    settings = settings_for(push_db, sandbox)
    base = client_for(settings)
    client = Interrupting(
        access_token=settings.hubspot_access_token,
        base_url=settings.hubspot_base_url,
        limiter=base.limiter,
    )
    gathered: list[int] = []  # rows of each batch claimed, in order
    # interrupt the first write once the second or a later batch is being sent and the one
    # after it was claimed ahead (which happens once a batch's contacts are pushed)
    client.when = lambda: len(gathered) >= 3 and pushers[0]._next is not None
    pushers: list[Pusher] = []
    client.exc = exc
    with Database(push_db) as db:
        pusher = Pusher(
            db, client, settings, push_settings=PushSettings(batch_size=20, lease_seconds=600)
        )
        pushers.append(pusher)
        real = pusher.claimer.gather

        def gather():
            batch = real()
            gathered.append(len(batch.rows))
            return batch

        pusher.claimer.gather = gather
        with pytest.raises(type(exc)):
            pusher.run(linger=0)
        assert lane_threads() == []
    assert len(gathered) >= 3 and gathered[-1] > 0
    held = leased(push_db)
    assert 0 < len(held) <= gathered[-2]  # only rows of the interrupted batch
    assert (
        query(
            push_db,
            "SELECT count(*) AS n FROM hubspot_sync.sync_queue WHERE last_error = "
            "'claimed ahead and given back unsent' AND lease_owner IS NULL AND attempts = 0",
        )[0]["n"]
        == gathered[-1]
    )
    # the lease runs out (moved to now instead of waiting): a clean push finishes the job
    with psycopg.connect(push_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE hubspot_sync.sync_queue SET lease_expires_at = now() - interval '1 s' "
            "WHERE lease_owner IS NOT NULL"
        )
    with Database(push_db) as db:
        Pusher(db, client_for(settings), settings).run(linger=0)
    assert pending(push_db) == 0 and len(hubspot_bookings(sandbox)) == 40
    assert lane_threads() == []


def test_pushers_at_once_send_each_booking_once(push_db, sandbox) -> None:
    """Three pushers with their lanes on one queue while bookings keep coming (real concurrent
    connections): every booking in HubSpot once, the queue drained, the invariants."""
    world = make_world(push_db, sandbox, students=90, exams=3)
    with psycopg.connect(push_db, autocommit=True) as conn:
        snap = snapshot(conn)
    book(push_db, [(s, world.exams[i % 3]) for i, s in enumerate(world.students[:45])])
    settings = settings_for(push_db, sandbox)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def pushing(k: int) -> None:
        try:
            with Database(push_db) as db:
                start.wait()
                Pusher(db, client_for(settings), settings, worker=f"w{k}",
                       push_settings=PushSettings(batch_size=12)).run(linger=1.0)
        except BaseException as exc:  # reported below
            errors.append(exc)

    def booking() -> None:
        start.wait()
        for i, s in enumerate(world.students[45:]):
            book(push_db, [(s, world.exams[i % 3])])

    threads = [threading.Thread(target=pushing, args=(k,)) for k in range(3)]
    threads.append(threading.Thread(target=booking))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Database(push_db) as db:  # what came after the pushers' last look
        Pusher(db, client_for(settings), settings).run(linger=0)
    assert pending(push_db) == 0 and leased(push_db) == []
    in_hubspot = hubspot_bookings(sandbox)
    local = query(push_db, "SELECT booking_id, hubspot_id FROM hubspot_sync.hubspot_bookings")
    assert len(local) == 90 and len(in_hubspot) == 90
    assert all(r["hubspot_id"] for r in local)
    with psycopg.connect(push_db, autocommit=True) as conn:
        check_invariants(conn, snap)
    assert lane_threads() == []


@pytest.mark.parametrize("batch_size", [BATCH_RECORDS, 2], ids=["claimed-after", "claimed-ahead"])
def test_a_contact_pushed_by_two_batches_keeps_its_credit_base(
    push_db, sandbox, batch_size
) -> None:
    """A contact with no HubSpot id yet is pushed (by email) in batch 1; a booking of theirs
    claimed before batch 1's write-back makes them a "lookup" of batch 2, which (without
    leasing their outbox rows) used to merge and update them; a credit change meanwhile is
    claimed by batch 3. Batch 3's claim records the balances it will send (credit_push_claimed):
    had it come before a write-back of that contact by batch 2 (which turned what batch 2 sent
    into the merge's base), the base would be what batch 3 will send, not what HubSpot holds,
    and batch 3's merge would take the difference for an admin's change (a deduction lost). A
    lookup writes nothing now (test_push_lookup_race.py); the credits must still end right. The
    write-backs are slowed down, as on a loaded database."""
    world = make_world(push_db, sandbox, students=1, exams=1, credits=5, without_hubspot_id=1)
    student = world.students[0]
    (second_exam,) = sandbox.seed(EXAMS, [{"mock_exam_name": "exam b", "total_bookings": "0"}])
    with psycopg.connect(push_db, autocommit=True) as conn:
        conn.execute(
            "SELECT tests.make_exam(p_hubspot_id := %s, p_capacity := 10, "
            "p_exam_date := (now() AT TIME ZONE 'America/Toronto')::date + 9)",
            (second_exam,),
        )
    book(push_db, [(student, world.exams[0])])  # 5 -> 4
    settings = settings_for(push_db, sandbox)
    with Database(push_db) as db:
        pusher = Pusher(
            db, client_for(settings), settings, push_settings=PushSettings(batch_size=batch_size)
        )
        gathers: list[int] = []
        real_gather = pusher.claimer.gather

        def gather():
            batch = real_gather()
            gathers.append(len(batch.rows))
            if len(gathers) == 1:  # a second booking, while batch 1 is being sent: 4 -> 3
                book(push_db, [(student, second_exam)])
            return batch

        pusher.claimer.gather = gather
        real_complete = db.complete_sync_batch

        def slow_complete(*args, **kwargs):
            time.sleep(0.4)  # a slow write-back is the scenario (a loaded database), not a wait
            return real_complete(*args, **kwargs)

        db.complete_sync_batch = slow_complete
        contact = query(
            push_db,
            "SELECT id FROM hubspot_sync.hubspot_contact_credits WHERE student_id = %s",
            (student,),
        )[0]["id"]
        recorded: list[dict] = []
        real_record = db.record_credit_push

        def record(credits, *, sent):
            out = real_record(credits, sent=sent)
            if str(contact) in credits:
                recorded.append(credits[str(contact)])
                if len(recorded) in (2, 3):  # 3 -> 2, then 2 -> 1: after a push merged
                    with psycopg.connect(push_db, autocommit=True) as conn:
                        conn.execute(
                            "SELECT hubspot_sync.adjust_credits(p_student_id := %s, "
                            "p_credit_field := 'sj_credits', p_delta := -1, "
                            "p_reason := 'test', p_actor := 'admin:test')",
                            (student,),
                        )
            return out

        db.record_credit_push = record
        pusher.run(linger=0)
        Pusher(db, client_for(settings), settings).run(linger=0)  # anything left
    assert pending(push_db) == 0
    row = query(
        push_db,
        "SELECT hubspot_id, sj_credits FROM hubspot_sync.hubspot_contact_credits "
        "WHERE student_id = %s",
        (student,),
    )[0]
    adjustments = query(
        push_db,
        "SELECT delta FROM hubspot_sync.credit_ledger "
        "WHERE student_id = %s AND reason = 'hubspot_adjustment'",
        (student,),
    )
    assert adjustments == []  # nobody changed the credits in HubSpot
    assert row["sj_credits"] == 1
    assert sandbox.get(CONTACTS, row["hubspot_id"])["properties"]["sj_credits"] == "1"
