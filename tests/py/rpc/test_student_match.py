"""A student is the student their email names, however it is stored, and the listing counts what
the booking counts.

- The JWT's email and the stored one are compared in any case, and spaces, tabs or line breaks
  at either end of a stored address (an import, a HubSpot form) are ignored
  (mockbook_internal.same_email, docs/rpc.md "Who may call what"): such a student is not locked
  out of their own calls.
- A Completed booking holds its student's place of its mock type and day as an Active one does:
  list_available_exams does not offer that student another exam of the type that day (the
  booking would be refused DUPLICATE_BOOKING).
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from postgrest import RpcError, rpc, rpc_rows


def one(db: psycopg.Connection, query: str, params: Any = ()) -> Any:
    return db.execute(query, params).fetchone()[0]


def student_stored_as(db: psycopg.Connection, stored: str) -> str:
    who = one(db, "SELECT tests.make_student(p_sj := 3)")
    db.execute("UPDATE hubspot_sync.hubspot_contact_credits SET email = %s WHERE student_id = %s",
               (stored, who))
    return who


def jwt(address: str) -> dict[str, Any]:
    return {"role": "service_role", "sub": str(uuid.uuid4()), "email": address}


# (how the contact's email is stored, the JWT's email and the p_email the app sends)
SPELLINGS = {
    "capitals stored, lower case signed in": ("Ann.Capital@Example.COM", "ann.capital@example.com"),
    "lower case stored, capitals signed in": ("ann.lower@example.com", "Ann.Lower@EXAMPLE.com"),
    "a trailing space stored": ("spacey@example.com ", "spacey@example.com"),
    "a leading tab and a line break stored": ("\ttabbed@example.com\n", "tabbed@example.com"),
}


@pytest.mark.parametrize("case", list(SPELLINGS))
def test_a_student_is_not_locked_out_by_how_their_email_is_stored(
        db: psycopg.Connection, case: str) -> None:
    stored, signed_in = SPELLINGS[case]
    who = student_stored_as(db, stored)
    claims = jwt(signed_in)
    [summary] = rpc_rows(db, "get_credit_summary", p_student_id=who, p_email=signed_in,
                         claims=claims)
    assert summary["student_id"] == who
    exam = one(db, "SELECT tests.make_exam(p_exam_date := hubspot_sync.business_today() + 5)")
    made = rpc(db, "create_booking", p_student_id=who, p_email=signed_in, p_mock_exam_id=exam,
               p_idempotency_key=f"sm-{uuid.uuid4()}", p_attending_location="mississauga",
               claims=claims)
    assert made["status"] == "Active"
    assert [str(r["id"]) for r in rpc_rows(db, "list_contact_bookings", p_student_id=who,
                                           claims=claims)] == [made["id"]]
    assert rpc(db, "cancel_booking", p_booking_id=made["booking_id"], p_student_id=who,
               claims=claims)["status"] == "Cancelled"


def test_another_address_is_still_another_student(db: psycopg.Connection) -> None:
    """Case and surrounding spaces aside, the address must be the student's."""
    who = student_stored_as(db, "Ann.Capital@Example.COM ")
    with pytest.raises(RpcError) as refused:
        rpc_rows(db, "get_credit_summary", p_student_id=who, p_email="ann.capital@example.com",
                 claims=jwt("ann.capita1@example.com"))
    assert refused.value.code == "FORBIDDEN"
    with pytest.raises(RpcError) as unknown:
        rpc_rows(db, "get_credit_summary", p_student_id=who, p_email="ann.capital@example.org")
    assert unknown.value.code == "CONTACT_NOT_FOUND"


def test_a_completed_booking_holds_its_type_and_day_in_the_listing(
        db: psycopg.Connection) -> None:
    who = one(db, "SELECT tests.make_student(p_sj := 3)")
    email = one(db, "SELECT tests.email_of(%s)", (who,))
    attended, same_day, next_day = (
        one(db, "SELECT tests.make_exam(p_exam_date := hubspot_sync.business_today() + %s)",
            (day,)) for day in (6, 6, 7))
    made = rpc(db, "create_booking", p_student_id=who, p_email=email, p_mock_exam_id=attended,
               p_idempotency_key=f"sm-{uuid.uuid4()}", p_attending_location="mississauga")
    rpc(db, "mark_attendance", p_updates=[{"booking_id": made["booking_id"],
                                           "attendance": "Yes"}], p_actor="test")
    assert one(db, "SELECT is_active FROM hubspot_sync.hubspot_bookings WHERE id = %s",
               (made["id"],)) == "Completed"
    reasons = {r["mock_exam_id"]: r["reason"] for r in rpc_rows(
        db, "list_available_exams", p_student_id=who, p_include_unbookable=True)}
    assert (reasons[same_day], reasons[next_day]) == ("DUPLICATE_BOOKING", None)
    listed = {r["mock_exam_id"] for r in rpc_rows(db, "list_available_exams",
                                                  p_student_id=who)}
    assert same_day not in listed and next_day in listed
    with pytest.raises(RpcError) as refused:
        rpc(db, "create_booking", p_student_id=who, p_email=email, p_mock_exam_id=same_day,
            p_idempotency_key=f"sm-{uuid.uuid4()}", p_attending_location="mississauga")
    assert refused.value.code == "DUPLICATE_BOOKING"
