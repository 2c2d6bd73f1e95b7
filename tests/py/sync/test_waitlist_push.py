"""Waitlist places reach HubSpot as booking objects ("the glue pushes waitlist state to
HubSpot as a booking status the admins can see"), through the outbox, against the strict
sandbox: each place is one HubSpot booking (upserted by its code WL-<place id>) associated with
the student and the exam, whose is_active follows the place: Waitlisted, Offered, Accepted (and
the real booking is pushed), Expired, Closed; the pull and reconcile never take a place for a
booking."""

from __future__ import annotations

import psycopg
import push_helpers
import sandbox_fixtures
from psycopg.types.json import Jsonb
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

from glue.db.database import Database
from glue.sandbox import BOOKINGS, CONTACTS, EXAMS, Sandbox
from glue.sync.push import push

sandbox = sandbox_fixtures.sandbox
push_db = push_helpers.push_db


def run_push(url: str, sb: Sandbox):
    settings = settings_for(url, sb)
    with Database(url) as db:
        stats = push(db, client_for(settings), settings, linger=0)
    assert stats.dead_lettered == 0 and stats.retried == 0, stats.errors
    assert pending(url) == 0
    return stats


def call(url: str, sql: str, params: tuple = ()) -> object:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchone()[0]


def join(url: str, student: str, exam: str) -> dict:
    return call(
        url,
        "SELECT hubspot_sync.join_waitlist(p_student_id := %s, p_email := %s, "
        "p_mock_exam_id := %s, p_attending_location := 'mississauga')",
        (student, f"{student.lower()}@example.com", exam),
    )


def place(url: str, student: str) -> dict:
    return query(
        url,
        "SELECT * FROM hubspot_sync.waitlist_entries WHERE student_id = %s ORDER BY id DESC",
        (student,),
    )[0]


def status_in_hubspot(sb: Sandbox, code: str) -> str:
    return hubspot_bookings(sb)[code]["properties"]["is_active"]


def test_a_place_is_pushed_as_a_waitlisted_booking_then_offered_then_accepted(
    push_db: str, sandbox: Sandbox
) -> None:
    world = make_world(push_db, sandbox, students=3, capacity=1)
    exam = world.exams[0]
    holder, first, second = world.students
    (booked,) = book(push_db, [(holder, exam)])
    join(push_db, first, exam)
    join(push_db, second, exam)
    run_push(push_db, sandbox)

    p1, p2 = place(push_db, first), place(push_db, second)
    assert p1["booking_code"] == f"WL-{p1['id']}" and p2["booking_code"] == f"WL-{p2['id']}"
    remote = hubspot_bookings(sandbox)
    assert set(remote) == {booked["booking_id"], p1["booking_code"], p2["booking_code"]}
    obj = remote[p1["booking_code"]]
    assert obj["properties"]["is_active"] == "Waitlisted"
    assert obj["properties"]["student_id"] == first
    assert obj["properties"]["associated_mock_exam"] == exam
    assert obj["properties"]["associated_contact_id"] == world.contact_ids[first]
    assert obj["properties"]["mock_type"] == "Situational Judgment"
    assert p1["hubspot_id"] == obj["id"] and p1["hubspot_last_sync_at"] is not None  # written back
    linked = {(a["to_type"], a["to_id"]) for a in sandbox.associations(BOOKINGS, obj["id"])}
    assert (CONTACTS, world.contact_ids[first]) in linked and (EXAMS, exam) in linked

    # the holder cancels: the seat is offered to the first place
    call(push_db, "SELECT hubspot_sync.cancel_booking(p_booking_id := %s)", (booked["booking_id"],))
    assert place(push_db, first)["status"] == "offered"
    assert place(push_db, second)["status"] == "waiting"  # one free seat, one offer
    run_push(push_db, sandbox)
    assert status_in_hubspot(sandbox, p1["booking_code"]) == "Offered"
    assert status_in_hubspot(sandbox, p2["booking_code"]) == "Waitlisted"
    assert status_in_hubspot(sandbox, booked["booking_id"]) == "Cancelled"

    accepted = call(
        push_db,
        "SELECT hubspot_sync.accept_offer(p_student_id := %s, p_email := %s, p_mock_exam_id := %s)",
        (first, f"{first.lower()}@example.com", exam),
    )
    run_push(push_db, sandbox)
    remote = hubspot_bookings(sandbox)
    assert remote[p1["booking_code"]]["properties"]["is_active"] == "Accepted"
    assert remote[p1["booking_code"]]["id"] == p1["hubspot_id"]  # the same object, updated
    code = query(
        push_db,
        "SELECT b.booking_id FROM hubspot_sync.hubspot_bookings AS b "
        "JOIN hubspot_sync.waitlist_entries AS w ON w.booking_id = b.id WHERE w.id = %s",
        (p1["id"],),
    )[0]["booking_id"]
    assert accepted  # the real booking accept_offer made is pushed as a booking
    assert remote[code]["properties"]["is_active"] == "Active"
    assert remote[code]["properties"]["student_id"] == first
    # a status change of a place does not repeat its two associations
    assert len(sandbox.associations(BOOKINGS, p1["hubspot_id"])) == 2


