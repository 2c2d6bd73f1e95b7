"""Who acts: every API function, enumerated from the catalog, called as four callers.

docs/rpc.md ("Who may call what"): a student's JWT acts for that student only, in every function
that names a student, an email, a booking or an offer, reads included; an admin's JWT and the
service-role key act for anyone; admin powers refuse a student's JWT. Each function of
`hubspot_sync` is listed in CASES with the arguments of a call for one student (S0) and the
kind of function it is; the test fails when the catalog holds a function CASES does not know,
so a function cannot be added without saying who may call it.

Each call gets a fresh scenario (S0 with a booking, an offer on a full exam, another student
S1), then is made as PostgREST makes it with one of:
- S1's JWT (a student naming another): FORBIDDEN, and no table changed (a call naming only S0's
  booking or key: the answer for a booking or key nobody holds, test_not_yours.py);
- S0's JWT: a student function succeeds, an admin function is FORBIDDEN;
- an admin's JWT and the service key (no user): every function succeeds.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from invariants import table_digests
from postgrest import RpcError, rpc, rpc_rows

STUDENT, ADMIN, OPEN = "student", "admin", "open"


def one(db: psycopg.Connection, query: str, params: Any = ()) -> Any:
    return db.execute(query, params).fetchone()[0]


def email(student: str) -> str:
    return f"{student.lower()}@example.com"


def exam(db: psycopg.Connection, capacity: int = 10, day: int = 7) -> str:
    return one(db, "SELECT tests.make_exam(p_capacity := %s,"
                   " p_exam_date := hubspot_sync.business_today() + %s)", (capacity, day))


def scenario(db: psycopg.Connection) -> SimpleNamespace:
    """S0 booked on E (key K), waiting on a full exam W and offered a seat on exam O; S1 and a
    filler student; E2 another open exam on another day."""
    s = SimpleNamespace(key=f"wa-{uuid.uuid4()}")
    s.s0, s.s1, filler, second = (one(db, "SELECT tests.make_student(p_sj := 5)") for _ in "abcd")
    s.e, s.e2, s.w, s.o = exam(db, day=7), exam(db, day=8), exam(db, 1, day=9), exam(db, 1, day=10)
    made = rpc(db, "create_booking", p_student_id=s.s0, p_email=email(s.s0), p_mock_exam_id=s.e,
               p_idempotency_key=s.key, p_attending_location="mississauga")
    s.booking, s.uuid = made["booking_id"], made["id"]
    for student, full in ((filler, s.w), (second, s.o)):
        rpc(db, "create_booking", p_student_id=student, p_email=email(student),
            p_mock_exam_id=full, p_idempotency_key=f"wa-{uuid.uuid4()}",
            p_attending_location="mississauga")
    for full in (s.w, s.o):
        rpc(db, "join_waitlist", p_student_id=s.s0, p_email=email(s.s0), p_mock_exam_id=full,
            p_attending_location="mississauga")
    seat = one(db, "SELECT booking_id FROM hubspot_sync.hubspot_bookings"
                   " WHERE associated_mock_exam = %s AND is_active = 'Active'", (s.o,))
    rpc(db, "cancel_booking", p_booking_id=seat)  # O's seat is offered to S0
    return s


def balance(db: psycopg.Connection, student: str) -> int:
    return one(db, "SELECT sj_credits FROM hubspot_sync.hubspot_contact_credits"
                   " WHERE student_id = %s", (student,))


def legacy_booking(db: psycopg.Connection, s: SimpleNamespace) -> dict[str, Any]:
    """create_booking_atomic's arguments as the original app sends them."""
    return {"p_booking_id": f"Situational Judgment-{s.s0}-{uuid.uuid4()}",
            "p_mock_exam_id": s.e2, "p_student_id": s.s0, "p_student_name": "Ann Example",
            "p_student_email": email(s.s0), "p_attending_location": "Mississauga",
            "p_dominant_hand": "Right", "p_token_used": "Situational Judgment Token",
            "p_credit_field": "sj_credits", "p_idempotency_key": f"wa-{uuid.uuid4()}",
            "p_new_credit_value": balance(db, s.s0) - 1}


@dataclass(frozen=True)
class Case:
    kind: str
    args: Callable[[psycopg.Connection, SimpleNamespace], dict[str, Any]]


def key() -> str:
    return f"wa-{uuid.uuid4()}"


