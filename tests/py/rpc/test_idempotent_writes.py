"""Every write RPC can be retried: an optional p_idempotency_key on
cancel_booking, cancel_bookings, mark_attendance, set_exam_capacity, adjust_credits,
update_exam_prerequisites and set_exam_prerequisites (rebook's key, required, now replays its
stored first result too).

The lost-response test, for each of them, through tests/py/postgrest.py (exactly as PostgREST
calls them): the call is made and committed, its answer "lost"; the same call again with the same
key answers exactly the first answer (same JSON, same key order) and writes nothing — no ledger,
audit, outbox, booking or stored-result row; the same key with other arguments is
IDEMPOTENCY_KEY_REUSED and changes nothing either. Then: a key is one key across functions
(a booking's key cannot serve another write, nor the reverse), a failed call stores nothing, a
call without a key is not deduplicated, and two concurrent calls with one key apply once
(real concurrent connections, then the data model invariant checks)."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from invariants import check_invariants, snapshot
from postgrest import RpcError, rpc
from test_concurrency import (
    book,
    connection_budget,
    email,
    make_exams,
    make_students,
    run_concurrently,
    undocumented,
)

# Every table a write can touch: a replay must leave each exactly as it was.
COUNTED = ("credit_ledger", "supabase_audit_log", "sync_queue", "hubspot_bookings",
           "idempotency_results", "waitlist_entries")


def counts(db: psycopg.Connection) -> dict[str, int]:
    return {t: db.execute(f"SELECT count(*) FROM hubspot_sync.{t}").fetchone()[0]
            for t in COUNTED}


def state(db: psycopg.Connection) -> list[Any]:
    """The rows a write changes in place (balances, bookings, exams), to prove a refused call
    changed none of them."""
    return db.execute(
        "SELECT (SELECT jsonb_agg(to_jsonb(c) - 'updated_at' ORDER BY c.id)"
        "        FROM hubspot_sync.hubspot_contact_credits c),"
        "       (SELECT jsonb_agg(to_jsonb(b) - 'updated_at' ORDER BY b.id)"
        "        FROM hubspot_sync.hubspot_bookings b),"
        "       (SELECT jsonb_agg(to_jsonb(e) - 'updated_at' ORDER BY e.id)"
        "        FROM hubspot_sync.hubspot_mock_exams e)").fetchone()


def booked(db: psycopg.Connection, student: str, exam: str) -> dict[str, Any]:
    return book(student, exam)(db)


@dataclass
class Case:
    """One keyed write: `setup` makes its fixtures and returns (arguments, other arguments)."""
    fn: str
    setup: Callable[[psycopg.Connection], tuple[dict[str, Any], dict[str, Any]]]
    effects: dict[str, int]  # what the FIRST call writes (rows per table), checked too


def _cancel_booking(db):
    (exam,) = make_exams(db, 1)
    (student,) = make_students(db, 1, p_sj=2)
    code = booked(db, student, exam)["booking_id"]
    args = {"p_booking_id": code, "p_actor": "admin@school.ca", "p_reason": "ill"}
    return args, args | {"p_refund": False}


def _cancel_bookings(db):
    (exam,) = make_exams(db, 1)
    students = make_students(db, 2, p_sj=2)
    codes = [booked(db, s, exam)["booking_id"] for s in students]
    args = {"p_booking_ids": [*codes, "BK-NOPE"], "p_actor": "admin@school.ca"}
    return args, args | {"p_booking_ids": codes[:1]}


def _mark_attendance(db):
    (exam,) = make_exams(db, 1)
    (student,) = make_students(db, 1, p_sj=2)
    code = booked(db, student, exam)["booking_id"]
    args = {"p_updates": [{"booking_id": code, "attendance": "Yes"}], "p_actor": "admin"}
    return args, args | {"p_updates": [{"booking_id": code, "attendance": "No"}]}


def _set_exam_capacity(db):
    (exam,) = make_exams(db, 1, capacity=10)
    return {"p_mock_exam_id": exam, "p_capacity": 12}, {"p_mock_exam_id": exam, "p_capacity": 13}


def _adjust_credits(db):
    (student,) = make_students(db, 1, p_sj=1)
    args = {"p_student_id": student, "p_credit_field": "sj_credits", "p_delta": 3,
            "p_reason": "goodwill", "p_actor": "admin@school.ca"}
    return args, args | {"p_delta": 4}


def _update_exam_prerequisites(db):
    exam, first, second = make_exams(db, 3)
    args = {"p_exam_id": exam, "p_add_ids": [first], "p_remove_ids": []}
    return args, args | {"p_add_ids": [second]}


def _set_exam_prerequisites(db):
    exam, first, second = make_exams(db, 3)
    return ({"p_exam_id": exam, "p_prerequisite_ids": [first]},
            {"p_exam_id": exam, "p_prerequisite_ids": [first, second]})


def _rebook(db):
    old, new, other = make_exams(db, 3, first_day=40, step=0)  # same day: a move, not a 2nd booking
    (student,) = make_students(db, 1, p_sj=2)
    code = booked(db, student, old)["booking_id"]
    args = {"p_booking_id": code, "p_new_mock_exam_id": new, "p_actor": "admin"}
    return args, args | {"p_new_mock_exam_id": other}


# rows the first call writes: ledger, audit (bookings + contacts + exams), outbox, stored result
CASES = [
    Case("cancel_booking", _cancel_booking,
         {"credit_ledger": 1, "hubspot_bookings": 0, "idempotency_results": 1}),
    Case("cancel_bookings", _cancel_bookings,
         {"credit_ledger": 2, "hubspot_bookings": 0, "idempotency_results": 1}),
    Case("mark_attendance", _mark_attendance,
         {"credit_ledger": 0, "hubspot_bookings": 0, "idempotency_results": 1}),
    Case("set_exam_capacity", _set_exam_capacity,
         {"credit_ledger": 0, "supabase_audit_log": 1, "sync_queue": 1,
          "idempotency_results": 1}),
    Case("adjust_credits", _adjust_credits,
         {"credit_ledger": 1, "supabase_audit_log": 1, "sync_queue": 1,
          "idempotency_results": 1}),
    Case("update_exam_prerequisites", _update_exam_prerequisites,
         {"credit_ledger": 0, "supabase_audit_log": 1, "sync_queue": 1,
          "idempotency_results": 1}),
    Case("set_exam_prerequisites", _set_exam_prerequisites,
         {"credit_ledger": 0, "supabase_audit_log": 1, "sync_queue": 1,
          "idempotency_results": 1}),
    Case("rebook", _rebook, {"credit_ledger": 2, "hubspot_bookings": 1,
                             "idempotency_results": 1}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.fn for c in CASES])
def test_lost_response_replays_the_first_answer_and_writes_nothing(
        db: psycopg.Connection, case: Case) -> None:
    args, other_args = case.setup(db)
    key = f"lost-{case.fn}-{uuid.uuid4()}"
    before = counts(db)

    first = rpc(db, case.fn, p_idempotency_key=key, **args)  # committed; the answer is "lost"
    after_first = counts(db)
    written = {t: after_first[t] - before[t] for t in COUNTED}
    assert {t: written[t] for t in case.effects} == case.effects, written
    settled = state(db)

    again = rpc(db, case.fn, p_idempotency_key=key, **args)
    if case.fn == "rebook":  # a booking's replay says so, the rest is the first answer
        assert again.pop("idempotent_replay") is True and first.pop("idempotent_replay") is False
    assert json.dumps(again) == json.dumps(first)  # same values, same key order
    assert counts(db) == after_first
    assert state(db) == settled

    with pytest.raises(RpcError) as refused:
        rpc(db, case.fn, p_idempotency_key=key, **other_args)
    assert (refused.value.code, refused.value.sqlstate) == ("IDEMPOTENCY_KEY_REUSED", "PT422")
    assert counts(db) == after_first
    assert state(db) == settled


def test_every_optional_key_has_a_lost_response_case(db: psycopg.Connection) -> None:
    """The cases above are every function of hubspot_sync whose p_idempotency_key is optional
    (has a default), plus rebook (its key stays required, the RPC contract): a write RPC that
    gains a
    key without a lost-response case here fails."""
    optional = {name for (name,) in db.execute(
        "SELECT p.proname FROM pg_proc AS p"
        " CROSS JOIN LATERAL unnest(p.proargnames[1:p.pronargs]) WITH ORDINALITY AS a (arg, n)"
        " WHERE p.pronamespace = 'hubspot_sync'::regnamespace AND a.arg = 'p_idempotency_key'"
        "   AND a.n > p.pronargs - p.pronargdefaults").fetchall()}
    assert "adjust_credits" in optional and "create_booking" not in optional
    assert sorted(optional ^ ({c.fn for c in CASES} - {"rebook"})) == []


def test_the_stored_result_is_the_answer_byte_for_byte(db: psycopg.Connection) -> None:
    """The replay is the stored jsonb itself: its text is the first answer's text."""
    (student,) = make_students(db, 1, p_cs=1)
    key = f"bytes-{uuid.uuid4()}"
    call = ("SELECT hubspot_sync.adjust_credits(p_student_id := %s,"
            " p_credit_field := 'cs_credits', p_delta := -1, p_reason := 'typo',"
            " p_actor := 'admin', p_idempotency_key := %s)::text")
    first = db.execute(call, (student, key)).fetchone()[0]
    again = db.execute(call, (student, key)).fetchone()[0]
    stored = db.execute("SELECT result::text FROM hubspot_sync.idempotency_results"
                        " WHERE idempotency_key = %s", (key,)).fetchone()[0]
    assert first == again == stored
    assert json.loads(first)["balance"] == 0


