"""The contract: behaviours the RPC contract / docs/rpc.md promise to callers,
each called exactly as PostgREST calls it (tests/py/postgrest.py).

Every test here is named for the behaviour the contract expects. The project's standard:
bad input gets a clear, documented PTnnn error and changes nothing; no other error (a raw 22xxx,
23xxx, P0001) ever reaches a caller for a documented situation; the invariants hold after
every committed transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from invariants import check_invariants, snapshot
from postgrest import RpcError, rpc, rpc_rows
from psycopg.types.json import Jsonb


def one(db: psycopg.Connection, query: str, params: Any = ()) -> Any:
    return db.execute(query, params).fetchone()[0]


def email(student: str) -> str:
    return f"{student.lower()}@example.com"


def make_exam(db: psycopg.Connection, capacity: int = 10, day: int = 7,
              mock_type: str = "Situational Judgment") -> str:
    return one(db, "SELECT tests.make_exam(p_mock_type := %s, p_capacity := %s,"
                   " p_exam_date := hubspot_sync.business_today() + %s)",
               (mock_type, capacity, day))


def make_student(db: psycopg.Connection, sj: int = 1) -> str:
    return one(db, "SELECT tests.make_student(p_sj := %s)", (sj,))


def book(db: psycopg.Connection, student: str, exam: str, key: str | None = None) -> dict:
    return rpc(db, "create_booking", p_student_id=student, p_email=email(student),
               p_mock_exam_id=exam, p_idempotency_key=key or f"rev-{uuid.uuid4()}",
               p_attending_location="mississauga")


def not_a_mockbook_error(call) -> BaseException | None:
    """Run the call; return the exception if it is anything but a documented PTnnn error."""
    try:
        call()
    except RpcError:
        return None
    except psycopg.Error as exc:
        return exc
    return None


@pytest.fixture
def rules(db: psycopg.Connection) -> Iterator[None]:
    """Put every scheduling rule back as it was after the test."""
    saved = db.execute("SELECT rule, value FROM hubspot_sync.booking_rules").fetchall()
    yield
    for rule, value in saved:
        db.execute("UPDATE hubspot_sync.booking_rules SET value = %s WHERE rule = %s",
                   (Jsonb(value), rule))


# --- accept_offer and its reserved idempotency key ------------------------------------------

def test_accept_offer_never_leaks_a_raw_error_when_a_booking_already_used_its_key(
        db: psycopg.Connection) -> None:
    """docs/rpc.md, Idempotency: accept_offer books with "a key of its own,
    waitlist-offer-<place id>", in "one key space with the bookings' keys". create_booking
    accepts any 1-255 character key, so a booking may already hold that key. Then either
    create_booking refuses the reserved key (INVALID_ARGUMENT), or accept_offer still books the
    offered seat (or answers a documented PTnnn error): never a raw 23514 check violation, and
    the student's offer must not become impossible to accept."""
    full = make_exam(db, capacity=1)
    elsewhere = make_exam(db, day=9)
    holder, waiting, other = make_student(db), make_student(db), make_student(db)
    seat = book(db, holder, full)
    place = rpc(db, "join_waitlist", p_student_id=waiting, p_email=email(waiting),
                p_mock_exam_id=full, p_attending_location="mississauga")
    rpc(db, "cancel_booking", p_booking_id=seat["booking_id"])  # the seat is offered to `waiting`
    reserved_key = f"waitlist-offer-{place['waitlist_id']}"
    try:
        book(db, other, elsewhere, key=reserved_key)
    except RpcError as err:  # refusing the reserved key is a fine answer too
        assert err.code == "INVALID_ARGUMENT", err
        return
    snap = snapshot(db)
    raw = not_a_mockbook_error(lambda: rpc(db, "accept_offer", p_student_id=waiting,
                                           p_email=email(waiting), p_mock_exam_id=full))
    assert raw is None, f"accept_offer leaked {raw.sqlstate}: {raw}"
    check_invariants(db, snap)