def test_an_expired_offer_and_a_place_on_a_past_exam_are_pushed(
    push_db: str, sandbox: Sandbox
) -> None:
    world = make_world(push_db, sandbox, students=3, capacity=1)
    exam = world.exams[0]
    holder, first, second = world.students
    (booked,) = book(push_db, [(holder, exam)])
    join(push_db, first, exam)
    join(push_db, second, exam)
    call(push_db, "SELECT hubspot_sync.cancel_booking(p_booking_id := %s)", (booked["booking_id"],))
    with psycopg.connect(push_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE hubspot_sync.waitlist_entries SET offer_expires_at = now() "
            "WHERE student_id = %s",
            (first,),
        )
        result = conn.execute("SELECT hubspot_sync.process_waitlist()").fetchone()[0]
    assert result["expired"] == 1 and result["offered"] == 1
    run_push(push_db, sandbox)
    p1, p2 = place(push_db, first), place(push_db, second)
    assert status_in_hubspot(sandbox, p1["booking_code"]) == "Expired"
    assert status_in_hubspot(sandbox, p2["booking_code"]) == "Offered"

    # the exam's day passes with the offer still open: the job closes the place
    with psycopg.connect(push_db, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # only the date, nothing queued
        conn.execute(
            "UPDATE hubspot_sync.hubspot_mock_exams "
            "SET exam_date = hubspot_sync.business_today() - 1 WHERE hubspot_id = %s",
            (exam,),
        )
        conn.execute("SET session_replication_role = origin")
        result = conn.execute("SELECT hubspot_sync.process_waitlist()").fetchone()[0]
    assert result["closed"] == 1
    run_push(push_db, sandbox)
    assert place(push_db, second)["status"] == "closed"
    assert status_in_hubspot(sandbox, p2["booking_code"]) == "Closed"


def test_the_pull_leaves_places_out_of_the_bookings(push_db: str, sandbox: Sandbox) -> None:
    world = make_world(push_db, sandbox, students=2, capacity=1)
    exam = world.exams[0]
    book(push_db, [(world.students[0], exam)])
    join(push_db, world.students[1], exam)
    run_push(push_db, sandbox)
    obj = hubspot_bookings(sandbox)[place(push_db, world.students[1])["booking_code"]]
    assert obj["properties"]["is_active"] == "Waitlisted"
    outcome = call(push_db, "SELECT mockbook_internal.apply_pulled_bookings(%s)", (Jsonb([obj]),))
    assert outcome["inserted"] == 0 and outcome["errors"] == []
    assert query(push_db, "SELECT count(*) AS n FROM hubspot_sync.hubspot_bookings")[0]["n"] == 1


def test_push_all_and_push_exam_requeue_the_places(push_db: str, sandbox: Sandbox) -> None:
    world = make_world(push_db, sandbox, students=2, capacity=1)
    exam = world.exams[0]
    book(push_db, [(world.students[0], exam)])
    join(push_db, world.students[1], exam)
    run_push(push_db, sandbox)
    code = place(push_db, world.students[1])["booking_code"]
    for options in ({"requeue": True}, {"exam": exam}):
        settings = settings_for(push_db, sandbox)
        since = len(sandbox.requests)
        with Database(push_db) as db:
            stats = push(db, client_for(settings), settings, linger=0, **options)
        # the exam, its booking, its place and both contacts
        assert stats.requeued == 5 and stats.dead_lettered == 0, options
        upserts = calls(sandbox, "/batch/upsert", BOOKINGS)
        sent = [
            i["id"] for r in upserts if r in sandbox.requests[since:] for i in r["json"]["inputs"]
        ]
        assert code in sent, options
