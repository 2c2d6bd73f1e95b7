"""mockbook_internal.take_seat, the seat every booking function takes (through the booking pipeline
or directly): its wait for the exam row ends BUSY and keeps nothing, NULL counts read as 0, and an
exam changed while the seat waits is judged as it is after the wait.
"""

from __future__ import annotations

import psycopg
import pytest
from booking_calls import book, new_exam, one, students
from invariants import table_digests
from postgrest import RpcError
from test_lock_order import Call, waiting_on_lock
from test_who_acts import CASES, call, scenario

# the API functions that take a seat (mockbook_internal.take_seat), and the exam of
# test_who_acts' scenario whose seat each takes
SEAT_TAKERS = {"accept_offer": "o", "admin_create_booking": "e2", "create_booking": "e2",
               "create_booking_atomic": "e2", "create_booking_atomic_v1": "e2", "rebook": "e2"}


def test_every_function_that_takes_a_seat_is_checked_here(db: psycopg.Connection) -> None:
    """The API functions whose call reaches take_seat, read from the function bodies: through
    the booking pipeline (mockbook_internal.book) or take_seat itself."""
    rows = db.execute(
        "SELECT p.proname, p.prosrc FROM pg_catalog.pg_proc AS p"
        " WHERE p.pronamespace = 'hubspot_sync'::regnamespace AND p.prokind = 'f'").fetchall()
    direct = {name for name, src in rows
              if "mockbook_internal.book(" in src or "mockbook_internal.take_seat(" in src}
    wrappers = {name for name, src in rows
                if any(f"hubspot_sync.{inner}(" in src for inner in direct)}
    assert direct | wrappers == set(SEAT_TAKERS)


@pytest.mark.parametrize("fn", sorted(SEAT_TAKERS))
def test_the_seats_wait_ends_busy_and_keeps_nothing(db: psycopg.Connection, database_url: str,
                                                    fn: str) -> None:
    """take_seat's UPDATE waits for the exam row itself (no subtransaction of its own): held
    past mockbook.lock_timeout by another transaction, the call answers BUSY from its handler,
    never a raw 55P03, and nothing of it remains."""
    s = scenario(db)
    args = CASES[fn].args(db, s)
    exam = getattr(s, SEAT_TAKERS[fn])
    before = table_digests(db)
    with psycopg.connect(database_url) as rival, \
            psycopg.connect(database_url, autocommit=True) as caller:
        rival.execute("SELECT FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s"
                      " FOR UPDATE", (exam,))
        caller.execute("SET mockbook.lock_timeout = '200ms'")
        with pytest.raises(RpcError) as busy:
            call(caller, fn, None, args)
        rival.rollback()
    assert (busy.value.code, busy.value.sqlstate) == ("BUSY", "PT503")
    assert "mockbook.lock_timeout" in busy.value.detail
    assert table_digests(db) == before


def test_a_seat_count_stored_as_null_is_zero_seats_taken(db: psycopg.Connection) -> None:
    """take_seat reads a NULL total_bookings (production's column allows it) as 0: the exam's one
    seat is free, and taking it writes 1."""
    exam = new_exam(db, capacity=1)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET total_bookings = NULL"
               " WHERE hubspot_id = %s", (exam,))
    made = book(db, students(db, 1)[0], exam)
    assert made["success"] is True
    assert one(db, "SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                   " WHERE hubspot_id = %s", (exam,)) == 1


def test_a_capacity_emptied_while_the_seat_waits_is_full_and_says_0_of_0(
        db: psycopg.Connection, database_url: str) -> None:
    """Another writer (a HubSpot sync, an admin app) empties the exam's capacity and count while
    a booking that passed its checks waits for the row: the seat's UPDATE reads the row it
    waited for, so the booking is EXAM_FULL, reading both NULLs as 0 in its detail, and keeps
    nothing."""
    exam = new_exam(db, capacity=5)
    student = students(db, 1)[0]
    with psycopg.connect(database_url) as rival:
        rival.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = NULL,"
                      " total_bookings = NULL WHERE hubspot_id = %s", (exam,))
        caller = Call(database_url, lambda conn: book(conn, student, exam)).start()
        waiting_on_lock(db, caller.pid)  # the seat's UPDATE, on the rival's row
        rival.commit()
    caller.join()
    assert isinstance(caller.error, RpcError) and caller.error.code == "EXAM_FULL", caller.error
    assert caller.error.detail == f"Exam {exam} is full (0 of 0 seats booked)."
    assert one(db, "SELECT count(*) FROM hubspot_sync.hubspot_bookings WHERE student_id = %s",
               (student,)) == 0
    assert one(db, "SELECT sj_credits FROM hubspot_sync.hubspot_contact_credits"
                   " WHERE student_id = %s", (student,)) == 3


def test_with_no_lock_timeout_set_the_seats_wait_ends_busy_at_the_documented_default(
        db: psycopg.Connection, database_url: str) -> None:
    """docs/dba.md: mockbook.lock_timeout defaults to 2s, for the seat's own wait too: a booking
    whose exam row is held elsewhere answers BUSY by itself (the 10 s statement_timeout stands in
    for the API's)."""
    exam, student = new_exam(db), students(db, 1)[0]
    with psycopg.connect(database_url, autocommit=True) as caller, \
            psycopg.connect(database_url) as rival:
        rival.execute("SELECT FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s"
                      " FOR UPDATE", (exam,))
        caller.execute("SET mockbook.lock_timeout = ''")
        caller.execute("SET statement_timeout = '10s'")
        with pytest.raises(RpcError) as busy:
            book(caller, student, exam)
        assert busy.value.code == "BUSY", busy.value
        rival.rollback()
