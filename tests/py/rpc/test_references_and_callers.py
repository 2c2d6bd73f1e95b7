"""Booking references that cannot name the wrong booking, and callers who are who the JWT says.

A booking is referred to by its uuid, its booking code or its HubSpot id. A code that looks like
another booking's HubSpot id (all digits) or uuid would let one reference mean two bookings: the
resolver used to take the first kind that matched, and cancel_booking cancelled another student's
booking. Codes are now validated on every write, and a reference that still names two bookings
(a legacy code) is refused with AMBIGUOUS_REFERENCE.

A request whose JWT names a user who is not an admin acts for that student only: without
p_student_id it used to take the admin path (no ownership check, no deadline).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from invariants import check_invariants, snapshot
from postgrest import RpcError, rpc
from psycopg.types.json import Jsonb


def one(db: psycopg.Connection, query: str, params: Any = ()) -> Any:
    return db.execute(query, params).fetchone()[0]


def email(student: str) -> str:
    return f"{student.lower()}@example.com"


def make_exam(db: psycopg.Connection, day: int = 7, capacity: int = 10) -> str:
    return one(db, "SELECT tests.make_exam(p_capacity := %s,"
                   " p_exam_date := hubspot_sync.business_today() + %s)", (capacity, day))


def make_student(db: psycopg.Connection) -> str:
    return one(db, "SELECT tests.make_student(p_sj := 5)")


def book(db: psycopg.Connection, student: str, exam: str, **kw: Any) -> dict:
    return rpc(db, "create_booking", p_student_id=student, p_email=email(student),
               p_mock_exam_id=exam, p_idempotency_key=f"ref-{uuid.uuid4()}",
               p_attending_location="mississauga", **kw)


def student_jwt(student: str) -> dict[str, Any]:
    """A signed-in student's claims, as Supabase Auth issues them (no admin role)."""
    return {"email": email(student), "sub": str(uuid.uuid4())}


ADMIN_JWT = {"email": "head@school.example", "sub": str(uuid.uuid4()),
             "app_metadata": {"role": "admin"}}


@pytest.fixture
def rules(db: psycopg.Connection) -> Iterator[None]:
    saved = db.execute("SELECT rule, value FROM hubspot_sync.booking_rules").fetchall()
    yield
    for rule, value in saved:
        db.execute("UPDATE hubspot_sync.booking_rules SET value = %s WHERE rule = %s",
                   (Jsonb(value), rule))


# --- booking codes ----------------------------------------------------------------------------

HOSTILE_CODES = [
    "BK-1\nBK-2",                                   # a newline
    "BK-\u202eevil",                                # a right-to-left override
    "<script>alert(1)</script>",                    # markup
    "6f1c2a9e-1b2c-4d5e-8f90-a1b2c3d4e5f6",         # shaped like a uuid
    "4815162342",                                   # all digits, as HubSpot ids are
    "WL-12",                                        # a waitlist place's code
    "ab",                                           # too short
    " BK-1",                                        # leading space
]


@pytest.mark.parametrize("code", HOSTILE_CODES)
def test_a_hostile_booking_code_is_refused_and_nothing_changes(db: psycopg.Connection,
                                                              code: str) -> None:
    exam, student = make_exam(db), make_student(db)
    before = snapshot(db)
    with pytest.raises(RpcError) as refused:
        book(db, student, exam, p_booking_id=code)
    assert refused.value.code == "INVALID_ARGUMENT"
    assert "p_booking_id" in refused.value.detail
    assert one(db, "SELECT count(*) FROM hubspot_sync.hubspot_bookings WHERE student_id = %s",
               (student,)) == 0
    check_invariants(db, before)


def test_the_original_apps_codes_are_valid(db: psycopg.Connection) -> None:
    """The original app's codes (<mock type>-<student id>-<exam date>) and mockbook's generated
    ones follow the rule."""
    for code in ("Situational Judgment-PRE913727A-March 1, 2027", "Mini-mock-B77-2026-01-03",
                 "BK-20251225-A1B2C3", "Clinical Skills-C9-2025-12-25-R2"):
        assert one(db, "SELECT mockbook_internal.booking_code_problem(%s)", (code,)) is None, code


def test_a_reference_naming_two_bookings_is_refused_never_the_other_students(
        db: psycopg.Connection) -> None:
    """A legacy code equal to another booking's HubSpot id: the reference names both."""
    exam = make_exam(db)
    alice, bob = make_student(db), make_student(db)
    alices = book(db, alice, exam)
    bobs = book(db, bob, exam)
    # Bob's booking came back from HubSpot with id 4815162342; Alice's is a legacy row whose code
    # is that same text (written before codes were validated)
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET hubspot_id = '4815162342' WHERE id = %s",
               (bobs["id"],))
    db.execute("ALTER TABLE hubspot_sync.hubspot_bookings DISABLE TRIGGER USER")
    try:
        db.execute("UPDATE hubspot_sync.hubspot_bookings SET booking_id = '4815162342'"
                   " WHERE id = %s", (alices["id"],))
    finally:
        db.execute("ALTER TABLE hubspot_sync.hubspot_bookings ENABLE TRIGGER USER")
    before = snapshot(db)
    with pytest.raises(RpcError) as refused:
        rpc(db, "cancel_booking", p_booking_id="4815162342")
    assert refused.value.code == "AMBIGUOUS_REFERENCE"
    assert refused.value.sqlstate == "PT409"
    statuses = {r[0]: r[1] for r in db.execute(
        "SELECT student_id, is_active FROM hubspot_sync.hubspot_bookings WHERE id = ANY (%s)",
        ([alices["id"], bobs["id"]],))}
    assert statuses == {alice: "Active", bob: "Active"}
    check_invariants(db, before)
    # the uuid is never ambiguous
    assert rpc(db, "cancel_booking", p_booking_id=bobs["id"])["status"] == "Cancelled"


