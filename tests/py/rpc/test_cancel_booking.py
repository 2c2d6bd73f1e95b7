"""cancel_booking (and cancel_booking_atomic, the original apps' form): its arguments' limits, who
the refund goes to, its replay, who may call it, and the offer a cancellation makes of the seat
it frees.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from booking_calls import book, email_of, expired_offer, join, new_exam, one, places, students
from postgrest import RpcError
from test_who_acts import call, claims_of


def test_a_keyed_write_sent_again_replays_its_first_answer(db: psycopg.Connection) -> None:
    (student,) = students(db, 1)
    seat = book(db, student, new_exam(db))
    args = {"p_booking_id": seat["booking_id"], "p_idempotency_key": f"edge-{uuid.uuid4()}"}
    first = call(db, "cancel_booking", None, args)
    assert call(db, "cancel_booking", None, args) == first


def test_a_booking_reference_takes_255_characters_and_refuses_256(
        db: psycopg.Connection) -> None:
    """cancel_booking's p_booking_id is a code, a HubSpot id or a uuid: up to 255 characters
    it is looked up (nothing there: BOOKING_NOT_FOUND), one more is refused as an argument."""
    with pytest.raises(RpcError) as unknown:
        call(db, "cancel_booking", None, {"p_booking_id": "b" * 255})
    assert unknown.value.code == "BOOKING_NOT_FOUND"
    with pytest.raises(RpcError) as refused:
        call(db, "cancel_booking", None, {"p_booking_id": "b" * 256})
    assert refused.value.code == "INVALID_ARGUMENT" and "p_booking_id" in refused.value.detail


def test_a_booking_without_a_student_id_refunds_its_hubspot_contact(
        db: psycopg.Connection) -> None:
    """An adopted booking may carry only its HubSpot contact id: the refund goes there."""
    (student,) = students(db, 1)
    seat = book(db, student, new_exam(db))
    contact = one(db, "SELECT hubspot_id FROM hubspot_sync.hubspot_contact_credits"
                      " WHERE student_id = %s", (student,))
    with db.transaction():
        db.execute("SET LOCAL session_replication_role = replica")   # as adopted
        db.execute("UPDATE hubspot_sync.hubspot_bookings SET student_id = NULL,"
                   " associated_contact_id = %s WHERE id = %s", (contact, seat["id"]))
    before = one(db, "SELECT sj_credits FROM hubspot_sync.hubspot_contact_credits"
                     " WHERE student_id = %s", (student,))
    call(db, "cancel_booking", None, {"p_booking_id": seat["booking_id"]})
    assert one(db, "SELECT sj_credits FROM hubspot_sync.hubspot_contact_credits"
                   " WHERE student_id = %s", (student,)) == before + 1


def test_a_cancellation_reason_takes_1000_characters_and_refuses_1001(
        db: psycopg.Connection) -> None:
    """cancel_booking's p_reason (stored with the cancellation) up to 1,000 characters; one more
    is refused as an argument, naming it."""
    exam = new_exam(db)
    made = [book(db, s, exam) for s in students(db, 2)]
    with pytest.raises(RpcError) as refused:
        call(db, "cancel_booking", None, {"p_booking_id": made[0]["booking_id"],
                                          "p_reason": "r" * 1001})
    assert refused.value.code == "INVALID_ARGUMENT" and "p_reason" in refused.value.detail
    done = call(db, "cancel_booking", None, {"p_booking_id": made[1]["booking_id"],
                                             "p_reason": "r" * 1000})
    assert done["status"] == "Cancelled"


def test_a_students_call_naming_no_student_names_the_jwts_user(db: psycopg.Connection) -> None:
    """A student's JWT on cancel_booking without p_student_id (the admin form) is FORBIDDEN,
    the detail naming the user as the JWT does (its email, without the actor's prefix)."""
    exam = new_exam(db)
    student, = students(db, 1)
    made = book(db, student, exam)
    with pytest.raises(RpcError) as refused:
        call(db, "cancel_booking", claims_of(student), {"p_booking_id": made["booking_id"]})
    assert refused.value.code == "FORBIDDEN"
    assert f"the request's JWT names {email_of(db, student)}, who is not an admin" \
        in refused.value.detail


def test_an_offer_holds_its_seat_60_minutes_where_the_rule_is_not_stored(
        db: psycopg.Connection) -> None:
    """docs/rpc.md, Scheduling rules: offer_hold_minutes defaults to 60, on a database whose
    booking_rules lacks the row as well."""
    exam = new_exam(db, capacity=1)
    holder, waiting = students(db, 2)
    seat = book(db, holder, exam)
    join(db, waiting, exam)
    saved = one(db, "DELETE FROM hubspot_sync.booking_rules WHERE rule = 'offer_hold_minutes'"
                    " RETURNING value")
    try:
        call(db, "cancel_booking", None, {"p_booking_id": seat["booking_id"]})  # offered on
        held = one(db, "SELECT extract(epoch FROM offer_expires_at - offered_at)"
                       " FROM hubspot_sync.waitlist_entries"
                       " WHERE student_id = %s AND status = 'offered'", (waiting,))
        assert abs(float(held) - 3600) < 5
    finally:
        call(db, "set_booking_rule", None, {"p_rule": "offer_hold_minutes", "p_value": saved,
                                            "p_actor": "test"})


def test_an_expired_offer_the_job_has_not_passed_on_holds_no_seat_a_cancellation_frees(
        db: psycopg.Connection) -> None:
    """An offer past its instant still reads 'offered' until the waitlist job runs; a seat freed
    meanwhile goes to the next waiting student all the same (the expired offer holds nothing)."""
    exam, expired, nxt = expired_offer(db)
    late = students(db, 1)[0]
    try:
        again = book(db, late, exam)               # the seat the expired offer held, taken
        call(db, "cancel_booking", None, {"p_booking_id": again["booking_id"]})
        statuses = places(db, exam)
    finally:
        db.execute("RESET mockbook.clock_offset")
    assert (statuses[expired], statuses[nxt]) == ("offered", "offered"), statuses


def test_a_refund_value_of_zero_is_a_conflict_not_a_bad_argument(db: psycopg.Connection) -> None:
    """cancel_booking_atomic refuses a negative p_restored_credit_value as an argument; 0 is a
    value, checked against the balance (never below 0, so the refund makes it at least 1)."""
    (student,) = students(db, 1)
    seat = book(db, student, new_exam(db))
    balance = one(db, "SELECT sj_credits FROM hubspot_sync.hubspot_contact_credits"
                      " WHERE student_id = %s", (student,))
    for value, code in ((-1, "INVALID_ARGUMENT"), (0, "CREDIT_CONFLICT")):
        with pytest.raises(RpcError) as refused:
            call(db, "cancel_booking_atomic", None, {
                "p_booking_id": seat["id"], "p_credit_field": "sj_credits",
                "p_restored_credit_value": value})
        assert refused.value.code == code, (value, refused.value.detail)
    assert f"after the refund {balance + 1}, not 0" in refused.value.detail
    assert one(db, "SELECT is_active FROM hubspot_sync.hubspot_bookings WHERE id = %s",
               (seat["id"],)) == "Active"


def test_cancel_booking_atomic_cancels_a_booking_whose_student_has_no_contact(
        db: psycopg.Connection) -> None:
    """An adopted booking may name a student no contact row has: cancel_booking_atomic (no
    credit to restore) locks no contact and cancels it."""
    made = book(db, students(db, 1)[0], new_exam(db))
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET student_id = %s,"
               " associated_contact_id = NULL WHERE id = %s", (f"GONE{uuid.uuid4().hex[:8]}",
                                                               made["id"]))
    done = call(db, "cancel_booking_atomic", None, {
        "p_booking_id": made["id"], "p_credit_field": None, "p_restored_credit_value": None})
    assert done["success"] is True
    assert one(db, "SELECT is_active FROM hubspot_sync.hubspot_bookings WHERE id = %s",
               (made["id"],)) == "Cancelled"
