"""mark_attendance: the exams it recounts and reports, an exam without a capacity, a booking
without an exam.
"""

from __future__ import annotations

import psycopg
from booking_calls import book, new_exam, one, students
from test_who_acts import call


def test_an_exam_without_a_capacity_is_over_capacity_with_one_booking(
        db: psycopg.Connection) -> None:
    """mark_attendance reports each exam it touched; a capacity never set counts as none."""
    exam = new_exam(db)
    attended, booked = (book(db, s, exam) for s in students(db, 2))
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = NULL"
               " WHERE hubspot_id = %s", (exam,))
    done = call(db, "mark_attendance", None, {
        "p_updates": [{"booking_id": attended["booking_id"], "attendance": "Yes"}],
        "p_actor": "test"})
    assert booked["status"] == "Active"   # still Active: one seat taken of none
    [touched] = [e for e in done["exams"] if e["mock_exam_id"] == exam]
    assert touched["over_capacity"] is True


def test_attendance_on_two_exams_recounts_and_reports_both(db: psycopg.Connection) -> None:
    """One mark_attendance call taking a booking on each of two exams out of Active recounts
    both exams' seats and reports both, not only the first it met."""
    exams = [new_exam(db), new_exam(db)]
    made = [book(db, s, e) for s, e in zip(students(db, 2), exams, strict=True)]
    done = call(db, "mark_attendance", None, {
        "p_updates": [{"booking_id": m["booking_id"], "attendance": "Yes"} for m in made],
        "p_actor": "test"})
    assert sorted(e["mock_exam_id"] for e in done["exams"]) == sorted(exams)
    assert [one(db, "SELECT tests.total(%s)", (e,)) for e in exams] == [0, 0]


def test_attendance_past_a_booking_without_an_exam_recounts_the_exams_after_it(
        db: psycopg.Connection) -> None:
    """A booking whose exam is unknown (an adopted row without one) changes status and touches
    no exam; the bookings after it in the same call still have their exams recounted and
    reported."""
    orphan_exam, exam = new_exam(db), new_exam(db)
    orphan, made = [book(db, s, e) for s, e in zip(students(db, 2), (orphan_exam, exam),
                                                  strict=True)]
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET associated_mock_exam = NULL"
               " WHERE booking_id = %s", (orphan["booking_id"],))
    done = call(db, "mark_attendance", None, {
        "p_updates": [{"booking_id": m["booking_id"], "attendance": "Yes"}
                      for m in (orphan, made)], "p_actor": "test"})
    assert len(done["updated"]) == 2
    assert [e["mock_exam_id"] for e in done["exams"]] == [exam]
    assert one(db, "SELECT tests.total(%s)", (exam,)) == 0
