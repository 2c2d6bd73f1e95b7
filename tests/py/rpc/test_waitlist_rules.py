"""Scheduling rules and the waitlist: behaviours
docs/rpc.md promises under concurrency and at the edges, each proven by a call made exactly as
PostgREST makes it (tests/py/postgrest.py), with the invariants checked after each
scenario.

Each test names the behaviour the contract expects and says, in its docstring, how the code
before the fix broke it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from invariants import check_invariants, snapshot
from postgrest import RpcError, rpc
from psycopg.types.json import Jsonb
from test_lock_order import Call, connect, waiting_on_lock

from glue.hubspot.catalogue import SYNCED


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


def queued(db: psycopg.Connection, database_url: str,
           fn: Callable[[psycopg.Connection], Any]) -> Call:
    """A call on its own connection, returned once it waits on a lock (a hot row's bound: 15 s,
    its statements': 20 s), so a staged interleaving is the same in every run."""
    call = Call(database_url, fn, guard="20s", setup="SET mockbook.lock_timeout = '15s'").start()
    waiting_on_lock(db, call.pid)
    return call


def book_past_a_change(db: psycopg.Connection, database_url: str, student: str, exam: str,
                       change: str) -> Call:
    """A booking that checks the exam, then waits for its row while another transaction
    changes it (`change`: a SET list) and commits; returned joined."""
    with connect(database_url, autocommit=False) as admin:
        admin.execute(f"UPDATE hubspot_sync.hubspot_mock_exams SET {change}"
                      " WHERE hubspot_id = %s", (exam,))
        booking = queued(db, database_url, lambda c: book(c, student, exam))
        admin.commit()
    booking.join()
    return booking


@pytest.fixture
def rules(db: psycopg.Connection) -> Iterator[None]:
    """Put every scheduling rule back as it was after the test."""
    saved = db.execute("SELECT rule, value FROM hubspot_sync.booking_rules").fetchall()
    yield
    for rule, value in saved:
        db.execute("UPDATE hubspot_sync.booking_rules SET value = %s WHERE rule = %s",
                   (Jsonb(value), rule))


def store_rule(db: psycopg.Connection, rule: str, value: Any) -> None:
    """A value a database may hold from before set_booking_rule had its maxima: written
    directly into the table, past set_booking_rule's checks."""
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

def two_held_offers(db: psycopg.Connection) -> tuple[str, str, str]:
    """An exam of three seats, one booked, its two others offered to two waiting students:
    (exam, the first offered, the second)."""
    exam = make_exam(db, capacity=3)
    students = [make_student(db) for _ in range(5)]
    bookings = [book(db, s, exam) for s in students[:3]]
    first, second = students[3], students[4]
    join(db, first, exam)
    join(db, second, exam)
    cancel(db, bookings[0])
    cancel(db, bookings[1])
    assert places(db, exam) == {first: "offered", second: "offered"}
    return exam, first, second

def test_a_capacity_lowered_under_held_offers_still_lets_the_first_offer_be_accepted(
        db: psycopg.Connection) -> None:
    """docs/rpc.md, set_exam_capacity: "A capacity below Active bookings + held offers is
    allowed (down to the Active count): the offers beyond it ... go back to waiting at once" --
    the offers beyond it, not every offer. Three seats, one booked, two offers held; the
    capacity lowered to 2 leaves one free seat: the first student offered takes it, the second
    (beyond the capacity) waits again in its place, holding no seat."""
    exam, first, second = two_held_offers(db)
    snap = snapshot(db)
    rpc(db, "set_exam_capacity", p_mock_exam_id=exam, p_capacity=2)
    assert places(db, exam) == {first: "offered", second: "waiting"}
    check_invariants(db, snap)   # no seat held past the capacity

    with pytest.raises(RpcError) as err:
        accept(db, second, exam)  # beyond the capacity: the later offer, withdrawn
    assert err.value.code == "OFFER_NOT_FOUND"
    result = accept(db, first, exam)
    assert result["success"] is True and result["total_bookings"] == 2
    assert places(db, exam)[second] == "waiting"
    assert one(db, "SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                   " WHERE hubspot_id = %s", (exam,)) == 2
    check_invariants(db, snap)


def test_a_capacity_written_down_under_held_offers_refuses_only_the_later_offer(
        db: psycopg.Connection) -> None:
    """The capacity lowered by a direct write (an admin tool's UPDATE: no offer withdrawn) under
    two held offers: each offer's place among the held ones decides. The first offer accepted
    takes the one seat left (a later offer still held does not count against it); the second is
    then EXAM_FULL and keeps nothing."""
    exam, first, second = two_held_offers(db)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 2 WHERE hubspot_id = %s",
               (exam,))
    assert places(db, exam) == {first: "offered", second: "offered"}   # nothing withdrawn
    assert accept(db, first, exam)["total_bookings"] == 2
    snap = snapshot(db)
    with pytest.raises(RpcError) as err:
        accept(db, second, exam)
    assert err.value.code == "EXAM_FULL"
    check_invariants(db, snap)
    assert one(db, "SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                   " WHERE hubspot_id = %s", (exam,)) == 2


def test_a_capacity_cut_withdraws_only_its_own_exams_offers_and_leaves_the_kept_ones_alone(
        db: psycopg.Connection) -> None:
    """A cut withdraws the offers beyond its exam's free seats and touches nothing else: the
    other exam's held offer and the cut exam's first offer keep their places and their hold
    instants (an offer withdrawn and made again would hold the seat for a fresh hold time)."""
    cut, other = make_exam(db, capacity=3), make_exam(db, capacity=1, day=8)
    students = [make_student(db) for _ in range(6)]
    bookings = [book(db, s, cut) for s in students[:3]]
    other_booking = book(db, students[3], other)
    first, second, elsewhere = students[4], students[5], make_student(db)
    join(db, first, cut)
    join(db, second, cut)
    join(db, elsewhere, other)
    cancel(db, bookings[0])
    cancel(db, bookings[1])
    cancel(db, other_booking)
    held = "SELECT student_id, offer_expires_at FROM hubspot_sync.waitlist_entries" \
           " WHERE status = 'offered' AND student_id = ANY(%s)"
    before = dict(db.execute(held, ([first, second, elsewhere],)).fetchall())
    assert set(before) == {first, second, elsewhere}
    snap = snapshot(db)
    rpc(db, "set_exam_capacity", p_mock_exam_id=cut, p_capacity=2)
    after = dict(db.execute(held, ([first, second, elsewhere],)).fetchall())
    assert after == {first: before[first], elsewhere: before[elsewhere]}
    check_invariants(db, snap)


def test_an_exam_without_a_capacity_sells_no_seat_and_says_so(db: psycopg.Connection) -> None:
    """An exam row without a capacity (an adopted legacy row: HubSpot's pull always carries one)
    has no seats: a booking is refused EXAM_FULL with the counts it read, "0 of 0" (a row
    without a count either counts none)."""
    exam = make_exam(db, capacity=1)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = NULL, total_bookings = NULL"
               " WHERE hubspot_id = %s", (exam,))
    student = make_student(db)
    before = one(db, "SELECT count(*) FROM hubspot_sync.credit_ledger")
    with pytest.raises(RpcError) as err:
        book(db, student, exam)
    assert err.value.code == "EXAM_FULL"
    assert "(0 of 0 seats booked)" in err.value.detail, err.value.detail
    assert one(db, "SELECT count(*) FROM hubspot_sync.credit_ledger") == before


def test_a_seat_lost_while_waiting_for_the_exam_is_refused_with_the_counts_read_after_the_wait(
        db: psycopg.Connection, database_url: str) -> None:
    """A booking checks the exam (one seat, no count: a legacy row), then waits for its row
    while an admin cuts the capacity to 0 in the same moment: past the wait the seat is gone,
    and EXAM_FULL reports the row as it is then, "0 of 0", never a count nobody stored. Staged
    with pg_stat_activity, the same interleaving every run."""
    exam = make_exam(db, capacity=1)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET total_bookings = NULL"
               " WHERE hubspot_id = %s", (exam,))
    student = make_student(db)
    booking = book_past_a_change(db, database_url, student, exam, "capacity = 0")
    assert isinstance(booking.error, RpcError) and booking.error.code == "EXAM_FULL", booking.error
    assert "(0 of 0 seats booked)" in booking.error.detail, booking.error.detail
    assert one(db, "SELECT count(*) FROM hubspot_sync.hubspot_bookings WHERE student_id = %s",
               (student,)) == 0


