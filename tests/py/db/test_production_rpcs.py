"""The production RPCs keep their exact signatures and result keys: each is
called through the PostgREST helper with the named arguments the original apps pass
(harmon-tuazon/PD_Mocks_Booking_ExpressVersion: user_root/api/_shared/supabase-data.js,
user_root/api/bookings/create.js, admin_root/api/_shared/supabase-data.js,
admin_root/api/admin/mock-exams/[id]/prerequisites/*.js), with mockbook's safe semantics
behind them: credits change relatively; a stale absolute value from the app is never written
(create_booking_atomic notes it on the ledger row; cancel_booking_atomic refuses it with
CREDIT_CONFLICT).
"""

from __future__ import annotations

import threading
import uuid

import psycopg
import pytest
from invariants import check_invariants, snapshot
from postgrest import RpcError, rpc, rpc_json


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


def test_two_bookings_of_one_student_at_once_both_book_and_both_deduct(
        db: psycopg.Connection, database_url: str) -> None:
    """The JS app reads the balance (3), computes 2, and calls create_booking_atomic; a second
    request of the same student does the same at the same time for another exam. The original
    wrote 2 twice (a lost deduction); refusing one (CREDIT_CONFLICT) showed the student an error
    the original never gave. Both book now, each spending one credit relatively (3 -> 1), and
    the ledger notes the value the second caller expected. On two real connections at once."""
    student, email, exam = setup(db)
    other = f"{exam}B"
    db.execute("SELECT tests.make_exam(p_hubspot_id := %s, p_mock_set := 'B',"
               " p_exam_date := hubspot_sync.business_today() + 9)", [other])
    before = snapshot(db)
    barrier, answers = threading.Barrier(2), {}

    def call(exam_id: str, key: str) -> None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            barrier.wait()
            answers[exam_id] = rpc(conn, "create_booking_atomic", **js_create(
                student, email, exam_id, 2, key, code=f"Situational Judgment-{student}-{key}"))

    threads = [threading.Thread(target=call, args=(e, k))
               for e, k in ((exam, "pr-3"), (other, "pr-4"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert {e: a["success"] for e, a in answers.items()} == {exam: True, other: True}
    assert balance(db, student) == 1
    notes = db.execute("SELECT delta, note FROM hubspot_sync.credit_ledger l"
                       " JOIN hubspot_sync.hubspot_contact_credits c ON c.id = l.contact_id"
                       " WHERE c.student_id = %s ORDER BY l.id", [student]).fetchall()
    assert [d for d, _ in notes] == [-1, -1]
    assert notes[0][1] is None
    assert "expected 2 sj_credits after this booking; it is 1" in notes[1][1]
    check_invariants(db, before)


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
    # (not vacuous: the API holds the contract, about thirty functions; the rest moved
    # to mockbook_internal)
    (n,) = db.execute("SELECT count(*) FROM pg_proc WHERE pronamespace ="
                      " 'hubspot_sync'::regnamespace").fetchone()
    assert n > 25


# --- the original app's argument values (p_attending_location) --------------------
# user_root/api/bookings/create.js:359-373 sends `location || examLocation || 'TBD'` (the
# student's pick from frontend/src/components/shared/LocationSelector.jsx, display names; else
# the exam's location, admin_root/api/_shared/validation.js:243; else 'TBD'),
# `dominantHand || 'Right'` (JSON true from BookingForm.jsx for a right-handed Clinical Skills
# student) and `mock_set || null`; user_root/api/mock-discussions/create-booking.js:544-556
# sends `discussion_format || 'Virtual'` and a null hand.

def js_body(student: str, email: str, exam: str, mock_type: str, when: str, location: object,
            hand: object, token: str, field: str, new_value: int,
            mock_set: object = None) -> dict:
    """The JSON body create.js posts to /rpc/create_booking_atomic (its value shapes)."""
    return {
        "p_booking_id": f"{mock_type}-{student}-{when}", "p_mock_exam_id": exam,
        "p_student_id": student, "p_student_name": "Ann Example", "p_student_email": email,
        "p_attending_location": location, "p_dominant_hand": hand, "p_token_used": token,
        "p_credit_field": field, "p_idempotency_key": f"idem_{uuid.uuid4().hex}",
        "p_new_credit_value": new_value, "p_mock_set": mock_set,
    }


def stored(db: psycopg.Connection, booking: str) -> tuple:
    return db.execute("SELECT attending_location, dominant_hand, mock_set::text, token_used"
                      " FROM hubspot_sync.hubspot_bookings WHERE id = %s", [booking]).fetchone()


def test_create_js_location_names_become_codes(db: psycopg.Connection) -> None:
    tag = uuid.uuid4().hex[:8].upper()
    student = f"PL{tag}"
    db.execute("SELECT tests.make_student(p_sj := 10, p_student_id := %s)", [student])
    email = f"{student.lower()}@example.com"
    picks = {"Mississauga": "mississauga", "Calgary": "calgary", "Vancouver": "vancouver",
             "Montreal": "montreal", "Richmond Hill": "richmond_hill",
             "richmond_hill": "richmond_hill"}
    credits = 10
    for day, (pick, code) in enumerate(picks.items(), start=7):
        exam = f"PLX{tag}{day}"
        db.execute("SELECT tests.make_exam(p_hubspot_id := %s, p_mock_set := 'C',"
                   " p_exam_date := (now() AT TIME ZONE 'America/Toronto')::date + %s)",
                   [exam, day])
        credits -= 1
        result = rpc_json(db, "create_booking_atomic", js_body(
            student, email, exam, "Situational Judgment", f"day {day}", pick, "Right",
            "Situational Judgment Token", "sj_credits", credits, "C"))
        assert {"success", "booking_id", "booking_code", "contact_hubspot_id",
                "mock_exam_hubspot_id"} <= set(result), pick
        assert result["success"] is True and result["mock_exam_hubspot_id"] == exam
        assert stored(db, result["booking_id"]) == (code, "Right", "C",
                                                    "Situational Judgment Token"), pick
    assert balance(db, student) == credits == 4


def test_create_js_fallbacks_exam_location_tbd_and_a_boolean_hand(
        db: psycopg.Connection) -> None:
    tag = uuid.uuid4().hex[:8].upper()
    student = f"PH{tag}"
    db.execute("SELECT tests.make_student(p_cs := 5, p_md := 2, p_student_id := %s)", [student])
    email = f"{student.lower()}@example.com"
    # Clinical Skills: no location in the request, so create.js sends the exam's location
    # ('Mississauga - Lab D', 'Online') or 'TBD' when the exam has none; the hand is JSON true
    cases = (("Mississauga - Lab D", "mississauga"), ("Online", None), (None, None))
    for day, (exam_location, code) in enumerate(cases, start=7):
        exam = f"PHX{tag}{day}"
        db.execute("SELECT tests.make_exam(p_mock_type := 'Clinical Skills', p_hubspot_id := %s,"
                   " p_location := %s,"
                   " p_exam_date := (now() AT TIME ZONE 'America/Toronto')::date + %s)",
                   [exam, exam_location, day])
        result = rpc_json(db, "create_booking_atomic", js_body(
            student, email, exam, "Clinical Skills", f"day {day}", exam_location or "TBD",
            True, "Clinical Skills Token", "cs_credits", 11 - day, "A"))
        assert result["success"] is True
        assert stored(db, result["booking_id"]) == (code, "true", "A", "Clinical Skills Token")
    # Mock Discussion: the format as location, a null hand, no mock set
    exam = f"PHD{tag}"
    db.execute("SELECT tests.make_exam(p_mock_type := 'Mock Discussion', p_hubspot_id := %s,"
               " p_mock_set := NULL)", [exam])
    result = rpc_json(db, "create_booking_atomic", js_body(
        student, email, exam, "Mock Discussion", "day 7", "Virtual", None,
        "Mock Discussion Token", "mock_discussion_token", 1))
    assert stored(db, result["booking_id"]) == (None, None, None, "Mock Discussion Token")
    assert db.execute("SELECT cs_credits, mock_discussion_token FROM"
                      " hubspot_sync.hubspot_contact_credits WHERE student_id = %s",
                      [student]).fetchone() == (2, 1)
    # user_root/api/bookings/[id].js:486: the row's uuid, the field token_used names, balance + 1
    found = rpc_json(db, "check_idempotency_key",
                     {"p_idempotency_key": db.execute(
                         "SELECT idempotency_key FROM hubspot_sync.hubspot_bookings WHERE id = %s",
                         [result["booking_id"]]).fetchone()[0]})
    assert found["found"] is True and found["id"] == result["booking_id"]
    cancelled = rpc_json(db, "cancel_booking_atomic", {
        "p_booking_id": result["booking_id"], "p_credit_field": "mock_discussion_token",
        "p_restored_credit_value": 2})
    assert {"success", "booking_id", "booking_hubspot_id", "student_id",
            "mock_exam_id"} <= set(cancelled)
    assert cancelled["success"] is True and cancelled["mock_exam_id"] == exam
    assert db.execute("SELECT mock_discussion_token FROM hubspot_sync.hubspot_contact_credits"
                      " WHERE student_id = %s", [student]).fetchone() == (2,)


def test_unknown_or_missing_locations_are_refused_and_change_nothing(
        db: psycopg.Connection) -> None:
    student, email, exam = setup(db)
    for location, says in (("TBD", "required for a Situational Judgment"),
                           ("Toronto", "Richmond Hill"), ("Online", "required")):
        with pytest.raises(RpcError) as refused:
            rpc_json(db, "create_booking_atomic", js_body(
                student, email, exam, "Situational Judgment", "March 1, 2027", location,
                "Right", "Situational Judgment Token", "sj_credits", 2, "B"))
        assert refused.value.code == "INVALID_ARGUMENT", location
        assert says in (refused.value.detail or ""), location
    # new callers keep create_booking's contract: the codes only
    with pytest.raises(RpcError) as strict:
        rpc(db, "create_booking", p_student_id=student, p_email=email, p_mock_exam_id=exam,
            p_idempotency_key="pr-strict", p_attending_location="Mississauga")
    assert strict.value.code == "INVALID_ARGUMENT"
    assert balance(db, student) == 3
    (n,) = db.execute("SELECT count(*) FROM hubspot_sync.hubspot_bookings WHERE student_id = %s",
                      [student]).fetchone()
    assert n == 0


def test_a_legacy_spelling_replays_the_same_booking_as_its_code(db: psycopg.Connection) -> None:
    student, email, exam = setup(db)
    body = js_body(student, email, exam, "Situational Judgment", "March 1, 2027",
                   "Richmond Hill", "Right", "Situational Judgment Token", "sj_credits", 2, "B")
    first = rpc_json(db, "create_booking_atomic", body)
    again = rpc_json(db, "create_booking_atomic", {**body, "p_attending_location": "richmond_hill"})
    assert again["booking_id"] == first["booking_id"]
    assert balance(db, student) == 2
