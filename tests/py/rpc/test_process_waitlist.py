"""process_waitlist, the waitlist job: what it counts, the seats it offers (freed without an offer,
on an exam stored without a count) and an expired offer another transaction holds.
"""

from __future__ import annotations

import uuid

import psycopg
from booking_calls import book, expired_offer, join, new_exam, one, places, students
from test_who_acts import call


def test_the_waitlist_job_counts_only_the_offers_it_made(db: psycopg.Connection) -> None:
    """An offer expired and its seat was booked meanwhile: the job expires the offer and, with
    no free seat left, makes no offer there; what it reports is what it changed (the module's
    other tests left places of their own for it too)."""
    exam = one(db, "SELECT tests.make_exam(p_capacity := 1,"
                   " p_exam_date := hubspot_sync.business_today() + 9)")
    first, waiting, late = (one(db, "SELECT tests.make_student(p_sj := 2)") for _ in "abc")

    def booking(student: str) -> dict:
        return call(db, "create_booking", None, {
            "p_student_id": student, "p_email": one(db, "SELECT tests.email_of(%s)", (student,)),
            "p_mock_exam_id": exam, "p_idempotency_key": f"edge-{uuid.uuid4()}",
            "p_attending_location": "mississauga"})

    seat = booking(first)
    call(db, "join_waitlist", None, {
        "p_student_id": waiting, "p_email": one(db, "SELECT tests.email_of(%s)", (waiting,)),
        "p_mock_exam_id": exam, "p_attending_location": "mississauga"})
    call(db, "cancel_booking", None, {"p_booking_id": seat["booking_id"]})  # offered to waiting
    expires = one(db, "SELECT offer_expires_at FROM hubspot_sync.waitlist_entries"
                      " WHERE mock_exam_id = %s AND status = 'offered'", (exam,))
    db.execute("SELECT set_config('mockbook.clock_offset', (%s::timestamptz - now()"
               " + interval '1 minute')::text, false)", (expires,))
    try:
        booking(late)                   # the seat the expired offer held, taken
        began = one(db, "SELECT clock_timestamp()")
        done = call(db, "process_waitlist", None, {"p_actor": "test"})
    finally:
        db.execute("RESET mockbook.clock_offset")
    expired, offered = db.execute(
        "SELECT count(*) FILTER (WHERE status = 'expired' AND resolved_at >= %(t)s),"
        " count(*) FILTER (WHERE status = 'offered' AND offered_at >= %(t)s)"
        " FROM hubspot_sync.waitlist_entries", {"t": began}).fetchone()
    assert (done["expired"], done["offered"]) == (expired, offered), done
    assert one(db, "SELECT array_agg(status) FROM hubspot_sync.waitlist_entries"
                   " WHERE mock_exam_id = %s", (exam,)) == ["expired"]


def test_the_waitlist_job_offers_a_seat_freed_without_an_offer(db: psycopg.Connection) -> None:
    """A seat that came free where nothing offered it (capacity raised in a write that fired no
    trigger, as a restore or a DBA's fix does) is offered by process_waitlist to the first
    waiting student: the job's candidates are the exams with more free seats than held offers."""
    exam = new_exam(db, capacity=1)
    booked, waiting = students(db, 2)
    book(db, booked, exam)
    join(db, waiting, exam)
    with db.transaction():
        db.execute("SET LOCAL session_replication_role = replica")
        db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 2"
                   " WHERE hubspot_id = %s", (exam,))
    done = call(db, "process_waitlist", None, {"p_actor": "test"})
    assert done["offered"] == 1, done
    assert one(db, "SELECT status FROM hubspot_sync.waitlist_entries"
                   " WHERE student_id = %s AND mock_exam_id = %s", (waiting, exam)) == "offered"


def test_the_waitlist_job_offers_a_seat_of_an_exam_whose_count_is_null(
        db: psycopg.Connection) -> None:
    """An adopted exam may hold NULL for total_bookings (none booked): its free seat is
    offered to its waiting student."""
    exam = new_exam(db, capacity=1)
    (waiting,) = students(db, 1)
    db.execute("UPDATE hubspot_sync.waitlist_entries SET status = 'left', resolved_at = now()"
               " WHERE status IN ('waiting', 'offered')")   # the module's other tests' places
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET total_bookings = NULL"
               " WHERE hubspot_id = %s", (exam,))
    db.execute("INSERT INTO hubspot_sync.waitlist_entries (mock_exam_id, student_id, contact_id,"
               " attending_location) SELECT %s, c.student_id, c.id, 'mississauga'"
               " FROM hubspot_sync.hubspot_contact_credits AS c WHERE c.student_id = %s",
               (exam, waiting))
    assert call(db, "process_waitlist", None, {"p_actor": "test"})["offered"] == 1


def test_an_expired_offer_the_job_finds_locked_holds_no_seat_the_job_offers_on(
        db: psycopg.Connection, database_url: str) -> None:
    """process_waitlist passes over an expired offer another transaction holds (SKIP LOCKED: it
    stays 'offered' until a later run); the seat it held is free all the same, and the same run
    offers it to the next waiting student."""
    exam, expired, nxt = expired_offer(db)
    try:
        with psycopg.connect(database_url) as rival:
            rival.execute("SELECT FROM hubspot_sync.waitlist_entries WHERE mock_exam_id = %s"
                          " AND student_id = %s FOR UPDATE", (exam, expired))
            call(db, "process_waitlist", None, {"p_actor": "test"})
            rival.rollback()
        statuses = places(db, exam)
    finally:
        db.execute("RESET mockbook.clock_offset")
    # (the job's counts take in the places of the module's other tests: this exam's are read)
    assert (statuses[expired], statuses[nxt]) == ("offered", "offered"), statuses