@pytest.mark.parametrize(("change", "answer"), [
    ("is_active = 'false'", "EXAM_NOT_ACTIVE"),
    ("scheduled_activation_datetime = now() - interval '1 day'", None),
])
def test_an_exam_changed_while_a_booking_waits_for_it_is_judged_again_as_it_is_then(
        db: psycopg.Connection, database_url: str, change: str, answer: str | None) -> None:
    """A booking checks the exam, then waits for its row while an admin changes it. Past the
    wait the exam is judged again: closed, the booking is refused (nothing written); changed
    in a way that keeps it open (an activation time in the past), the booking goes through.
    Staged with pg_stat_activity, the same interleaving every run."""
    exam = make_exam(db, capacity=3)
    student = make_student(db)
    booking = book_past_a_change(db, database_url, student, exam, change)
    booked = one(db, "SELECT count(*) FROM hubspot_sync.hubspot_bookings WHERE student_id = %s",
                 (student,))
    if answer is None:
        assert booking.error is None, booking.error
        assert booked == 1
    else:
        assert isinstance(booking.error, RpcError) and booking.error.code == answer, booking.error
        assert booked == 0


def test_an_exam_without_a_capacity_is_full_so_its_waitlist_takes_students(
        db: psycopg.Connection) -> None:
    """No capacity, no seats: the exam is full ("0 of 0"), so a student may join its waitlist
    and waits there (no offer) until a capacity frees seats; an exam with seats free is
    refused EXAM_NOT_FULL."""
    exam, open_exam = make_exam(db, capacity=1), make_exam(db, capacity=1, day=8)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = NULL WHERE hubspot_id = %s",
               (exam,))
    student = make_student(db)
    assert join(db, student, exam)["status"] == "waiting"
    assert places(db, exam) == {student: "waiting"}
    with pytest.raises(RpcError) as refused:
        join(db, make_student(db), open_exam)
    assert refused.value.code == "EXAM_NOT_FULL"