def test_one_key_is_one_key_across_functions(db: psycopg.Connection) -> None:
    exam, later = make_exams(db, 2, first_day=20)
    (student,) = make_students(db, 1, p_sj=3)
    booking_key = f"shared-{uuid.uuid4()}"
    made = book(student, exam, booking_key)(db)
    before = counts(db)
    # a booking's key cannot serve another write ...
    with pytest.raises(RpcError) as refused:
        rpc(db, "cancel_booking", p_booking_id=made["booking_id"],
            p_idempotency_key=booking_key)
    assert refused.value.code == "IDEMPOTENCY_KEY_REUSED"
    # ... nor another write's key a booking, nor one write's key another write
    credit_key = f"shared-{uuid.uuid4()}"
    rpc(db, "adjust_credits", p_student_id=student, p_credit_field="sj_credits", p_delta=1,
        p_reason="r", p_actor="a", p_idempotency_key=credit_key)
    after = counts(db)
    for call in (book(student, later, credit_key),
                 lambda c: rpc(c, "set_exam_capacity", p_mock_exam_id=exam, p_capacity=11,
                               p_idempotency_key=credit_key)):
        with pytest.raises(RpcError) as refused:
            call(db)
        assert refused.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert counts(db) == after
    assert after["credit_ledger"] == before["credit_ledger"] + 1


