"""The `waitlist` and `complete` steps of `mockbook run` / the worker (glue.run.cycle):
each calls its database job and reports what it did."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import psycopg
from postgrest import rpc

from glue.run import cycle as steps
from glue.run.describe import describe


def one(db: psycopg.Connection, query: str, params: tuple = ()) -> object:
    return db.execute(query, params).fetchone()[0]


def test_waitlist_and_complete_steps_do_their_jobs(db: psycopg.Connection) -> None:
    exam = one(db, "SELECT tests.make_exam(p_capacity := 1, p_exam_date :="
                   " hubspot_sync.business_today() + 60)")
    first, second, third = (one(db, "SELECT tests.make_student(p_sj := 1)") for _ in range(3))
    booked = rpc(db, "create_booking", p_student_id=first, p_email=f"{first.lower()}@example.com",
                 p_mock_exam_id=exam, p_idempotency_key=f"steps-{first}",
                 p_attending_location="mississauga")
    for student in (second, third):
        rpc(db, "join_waitlist", p_student_id=student, p_email=f"{student.lower()}@example.com",
            p_mock_exam_id=exam, p_attending_location="mississauga")
    rpc(db, "cancel_booking", p_booking_id=booked["booking_id"])  # offered to `second`
    db.execute("UPDATE hubspot_sync.waitlist_entries SET offer_expires_at = now()"
               " WHERE student_id = %s", (second,))
    past = one(db, "SELECT tests.make_exam(p_exam_date := hubspot_sync.business_today() - 2)")
    db.execute("SELECT tests.seed_booking(tests.make_student(), %s)", (past,))

    report = steps.step(SimpleNamespace(conn=db, stop=threading.Event()), {"waitlist", "complete"})

    assert list(report.steps) == ["waitlist", "complete"]
    waitlist, complete = report.steps["waitlist"], report.steps["complete"]
    assert waitlist.status == steps.OK and complete.status == steps.OK
    assert waitlist.detail["expired"] >= 1 and waitlist.detail["offered"] >= 1
    assert complete.detail["completed"] >= 1
    assert one(db, "SELECT status FROM hubspot_sync.waitlist_entries WHERE student_id = %s",
               (third,)) == "offered"
    assert one(db, "SELECT is_active FROM hubspot_sync.hubspot_bookings"
                   " WHERE associated_mock_exam = %s", (past,)) == "Completed"
    assert describe(waitlist).startswith("waitlist: ")
    assert "past booking(s) completed" in describe(complete)


def test_the_waitlist_step_reports_the_places_it_closed_for_students_booked_that_day(
    db: psycopg.Connection,
) -> None:
    """process_waitlist closes the place of a student who holds a booking of that type and day
    made outside the booking functions (pulled, adopted) and counts it in `left`; the run's
    step must carry that count and say it, or an operator sees places vanish unexplained."""
    day = one(db, "SELECT hubspot_sync.business_today() + 61")
    full = one(db, "SELECT tests.make_exam(p_capacity := 0, p_exam_date := %s)", (day,))
    other = one(db, "SELECT tests.make_exam(p_exam_date := %s)", (day,))
    student = one(db, "SELECT tests.make_student(p_sj := 1)")
    rpc(db, "join_waitlist", p_student_id=student, p_email=f"{student.lower()}@example.com",
        p_mock_exam_id=full, p_attending_location="mississauga")
    db.execute("SELECT tests.seed_booking(%s, %s)", (student, other))  # as the pull writes it

    report = steps.step(SimpleNamespace(conn=db, stop=threading.Event()), {"waitlist"})

    waitlist = report.steps["waitlist"]
    assert waitlist.status == steps.OK
    assert waitlist.detail["left"] >= 1
    assert one(db, "SELECT status FROM hubspot_sync.waitlist_entries WHERE student_id = %s",
               (student,)) == "left"
    assert "place(s) of students booked that day closed" in describe(waitlist)
