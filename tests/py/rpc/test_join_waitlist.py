"""join_waitlist: an exam is full for the waitlist only counting its own held offers.
"""

from __future__ import annotations

import psycopg
import pytest
from booking_calls import book, join, new_exam, students
from postgrest import RpcError
from test_who_acts import call


def test_join_waitlist_counts_only_its_exams_held_offers(db: psycopg.Connection) -> None:
    """A seat held by an offer on another exam does not fill this one: EXAM_NOT_FULL."""
    elsewhere, here = new_exam(db, capacity=1), new_exam(db, capacity=2)
    first, waiting, booked, joining = students(db, 4)
    seat = book(db, first, elsewhere)
    join(db, waiting, elsewhere)
    call(db, "cancel_booking", None, {"p_booking_id": seat["booking_id"]})  # held for waiting
    book(db, booked, here)                                     # one of two seats taken
    with pytest.raises(RpcError) as refused:
        join(db, joining, here)
    assert refused.value.code == "EXAM_NOT_FULL"
