"""create_booking_atomic, the original apps' booking call: a legacy code or key used again, the
credit value the app sends, and its text arguments' limits.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from booking_calls import email_of, new_exam, one, students
from invariants import table_digests
from postgrest import RpcError, rpc
from test_who_acts import call, scenario
from test_who_acts import legacy_booking as legacy_booking_args


def test_a_repeated_legacy_code_marks_the_new_booking_only(db: psycopg.Connection) -> None:
    """create_booking_atomic given a code already in use books <code>-R2 and notes the code it
    was given in that booking's legacy_booking_id; no other booking's is written."""
    s = scenario(db)
    args = legacy_booking_args(db, s) | {"p_booking_id": s.booking}
    rpc(db, "create_booking_atomic", **args)
    assert db.execute("SELECT booking_id, legacy_booking_id FROM hubspot_sync.hubspot_bookings"
                      " WHERE legacy_booking_id IS NOT NULL").fetchall() == [
        (f"{s.booking}-R2", s.booking)]


def legacy_booking(db: psycopg.Connection, student: str, exam: str, key: str) -> dict:
    return call(db, "create_booking_atomic", None, {
        "p_booking_id": f"Situational Judgment-{student}-{uuid.uuid4().hex[:6]}",
        "p_student_id": student, "p_student_email": email_of(db, student),
        "p_mock_exam_id": exam, "p_student_name": "Ann Example", "p_token_used": None,
        "p_attending_location": "Mississauga", "p_dominant_hand": "Right",
        "p_idempotency_key": key, "p_credit_field": "sj_credits", "p_new_credit_value": 2})


@pytest.mark.parametrize("length", [240, 241])
def test_a_legacy_key_books_again_after_a_cancellation_up_to_240_characters(
        db: psycopg.Connection, length: int) -> None:
    """create_booking_atomic: a key whose booking was cancelled books again under
    <key>~rebook-N; a key over 240 characters (no room for the suffix) is refused."""
    (student,) = students(db, 1)
    exam = new_exam(db)
    key = ("k" * length)[:length]
    first = legacy_booking(db, student, exam, key)
    call(db, "cancel_booking", None, {"p_booking_id": first["booking_code"]})
    if length > 240:
        with pytest.raises(RpcError) as refused:
            legacy_booking(db, student, exam, key)
        assert refused.value.code == "IDEMPOTENCY_KEY_REUSED"
        return
    again = legacy_booking(db, student, exam, key)
    assert again["booking_id"] != first["booking_id"]
    assert one(db, "SELECT idempotency_key FROM hubspot_sync.hubspot_bookings WHERE id = %s",
               (again["booking_id"],)) == f"{key}~rebook-1"


def test_a_legacy_key_books_again_twenty_times_after_cancellations_and_no_more(
        db: psycopg.Connection) -> None:
    """docs/rpc.md: a cancelled key books again under `<key>~rebook-N`, N = 1…20; the
    twenty-first rebook of one key is refused and books nothing."""
    (student,) = students(db, 1)
    exam = new_exam(db)
    key = f"edge-{uuid.uuid4()}"
    for n in range(21):
        seat = legacy_booking(db, student, exam, key)
        stored = one(db, "SELECT idempotency_key FROM hubspot_sync.hubspot_bookings"
                         " WHERE id = %s", (seat["booking_id"],))
        assert stored == (f"{key}~rebook-{n}" if n else key)
        call(db, "cancel_booking", None, {"p_booking_id": seat["booking_code"]})
    before = table_digests(db)
    with pytest.raises(RpcError) as refused:
        legacy_booking(db, student, exam, key)
    assert refused.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert table_digests(db) == before


def test_a_legacy_booking_notes_the_callers_credit_value_only_when_it_is_stale(
        db: psycopg.Connection) -> None:
    """create_booking_atomic spends one credit relatively; the ledger row notes the app's
    absolute p_new_credit_value only when it differs from the balance after the booking."""
    (student,) = students(db, 1)   # 3 SJ credits; legacy_booking sends p_new_credit_value 2
    right = legacy_booking(db, student, new_exam(db, day=9), f"edge-{uuid.uuid4()}")
    stale = legacy_booking(db, student, new_exam(db, day=10), f"edge-{uuid.uuid4()}")
    notes = [one(db, "SELECT note FROM hubspot_sync.credit_ledger WHERE booking_id = %s",
                 (seat["booking_id"],)) for seat in (right, stale)]
    assert notes[0] is None
    assert notes[1] is not None and "expected 2 sj_credits" in notes[1] and "it is 1" in notes[1]


# what 255 characters of each get: the next check's answer (a code is at most 100 characters, a
# token must be its field's label), or the booking
AT_THE_LIMIT = {
    "p_student_name": None,
    "p_booking_id": "is not a valid booking code: it has 255 characters (3 to 100).",
    "p_token_used": "p_token_used must be 'Situational Judgment Token' for sj_credits.",
}


@pytest.mark.parametrize("field", list(AT_THE_LIMIT))
def test_create_booking_atomic_text_limits(db: psycopg.Connection, field: str) -> None:
    """docs/rpc.md: create_booking_atomic's p_student_name, p_booking_id and p_token_used are at
    most 255 characters: 256 is refused naming the argument and its limit, with nothing written;
    255 passes that check, on to the next one."""
    s = scenario(db)
    before = table_digests(db)
    with pytest.raises(RpcError) as refused:
        rpc(db, "create_booking_atomic", **{**legacy_booking_args(db, s), field: "n" * 256})
    assert (refused.value.code, refused.value.detail) == (
        "INVALID_ARGUMENT", f"{field} is longer than 255 characters.")
    assert table_digests(db) == before
    args = {**legacy_booking_args(db, s), field: "n" * 255}
    if AT_THE_LIMIT[field] is None:
        assert rpc(db, "create_booking_atomic", **args)["success"] is True
        return
    with pytest.raises(RpcError) as refused:
        rpc(db, "create_booking_atomic", **args)
    assert refused.value.code == "INVALID_ARGUMENT"
    assert refused.value.detail.endswith(AT_THE_LIMIT[field]), refused.value.detail
