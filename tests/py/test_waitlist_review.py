"""Review of issue 16 (scheduling rules and the waitlist; reviewer: revwait): behaviours
docs/rpc.md promises under concurrency and at the edges, each proven by a call made exactly as
PostgREST makes it (tests/py/postgrest.py), with SPEC §3's invariants checked after each
scenario.

Each test names the behaviour the contract expects and says, in its docstring, how the code
before the fix broke it.
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
from test_lock_review import Call, connect, waiting_on_lock


def one(db: psycopg.Connection, query: str, params: Any = ()) -> Any:
    return db.execute(query, params).fetchone()[0]


def email(student: str) -> str:
    return f"{student.lower()}@example.com"


def make_exam(db: psycopg.Connection, capacity: int = 10, day: int = 7) -> str:
    return one(db, "SELECT tests.make_exam(p_capacity := %s,"
                   " p_exam_date := hubspot_sync.business_today() + %s)", (capacity, day))


def make_student(db: psycopg.Connection, sj: int = 1) -> str:
    return one(db, "SELECT tests.make_student(p_sj := %s)", (sj,))


def book(db: psycopg.Connection, student: str, exam: str) -> dict:
    return rpc(db, "create_booking", p_student_id=student, p_email=email(student),
               p_mock_exam_id=exam, p_idempotency_key=f"rw-{uuid.uuid4()}",
               p_attending_location="mississauga")


def join(db: psycopg.Connection, student: str, exam: str) -> dict:
    return rpc(db, "join_waitlist", p_student_id=student, p_email=email(student),
               p_mock_exam_id=exam, p_attending_location="mississauga")


def accept(db: psycopg.Connection, student: str, exam: str) -> dict:
    return rpc(db, "accept_offer", p_student_id=student, p_email=email(student),
               p_mock_exam_id=exam)


def cancel(db: psycopg.Connection, booking: dict, student: str | None = None) -> dict:
    return rpc(db, "cancel_booking", p_booking_id=booking["booking_id"], p_student_id=student)


def places(db: psycopg.Connection, exam: str) -> dict[str, str]:
    """student_id -> status of the exam's latest place per student."""
    return dict(db.execute(
        "SELECT DISTINCT ON (student_id) student_id, status FROM hubspot_sync.waitlist_entries"
        " WHERE mock_exam_id = %s ORDER BY student_id, id DESC", (exam,)).fetchall())


@pytest.fixture
def rules(db: psycopg.Connection) -> Iterator[None]:
    """Put every scheduling rule back as it was after the test."""
    saved = db.execute("SELECT rule, value FROM hubspot_sync.booking_rules").fetchall()
    yield
    for rule, value in saved:
        db.execute("UPDATE hubspot_sync.booking_rules SET value = %s WHERE rule = %s",
                   (Jsonb(value), rule))


def store_rule(db: psycopg.Connection, rule: str, value: Any) -> None:
    """A value written as a database from before set_booking_rule's maxima (revision 0035)
    may hold it: directly into the table, past set_booking_rule's checks."""
    db.execute("UPDATE hubspot_sync.booking_rules SET value = %s WHERE rule = %s",
               (Jsonb(value), rule))


# --- rule values stored above the maxima set_booking_rule has enforced since 0035 -----------

ABOVE = 10 ** 12  # accepted by set_booking_rule before 0035 (numbers >= 0, integers >= 1)


def test_a_limit_stored_above_its_maximum_reads_as_the_maximum(db: psycopg.Connection,
                                                               rules: None) -> None:
    """max_active_per_type / max_active_per_week stored as 10^12 (valid before the maxima)
    must read as 10,000 (no practical limit): the booking is made. Before, check_booking_rules
    cast the value to integer: create_booking failed with a raw 22003 'integer out of range'."""
    exam = make_exam(db)
    student = make_student(db, sj=2)
    snap = snapshot(db)
    store_rule(db, "max_active_per_type", ABOVE)
    store_rule(db, "max_active_per_week", ABOVE)
    assert book(db, student, exam)["success"] is True
    check_invariants(db, snap)


def test_notice_hours_stored_above_the_maximum_read_as_the_maximum(db: psycopg.Connection,
                                                                  rules: None) -> None:
    """min_notice_hours stored as 10^12 hours reads as 17,520 (two years): an exam a week
    ahead is BOOKING_CLOSED, the documented answer. Before, the interval overflowed: a raw
    22008 'timestamp out of range' (or, further up, a wrapped negative interval)."""
    exam = make_exam(db)
    student = make_student(db)
    snap = snapshot(db)
    store_rule(db, "min_notice_hours", ABOVE)
    with pytest.raises(RpcError) as err:
        book(db, student, exam)
    assert err.value.code == "BOOKING_CLOSED"
    check_invariants(db, snap)