CASES: dict[str, Case] = {
    "accept_offer": Case(STUDENT, lambda db, s: {
        "p_student_id": s.s0, "p_email": email(s.s0), "p_mock_exam_id": s.o}),
    "adjust_credits": Case(ADMIN, lambda db, s: {
        "p_student_id": s.s0, "p_credit_field": "sj_credits", "p_delta": 1,
        "p_reason": "goodwill", "p_actor": "ops"}),
    "admin_create_booking": Case(ADMIN, lambda db, s: {
        "p_student_id": s.s0, "p_email": email(s.s0), "p_mock_exam_id": s.e2,
        "p_idempotency_key": key(), "p_actor": "ops", "p_attending_location": "mississauga"}),
    "business_today": Case(OPEN, lambda db, s: {}),
    "cancel_booking": Case(STUDENT, lambda db, s: {
        "p_booking_id": s.booking, "p_student_id": s.s0}),
    "cancel_booking_atomic": Case(STUDENT, lambda db, s: {
        "p_booking_id": s.uuid, "p_credit_field": None, "p_restored_credit_value": None}),
    "cancel_bookings": Case(ADMIN, lambda db, s: {
        "p_booking_ids": [s.booking], "p_actor": "ops"}),
    "check_idempotency_key": Case(STUDENT, lambda db, s: {"p_idempotency_key": s.key}),
    "complete_past_bookings": Case(ADMIN, lambda db, s: {"p_actor": "ops"}),
    "create_booking": Case(STUDENT, lambda db, s: {
        "p_student_id": s.s0, "p_email": email(s.s0), "p_mock_exam_id": s.e2,
        "p_idempotency_key": key(), "p_attending_location": "mississauga"}),
    "create_booking_atomic": Case(STUDENT, lambda db, s: legacy_booking(db, s)),
    "create_booking_atomic_v1": Case(STUDENT, lambda db, s: legacy_booking(db, s)),
    "credit_rules": Case(OPEN, lambda db, s: {}),
    "get_booking": Case(STUDENT, lambda db, s: {"p_booking_id": s.booking}),
    "get_changed_fields": Case(OPEN, lambda db, s: {
        "old_row": {"a": 1}, "new_row": {"a": 2}}),
    "get_contact_credits": Case(STUDENT, lambda db, s: {
        "p_student_id": s.s0, "p_email": email(s.s0)}),
    "get_credit_summary": Case(STUDENT, lambda db, s: {
        "p_student_id": s.s0, "p_email": email(s.s0)}),
    "increment_exam_bookings": Case(OPEN, lambda db, s: {"p_exam_id": s.e, "p_delta": 0}),
    "join_waitlist": Case(STUDENT, lambda db, s: {
        "p_student_id": s.s0, "p_email": email(s.s0), "p_mock_exam_id": s.w,
        "p_attending_location": "mississauga"}),
    "leave_waitlist": Case(STUDENT, lambda db, s: {"p_student_id": s.s0, "p_mock_exam_id": s.o}),
    "list_available_exams": Case(STUDENT, lambda db, s: {"p_student_id": s.s0}),
    "list_contact_bookings": Case(STUDENT, lambda db, s: {"p_student_id": s.s0}),
    "mark_attendance": Case(ADMIN, lambda db, s: {
        "p_updates": [{"booking_id": s.booking, "attendance": "Yes"}], "p_actor": "ops"}),
    "process_waitlist": Case(ADMIN, lambda db, s: {"p_actor": "ops"}),
    "rebook": Case(STUDENT, lambda db, s: {
        "p_booking_id": s.booking, "p_new_mock_exam_id": s.e2, "p_idempotency_key": key()}),
    "request_refresh": Case(STUDENT, lambda db, s: {"p_student_id": s.s0}),
    "set_booking_rule": Case(ADMIN, lambda db, s: {
        "p_rule": "exam_closed_policy", "p_value": "refund", "p_actor": "ops"}),
    "set_business_timezone": Case(ADMIN, lambda db, s: {
        "p_zone": "America/Toronto", "p_actor": "ops"}),
    "set_realtime_broadcasts": Case(ADMIN, lambda db, s: {"p_enabled": False, "p_actor": "ops"}),
    "set_exam_capacity": Case(ADMIN, lambda db, s: {"p_mock_exam_id": s.e, "p_capacity": 12}),
    "set_exam_prerequisites": Case(ADMIN, lambda db, s: {
        "p_exam_id": s.e2, "p_prerequisite_ids": []}),
    "update_exam_prerequisites": Case(ADMIN, lambda db, s: {
        "p_exam_id": s.e2, "p_add_ids": [], "p_remove_ids": []}),
}

# the parameters that make a function name someone's data (docs/rpc.md, "Who may call what")
PERSONAL = ("student", "email", "booking", "offer", "contact", "idempotency_key")


def catalog(db: psycopg.Connection) -> dict[str, tuple[bool, list[str]]]:
    """{function: (returns a set, its argument names)} of every function of the API schema."""
    rows = db.execute(
        "SELECT p.proname, p.proretset, coalesce(p.proargnames, '{}')"
        " FROM pg_catalog.pg_proc AS p"
        " WHERE p.pronamespace = 'hubspot_sync'::regnamespace AND p.prokind = 'f'").fetchall()
    return {name: (retset, list(args)) for name, retset, args in rows}