def test_a_failed_call_stores_nothing_and_its_retry_applies(db: psycopg.Connection) -> None:
    (student,) = make_students(db, 1, p_sj=0)
    key = f"retry-{uuid.uuid4()}"
    take = {"p_student_id": student, "p_credit_field": "sj_credits", "p_delta": -2,
            "p_reason": "correction", "p_actor": "admin", "p_idempotency_key": key}
    with pytest.raises(RpcError) as refused:
        rpc(db, "adjust_credits", **take)
    assert refused.value.code == "INSUFFICIENT_CREDITS"
    assert db.execute("SELECT count(*) FROM hubspot_sync.idempotency_results"
                      " WHERE idempotency_key = %s", (key,)).fetchone()[0] == 0
    rpc(db, "adjust_credits", p_student_id=student, p_credit_field="sj_credits", p_delta=5,
        p_reason="top-up", p_actor="admin")
    assert rpc(db, "adjust_credits", **take)["balance"] == 3  # the same key, tried again


def test_without_a_key_every_call_applies(db: psycopg.Connection) -> None:
    (student,) = make_students(db, 1, p_md=0)
    give = {"p_student_id": student, "p_credit_field": "mock_discussion_token", "p_delta": 1,
            "p_reason": "r", "p_actor": "a"}
    assert [rpc(db, "adjust_credits", **give)["balance"] for _ in range(2)] == [1, 2]


