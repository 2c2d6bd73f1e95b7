"""Two push processes and a "lookup" (glue.sync.push, ``_push_contacts``): a contact that a
batch's bookings need for their associations but whose outbox rows the batch did not claim is
resolved by that batch without a lease, while another push (another `mockbook worker`, the sync
design:
several may run at once) holds those rows and pushes the contact's credits.

The race as it was: process B leases the contact (no HubSpot id yet), reads its balances and is
about to upsert them by email; the student's credits change locally (an admin's deduction,
queued behind B's lease); process A pushes the contact's booking, upserts the contact as a
lookup with the new balances and writes its HubSpot id back, which makes what A sent the credit
merge's base and clears the "pushing" values B recorded. B's stale upsert then lands, and B's
write-back, finding no "pushing" values, takes the current balances for what HubSpot holds. The
next push reads HubSpot's (stale) value, sees it differ from that base, merges the difference
as an admin's change in HubSpot (a ``hubspot_adjustment`` of +1): the deduction is lost.

The two pushers here are two Database pools (two connections' worth of processes) in two
threads, with B paused inside its contact upsert: the interleaving above, made certain."""

from __future__ import annotations

import threading

import psycopg
import push_helpers
import sandbox_fixtures
from invariants import check_invariants, snapshot
from push_helpers import book, client_for, make_world, pending, query, settings_for

from glue.config import PushSettings
from glue.credit_fields import CREDIT_FIELD_NAMES as CREDIT_PROPERTIES
from glue.db.database import Database
from glue.hubspot.client import CONTACTS as CONTACTS_TYPE
from glue.hubspot.client import HubSpotClient
from glue.sandbox import BOOKINGS, CONTACTS, Sandbox
from glue.sync.push import Pusher

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db


def execute(url: str, sql: str, params: object = None) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql, params)