def test_an_offer_on_an_exam_whose_capacity_was_emptied_cannot_be_accepted(
        db: psycopg.Connection) -> None:
    """An offer made while the exam had a seat, its capacity emptied since (an admin app's
    write to the row): the exam has no seats, so accepting it is refused EXAM_FULL and the
    seat count stays where it was."""
    exam = make_exam(db, capacity=1)
    booked, waiting = make_student(db), make_student(db)
    booking = book(db, booked, exam)
    join(db, waiting, exam)
    cancel(db, booking)
    assert places(db, exam) == {waiting: "offered"}
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = NULL WHERE hubspot_id = %s",
               (exam,))
    with pytest.raises(RpcError) as err:
        accept(db, waiting, exam)
    assert err.value.code == "EXAM_FULL"
    assert one(db, "SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                   " WHERE hubspot_id = %s", (exam,)) == 0


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


def test_a_student_holding_an_offer_who_books_directly_leaves_no_seat_held_for_nobody(
        db: psycopg.Connection) -> None:
    """The same with an offer held and another seat free (raised in HubSpot, not yet
    offered): the student books with create_booking instead of accepting. The booking takes
    the seat their offer holds (the place is 'accepted': the offer is used), and the other free
    seat goes to the next student in line at once. Before, the offer stayed
    held for a student who already had a booking (its acceptance: DUPLICATE_BOOKING) until it
    expired, and the next student waited; before that the booking took the free seat,
    the place was 'left' and the held seat was passed on -- the same seats for everyone, but
    the student's own offer counted against them when it held the only free seat (see
    test_a_student_whose_own_offer_holds_the_only_seat_books_it_with_create_booking)."""
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
    assert places(db, exam) == {first: "accepted", second: "offered"}
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
    booked; no deadlock, no BUSY (the holder lets go well within the lock timeout), the data model
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
        direct = queued(db, database_url, lambda c: book(c, first, exam))
        cancelled = queued(db, database_url, lambda c: cancel(c, booking))
        holder.rollback()
    direct.join()
    cancelled.join()
    assert direct.error is None, direct.error
    assert cancelled.error is None, cancelled.error
    assert places(db, exam) == {first: "left", second: "offered"}
    assert accept(db, second, exam)["total_bookings"] == 2
    check_invariants(db, snap)


# --- places on the other exams of the day a booking takes ---------------------------------------

def rebook(db: psycopg.Connection, booking: dict, exam: str) -> dict:
    return rpc(db, "rebook", p_booking_id=booking["booking_id"], p_new_mock_exam_id=exam,
               p_idempotency_key=f"rw-{uuid.uuid4()}")


def day_places(db: psycopg.Connection, *, booked_capacity: int,
               also_waiting: bool = False) -> SimpleNamespace:
    """A student with open places on one day: an offer on `offered_exam` (`nxt` waiting behind
    it) and a waiting place on `waited_exam` (both SJ, the day of `booked_exam`, which the test
    books), and places on `other_day` (SJ, a day later) and `other_type` (Clinical Skills, the
    same day) that the booking must leave open. With `also_waiting`, `done` waits on
    `waited_exam` behind the student."""
    booked_exam = make_exam(db, capacity=booked_capacity)
    offered_exam = make_exam(db, capacity=2)        # same type (SJ), same day
    waited_exam = make_exam(db, capacity=1)         # same type, same day
    other_day = make_exam(db, capacity=1, day=8)
    other_type = one(db, "SELECT tests.make_exam(p_mock_type := 'Clinical Skills',"
                         " p_capacity := 1, p_exam_date := hubspot_sync.business_today() + 7)")
    student = one(db, "SELECT tests.make_student(p_sj := 3, p_cs := 1)")
    done = make_student(db) if also_waiting else None
    a, b, c, d, nxt = (make_student(db) for _ in range(5))
    e = one(db, "SELECT tests.make_student(p_cs := 1)")
    book(db, a, offered_exam)
    leaving = book(db, b, offered_exam)
    book(db, c, waited_exam)
    book(db, d, other_day)
    rpc(db, "create_booking", p_student_id=e, p_email=email(e), p_mock_exam_id=other_type,
        p_idempotency_key=f"rw-{uuid.uuid4()}", p_dominant_hand="right")
    join(db, student, offered_exam)
    join(db, nxt, offered_exam)
    join(db, student, waited_exam)
    if done is not None:
        join(db, done, waited_exam)
    join(db, student, other_day)
    rpc(db, "join_waitlist", p_student_id=student, p_email=email(student),
        p_mock_exam_id=other_type, p_dominant_hand="right")
    cancel(db, leaving)
    assert places(db, offered_exam) == {student: "offered", nxt: "waiting"}
    return SimpleNamespace(booked_exam=booked_exam, offered_exam=offered_exam,
                           waited_exam=waited_exam, other_day=other_day, other_type=other_type,
                           student=student, nxt=nxt, done=done)


def test_a_booking_closes_the_students_places_on_other_exams_of_that_type_and_day(
        db: psycopg.Connection) -> None:
    """A booking leaves the student no use for a place on another exam of the same mock type
    on the same day (one Active/Completed booking per student, type and day): the booking
    closes those places too ('left'), and the seat an offer of one held goes to the next
    student of that exam at once. A place on another day, or of another type, stays open.
    Before, only the place on the booked exam was closed: the offer on the other exam stayed
    held for a student whose acceptance could only be DUPLICATE_BOOKING, until it expired,
    while the next student waited."""
    day = day_places(db, booked_capacity=1)
    booked_exam, offered_exam, waited_exam = day.booked_exam, day.offered_exam, day.waited_exam
    other_day, other_type, student, nxt = day.other_day, day.other_type, day.student, day.nxt
    snap = snapshot(db)

    assert book(db, student, booked_exam)["success"] is True
    assert places(db, offered_exam) == {student: "left", nxt: "offered"}
    assert places(db, waited_exam) == {student: "left"}
    assert places(db, other_day) == {student: "waiting"}
    assert places(db, other_type) == {student: "waiting"}
    assert accept(db, nxt, offered_exam)["total_bookings"] == 2
    check_invariants(db, snap)


def test_a_rebook_closes_the_students_places_on_other_exams_of_the_new_day(
        db: psycopg.Connection) -> None:
    """The same for a rebook onto a day: the student's offer on another exam of that type and
    day is closed and passed on in the same transaction (rebook then holds three exams: the
    new one, the old one and the one whose seat it passes on, ascending HubSpot id). Before,
    the offer stayed held for nobody."""
    old_exam = make_exam(db, capacity=1, day=9)
    new_exam = make_exam(db, capacity=1)
    offered_exam = make_exam(db, capacity=1)        # same type and day as new_exam
    student, a, nxt = make_student(db, sj=2), make_student(db), make_student(db)
    booking = book(db, student, old_exam)
    held = book(db, a, offered_exam)
    join(db, student, offered_exam)
    join(db, nxt, offered_exam)
    cancel(db, held)
    assert places(db, offered_exam) == {student: "offered", nxt: "waiting"}
    snap = snapshot(db)

    assert rebook(db, booking, new_exam)["success"] is True
    assert places(db, offered_exam) == {student: "left", nxt: "offered"}
    assert accept(db, nxt, offered_exam)["total_bookings"] == 1
    check_invariants(db, snap)


# --- a student whose own offer holds the seat books it ------------------------------------------

def test_a_student_whose_own_offer_holds_the_only_seat_books_it_with_create_booking(
        db: psycopg.Connection) -> None:
    """A student holding an offer calls create_booking instead of accept_offer (an app that
    only knows create_booking, or a retry of a booking started before the offer). Their own
    held offer must not count against them: the booking takes the seat it holds, the place is
    'accepted' with that booking (the offer is used, as accept_offer uses it; accepting again
    returns the booking), one credit is spent, and nobody else can take the seat meanwhile.
    Before, create_booking counted the student's own offer as a seat held for someone else:
    EXAM_FULL, with a hint to join the waitlist they were already at the head of."""
    exam = make_exam(db, capacity=2)
    a, b, student, nxt, other = (make_student(db) for _ in range(5))
    book(db, a, exam)
    leaving = book(db, b, exam)
    join(db, student, exam)
    join(db, nxt, exam)
    cancel(db, leaving)
    assert places(db, exam) == {student: "offered", nxt: "waiting"}
    snap = snapshot(db)

    with pytest.raises(RpcError) as err:
        book(db, other, exam)                       # the held seat is still nobody else's
    assert err.value.code == "EXAM_FULL"
    result = book(db, student, exam)
    assert result["success"] is True and result["total_bookings"] == 2
    assert result["credits_remaining"] == 0
    assert places(db, exam) == {student: "accepted", nxt: "waiting"}
    assert one(db, "SELECT booking_id FROM hubspot_sync.waitlist_entries"
                   " WHERE mock_exam_id = %s AND student_id = %s", (exam, student)) \
        == uuid.UUID(result["id"])
    replay = accept(db, student, exam)
    assert replay["idempotent_replay"] is True and replay["id"] == result["id"]
    check_invariants(db, snap)


def test_an_expired_own_offer_is_a_free_seat_for_anyone_its_student_included(
        db: psycopg.Connection) -> None:
    """An offer past offer_expires_at (process_waitlist has not passed it on yet) holds nothing
    for anybody from that instant -- accept_offer answers OFFER_EXPIRED -- and its seat is free:
    create_booking takes it for whoever books first, the offer's own student included. The job
    then finds no free seat to offer the next student, and the booked student's place is
    closed (left)."""
    exam = make_exam(db, capacity=1)
    a, student, nxt = make_student(db), make_student(db), make_student(db)
    leaving = book(db, a, exam)
    join(db, student, exam)
    join(db, nxt, exam)
    cancel(db, leaving)
    db.execute("UPDATE hubspot_sync.waitlist_entries SET offer_expires_at = now() - interval"
               " '1 minute' WHERE mock_exam_id = %s AND student_id = %s", (exam, student))
    snap = snapshot(db)
    with pytest.raises(RpcError) as err:
        rpc(db, "accept_offer", p_student_id=student, p_email=f"{student.lower()}@example.com",
            p_mock_exam_id=exam)
    assert err.value.code == "OFFER_EXPIRED"
    assert book(db, student, exam)["status"] == "Active"
    rpc(db, "process_waitlist", p_actor="test")
    assert places(db, exam) == {student: "left", nxt: "waiting"}
    check_invariants(db, snap)


# --- the same on real connections --------------------------------------------------------------

def ordered_exam(db: psycopg.Connection, hubspot_id: str, capacity: int) -> str:
    return one(db, "SELECT tests.make_exam(p_hubspot_id := %s, p_capacity := %s,"
                   " p_exam_date := hubspot_sync.business_today() + 7)", (hubspot_id, capacity))


def test_a_booking_passing_on_another_exams_offer_races_cancellation_acceptance_and_the_job(
        db: psycopg.Connection, database_url: str) -> None:
    """A student holding an offer on exam Y books exam X of the same type and day (X > Y in
    HubSpot id order, so the booking locks Y, to pass its seat on, before it takes X's seat),
    while, on real connections, another student's cancellation frees a seat of Y, another
    student accepts an offer on X, and process_waitlist expires an offer on X and offers its
    seat. All four are queued behind a holder of both exam rows (pg_stat_activity), then let
    go: no deadlock, no BUSY, and every seat ends where the waitlist says -- Y's two free seats
    offered to its two waiting students, X full with the three bookings and the next offer --
    with the invariants. Before, the booking left the student's offer on Y held: Y's
    second waiting student was never offered a seat."""
    tag = uuid.uuid4().hex[:8].upper()
    y = ordered_exam(db, f"WLR{tag}1", capacity=2)
    x = ordered_exam(db, f"WLR{tag}2", capacity=3)
    student, t, t2, t3, n, m, a, a2, c, d, e = (make_student(db) for _ in range(11))
    # Y: a booked, the student offered (a2 cancelled), n and m waiting
    book(db, a, y)
    cancel_y = book(db, a2, y)
    join(db, student, y)
    join(db, n, y)
    join(db, m, y)
    cancel(db, cancel_y)
    # X: c booked, t offered, t2's offer expired, t3 waiting; one more seat raised in HubSpot
    book(db, c, x)
    freed = [book(db, s, x) for s in (d, e)]
    join(db, t, x)
    join(db, t2, x)
    join(db, t3, x)
    for f in freed:
        cancel(db, f)
    db.execute("UPDATE hubspot_sync.waitlist_entries SET offer_expires_at = now() - interval"
               " '1 minute' WHERE mock_exam_id = %s AND student_id = %s", (x, t2))
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 4 WHERE hubspot_id = %s",
               (x,))
    booking_a = db.execute("SELECT booking_id FROM hubspot_sync.hubspot_bookings"
                           " WHERE student_id = %s", (a,)).fetchone()[0]
    assert places(db, y) == {student: "offered", n: "waiting", m: "waiting"}
    assert places(db, x) == {t: "offered", t2: "offered", t3: "waiting"}
    snap = snapshot(db)
    with connect(database_url, autocommit=False) as holder:
        holder.execute("SELECT 1 FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id"
                       " IN (%s, %s) ORDER BY hubspot_id FOR NO KEY UPDATE", (y, x))
        calls = []
        for fn in (lambda conn: book(conn, student, x),
                   lambda conn: cancel(conn, {"booking_id": booking_a}),
                   lambda conn: accept(conn, t, x),
                   lambda conn: rpc(conn, "process_waitlist", p_actor="test")):
            call = queued(db, database_url, fn)
            calls.append(call)
        holder.rollback()
    for call in calls:
        call.join()
        assert call.error is None, call.error
    direct, _, accepted, job = calls
    assert direct.value["success"] is True and accepted.value["success"] is True
    assert job.value["expired"] == 1
    assert places(db, y) == {student: "left", n: "offered", m: "offered"}
    assert places(db, x) == {t: "accepted", t2: "expired", t3: "offered"}
    assert one(db, "SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                   " WHERE hubspot_id = %s", (x,)) == 3
    check_invariants(db, snap)


def test_a_booking_of_the_seat_its_own_offer_holds_races_a_cancellation_and_others(
        db: psycopg.Connection, database_url: str) -> None:
    """The student whose offer holds the only free seat books it (create_booking) while, on
    real connections, another student's cancellation frees a second seat, both queued behind
    a holder of the exam's row; another student's create_booking is refused EXAM_FULL
    meanwhile (the held seat is nobody else's). Afterwards the student's place is 'accepted'
    with the booking, the cancelled seat is offered to the next student (process_waitlist
    finds nothing left to offer), who accepts it; no deadlock, no BUSY, the data model's
    invariants. Before, the student's create_booking was refused EXAM_FULL at once (it never
    queued for the exam)."""
    exam = make_exam(db, capacity=2)
    a, b, student, nxt, other = (make_student(db) for _ in range(5))
    stays = book(db, a, exam)
    leaving = book(db, b, exam)
    join(db, student, exam)
    join(db, nxt, exam)
    cancel(db, leaving)
    assert places(db, exam) == {student: "offered", nxt: "waiting"}
    snap = snapshot(db)
    with connect(database_url, autocommit=False) as holder:
        holder.execute("SELECT 1 FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s"
                       " FOR NO KEY UPDATE", (exam,))
        direct = queued(db, database_url, lambda c: book(c, student, exam))
        cancelled = queued(db, database_url, lambda c: cancel(c, stays))
        with pytest.raises(RpcError) as err:
            book(db, other, exam)
        assert err.value.code == "EXAM_FULL"
        holder.rollback()
    direct.join()
    cancelled.join()
    assert direct.error is None, direct.error
    assert cancelled.error is None, cancelled.error
    assert rpc(db, "process_waitlist", p_actor="test")["offered"] == 0
    assert places(db, exam) == {student: "accepted", nxt: "offered"}
    assert accept(db, nxt, exam)["total_bookings"] == 2
    check_invariants(db, snap)


# --- an accepted offer closes the student's places on the other exams of its type and day -------

def test_an_accepted_offer_closes_the_students_places_on_other_exams_of_that_type_and_day(
        db: psycopg.Connection) -> None:
    """accept_offer is a booking too: once the student accepts the offer on exam X, a place on
    another exam of the same mock type on the same day is of no use to them (one
    Active/Completed booking per student, type and day), so the acceptance closes it ('left')
    and the seat an offer of one held goes to that exam's next student at once, as any booking
    does since 7f70db3. The other places were made first (lower ids than the accepted place:
    accept_offer must take them all in one ascending pass). A place on another day, or of
    another type, stays open. Before, accept_offer only marked its own place 'accepted': the
    offer on the other exam stayed held for a student whose acceptance there could only be
    DUPLICATE_BOOKING, until it expired, while its next student waited."""
    accepted_exam = make_exam(db, capacity=1)
    offered_exam = make_exam(db, capacity=2)        # same type (SJ), same day
    waited_exam = make_exam(db, capacity=1)         # same type, same day
    other_day = make_exam(db, capacity=1, day=8)
    student = make_student(db, sj=3)
    a, b, c, d, g, nxt = (make_student(db) for _ in range(6))
    book(db, a, offered_exam)
    leaving = book(db, b, offered_exam)
    book(db, c, waited_exam)
    book(db, d, other_day)
    freed = book(db, g, accepted_exam)
    join(db, student, offered_exam)
    join(db, nxt, offered_exam)
    join(db, student, waited_exam)
    join(db, student, other_day)
    join(db, student, accepted_exam)                # the highest place id of the student
    cancel(db, leaving)
    cancel(db, freed)
    assert places(db, offered_exam) == {student: "offered", nxt: "waiting"}
    assert places(db, accepted_exam) == {student: "offered"}
    snap = snapshot(db)

    result = accept(db, student, accepted_exam)
    assert result["success"] is True and result["total_bookings"] == 1
    assert places(db, accepted_exam) == {student: "accepted"}
    assert places(db, offered_exam) == {student: "left", nxt: "offered"}
    assert places(db, waited_exam) == {student: "left"}
    assert places(db, other_day) == {student: "waiting"}
    assert accept(db, student, accepted_exam)["idempotent_replay"] is True
    assert accept(db, nxt, offered_exam)["total_bookings"] == 2
    check_invariants(db, snap)


def test_a_refused_acceptance_leaves_the_students_other_places_as_they_were(
        db: psycopg.Connection) -> None:
    """A refused acceptance changes nothing: with no credit left (INSUFFICIENT_CREDITS) the
    student's offer on another exam of that day stays held, and their own offer too."""
    accepted_exam = make_exam(db, capacity=1)
    offered_exam = make_exam(db, capacity=1)
    student, a, b = make_student(db, sj=0), make_student(db), make_student(db)
    held = book(db, a, offered_exam)
    freed = book(db, b, accepted_exam)
    join(db, student, offered_exam)
    join(db, student, accepted_exam)
    cancel(db, held)
    cancel(db, freed)
    snap = snapshot(db)
    with pytest.raises(RpcError) as err:
        accept(db, student, accepted_exam)
    assert err.value.code == "INSUFFICIENT_CREDITS"
    assert places(db, offered_exam) == {student: "offered"}
    assert places(db, accepted_exam) == {student: "offered"}
    check_invariants(db, snap)


@pytest.mark.parametrize("other_first", [True, False],
                         ids=["other-exam-locked-first", "accepted-exam-locked-first"])
def test_an_acceptance_passing_on_another_exams_offer_races_cancellation_acceptance_and_the_job(
        db: psycopg.Connection, database_url: str, other_first: bool) -> None:
    """The student holds offers on exams X and Y of the same type and day (Y's place made
    first: the lower id) and accepts X, while, on real connections, another student's
    cancellation frees a seat of Y, another student accepts their offer on Y, and
    process_waitlist expires a third offer on Y and passes its seat on. All four are queued
    behind a holder of both exam rows (pg_stat_activity), then let go; Y's HubSpot id is below
    X's or above it (the acceptance locks Y, to pass its seat on, before or after taking X's
    seat). No deadlock, no BUSY; the student's place on Y is 'left', and Y's three free seats
    (the cancellation's, the expired offer's, the student's) are offered to its three waiting
    students, with the invariants. Before, the student's offer on Y stayed held: Y's
    third waiting student was never offered a seat."""
    tag = uuid.uuid4().hex[:8].upper()
    y = ordered_exam(db, f"WLA{tag}{1 if other_first else 2}", capacity=4)
    x = ordered_exam(db, f"WLA{tag}{2 if other_first else 1}", capacity=1)
    student, t, t2, n, m, k, a, b1, b2, b3, c = (make_student(db) for _ in range(11))
    # Y: a booked; the student, t and t2 offered (b1-b3 cancelled); n, m, k waiting
    booking_a = book(db, a, y)
    freed_y = [book(db, s, y) for s in (b1, b2, b3)]
    for s in (student, t, t2, n, m, k):
        join(db, s, y)
    for f in freed_y:
        cancel(db, f)
    # X: the student offered (c cancelled); the place's id is above the one on Y
    freed_x = book(db, c, x)
    join(db, student, x)
    cancel(db, freed_x)
    db.execute("UPDATE hubspot_sync.waitlist_entries SET offer_expires_at = now() - interval"
               " '1 minute' WHERE mock_exam_id = %s AND student_id = %s", (y, t2))
    assert places(db, y) == {student: "offered", t: "offered", t2: "offered", n: "waiting",
                             m: "waiting", k: "waiting"}
    assert places(db, x) == {student: "offered"}
    snap = snapshot(db)
    with connect(database_url, autocommit=False) as holder:
        holder.execute("SELECT 1 FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id"
                       " IN (%s, %s) ORDER BY hubspot_id FOR NO KEY UPDATE", (y, x))
        calls = []
        for fn in (lambda conn: accept(conn, student, x),
                   lambda conn: cancel(conn, booking_a),
                   lambda conn: accept(conn, t, y),
                   lambda conn: rpc(conn, "process_waitlist", p_actor="test")):
            call = queued(db, database_url, fn)
            calls.append(call)
        holder.rollback()
    for call in calls:
        call.join()
        assert call.error is None, call.error
    accepted_x, _, accepted_y, job = calls
    assert accepted_x.value["success"] is True and accepted_y.value["success"] is True
    assert job.value["expired"] == 1
    assert places(db, x) == {student: "accepted"}
    assert places(db, y) == {student: "left", t: "accepted", t2: "expired", n: "offered",
                             m: "offered", k: "offered"}
    assert one(db, "SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                   " WHERE hubspot_id = %s", (y,)) == 1
    check_invariants(db, snap)


# --- a student booked outside the booking functions (a pull, an adopted legacy booking) ---------

def pull_booking(db: psycopg.Connection, student: str, exam: str,
                 status: str = "Active") -> None:
    """A booking of the student on the exam pulled from HubSpot (apply_pulled_bookings, as the
    pull applies an admin's booking made there): it closes none of the student's places -- the
    pull holds no contact lock and never waits for a row."""
    record = {"id": f"HSW{uuid.uuid4().hex[:12]}", "properties": {
        "booking_id": f"PULL-{uuid.uuid4().hex[:10]}", "associated_mock_exam": exam,
        "is_active": status, "student_id": student, "email": email(student),
        "token_used": "Admin Override"}}
    record["unknown"] = SYNCED["bookings"].unknown(record["properties"])  # as the glue sends it
    outcome = one(db, "SELECT mockbook_internal.apply_pulled_bookings(%s)", (Jsonb([record]),))
    assert outcome["inserted"] == 1 and outcome["errors"] == [], outcome


def test_the_job_closes_the_places_of_a_student_booked_that_day_outside_the_booking_functions(
        db: psycopg.Connection) -> None:
    """A booking pulled from HubSpot (or adopted from production) closes no waitlist place, yet
    its student can no longer accept an offer on an exam of that mock type and day
    (DUPLICATE_BOOKING). process_waitlist closes such places ('left'): the offered one's seat
    goes to that exam's next student, a waiting one leaves the line, whether the booking is
    Active or Completed; a place on another day, or of another type, stays open. Before, the
    job left them open: the offer was held for nobody until it expired while the next student
    waited."""
    day = day_places(db, booked_capacity=2, also_waiting=True)
    booked_exam, offered_exam, waited_exam = day.booked_exam, day.offered_exam, day.waited_exam
    other_day, other_type, student, nxt, done = (day.other_day, day.other_type, day.student,
                                                 day.nxt, day.done)
    pull_booking(db, student, booked_exam)
    pull_booking(db, done, booked_exam, status="Completed")
    snap = snapshot(db)

    result = rpc(db, "process_waitlist", p_actor="test")
    assert places(db, offered_exam) == {student: "left", nxt: "offered"}
    assert places(db, waited_exam) == {student: "left", done: "left"}
    assert places(db, other_day) == {student: "waiting"}
    assert places(db, other_type) == {student: "waiting"}
    assert (result["left"], result["offered"], result["expired"]) == (3, 1, 0)
    assert rpc(db, "process_waitlist", p_actor="test")["left"] == 0
    assert accept(db, nxt, offered_exam)["total_bookings"] == 2
    check_invariants(db, snap)


def test_a_freed_seat_is_never_offered_to_a_student_booked_that_day(
        db: psycopg.Connection) -> None:
    """offer_free_seats (a cancellation, a raised capacity, a declined offer) passes over a
    waiting student who already holds an Active booking of the exam's type and day made
    outside the booking functions: the offer could only be refused (DUPLICATE_BOOKING). The
    seat goes to the next student in line; the job then closes the passed-over place. Before,
    the cancellation offered the seat to the booked student, held for nobody."""
    booked_exam = make_exam(db, capacity=2)
    exam = make_exam(db, capacity=1)                # same type and day
    a, student, nxt = make_student(db), make_student(db), make_student(db)
    booking = book(db, a, exam)
    join(db, student, exam)
    join(db, nxt, exam)
    pull_booking(db, student, booked_exam)
    snap = snapshot(db)

    cancel(db, booking)
    assert places(db, exam) == {student: "waiting", nxt: "offered"}
    result = rpc(db, "process_waitlist", p_actor="test")
    assert (result["left"], result["offered"]) == (1, 0)
    assert places(db, exam) == {student: "left", nxt: "offered"}
    assert accept(db, nxt, exam)["total_bookings"] == 1
    check_invariants(db, snap)


@pytest.mark.parametrize("other_first", [True, False],
                         ids=["waitlisted-exam-locked-first", "booked-exam-locked-first"])
def test_the_job_closing_a_booked_students_offer_races_booking_cancellation_and_acceptance(
        db: psycopg.Connection, database_url: str, other_first: bool) -> None:
    """The student holds an offer on exam Y and a booking of exam X (same type and day) pulled
    from HubSpot. On real connections, process_waitlist (closing that offer, and expiring
    another one on Y, and passing both seats on), another student's cancellation on Y, another
    student's accept_offer on Y and a third student's create_booking of X (closing their own
    offer on Y, passed on too) are queued behind a holder of both exam rows
    (pg_stat_activity), then let go; Y's HubSpot id is below X's or above it. No deadlock, no
    BUSY; Y's four freed seats (the job's two, the cancellation's, the booking's) are offered
    to its four waiting students; the invariants. Before, the job left the student's
    offer on Y held: Y's fourth waiting student was never offered a seat."""
    tag = uuid.uuid4().hex[:8].upper()
    y = ordered_exam(db, f"WLP{tag}{1 if other_first else 2}", capacity=5)
    x = ordered_exam(db, f"WLP{tag}{2 if other_first else 1}", capacity=3)
    student, t, t2, u, n, m, k, j, a, c = (make_student(db) for _ in range(10))
    # Y: a booked; the student, t, t2 and u offered (four bookings cancelled), t2's offer
    # expired; n, m, k, j waiting
    booking_a = book(db, a, y)
    freed_y = [book(db, make_student(db), y) for _ in range(4)]
    for s in (student, t, t2, u, n, m, k, j):
        join(db, s, y)
    for f in freed_y:
        cancel(db, f)
    db.execute("UPDATE hubspot_sync.waitlist_entries SET offer_expires_at = now() - interval"
               " '1 minute' WHERE mock_exam_id = %s AND student_id = %s", (y, t2))
    # X: c booked, the student's booking pulled from HubSpot, one seat free
    book(db, c, x)
    pull_booking(db, student, x)
    assert places(db, y) == {student: "offered", t: "offered", t2: "offered", u: "offered",
                             n: "waiting", m: "waiting", k: "waiting", j: "waiting"}
    snap = snapshot(db)
    with connect(database_url, autocommit=False) as holder:
        holder.execute("SELECT 1 FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id"
                       " IN (%s, %s) ORDER BY hubspot_id FOR NO KEY UPDATE", (y, x))
        calls = []
        for fn in (lambda conn: rpc(conn, "process_waitlist", p_actor="test"),
                   lambda conn: cancel(conn, booking_a),
                   lambda conn: accept(conn, t, y),
                   lambda conn: book(conn, u, x)):
            call = queued(db, database_url, fn)
            calls.append(call)
        holder.rollback()
    for call in calls:
        call.join()
        assert call.error is None, call.error
    job, _, accepted, direct = calls
    assert accepted.value["success"] is True and direct.value["success"] is True
    assert places(db, y) == {student: "left", t: "accepted", t2: "expired", u: "left",
                             n: "offered", m: "offered", k: "offered", j: "offered"}
    assert (job.value["left"], job.value["expired"], job.value["exams_busy"]) == (1, 1, 0)
    assert one(db, "SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                   " WHERE hubspot_id = %s", (y,)) == 1
    assert one(db, "SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                   " WHERE hubspot_id = %s", (x,)) == 3
    check_invariants(db, snap)


def test_the_seat_counts_the_offers_held_and_only_those_not_expired(
        db: psycopg.Connection) -> None:
    """take_seat, the booking's last statement, is what keeps seats + held offers within the
    capacity whatever the checks before it saw: with one of two seats booked and the other held
    for an offer, it refuses (EXAM_FULL); once the offer's instant has passed (the job has not
    run), the held seat is free. Called on the row directly, in a transaction rolled back."""
    exam = make_exam(db, capacity=2)
    book(db, make_student(db), exam)
    offered = make_student(db)
    db.execute(
        "INSERT INTO hubspot_sync.waitlist_entries (mock_exam_id, student_id, contact_id,"
        " status, offered_at, offer_expires_at)"
        " SELECT %s, c.student_id, c.id, 'offered', now(), now() + interval '1 hour'"
        " FROM hubspot_sync.hubspot_contact_credits AS c WHERE c.student_id = %s",
        (exam, offered))
    take = ("SELECT (mockbook_internal.take_seat(e)).total_bookings"
            " FROM hubspot_sync.hubspot_mock_exams AS e WHERE e.hubspot_id = %s")
    with pytest.raises(psycopg.Error) as full, db.transaction(force_rollback=True):
        db.execute(take, (exam,))
    assert full.value.diag.message_primary == "EXAM_FULL"
    db.execute("UPDATE hubspot_sync.waitlist_entries SET offer_expires_at = now()"
               " - interval '1 minute' WHERE mock_exam_id = %s", (exam,))
    with db.transaction(force_rollback=True):
        assert one(db, take, (exam,)) == 2
