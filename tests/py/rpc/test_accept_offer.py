"""accept_offer: an expired offer's answer.
"""

from __future__ import annotations

import psycopg
import pytest
from booking_calls import book, clock_at, email_of, join, new_exam, one, students
from postgrest import RpcError
from test_who_acts import call


def test_an_expired_offer_says_whether_the_job_has_passed_it_on(db: psycopg.Connection) -> None:
    exam = new_exam(db, capacity=1)
    first, waiting = students(db, 2)
    seat = book(db, first, exam)
    join(db, waiting, exam)
    call(db, "cancel_booking", None, {"p_booking_id": seat["booking_id"]})
    expires = one(db, "SELECT offer_expires_at FROM hubspot_sync.waitlist_entries"
                      " WHERE mock_exam_id = %s AND status = 'offered'", (exam,))
    accept = {"p_student_id": waiting, "p_email": email_of(db, waiting), "p_mock_exam_id": exam}
    clock_at(db, expires)
    try:
        details = []
        for job in (False, True):
            if job:
                call(db, "process_waitlist", None, {"p_actor": "test"})
            with pytest.raises(RpcError) as expired:
                call(db, "accept_offer", None, accept)
            assert expired.value.code == "OFFER_EXPIRED"
            details.append(expired.value.detail)
    finally:
        db.execute("RESET mockbook.clock_offset")
    assert "free for anyone to book until the waitlist job" in details[0]
    assert "the waitlist job has offered free seats" in details[1]