class Paused(HubSpotClient):
    """A client whose first contact write waits (after saying it arrived) until released."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.arrived = threading.Event()
        self.release = threading.Event()

    def _gate(self, object_type: str) -> None:
        if object_type == CONTACTS_TYPE and not self.arrived.is_set():
            self.arrived.set()
            assert self.release.wait(60), "never released"

    def upsert(self, object_type, *args, **kwargs):
        self._gate(object_type)
        return super().upsert(object_type, *args, **kwargs)

    def update(self, object_type, *args, **kwargs):
        self._gate(object_type)
        return super().update(object_type, *args, **kwargs)


def test_a_lookup_beside_another_workers_lease_loses_no_credit_change(
    push_db: str, sandbox: Sandbox
) -> None:
    world = make_world(
        push_db, sandbox, students=1, credits=3, without_hubspot_id=1, in_hubspot=False
    )
    student = world.students[0]
    email = f"{student.lower()}@example.com"
    with psycopg.connect(push_db, autocommit=True) as conn:
        snap = snapshot(conn)
    [booking] = book(push_db, [(student, world.exams[0])])  # 3 -> 2
    contact_id = query(
        push_db,
        "SELECT id FROM hubspot_sync.hubspot_contact_credits WHERE student_id = %s",
        (student,),
    )[0]["id"]
    settings = settings_for(push_db, sandbox)
    base = client_for(settings)
    paused = Paused(
        access_token=settings.hubspot_access_token,
        base_url=settings.hubspot_base_url,
        limiter=base.limiter,
        backoff_base=0.05,
    )
    # B takes only the contact's rows: the others are not due while it claims
    execute(
        push_db,
        "UPDATE hubspot_sync.sync_queue SET next_attempt_at = now() + interval '1 hour' "
        "WHERE table_name <> 'hubspot_contact_credits' AND done_at IS NULL",
    )
    with Database(push_db) as db_a, Database(push_db) as db_b:
        pusher_b = Pusher(db_b, paused, settings, worker="worker-B",
                          push_settings=PushSettings(lease_seconds=600))
        failed: list[BaseException] = []

        def run_b() -> None:
            try:
                pusher_b.push_batch()
            except BaseException as exc:  # re-raised by the test below
                failed.append(exc)

        thread = threading.Thread(target=run_b, name="pusher-B")
        thread.start()
        try:
            assert paused.arrived.wait(60), "B never reached its contact write"
            leased = query(
                push_db,
                "SELECT DISTINCT table_name, lease_owner FROM hubspot_sync.sync_queue "
                "WHERE done_at IS NULL AND lease_owner IS NOT NULL",
            )
            assert leased == [{"table_name": "hubspot_contact_credits", "lease_owner": "worker-B"}]
            # B holds the contact and is about to send 2; meanwhile an admin deducts: 2 -> 1
            query(
                push_db,
                "SELECT hubspot_sync.adjust_credits(p_student_id := %s, "
                "p_credit_field := 'sj_credits', p_delta := -1, p_reason := 'test', "
                "p_actor := 'admin:test')",
                (student,),
            )
            execute(
                push_db,
                "UPDATE hubspot_sync.sync_queue SET next_attempt_at = now() "
                "WHERE table_name <> 'hubspot_contact_credits' AND done_at IS NULL",
            )
            # A pushes the booking (and the exam); the contact is a lookup for it
            client_a = client_for(settings)
            first_request = len(sandbox.requests)
            Pusher(db_a, client_a, settings, worker="worker-A").push_batch()
            a_contact_writes = [
                r
                for r in sandbox.requests[first_request:]
                if f"/objects/{CONTACTS}/batch/" in r["path"]
                and r["method"] == "POST"
                and not r["path"].endswith("/read")
            ]
        finally:
            paused.release.set()
            thread.join(60)
        assert not thread.is_alive() and not failed, failed
        # everything left (the deduction's outbox row), by either process
        Pusher(db_a, client_for(settings), settings, worker="worker-A").run(linger=0)
    assert pending(push_db) == 0
    adjustments = query(
        push_db,
        "SELECT delta, note FROM hubspot_sync.credit_ledger "
        "WHERE contact_id = %s AND reason = 'hubspot_adjustment'",
        (contact_id,),
    )
    assert adjustments == []  # nobody changed the credits in HubSpot
    [row] = query(
        push_db,
        "SELECT hubspot_id, sj_credits FROM hubspot_sync.hubspot_contact_credits WHERE id = %s",
        (contact_id,),
    )
    assert row["sj_credits"] == 1  # 3, booked (-1), the admin's deduction (-1)
    hubspot = [
        c
        for c in sandbox.objects(CONTACTS)
        if not c["archived"] and c["properties"]["email"] == email
    ]
    assert [c["id"] for c in hubspot] == [row["hubspot_id"]]  # one HubSpot contact
    assert hubspot[0]["properties"]["sj_credits"] == "1"
    [local_booking] = query(
        push_db,
        "SELECT hubspot_id FROM hubspot_sync.hubspot_bookings WHERE booking_id = %s",
        (booking["booking_id"],),
    )
    linked = {a["to_id"] for a in sandbox.associations(BOOKINGS, local_booking["hubspot_id"])}
    assert row["hubspot_id"] in linked
    with psycopg.connect(push_db, autocommit=True) as conn:
        check_invariants(conn, snap)
    # A's lookup sent no credits: only the lease holder writes a contact's credit properties
    for request in a_contact_writes:
        for item in request["json"]["inputs"]:
            assert not set(item.get("properties") or {}) & set(CREDIT_PROPERTIES), item


def test_a_lookup_given_its_id_meanwhile_is_not_written(push_db: str, sandbox: Sandbox) -> None:
    """A lookup whose HubSpot id another worker wrote back after this batch read its bookings
    (the id is read again before the contacts are pushed) is associated by that id and not sent
    at all: no credit merge, no update of its credits, no bookkeeping, while its outbox rows
    (held by the other worker, here: not due) stay for their owner."""
    world = make_world(push_db, sandbox, students=1, credits=3, without_hubspot_id=1)
    student = world.students[0]
    hubspot_id = world.contact_ids[student]
    [booking] = book(push_db, [(student, world.exams[0])])  # 3 -> 2, the contact queued
    execute(
        push_db,
        "UPDATE hubspot_sync.sync_queue SET next_attempt_at = now() + interval '1 hour' "
        "WHERE table_name = 'hubspot_contact_credits'",
    )
    settings = settings_for(push_db, sandbox)
    with Database(push_db) as db:
        pusher = Pusher(db, client_for(settings), settings, worker="worker-A")
        real_gather = pusher.claimer.gather

        def gather():
            batch = real_gather()
            # the other worker's write-back of the contact lands now
            execute(
                push_db,
                "UPDATE hubspot_sync.hubspot_contact_credits SET hubspot_id = %s "
                "WHERE student_id = %s",
                (hubspot_id, student),
            )
            return batch

        pusher.claimer.gather = gather
        first_request = len(sandbox.requests)
        pusher.push_batch()
    contact_calls = [
        r["path"] for r in sandbox.requests[first_request:] if f"/objects/{CONTACTS}/" in r["path"]
    ]
    assert contact_calls == []
    assert sandbox.get(CONTACTS, hubspot_id)["properties"].get("sj_credits") in (None, "")
    assert query(
        push_db,
        "SELECT count(*) AS n FROM hubspot_sync.contact_credit_sync AS s "
        "JOIN hubspot_sync.hubspot_contact_credits AS c ON c.id = s.contact_id "
        "WHERE c.student_id = %s AND s.credits <> '{}'",
        (student,),
    ) == [{"n": 0}]
    [local_booking] = query(
        push_db,
        "SELECT hubspot_id FROM hubspot_sync.hubspot_bookings WHERE booking_id = %s",
        (booking["booking_id"],),
    )
    linked = {a["to_id"] for a in sandbox.associations(BOOKINGS, local_booking["hubspot_id"])}
    assert hubspot_id in linked
    # the contact's rows are left to their owner; everything else went
    assert query(
        push_db,
        "SELECT DISTINCT table_name, done_at IS NULL AS pending FROM hubspot_sync.sync_queue "
        "WHERE table_name = 'hubspot_contact_credits' OR done_at IS NULL",
    ) == [{"table_name": "hubspot_contact_credits", "pending": True}]