@pytest.mark.parametrize("bad", ["", "k" * 256])
def test_a_key_must_be_1_to_255_characters(db: psycopg.Connection, bad: str) -> None:
    (exam,) = make_exams(db, 1)
    with pytest.raises(RpcError) as refused:
        rpc(db, "set_exam_capacity", p_mock_exam_id=exam, p_capacity=3, p_idempotency_key=bad)
    assert refused.value.code == "INVALID_ARGUMENT"


def test_concurrent_calls_with_one_key_apply_once(db: psycopg.Connection,
                                                  database_url: str) -> None:
    """40 connections send the same adjust_credits, and 40 the same cancel_booking, each with
    one key, all at once: one ledger row each, every caller gets the same answer (never
    ALREADY_CANCELLED, never a raw error), and the invariants hold."""
    (exam,) = make_exams(db, 1)
    credit_student, booking_student = make_students(db, 2, p_sj=2)
    code = booked(db, booking_student, exam)["booking_id"]
    snap = snapshot(db)
    credit_key, cancel_key = f"race-{uuid.uuid4()}", f"race-{uuid.uuid4()}"

    def adjust(conn: psycopg.Connection) -> Any:
        return rpc(conn, "adjust_credits", p_student_id=credit_student,
                   p_credit_field="sj_credits", p_delta=-1, p_reason="race", p_actor="admin",
                   p_idempotency_key=credit_key)

    def cancel(conn: psycopg.Connection) -> Any:
        return rpc(conn, "cancel_booking", p_booking_id=code, p_actor="admin",
                   p_idempotency_key=cancel_key)

    outcomes = run_concurrently(database_url, [adjust, cancel] * 40, connection_budget(db, 40))

    assert undocumented(outcomes) == []
    assert [o.error for o in outcomes if o.error is not None] == []
    adjusted = {json.dumps(o.value) for o in outcomes[0::2]}
    cancelled = {json.dumps(o.value) for o in outcomes[1::2]}
    assert len(adjusted) == 1 and json.loads(adjusted.pop())["balance"] == 1
    assert len(cancelled) == 1 and json.loads(cancelled.pop())["credits_restored"] == 1
    ledger = Counter(r[0] for r in db.execute(
        "SELECT reason FROM hubspot_sync.credit_ledger WHERE student_id = ANY(%s)"
        " AND id > %s", ([credit_student, booking_student], snap.max_ledger_id)))
    assert ledger == Counter({"admin_adjustment": 1, "cancellation": 1})
    check_invariants(db, snap)


def test_concurrent_calls_with_one_key_and_other_arguments(db: psycopg.Connection,
                                                           database_url: str) -> None:
    """One key, two different requests racing: exactly one applies; every other call is either
    the winner's replay or IDEMPOTENCY_KEY_REUSED."""
    (student,) = make_students(db, 1, p_cs=0)
    snap = snapshot(db)
    key = f"race-{uuid.uuid4()}"

    def adjust(delta: int) -> Callable[[psycopg.Connection], Any]:
        return lambda conn: rpc(conn, "adjust_credits", p_student_id=student,
                                p_credit_field="cs_credits", p_delta=delta, p_reason="race",
                                p_actor="admin", p_idempotency_key=key)

    outcomes = run_concurrently(database_url, [adjust(1), adjust(2)] * 20,
                                connection_budget(db, 40))

    assert undocumented(outcomes) == []
    assert {o.code for o in outcomes if o.error is not None} <= {"IDEMPOTENCY_KEY_REUSED"}
    answers = {json.dumps(o.value) for o in outcomes if o.error is None}
    assert len(answers) == 1
    delta = json.loads(answers.pop())["delta"]
    assert db.execute("SELECT cs_credits FROM hubspot_sync.hubspot_contact_credits"
                      " WHERE student_id = %s", (student,)).fetchone()[0] == delta
    check_invariants(db, snap)


