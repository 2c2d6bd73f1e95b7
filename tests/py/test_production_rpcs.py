"""The production RPCs keep their exact signatures and result keys (issue 12 item 3): each is
called through the PostgREST helper with the named arguments the original apps pass
(harmon-tuazon/PD_Mocks_Booking_ExpressVersion: user_root/api/_shared/supabase-data.js,
user_root/api/bookings/create.js, admin_root/api/_shared/supabase-data.js,
admin_root/api/admin/mock-exams/[id]/prerequisites/*.js), with mockbook's safe semantics
behind them: credits change relatively, a stale absolute value from the app is CREDIT_CONFLICT.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from postgrest import RpcError, rpc


def setup(db: psycopg.Connection, sj: int = 3) -> tuple[str, str, str]:
    """A student with `sj` SJ credits and an SJ exam a week ahead: (student id, email, exam)."""
    tag = uuid.uuid4().hex[:8].upper()
    student, exam = f"PR{tag}", f"PRX{tag}"
    db.execute("SELECT tests.make_student(p_sj := %s, p_student_id := %s)", [sj, student])
    db.execute("SELECT tests.make_exam(p_hubspot_id := %s, p_mock_set := 'B')", [exam])
    return student, f"{student.lower()}@example.com", exam


def js_create(student: str, email: str, exam: str, new_value: int, key: str,
              code: str | None = None) -> dict:
    """create.js's call: every one of its twelve named arguments."""
    return {
        "p_booking_id": code or f"Situational Judgment-{student}-March 1, 2027",
        "p_mock_exam_id": exam, "p_student_id": student,
        "p_student_name": "Ann Example", "p_student_email": email,
        "p_attending_location": "mississauga", "p_dominant_hand": "Right",
        "p_token_used": "Situational Judgment Token", "p_credit_field": "sj_credits",
        "p_idempotency_key": key, "p_new_credit_value": new_value, "p_mock_set": "B",
    }


def balance(db: psycopg.Connection, student: str) -> int:
    return db.execute("SELECT sj_credits FROM hubspot_sync.hubspot_contact_credits"
                      " WHERE student_id = %s", [student]).fetchone()[0]


def test_booking_and_cancelling_as_the_original_app_does(db: psycopg.Connection) -> None:
    student, email, exam = setup(db)
    created = rpc(db, "create_booking_atomic", **js_create(student, email, exam, 2, "pr-1"))
    assert {"success", "booking_id", "booking_code", "contact_hubspot_id",
            "mock_exam_hubspot_id"} <= set(created)
    assert created["success"] is True and created["mock_exam_hubspot_id"] == exam
    assert created["booking_code"] == f"Situational Judgment-{student}-March 1, 2027"
    booking = uuid.UUID(created["booking_id"])  # production returned the row's uuid here
    assert balance(db, student) == 2

    found = rpc(db, "check_idempotency_key", p_idempotency_key="pr-1")
    assert {"found", "booking_id", "id", "hubspot_id", "is_active", "student_id",
            "mock_exam_id", "created_at"} <= set(found)
    assert found["id"] == str(booking) and found["mock_exam_id"] == exam
    assert rpc(db, "increment_exam_bookings", p_exam_id=exam, p_delta=1) == 1  # counted, not +1

    with pytest.raises(RpcError) as stale:  # the app read 2 but another request refunded one
        db.execute("UPDATE hubspot_sync.hubspot_contact_credits SET sj_credits = 3"
                   " WHERE student_id = %s", [student])
        rpc(db, "cancel_booking_atomic", p_booking_id=str(booking), p_credit_field="sj_credits",
            p_restored_credit_value=3)
    assert stale.value.code == "CREDIT_CONFLICT"
    assert balance(db, student) == 3

    cancelled = rpc(db, "cancel_booking_atomic", p_booking_id=str(booking),
                    p_credit_field="sj_credits", p_restored_credit_value=4)
    assert {"success", "booking_id", "booking_hubspot_id", "student_id",
            "mock_exam_id"} <= set(cancelled)
    assert cancelled["booking_id"] == str(booking) and cancelled["mock_exam_id"] == exam
    assert balance(db, student) == 4
    ledger = db.execute("SELECT delta, reason FROM hubspot_sync.credit_ledger WHERE booking_id"
                        " = %s ORDER BY id", [booking]).fetchall()
    assert ledger == [(-1, "booking"), (1, "cancellation")]

    # the app rebooks with the same code: stored as <code>-R2, the code kept
    again = rpc(db, "create_booking_atomic", **js_create(student, email, exam, 3, "pr-2"))
    assert again["booking_code"] == created["booking_code"] + "-R2"
    legacy = db.execute("SELECT legacy_booking_id FROM hubspot_sync.hubspot_bookings"
                        " WHERE id = %s", [again["booking_id"]]).fetchone()
    assert legacy == (created["booking_code"],)
    old = rpc(db, "get_booking", p_booking_id=created["booking_code"])
    assert str(booking) in str(old)


