"""complete_past_bookings: the actor its audit rows carry.
"""

from __future__ import annotations

import psycopg
from booking_calls import book, new_exam, one, students
from test_who_acts import call


def test_the_completion_job_sent_no_actor_writes_its_own_name(db: psycopg.Connection) -> None:
    """docs/rpc.md, complete_past_bookings: the audit rows carry p_actor, by default
    mockbook:auto-complete, a NULL sent for it as well."""
    (student,) = students(db, 1)
    exam = new_exam(db)
    seat = book(db, student, exam)
    db.execute("DELETE FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s", (exam,))
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET exam_date = hubspot_sync.business_today()"
               " - 1 WHERE id = %s", (seat["id"],))
    call(db, "complete_past_bookings", None, {"p_actor": None})
    assert one(db, "SELECT performed_by FROM hubspot_sync.supabase_audit_log"
                   " WHERE record_id = %s AND changed_fields ? 'is_active'"
                   " ORDER BY id DESC LIMIT 1", (seat["id"],)) == "mockbook:auto-complete"