# ---- who acted -----------------------------------------------------------------
ADMIN = {"sub": "5b0d4d0e-0000-4000-8000-000000000001", "email": "boss@school.ca",
         "app_metadata": {"role": "admin"}}


def actors(db: psycopg.Connection, student: str) -> tuple[list[str], list[str]]:
    """The ledger actors and the audit performed_by of one student's contact and bookings."""
    ledger = [r[0] for r in db.execute(
        "SELECT actor FROM hubspot_sync.credit_ledger WHERE student_id = %s ORDER BY id",
        (student,))]
    audit = [r[0] for r in db.execute(
        "SELECT a.performed_by FROM hubspot_sync.supabase_audit_log a"
        " WHERE a.record_id IN (SELECT id FROM hubspot_sync.hubspot_contact_credits"
        "                       WHERE student_id = %(s)s"
        "                       UNION ALL SELECT id FROM hubspot_sync.hubspot_bookings"
        "                       WHERE student_id = %(s)s) ORDER BY a.id", {"s": student})]
    return ledger, audit


def test_the_jwt_user_is_the_actor_whatever_p_actor_says(db: psycopg.Connection) -> None:
    (student,) = make_students(db, 1, p_sj=1)
    first_audit = len(actors(db, student)[1])
    rpc(db, "adjust_credits", claims=ADMIN, p_student_id=student, p_credit_field="sj_credits",
        p_delta=2, p_reason="goodwill", p_actor="someone-else")
    ledger, audit = actors(db, student)
    assert ledger == ["admin:boss@school.ca"]
    assert audit[first_audit:] == ["admin:boss@school.ca"]


def test_a_student_jwt_names_the_student_everywhere(db: psycopg.Connection) -> None:
    (exam,) = make_exams(db, 1)
    (student,) = make_students(db, 1, p_sj=1)
    claims = {"sub": "5b0d4d0e-0000-4000-8000-000000000002", "email": email(student)}
    made = rpc(db, "create_booking", claims=claims, p_student_id=student,
               p_email=email(student), p_mock_exam_id=exam,
               p_idempotency_key=str(uuid.uuid4()), p_attending_location="mississauga")
    rpc(db, "cancel_booking", claims=claims, p_booking_id=made["booking_id"],
        p_student_id=student, p_actor="forged")
    who = f"user:{email(student)}"
    ledger, audit = actors(db, student)
    assert ledger == [who, who]  # the booking's credit, then the refund
    assert audit and set(audit[-3:]) == {who}  # booking insert, balance back, cancellation
    assert db.execute("SELECT token_refund_admin FROM hubspot_sync.hubspot_bookings"
                      " WHERE booking_id = %s", (made["booking_id"],)).fetchone()[0] == who


def test_a_jwt_with_only_a_sub_and_user_role_claim(db: psycopg.Connection) -> None:
    (student,) = make_students(db, 1, p_shared=1)
    rpc(db, "adjust_credits", claims={"sub": "u-42", "user_role": "admin"},
        p_student_id=student, p_credit_field="shared_mock_credits", p_delta=1, p_reason="r",
        p_actor=None)  # p_actor may be left NULL when the JWT names the user
    # a JWT naming a user who is not an admin has no admin powers: refused, nothing written
    with pytest.raises(RpcError) as refused:
        rpc(db, "adjust_credits", sub="u-43", p_student_id=student,
            p_credit_field="shared_mock_credits", p_delta=1, p_reason="r", p_actor="ignored")
    assert refused.value.code == "FORBIDDEN"
    assert actors(db, student)[0] == ["admin:u-42"]


