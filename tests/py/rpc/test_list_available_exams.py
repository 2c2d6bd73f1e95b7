"""list_available_exams: an exam stored without a capacity or a count.
"""

from __future__ import annotations

import psycopg
from booking_calls import book, new_exam, students
from postgrest import rpc_rows


def test_an_exam_without_a_capacity_or_a_count_is_listed_with_none_and_full(
        db: psycopg.Connection) -> None:
    """The listing reads a missing capacity and count as 0 (no seats, none booked): full."""
    exam = new_exam(db)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = NULL, total_bookings = NULL"
               " WHERE hubspot_id = %s", (exam,))
    (row,) = [r for r in rpc_rows(db, "list_available_exams", p_include_unbookable=True)
              if r["mock_exam_id"] == exam]
    assert (row["capacity"], row["total_bookings"], row["remaining_seats"], row["is_full"]) \
        == (0, 0, 0, True)


def test_the_seats_left_and_is_full_read_null_columns_as_zero(
        db: psycopg.Connection) -> None:
    """list_available_exams' remaining_seats (capacity - total_bookings - held, 0 at the least)
    and is_full: a NULL capacity or total (production's columns allow both) counts as 0, so an
    exam without a capacity is full and one without a total has its capacity free."""
    full, no_capacity, no_total = new_exam(db, capacity=1), new_exam(db), new_exam(db, capacity=1)
    book(db, students(db, 1)[0], full)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = NULL WHERE hubspot_id = %s",
               (no_capacity,))
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET total_bookings = NULL"
               " WHERE hubspot_id = %s", (no_total,))
    rows = {r["mock_exam_id"]: (r["capacity"], r["total_bookings"], r["remaining_seats"],
                                r["is_full"])
            for r in rpc_rows(db, "list_available_exams", p_include_unbookable=True)}
    assert rows[full] == (1, 1, 0, True)
    assert rows[no_capacity] == (0, 0, 0, True)
    assert rows[no_total] == (1, 0, 1, False)