def test_a_cancel_deadline_stored_above_the_maximum_reads_as_the_maximum(
        db: psycopg.Connection, rules: None) -> None:
    """cancel_deadline_hours stored as 10^12 reads as 17,520: a student's cancellation a week
    ahead is past the deadline, CANCELLATION_CLOSED (action refuse). Before: a raw 22008."""
    exam = make_exam(db)
    student = make_student(db)
    booking = book(db, student, exam)
    snap = snapshot(db)
    store_rule(db, "cancel_deadline_hours", ABOVE)
    store_rule(db, "cancel_deadline_action", "refuse")
    with pytest.raises(RpcError) as err:
        cancel(db, booking, student)
    assert err.value.code == "CANCELLATION_CLOSED"
    check_invariants(db, snap)


def test_an_offer_hold_stored_above_the_maximum_never_stops_a_cancellation(
        db: psycopg.Connection, rules: None) -> None:
    """offer_hold_minutes stored as 10^12 reads as 525,600 (a year). The cancellation that
    frees a seat of an exam with a waitlist offers it, held for that long. Before,
    offer_free_seats cast the value to integer inside the cancellation: cancel_booking (and
    every seat freed on a waitlisted exam) failed with a raw 22003."""
    exam = make_exam(db, capacity=1)
    booked, waiting = make_student(db), make_student(db)
    booking = book(db, booked, exam)
    join(db, waiting, exam)
    snap = snapshot(db)
    store_rule(db, "offer_hold_minutes", ABOVE)
    assert cancel(db, booking)["status"] == "Cancelled"
    assert places(db, exam) == {waiting: "offered"}
    held = one(db, "SELECT offer_expires_at - offered_at FROM hubspot_sync.waitlist_entries"
                   " WHERE mock_exam_id = %s", (exam,))
    assert held.days == 365
    check_invariants(db, snap)


def test_a_waitlist_size_stored_above_the_maximum_reads_as_the_maximum(
        db: psycopg.Connection, rules: None) -> None:
    """waitlist_size stored as 10^12 reads as 10,000: the student joins. Before: a raw 22003
    from join_waitlist."""
    exam = make_exam(db, capacity=1)
    book(db, make_student(db), exam)
    store_rule(db, "waitlist_size", ABOVE)
    assert join(db, make_student(db), exam)["status"] == "waiting"


# --- offers held when the capacity is lowered -------------------------------------------------

def test_a_capacity_lowered_under_held_offers_still_lets_the_first_offer_be_accepted(
        db: psycopg.Connection) -> None:
    """docs/rpc.md, set_exam_capacity: "A capacity below Active bookings + held offers is
    allowed (down to the Active count): the offers beyond it can no longer be accepted
    (EXAM_FULL) and expire" -- the offers beyond it, not every offer. Three seats, one booked,
    two offers held; the capacity lowered to 2 leaves one free seat: the first student offered
    takes it, the second (beyond the capacity) gets EXAM_FULL. Before, take_seat counted the
    other offer against the accepting one: 1 booked + the seat taken + 1 other offer > 2, so
    both acceptances were EXAM_FULL and the free seat stayed empty until an offer expired."""
    exam = make_exam(db, capacity=3)
    students = [make_student(db) for _ in range(5)]
    bookings = [book(db, s, exam) for s in students[:3]]
    first, second = students[3], students[4]
    join(db, first, exam)
    join(db, second, exam)
    cancel(db, bookings[0])
    cancel(db, bookings[1])
    assert places(db, exam) == {first: "offered", second: "offered"}
    rpc(db, "set_exam_capacity", p_mock_exam_id=exam, p_capacity=2)
    snap = snapshot(db)

    with pytest.raises(RpcError) as err:
        accept(db, second, exam)  # beyond the capacity: the later offer
    assert err.value.code == "EXAM_FULL"
    result = accept(db, first, exam)
    assert result["success"] is True and result["total_bookings"] == 2
    with pytest.raises(RpcError) as err:
        accept(db, second, exam)
    assert err.value.code == "EXAM_FULL"
    assert one(db, "SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                   " WHERE hubspot_id = %s", (exam,)) == 2
    check_invariants(db, snap)


# --- a student who books an exam whose waitlist they are on -----------------------------------

def test_a_student_who_books_directly_leaves_the_waitlist(db: psycopg.Connection) -> None:
    """A student waiting for an exam may book it directly when a seat is free that no offer
    holds (a capacity raised in HubSpot, before process_waitlist offers it). Their place must
    not stay open: the next freed seat goes to the next student in line. Before, the place
    stayed 'waiting'; the next cancellation offered its seat to the student who already held
    a booking (accept_offer: DUPLICATE_BOOKING), and the seat was held for nobody while the
    next student waited."""
    exam = make_exam(db, capacity=1)
    booked, first, second = make_student(db), make_student(db), make_student(db)
    booking = book(db, booked, exam)
    join(db, first, exam)
    join(db, second, exam)
    # the pull raises the capacity (HubSpot owns exams); no offer is made until process_waitlist
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 2 WHERE hubspot_id = %s",
               (exam,))
    snap = snapshot(db)
    assert book(db, first, exam)["success"] is True
    cancel(db, booking)
    assert places(db, exam) == {first: "left", second: "offered"}
    assert accept(db, second, exam)["success"] is True
    check_invariants(db, snap)