def test_the_original_admin_apps_super_admin_is_an_admin(db: psycopg.Connection) -> None:
    """The original admin app's tokens carry the custom access token hook's claims (user_role,
    permissions, role_assigned_at); its admins are 'super_admin' or 'admin', everyone else
    'viewer'. A super_admin's write is recorded as an admin's, in the ledger and the audit."""
    (student,) = make_students(db, 1, p_sj=1)
    first_audit = len(actors(db, student)[1])
    hook = {"sub": "5b0d4d0e-0000-4000-8000-000000000003", "email": "head@school.ca",
            "permissions": ["bookings.create", "exams.delete"],
            "role_assigned_at": "2025-11-20T12:00:00Z"}
    rpc(db, "adjust_credits", claims=hook | {"user_role": "super_admin"}, p_student_id=student,
        p_credit_field="sj_credits", p_delta=1, p_reason="goodwill", p_actor=None)
    # a viewer is not an admin: the admin power is refused and nothing is written
    with pytest.raises(RpcError) as refused:
        rpc(db, "adjust_credits", claims=hook | {"email": "v@school.ca", "user_role": "viewer"},
            p_student_id=student, p_credit_field="sj_credits", p_delta=1, p_reason="r",
            p_actor=None)
    assert refused.value.code == "FORBIDDEN"
    ledger, audit = actors(db, student)
    assert ledger == ["admin:head@school.ca"]
    assert audit[first_audit:] == ["admin:head@school.ca"]


def test_server_jobs_without_a_jwt_user_keep_p_actor(db: psycopg.Connection) -> None:
    """The service-role key's claims name no user: p_actor is the actor (and is required)."""
    (student,) = make_students(db, 1, p_sj=1)
    rpc(db, "adjust_credits", p_student_id=student, p_credit_field="sj_credits", p_delta=1,
        p_reason="r", p_actor="mockbook:job")
    assert actors(db, student)[0] == ["mockbook:job"]
    with pytest.raises(RpcError) as refused:
        rpc(db, "adjust_credits", p_student_id=student, p_credit_field="sj_credits", p_delta=1,
            p_reason="r", p_actor=None)
    assert refused.value.code == "INVALID_ARGUMENT"


def test_another_user_cannot_replay_a_users_key(db: psycopg.Connection) -> None:
    """The actor is part of a keyed call's fingerprint: the same key and arguments from another
    JWT user is IDEMPOTENCY_KEY_REUSED, not that user's stored answer."""
    (exam,) = make_exams(db, 1)
    key = f"jwt-{uuid.uuid4()}"
    rpc(db, "set_exam_capacity", claims=ADMIN, p_mock_exam_id=exam, p_capacity=5,
        p_idempotency_key=key)
    with pytest.raises(RpcError) as refused:
        rpc(db, "set_exam_capacity", claims=ADMIN | {"email": "other@school.ca"},
            p_mock_exam_id=exam, p_capacity=5, p_idempotency_key=key)
    assert refused.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert rpc(db, "set_exam_capacity", claims=ADMIN, p_mock_exam_id=exam, p_capacity=5,
               p_idempotency_key=key)["capacity"] == 5
    audit = [r[0] for r in db.execute(
        "SELECT performed_by FROM hubspot_sync.supabase_audit_log WHERE record_hubspot_id = %s"
        " AND table_name = 'hubspot_mock_exams' ORDER BY id DESC LIMIT 1", (exam,))]
    assert audit == ["admin:boss@school.ca"]


@pytest.mark.parametrize("fn", ["rebook", "cancel_booking"])
def test_a_call_without_an_actor_is_not_credited_to_an_earlier_calls(
        db: psycopg.Connection, fn: str) -> None:
    """A server job's transaction may make several calls: one that names no actor (the service
    key, no p_actor) writes its audit rows as the role's, never as the actor an earlier call of
    the same transaction set."""
    exam, other = make_exams(db, 2)
    (student,) = make_students(db, 1, p_sj=2)
    code = booked(db, student, exam)["booking_id"]
    first_audit = len(actors(db, student)[1])
    with db.transaction():
        db.execute("SELECT set_config('mockbook.actor', 'earlier-job', true)")
        if fn == "rebook":
            db.execute("SELECT hubspot_sync.rebook(%s, %s, %s)",
                       (code, other, f"actor-{uuid.uuid4()}"))
        else:
            db.execute("SELECT hubspot_sync.cancel_booking(p_booking_id := %s)", (code,))
    written = actors(db, student)[1][first_audit:]
    assert written, "the call wrote audit rows"
    assert "earlier-job" not in written