# --- set_booking_rule accepts values the booking functions cannot read -----------------------

HUGE = 3_000_000_000  # a whole number >= 1, as set_booking_rule asks; above integer range


@pytest.mark.usefixtures("rules")
def test_an_offer_hold_set_by_set_booking_rule_never_breaks_cancel_booking(
        db: psycopg.Connection) -> None:
    """set_booking_rule('offer_hold_minutes', <whole number >= 1>) either refuses the value with
    INVALID_ARGUMENT or the value works: here it is accepted, and then every cancellation (which
    offers the freed seat to the waitlist) fails with a raw 22003 'integer out of range'."""
    exam = make_exam(db)
    seat = book(db, make_student(db), exam)
    try:
        rpc(db, "set_booking_rule", p_rule="offer_hold_minutes", p_value=HUGE, p_actor="rev")
    except RpcError as err:
        assert err.code == "INVALID_ARGUMENT", err
        return
    raw = not_a_mockbook_error(lambda: rpc(db, "cancel_booking",
                                           p_booking_id=seat["booking_id"]))
    assert raw is None, f"cancel_booking leaked {raw.sqlstate}: {raw}"


@pytest.mark.usefixtures("rules")
@pytest.mark.parametrize("rule", ["max_active_per_type", "max_active_per_week"])
def test_a_booking_limit_set_by_set_booking_rule_never_breaks_create_booking(
        rule: str, db: psycopg.Connection) -> None:
    """A per-type / per-week limit set_booking_rule accepted (a whole number >= 1) must not make
    every create_booking fail with a raw 22003."""
    exam = make_exam(db)
    student = make_student(db)
    try:
        rpc(db, "set_booking_rule", p_rule=rule, p_value=HUGE, p_actor="rev")
    except RpcError as err:
        assert err.code == "INVALID_ARGUMENT", err
        return
    raw = not_a_mockbook_error(lambda: book(db, student, exam))
    assert raw is None, f"create_booking leaked {raw.sqlstate}: {raw}"


@pytest.mark.usefixtures("rules")
def test_a_waitlist_size_set_by_set_booking_rule_never_breaks_join_waitlist(
        db: psycopg.Connection) -> None:
    exam = make_exam(db, capacity=1)
    book(db, make_student(db), exam)
    student = make_student(db)
    try:
        rpc(db, "set_booking_rule", p_rule="waitlist_size", p_value=HUGE, p_actor="rev")
    except RpcError as err:
        assert err.code == "INVALID_ARGUMENT", err
        return
    raw = not_a_mockbook_error(lambda: rpc(db, "join_waitlist", p_student_id=student,
                                           p_email=email(student), p_mock_exam_id=exam,
                                           p_attending_location="mississauga"))
    assert raw is None, f"join_waitlist leaked {raw.sqlstate}: {raw}"


@pytest.mark.usefixtures("rules")
@pytest.mark.parametrize("rule, call", [
    ("min_notice_hours", "create_booking"),
    ("cancel_deadline_hours", "cancel_booking"),
])
def test_an_hours_rule_set_by_set_booking_rule_never_breaks_the_calls_it_binds(
        rule: str, call: str, db: psycopg.Connection) -> None:
    """'a number of hours, 0 or more': 1e15 hours is accepted, and then the booking (or a
    student's cancellation) it binds fails with a raw 22008 'timestamp out of range'."""
    exam = make_exam(db, day=3)
    student = make_student(db)
    seat = book(db, student, exam) if call == "cancel_booking" else None
    try:
        rpc(db, "set_booking_rule", p_rule=rule, p_value=10**15, p_actor="rev")
    except RpcError as err:
        assert err.code == "INVALID_ARGUMENT", err
        return
    if call == "create_booking":
        raw = not_a_mockbook_error(lambda: book(db, student, exam))
    else:
        raw = not_a_mockbook_error(lambda: rpc(db, "cancel_booking",
                                               p_booking_id=seat["booking_id"],
                                               p_student_id=student))
    assert raw is None, f"{call} leaked {raw.sqlstate}: {raw}"