# --- who may call -----------------------------------------------------------------------------

def test_a_students_jwt_without_p_student_id_is_not_an_admin_call(db: psycopg.Connection) -> None:
    exam, student = make_exam(db), make_student(db)
    booking = book(db, student, exam)
    with pytest.raises(RpcError) as refused:
        rpc(db, "cancel_booking", p_booking_id=booking["booking_id"], claims=student_jwt(student))
    assert refused.value.code == "FORBIDDEN"
    assert one(db, "SELECT is_active FROM hubspot_sync.hubspot_bookings WHERE id = %s",
               (booking["id"],)) == "Active"


def test_a_students_jwt_cannot_cancel_someone_elses_booking(db: psycopg.Connection) -> None:
    exam, alice, mallory = make_exam(db), make_student(db), make_student(db)
    booking = book(db, alice, exam)
    # claiming to be Alice with Mallory's JWT; Mallory's own id on Alice's booking, which is not
    # there for Mallory (not yours = not there)
    for claimed, answer in ((alice, "FORBIDDEN"), (mallory, "BOOKING_NOT_FOUND")):
        with pytest.raises(RpcError) as refused:
            rpc(db, "cancel_booking", p_booking_id=booking["booking_id"], p_student_id=claimed,
                claims=student_jwt(mallory))
        assert refused.value.code == answer
    assert rpc(db, "cancel_booking", p_booking_id=booking["booking_id"], p_student_id=alice,
               claims=student_jwt(alice))["status"] == "Cancelled"


def test_an_admins_jwt_and_the_service_key_keep_admin_powers(db: psycopg.Connection) -> None:
    exam, student = make_exam(db), make_student(db)
    first, second = book(db, student, exam), book(db, student, make_exam(db, day=8))
    assert rpc(db, "cancel_booking", p_booking_id=first["booking_id"],
               claims=ADMIN_JWT)["status"] == "Cancelled"
    assert rpc(db, "cancel_booking", p_booking_id=second["booking_id"])["status"] == "Cancelled"


@pytest.mark.parametrize(("fn", "args"), [
    ("adjust_credits", {"p_credit_field": "sj_credits", "p_delta": 5, "p_reason": "gift",
                        "p_actor": "me"}),
    ("set_booking_rule", {"p_rule": "time_conflict", "p_value": True}),
    ("complete_past_bookings", {}),
    ("process_waitlist", {}),
])
def test_admin_powers_are_refused_to_a_students_jwt(db: psycopg.Connection, rules: None,
                                                   fn: str, args: dict[str, Any]) -> None:
    student = make_student(db)
    if fn == "adjust_credits":
        args = {"p_student_id": student, **args}
    before = snapshot(db)
    with pytest.raises(RpcError) as refused:
        rpc(db, fn, claims=student_jwt(student), **args)
    assert refused.value.code == "FORBIDDEN"
    check_invariants(db, before)


def test_a_rule_change_records_the_jwts_admin_and_its_history(db: psycopg.Connection,
                                                              rules: None) -> None:
    rpc(db, "set_booking_rule", p_rule="max_active_per_week", p_value=3, p_actor="cron")
    rpc(db, "set_booking_rule", p_rule="max_active_per_week", p_value=4,
        p_actor="someone-else", claims=ADMIN_JWT)
    stored = one(db, "SELECT updated_by FROM hubspot_sync.booking_rules"
                     " WHERE rule = 'max_active_per_week'")
    assert stored == "admin:head@school.example"
    history = db.execute("SELECT old_value, new_value, changed_by FROM"
                         " hubspot_sync.booking_rule_changes WHERE rule = 'max_active_per_week'"
                         " ORDER BY id DESC LIMIT 2").fetchall()
    assert history == [(3, 4, "admin:head@school.example"), (None, 3, "cron")]


def test_a_students_rebook_obeys_the_rules_a_new_booking_obeys(db: psycopg.Connection,
                                                               rules: None) -> None:
    student = make_student(db)
    booking = book(db, student, make_exam(db, day=10))
    soon = make_exam(db, day=1)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams"
               " SET start_time = to_char((mockbook_internal.clock_now() + interval '3 hours')"
               "                          AT TIME ZONE 'UTC',"
               "                          'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
               "     end_time = to_char((mockbook_internal.clock_now() + interval '5 hours')"
               "                        AT TIME ZONE 'UTC',"
               "                        'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
               "     exam_date = (mockbook_internal.clock_now() + interval '3 hours')"
               "                 AT TIME ZONE mockbook_internal.business_timezone()"
               " WHERE hubspot_id = %s", (soon,))
    # an ISO instant three hours ahead (UTC, as HubSpot writes it)
    rpc(db, "set_booking_rule", p_rule="min_notice_hours", p_value=24, p_actor="test")
    with pytest.raises(RpcError) as refused:
        rpc(db, "rebook", p_booking_id=booking["booking_id"], p_new_mock_exam_id=soon,
            p_idempotency_key=f"rb-{uuid.uuid4()}", claims=student_jwt(student))
    assert refused.value.code == "BOOKING_CLOSED"
    # an admin may still move it there
    moved = rpc(db, "rebook", p_booking_id=booking["booking_id"], p_new_mock_exam_id=soon,
                p_idempotency_key=f"rb-{uuid.uuid4()}", claims=ADMIN_JWT)
    assert moved["mock_exam_id"] == soon
