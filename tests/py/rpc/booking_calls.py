"""The calls the per-function RPC tests (tests/py/rpc/test_<function>.py) set their scenes with:
students, exams, bookings and waitlist places made through the API as an admin, and the session's
clock moved (mockbook.clock_offset).
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from test_who_acts import call


def one(db: psycopg.Connection, query: str, params: Any = ()) -> Any:
    return db.execute(query, params).fetchone()[0]


def email_of(db: psycopg.Connection, student: str) -> str:
    return one(db, "SELECT tests.email_of(%s)", (student,))


def new_exam(db: psycopg.Connection, capacity: int = 10, day: int = 9) -> str:
    return one(db, "SELECT tests.make_exam(p_capacity := %s,"
                   " p_exam_date := hubspot_sync.business_today() + %s)", (capacity, day))


def book(db: psycopg.Connection, student: str, exam: str) -> dict:
    return call(db, "create_booking", None, {
        "p_student_id": student, "p_email": email_of(db, student), "p_mock_exam_id": exam,
        "p_idempotency_key": f"edge-{uuid.uuid4()}", "p_attending_location": "mississauga"})


def join(db: psycopg.Connection, student: str, exam: str) -> dict:
    return call(db, "join_waitlist", None, {
        "p_student_id": student, "p_email": email_of(db, student), "p_mock_exam_id": exam,
        "p_attending_location": "mississauga"})


def students(db: psycopg.Connection, n: int) -> list[str]:
    return [one(db, "SELECT tests.make_student(p_sj := 3)") for _ in range(n)]


def clock_at(db: psycopg.Connection, moment: Any) -> None:
    db.execute("SELECT set_config('mockbook.clock_offset', (%s::timestamptz - now())::text,"
               " false)", (moment,))


def expired_offer(db: psycopg.Connection) -> tuple[str, str, str]:
    """An exam of one seat, offered to one student with another waiting behind, and this
    session's clock a minute past the offer's end (the caller resets mockbook.clock_offset):
    (exam, the offered student, the next)."""
    exam = new_exam(db, capacity=1)
    first, expired, nxt = students(db, 3)
    seat = book(db, first, exam)
    join(db, expired, exam)
    join(db, nxt, exam)
    call(db, "cancel_booking", None, {"p_booking_id": seat["booking_id"]})  # held for expired
    expires = one(db, "SELECT offer_expires_at FROM hubspot_sync.waitlist_entries"
                      " WHERE mock_exam_id = %s AND status = 'offered'", (exam,))
    clock_at(db, one(db, "SELECT %s::timestamptz + interval '1 minute'", (expires,)))
    return exam, expired, nxt


def places(db: psycopg.Connection, exam: str) -> dict[str, str]:
    """Each student's waitlist status on the exam."""
    return dict(db.execute("SELECT student_id, status FROM hubspot_sync.waitlist_entries"
                           " WHERE mock_exam_id = %s", (exam,)).fetchall())