# --- set_exam_capacity's remaining_seats ------------------------------------------------------

def test_set_exam_capacity_remaining_seats_leaves_out_seats_held_by_waitlist_offers(
        db: psycopg.Connection) -> None:
    """docs/rpc.md: "Held offers count against the capacity" and remaining_seats is
    capacity - total_bookings - held_seats (list_available_exams). set_exam_capacity raising a
    full exam's capacity by one offers that seat to the waiting student at once (offers_made 1),
    so no seat remains: an app showing its remaining_seats 1 sends the next student into
    EXAM_FULL."""
    exam = make_exam(db, capacity=1)
    book(db, make_student(db), exam)
    waiting = make_student(db)
    rpc(db, "join_waitlist", p_student_id=waiting, p_email=email(waiting), p_mock_exam_id=exam,
        p_attending_location="mississauga")
    result = rpc(db, "set_exam_capacity", p_mock_exam_id=exam, p_capacity=2)
    assert result["offers_made"] == 1
    (row,) = [r for r in rpc_rows(db, "list_available_exams") if r["mock_exam_id"] == exam]
    assert (row["remaining_seats"], row["held_seats"]) == (0, 1)
    assert result["remaining_seats"] == row["remaining_seats"], (
        f"set_exam_capacity says {result['remaining_seats']} seat(s) remain; "
        f"list_available_exams says {row['remaining_seats']} (the seat is held for the offer)")
    with pytest.raises(RpcError) as info:
        book(db, make_student(db), exam)
    assert info.value.code == "EXAM_FULL"


# --- error precedence of the prerequisites functions -----------------------------------------

def test_set_exam_prerequisites_checks_arguments_before_the_idempotency_key(
        db: psycopg.Connection) -> None:
    """docs/rpc.md, set_exam_prerequisites: "Errors: INVALID_ARGUMENT (as above; the exam
    itself listed), IDEMPOTENCY_KEY_REUSED, EXAM_NOT_FOUND" (update_exam_prerequisites: "Errors,
    in order"), as create_booking's contract checks arguments first: a malformed list is
    INVALID_ARGUMENT
    whatever key comes with it."""
    exam, other = make_exam(db), make_exam(db)
    key = f"rev-{uuid.uuid4()}"
    rpc(db, "set_exam_prerequisites", p_exam_id=exam, p_prerequisite_ids=[other],
        p_idempotency_key=key)
    for bad in ([exam], ["   "], [None]):
        with pytest.raises(RpcError) as info:
            rpc(db, "set_exam_prerequisites", p_exam_id=exam, p_prerequisite_ids=bad,
                p_idempotency_key=key)
        assert info.value.code == "INVALID_ARGUMENT", (bad, info.value)


def test_update_exam_prerequisites_answers_exam_not_found_before_the_idempotency_key(
        db: psycopg.Connection) -> None:
    """docs/rpc.md, update_exam_prerequisites: "Errors, in order: INVALID_ARGUMENT (...),
    EXAM_NOT_FOUND (the exam, or an added id that is no known exam — DETAIL lists them),
    IDEMPOTENCY_KEY_REUSED, BUSY"."""
    exam, other = make_exam(db), make_exam(db)
    key = f"rev-{uuid.uuid4()}"
    rpc(db, "update_exam_prerequisites", p_exam_id=exam, p_add_ids=[other],
        p_idempotency_key=key)
    with pytest.raises(RpcError) as info:
        rpc(db, "update_exam_prerequisites", p_exam_id=exam, p_add_ids=["NO-SUCH-EXAM"],
            p_idempotency_key=key)
    assert info.value.code == "EXAM_NOT_FOUND", info.value
