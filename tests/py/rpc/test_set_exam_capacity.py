"""set_exam_capacity: the offers a cut withdraws, the seats it reports, a capacity named NULL.
"""

from __future__ import annotations

import psycopg
import pytest
from booking_calls import book, clock_at, join, new_exam, one, places, students
from postgrest import RpcError
from psycopg.types.json import Jsonb
from test_who_acts import call


def test_a_capacity_cut_withdraws_live_offers_never_an_expired_one(
        db: psycopg.Connection) -> None:
    """The offers beyond a lowered capacity go back to waiting, newest first, among those still
    held: an offer past its instant holds nothing and is no reason to keep a live one."""
    exam = new_exam(db, capacity=2)
    a, b, older, newer = students(db, 4)
    seats = [book(db, s, exam) for s in (a, b)]
    join(db, older, exam)
    join(db, newer, exam)
    saved = one(db, "SELECT value FROM hubspot_sync.booking_rules"
                    " WHERE rule = 'offer_hold_minutes'")
    try:
        for hold, seat in ((600, seats[0]), (1, seats[1])):   # older long, newer short
            call(db, "set_booking_rule", None, {"p_rule": "offer_hold_minutes", "p_value": hold,
                                                "p_actor": "test"})
            call(db, "cancel_booking", None, {"p_booking_id": seat["booking_id"]})
        clock_at(db, one(db, "SELECT now() + interval '5 minutes'"))   # newer's has expired
        call(db, "set_exam_capacity", None, {"p_mock_exam_id": exam, "p_capacity": 0})
        statuses = places(db, exam)
    finally:
        db.execute("RESET mockbook.clock_offset")
        db.execute("UPDATE hubspot_sync.booking_rules SET value = %s"
                   " WHERE rule = 'offer_hold_minutes'", (Jsonb(saved),))
    assert statuses[older] == "waiting", statuses


def test_a_capacity_change_counts_only_its_exams_held_offers(db: psycopg.Connection) -> None:
    """set_exam_capacity's remaining_seats leaves out the seats offers hold on this exam, not
    those held on another."""
    elsewhere, here = new_exam(db, capacity=1), new_exam(db, capacity=2)
    first, waiting, booked = students(db, 3)
    seat = book(db, first, elsewhere)
    join(db, waiting, elsewhere)
    call(db, "cancel_booking", None, {"p_booking_id": seat["booking_id"]})  # held for waiting
    book(db, booked, here)
    done = call(db, "set_exam_capacity", None, {"p_mock_exam_id": here, "p_capacity": 3})
    assert (done["total_bookings"], done["remaining_seats"]) == (1, 2)


def test_a_capacity_of_null_is_refused_naming_it(db: psycopg.Connection) -> None:
    exam = new_exam(db)
    with pytest.raises(RpcError) as refused:
        call(db, "set_exam_capacity", None, {"p_mock_exam_id": exam, "p_capacity": None})
    assert refused.value.code == "INVALID_ARGUMENT"
    assert refused.value.detail == "p_capacity must be a non-negative integer, not NULL."
