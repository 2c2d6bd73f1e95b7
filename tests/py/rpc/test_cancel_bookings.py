"""cancel_bookings, the admin's batch cancellation: the rows it locks, in the lock order
(docs/rpc.md, "Lock order").
"""

from __future__ import annotations

import psycopg
from booking_calls import book, new_exam, students
from postgrest import rpc
from test_lock_order import Call, waiting_on_lock
from test_who_acts import call


def test_cancel_bookings_holds_no_exam_while_it_waits_for_a_booking(
        db: psycopg.Connection, database_url: str) -> None:
    """docs/rpc.md, Lock order: a batch locks its contacts, then its bookings, then the exams
    last. Staged: another transaction holds the batch's second booking; while the batch waits
    for it, the first booking's exam is free (the batch has cancelled nothing yet)."""
    first_exam, second_exam = new_exam(db), new_exam(db, day=10)
    (student,) = students(db, 1)
    first, second = book(db, student, first_exam), book(db, student, second_exam)
    assert first["id"] < second["id"]   # locked and cancelled in ascending id
    with psycopg.connect(database_url) as holder, psycopg.connect(database_url) as probe:
        holder.execute("SELECT FROM hubspot_sync.hubspot_bookings WHERE id = %s FOR UPDATE",
                       (second["id"],))
        batch = Call(database_url, lambda conn: rpc(
            conn, "cancel_bookings", p_booking_ids=[first["booking_id"], second["booking_id"]],
            p_actor="test"), setup="SET mockbook.lock_timeout = '30s'").start()
        waiting_on_lock(db, batch.pid)
        probe.execute("SELECT FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s"
                      " FOR UPDATE NOWAIT", (first_exam,))
        probe.rollback()
        holder.rollback()
        batch.join()
    assert batch.error is None, batch.error
    assert len(batch.value["cancelled"]) == 2


def test_a_batch_cancellation_locks_its_own_bookings_contacts_only(
        db: psycopg.Connection, database_url: str) -> None:
    """docs/rpc.md, Lock order: cancel_bookings locks the contacts of the bookings it names.
    Another student's contact row, held by another transaction, does not hold it up."""
    exam = new_exam(db)
    mine, theirs = students(db, 2)
    seat, other_seat = book(db, mine, exam), book(db, theirs, exam)
    with psycopg.connect(database_url) as holder:
        holder.execute("SELECT FROM hubspot_sync.hubspot_contact_credits WHERE student_id = %s"
                       " FOR UPDATE", (theirs,))
        db.execute("SET mockbook.lock_timeout = '300ms'")
        try:
            done = call(db, "cancel_bookings", None, {"p_booking_ids": [seat["booking_id"]],
                                                      "p_actor": "test"})
        finally:
            db.execute("RESET mockbook.lock_timeout")
        holder.rollback()
    assert len(done["cancelled"]) == 1
    statuses = dict(db.execute("SELECT booking_id, is_active FROM hubspot_sync.hubspot_bookings"
                               " WHERE booking_id = ANY (%s)",
                               ([seat["booking_id"], other_seat["booking_id"]],)).fetchall())
    assert statuses == {seat["booking_id"]: "Cancelled", other_seat["booking_id"]: "Active"}