def test_a_student_holding_an_offer_who_books_directly_passes_the_offer_on(
        db: psycopg.Connection) -> None:
    """The same with an offer held: the student books another free seat with create_booking
    instead of accepting. The seat the offer held must go to the next student in line at once,
    as when an offer is declined. Before, the offer stayed held for a student who already had a
    booking (its acceptance: DUPLICATE_BOOKING) until it expired, and the next student waited."""
    exam = make_exam(db, capacity=2)
    a, b, first, second = (make_student(db) for _ in range(4))
    booking = book(db, a, exam)
    book(db, b, exam)
    join(db, first, exam)
    join(db, second, exam)
    cancel(db, booking)
    assert places(db, exam) == {first: "offered", second: "waiting"}
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 3 WHERE hubspot_id = %s",
               (exam,))
    snap = snapshot(db)
    assert book(db, first, exam)["total_bookings"] == 2
    assert places(db, exam) == {first: "left", second: "offered"}
    assert accept(db, second, exam)["total_bookings"] == 3
    check_invariants(db, snap)


# --- a closed place ---------------------------------------------------------------------------

def test_a_closed_place_holds_no_offer_when_its_exam_is_moved_to_a_later_day(
        db: psycopg.Connection) -> None:
    """process_waitlist closes the open places of an exam whose day has passed ('closed': no
    seat was offered, or the offer ended with the day). When HubSpot then moves the exam to a
    later day (the pull updates exam_date), a closed place is still no offer: accept_offer
    answers OFFER_NOT_FOUND, as for a place left. Before, accept_offer only refused 'waiting'
    and 'left' places: a closed place went on to book, and one that never had an offer ended in
    a raw 23514 (waitlist_entries_offer_check) instead of a documented error (one that had an
    offer took a free seat without one, ahead of everyone waiting)."""
    exam = make_exam(db, capacity=1)
    booking = book(db, make_student(db), exam)
    closed, waiting = make_student(db), make_student(db)
    join(db, closed, exam)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET exam_date = exam_date - 30"
               " WHERE hubspot_id = %s", (exam,))
    rpc(db, "process_waitlist", p_actor="test")
    assert places(db, exam) == {closed: "closed"}
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET exam_date = exam_date + 30"
               " WHERE hubspot_id = %s", (exam,))
    join(db, waiting, exam)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 2 WHERE hubspot_id = %s",
               (exam,))  # a seat raised in HubSpot, not yet offered
    snap = snapshot(db)
    with pytest.raises(RpcError) as err:
        accept(db, closed, exam)
    assert err.value.code == "OFFER_NOT_FOUND"
    assert booking["success"] and places(db, exam) == {closed: "closed", waiting: "waiting"}
    check_invariants(db, snap)


# --- the same on real connections: a direct booking racing a cancellation ------------------------

def test_a_direct_booking_and_a_cancellation_racing_on_a_waitlisted_exam(
        db: psycopg.Connection, database_url: str) -> None:
    """A waiting student books a free seat of the exam (create_booking) while another
    student's cancellation frees a second one, both queued on the exam's row behind a lock
    holder (staged with pg_stat_activity, so the interleaving is the same in every run). The
    booking closes its student's place before it waits for the exam, so the cancellation's
    offer (SKIP LOCKED over places in use) goes to the next student, never to the one just
    booked; no deadlock, no BUSY (the holder lets go well within the lock timeout), SPEC §3
    invariants. Before, the booked student's place stayed 'waiting' and the cancellation
    offered it the freed seat."""
    exam = make_exam(db, capacity=1)
    a, first, second = make_student(db), make_student(db), make_student(db)
    booking = book(db, a, exam)
    join(db, first, exam)
    join(db, second, exam)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 2 WHERE hubspot_id = %s",
               (exam,))  # raised in HubSpot: one seat free, not yet offered
    snap = snapshot(db)
    with connect(database_url, autocommit=False) as holder:
        holder.execute("SELECT 1 FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s"
                       " FOR NO KEY UPDATE", (exam,))
        direct = Call(database_url, lambda c: book(c, first, exam), guard="20s",
                      setup="SET mockbook.lock_timeout = '15s'").start()
        waiting_on_lock(db, direct.pid)
        cancelled = Call(database_url, lambda c: cancel(c, booking), guard="20s",
                         setup="SET mockbook.lock_timeout = '15s'").start()
        waiting_on_lock(db, cancelled.pid)
        holder.rollback()
    direct.join()
    cancelled.join()
    assert direct.error is None, direct.error
    assert cancelled.error is None, cancelled.error
    assert places(db, exam) == {first: "left", second: "offered"}
    assert accept(db, second, exam)["total_bookings"] == 2
    check_invariants(db, snap)