def claims_of(student: str) -> dict[str, Any]:
    """A student's session as Supabase signs it and PostgREST passes it on."""
    return {"role": "service_role", "sub": str(uuid.uuid5(uuid.NAMESPACE_DNS, student)),
            "email": email(student)}


ADMIN_CLAIMS = {"role": "service_role", "sub": str(uuid.uuid4()), "email": "dean@example.com",
                "app_metadata": {"role": "admin"}}


def call(db: psycopg.Connection, fn: str, claims: dict[str, Any] | None,
         args: dict[str, Any]) -> Any:
    retset = catalog_cache(db)[fn][0]
    return (rpc_rows if retset else rpc)(db, fn, claims=claims, **args)


_catalog: dict[str, tuple[bool, list[str]]] = {}


def catalog_cache(db: psycopg.Connection) -> dict[str, tuple[bool, list[str]]]:
    if not _catalog:
        _catalog.update(catalog(db))
    return _catalog


def test_every_api_function_says_who_may_call_it(db: psycopg.Connection) -> None:
    """The catalog and CASES name the same functions, and every function that names a student,
    an email, a booking, an offer or a key is a student's or an admin's, never open."""
    functions = catalog_cache(db)
    assert sorted(functions) == sorted(CASES)
    personal = {fn for fn, (_, args) in functions.items()
                if any(word in arg for arg in args for word in PERSONAL)}
    assert {fn for fn in personal if CASES[fn].kind == OPEN} == set()


# the functions whose call above names S0's thing (a booking, a key) and no student: another's
# thing is not there for S1 (test_not_yours.py compares each with a name nobody holds), so S1
# gets the function's answer for nothing found instead of FORBIDDEN
NOT_THERE: dict[str, str | None] = {
    "cancel_booking_atomic": "BOOKING_NOT_FOUND", "rebook": "BOOKING_NOT_FOUND",
    "get_booking": None, "check_idempotency_key": None}


@pytest.mark.parametrize("fn", sorted(CASES))
def test_a_students_jwt_naming_another_student_is_forbidden(db: psycopg.Connection,
                                                            fn: str) -> None:
    s = scenario(db)
    args = CASES[fn].args(db, s)
    before = table_digests(db)
    if CASES[fn].kind == OPEN:  # names nobody: anyone who may call the API
        assert call(db, fn, claims_of(s.s1), args) is not None
        return
    if fn in NOT_THERE and NOT_THERE[fn] is None:
        assert call(db, fn, claims_of(s.s1), args) is None
    else:
        with pytest.raises(RpcError) as refused:
            call(db, fn, claims_of(s.s1), args)
        assert refused.value.code == NOT_THERE.get(fn, "FORBIDDEN"), refused.value
    assert table_digests(db) == before


@pytest.mark.parametrize("fn", sorted(CASES))
def test_a_students_jwt_acts_for_that_student(db: psycopg.Connection, fn: str) -> None:
    s = scenario(db)
    args = CASES[fn].args(db, s)
    if CASES[fn].kind == ADMIN:
        before = table_digests(db)
        with pytest.raises(RpcError) as refused:
            call(db, fn, claims_of(s.s0), args)
        assert refused.value.code == "FORBIDDEN", refused.value
        assert table_digests(db) == before
    else:
        assert call(db, fn, claims_of(s.s0), args) is not None


@pytest.mark.parametrize("caller", ["admin", "service key"])
@pytest.mark.parametrize("fn", sorted(CASES))
def test_an_admin_and_the_service_key_act_for_anyone(db: psycopg.Connection, fn: str,
                                                     caller: str) -> None:
    s = scenario(db)
    claims = ADMIN_CLAIMS if caller == "admin" else None
    assert call(db, fn, claims, CASES[fn].args(db, s)) is not None


@pytest.mark.parametrize("fn", sorted(fn for fn, case in CASES.items() if case.kind == STUDENT))
def test_a_jwt_without_an_email_cannot_act_for_a_student(db: psycopg.Connection,
                                                         fn: str) -> None:
    """A bare `sub` matches no student: every function a student may call refuses it, even
    naming the student it might be, and changes nothing."""
    s = scenario(db)
    args = CASES[fn].args(db, s)
    claims = {"role": "service_role", "sub": str(uuid.uuid4())}
    before = table_digests(db)
    if fn in NOT_THERE and NOT_THERE[fn] is None:  # names a thing: not there, no error
        assert call(db, fn, claims, args) is None
    else:
        with pytest.raises(RpcError) as refused:
            call(db, fn, claims, args)
        assert refused.value.code == NOT_THERE.get(fn, "FORBIDDEN"), refused.value
    assert table_digests(db) == before
