"""list_contact_bookings: a waiting place's position and a booking stored without an end time.
"""

from __future__ import annotations

import psycopg
from booking_calls import book, join, new_exam, one, students
from postgrest import rpc_rows


def test_a_waiting_place_counts_the_places_before_it_on_its_own_exam(
        db: psycopg.Connection) -> None:
    """list_contact_bookings' waitlist_position (1 = next) counts the places waiting on the same
    exam up to this one: not a place waiting on another exam before it, not one after it."""
    first, second = new_exam(db, capacity=1, day=9), new_exam(db, capacity=1, day=10)
    a, b, elsewhere, me, later = students(db, 5)
    book(db, a, first)
    book(db, b, second)
    join(db, elsewhere, second)
    join(db, me, first)
    join(db, later, first)
    for student, position in ((me, 1), (later, 2), (elsewhere, 1)):
        [row] = rpc_rows(db, "list_contact_bookings", p_student_id=student)
        assert (row["is_active"], row["waitlist_position"]) == ("Waitlisted", position)


def test_a_listed_booking_without_an_end_time_ends_at_the_end_of_its_day(
        db: psycopg.Connection) -> None:
    """list_contact_bookings' ends_at for a booking whose copied end time is missing (adopted
    rows): the end of its day in the business time zone, as an exam's is."""
    (student,) = students(db, 1)
    seat = book(db, student, new_exam(db))
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET end_time = NULL WHERE id = %s",
               (seat["id"],))
    [row] = rpc_rows(db, "list_contact_bookings", p_student_id=student)
    assert row["ends_at"] == one(
        db, "SELECT (%s::date + 1)::timestamp AT TIME ZONE mockbook_internal.business_timezone()",
        (row["exam_date"],))