def test_a_stale_absolute_value_is_a_conflict_and_changes_nothing(db: psycopg.Connection) -> None:
    student, email, exam = setup(db)
    for fn, args in (("create_booking_atomic", js_create(student, email, exam, 7, "pr-3")),
                     ("create_booking_atomic_v1",
                      {k: v for k, v in js_create(student, email, exam, 7, "pr-4").items()
                       if k != "p_mock_set"})):
        with pytest.raises(RpcError) as conflict:
            rpc(db, fn, **args)
        assert conflict.value.code == "CREDIT_CONFLICT", fn
    assert balance(db, student) == 3
    (n,) = db.execute("SELECT count(*) FROM hubspot_sync.hubspot_bookings WHERE student_id = %s",
                      [student]).fetchone()
    assert n == 0


def test_the_other_production_reads_and_writes(db: psycopg.Connection) -> None:
    student, email, exam = setup(db)
    v1 = rpc(db, "create_booking_atomic_v1",
             **{k: v for k, v in js_create(student, email, exam, 2, "pr-5").items()
                if k != "p_mock_set"})
    assert {"success", "booking_id", "booking_code", "contact_hubspot_id",
            "mock_exam_hubspot_id"} <= set(v1)
    contact = rpc(db, "get_contact_credits", p_student_id=student, p_email=email)
    assert student in str(contact)
    first, second = f"{exam}-P1", f"{exam}-P2"
    for other in (first, second):
        db.execute("SELECT tests.make_exam(p_hubspot_id := %s)", [other])
    # admin_root/api/admin/mock-exams/[id]/prerequisites/{index,delta}.js
    prereq = rpc(db, "update_exam_prerequisites", p_exam_id=exam, p_add_ids=[first, second],
                 p_remove_ids=[])
    assert {"success", "exam_id", "prerequisite_exam_ids", "previous_count", "current_count",
            "added_count", "removed_count", "requested_add", "requested_remove"} <= set(prereq)
    assert sorted(prereq["prerequisite_exam_ids"]) == [first, second]
    replaced = rpc(db, "set_exam_prerequisites", p_exam_id=exam, p_prerequisite_ids=[second])
    assert replaced["success"] is True and replaced["prerequisite_exam_ids"] == [second]


def test_no_function_name_in_hubspot_sync_is_overloaded(db: psycopg.Connection) -> None:
    overloaded = db.execute(
        "SELECT proname, count(*) FROM pg_proc WHERE pronamespace = 'hubspot_sync'::regnamespace"
        " GROUP BY 1 HAVING count(*) > 1").fetchall()
    assert overloaded == []
    (n,) = db.execute("SELECT count(*) FROM pg_proc WHERE pronamespace ="
                      " 'hubspot_sync'::regnamespace").fetchone()
    assert n > 50
