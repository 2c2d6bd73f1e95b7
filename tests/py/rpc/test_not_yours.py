"""Not yours = not there: a student's JWT naming another student's booking, key, code or contact
learns nothing a name nobody holds would not tell (docs/rpc.md, "Who may call what").

Every argument of the API that names a thing (a booking, an idempotency key, a booking code, an
offer, a contact by id), enumerated from the catalog, is listed in ARGUMENTS with how it is
called; a new one fails test_every_naming_argument_is_listed until it is. Three kinds:

- a reference (the thing must exist: a booking to cancel, a key to look up): S1 naming S0's
  thing gets exactly the answer S1 naming nothing gets (the same error and detail, or the same
  NULL), and nothing changes;
- a new name (a key or code the caller chooses for a new call or booking; the key space is
  shared, so a name in use cannot be "nothing"): S1 naming S0's gets the answer S1 naming one of
  their own in use gets, and the answer names nothing of S0's (no booking, student or email);
- an admin's argument: a student's JWT is refused the same way whatever it names.

Not there in time either: for a reference and an admin's argument, the call naming S0's thing
does the same work as the call naming nothing, compared by the server's own counts of the call's
work, never by the clock.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from invariants import table_digests
from postgrest import RpcError, _typed_query, rpc, rpc_rows

from glue.db.postgrest import REQUEST_SETTINGS, request_params

# an argument that names a thing: a booking, a key, a code, an offer, or a row by its id
NAMING = re.compile(r"key|booking|offer|code|^p_id$|^p_hubspot_id$")
REFERENCE, NEW_NAME, ADMIN = "reference", "new name", "admin"


def one(db: psycopg.Connection, query: str, params: Any = ()) -> Any:
    return db.execute(query, params).fetchone()[0]


def email(student: str) -> str:
    return f"{student.lower()}@example.com"


def claims_of(student: str) -> dict[str, Any]:
    return {"role": "service_role", "sub": str(uuid.uuid5(uuid.NAMESPACE_DNS, student)),
            "email": email(student)}


def exam(db: psycopg.Connection, day: int) -> str:
    return one(db, "SELECT tests.make_exam(p_exam_date := hubspot_sync.business_today() + %s)",
               (day,))


def booked(db: psycopg.Connection, student: str, exam_id: str) -> SimpleNamespace:
    key = f"ny-{uuid.uuid4()}"
    made = rpc(db, "create_booking", p_student_id=student, p_email=email(student),
               p_mock_exam_id=exam_id, p_idempotency_key=key, p_attending_location="mississauga")
    hubspot_id = str(one(db, "SELECT 900000000 + nextval('tests.ids')"))
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET hubspot_id = %s WHERE id = %s",
               (hubspot_id, made["id"]))
    return SimpleNamespace(key=key, code=made["booking_id"], uuid=made["id"],
                           hubspot_id=hubspot_id, exam=exam_id)


def student_things(db: psycopg.Connection, student: str, first_day: int) -> SimpleNamespace:
    """A student's booking (kept), a keyed cancellation of a second one, and their contact."""
    kept = booked(db, student, exam(db, first_day))
    cancelled = booked(db, student, exam(db, first_day + 1))
    call_key = f"ny-call-{uuid.uuid4()}"
    rpc(db, "cancel_booking", p_booking_id=cancelled.code, p_student_id=student,
        p_idempotency_key=call_key, claims=claims_of(student))
    contact_id, contact_hubspot_id = db.execute(
        "SELECT id::text, hubspot_id FROM hubspot_sync.hubspot_contact_credits"
        " WHERE student_id = %s", (student,)).fetchone()
    return SimpleNamespace(student=student, booking=kept, call_key=call_key,
                           contact_id=contact_id, contact_hubspot_id=contact_hubspot_id)


def scenario(db: psycopg.Connection) -> SimpleNamespace:
    s0, s1 = (one(db, "SELECT tests.make_student(p_sj := 9)") for _ in "ab")
    return SimpleNamespace(theirs=student_things(db, s0, 10), mine=student_things(db, s1, 20),
                           target=exam(db, 30), s1=s1)


def nothing() -> SimpleNamespace:
    """Names nobody holds, of the shapes the others have."""
    return SimpleNamespace(
        student=None, call_key=f"ny-none-{uuid.uuid4()}", contact_id=str(uuid.uuid4()),
        contact_hubspot_id="899999999",
        booking=SimpleNamespace(key=f"ny-none-{uuid.uuid4()}", code="BK-20991231-NOSUCH",
                                uuid=str(uuid.uuid4()), hubspot_id="899999998"))


@dataclass(frozen=True)
class Arg:
    kind: str
    # the value named: of S0's things, of S1's own, or of nothing(); then the call's arguments
    value: Callable[[SimpleNamespace], str]
    args: Callable[[SimpleNamespace, str], dict[str, Any]]


def legacy(s: SimpleNamespace, code: str | None = None, key: str | None = None
           ) -> dict[str, Any]:
    return {"p_booking_id": code or f"Situational Judgment-{s.s1}-{uuid.uuid4().hex[:6]}",
            "p_student_id": s.s1, "p_student_email": email(s.s1), "p_mock_exam_id": s.target,
            "p_student_name": "Ann Example", "p_token_used": None,
            "p_attending_location": "Mississauga", "p_dominant_hand": "Right",
            "p_idempotency_key": key or f"ny-{uuid.uuid4()}", "p_credit_field": "sj_credits",
            "p_new_credit_value": 8}


def booking_of(x: SimpleNamespace) -> SimpleNamespace:
    return x.booking


ARGUMENTS: dict[tuple[str, str], Arg] = {
    ("cancel_booking", "p_booking_id"): Arg(
        REFERENCE, lambda x: booking_of(x).code,
        lambda s, v: {"p_booking_id": v, "p_student_id": s.s1}),
    ("cancel_booking", "p_idempotency_key"): Arg(
        NEW_NAME, lambda x: x.call_key,
        lambda s, v: {"p_booking_id": s.mine.booking.code, "p_student_id": s.s1,
                      "p_idempotency_key": v}),
    ("cancel_booking_atomic", "p_booking_id"): Arg(
        REFERENCE, lambda x: booking_of(x).uuid,
        lambda s, v: {"p_booking_id": v, "p_credit_field": None,
                      "p_restored_credit_value": None}),
    ("check_idempotency_key", "p_idempotency_key"): Arg(
        REFERENCE, lambda x: booking_of(x).key, lambda s, v: {"p_idempotency_key": v}),
    ("get_booking", "p_id"): Arg(REFERENCE, lambda x: booking_of(x).uuid,
                                 lambda s, v: {"p_id": v}),
    ("get_booking", "p_hubspot_id"): Arg(REFERENCE, lambda x: booking_of(x).hubspot_id,
                                         lambda s, v: {"p_hubspot_id": v}),
    ("get_booking", "p_booking_id"): Arg(REFERENCE, lambda x: booking_of(x).code,
                                         lambda s, v: {"p_booking_id": v}),
    ("get_contact_credits", "p_id"): Arg(REFERENCE, lambda x: x.contact_id,
                                         lambda s, v: {"p_id": v}),
    ("get_contact_credits", "p_hubspot_id"): Arg(REFERENCE, lambda x: x.contact_hubspot_id,
                                                 lambda s, v: {"p_hubspot_id": v}),
    ("request_refresh", "p_booking_id"): Arg(
        REFERENCE, lambda x: booking_of(x).code, lambda s, v: {"p_booking_id": v}),
    ("rebook", "p_booking_id"): Arg(
        REFERENCE, lambda x: booking_of(x).code,
        lambda s, v: {"p_booking_id": v, "p_new_mock_exam_id": s.target,
                      "p_idempotency_key": f"ny-{uuid.uuid4()}"}),
    ("rebook", "p_idempotency_key"): Arg(
        NEW_NAME, lambda x: booking_of(x).key,
        lambda s, v: {"p_booking_id": s.mine.booking.code, "p_new_mock_exam_id": s.target,
                      "p_idempotency_key": v}),
    ("create_booking", "p_idempotency_key"): Arg(
        NEW_NAME, lambda x: booking_of(x).key,
        lambda s, v: {"p_student_id": s.s1, "p_email": email(s.s1), "p_mock_exam_id": s.target,
                      "p_idempotency_key": v, "p_attending_location": "mississauga"}),
    ("create_booking", "p_booking_id"): Arg(
        NEW_NAME, lambda x: booking_of(x).code,
        lambda s, v: {"p_student_id": s.s1, "p_email": email(s.s1), "p_mock_exam_id": s.target,
                      "p_idempotency_key": f"ny-{uuid.uuid4()}",
                      "p_attending_location": "mississauga", "p_booking_id": v}),
    **{(fn, "p_idempotency_key"): Arg(NEW_NAME, lambda x: booking_of(x).key,
                                      lambda s, v, fn=fn: _legacy_args(fn, s, key=v))
       for fn in ("create_booking_atomic", "create_booking_atomic_v1")},
    **{(fn, "p_booking_id"): Arg(NEW_NAME, lambda x: booking_of(x).code,
                                 lambda s, v, fn=fn: _legacy_args(fn, s, code=v))
       for fn in ("create_booking_atomic", "create_booking_atomic_v1")},
    # admin powers: refused to a student's JWT before anything is looked up
    ("admin_create_booking", "p_idempotency_key"): Arg(
        ADMIN, lambda x: booking_of(x).key,
        lambda s, v: {"p_student_id": s.s1, "p_email": email(s.s1), "p_mock_exam_id": s.target,
                      "p_idempotency_key": v, "p_actor": "ops",
                      "p_attending_location": "mississauga"}),
    ("cancel_bookings", "p_booking_ids"): Arg(
        ADMIN, lambda x: booking_of(x).code, lambda s, v: {"p_booking_ids": [v]}),
    ("cancel_bookings", "p_idempotency_key"): Arg(
        ADMIN, lambda x: x.call_key,
        lambda s, v: {"p_booking_ids": [s.mine.booking.code], "p_idempotency_key": v}),
    ("mark_attendance", "p_idempotency_key"): Arg(
        ADMIN, lambda x: x.call_key,
        lambda s, v: {"p_updates": [{"booking_id": s.mine.booking.code, "attendance": "Yes"}],
                      "p_idempotency_key": v}),
    ("adjust_credits", "p_idempotency_key"): Arg(
        ADMIN, lambda x: x.call_key,
        lambda s, v: {"p_student_id": s.s1, "p_credit_field": "sj_credits", "p_delta": 1,
                      "p_reason": "r", "p_actor": "ops", "p_idempotency_key": v}),
    ("set_exam_capacity", "p_idempotency_key"): Arg(
        ADMIN, lambda x: x.call_key,
        lambda s, v: {"p_mock_exam_id": s.target, "p_capacity": 20, "p_idempotency_key": v}),
    ("set_exam_prerequisites", "p_idempotency_key"): Arg(
        ADMIN, lambda x: x.call_key,
        lambda s, v: {"p_exam_id": s.target, "p_prerequisite_ids": [],
                      "p_idempotency_key": v}),
    ("update_exam_prerequisites", "p_idempotency_key"): Arg(
        ADMIN, lambda x: x.call_key,
        lambda s, v: {"p_exam_id": s.target, "p_add_ids": [], "p_remove_ids": [],
                      "p_idempotency_key": v}),
}


def _legacy_args(fn: str, s: SimpleNamespace, *, code: str | None = None,
                 key: str | None = None) -> dict[str, Any]:
    args = legacy(s, code=code, key=key)
    return args if fn == "create_booking_atomic" else {
        k: v for k, v in args.items() if k != "p_mock_set"}


def catalog(db: psycopg.Connection) -> dict[str, tuple[bool, list[str]]]:
    rows = db.execute(
        "SELECT p.proname, p.proretset, coalesce(p.proargnames[1:p.pronargs], '{}')"
        " FROM pg_catalog.pg_proc AS p"
        " WHERE p.pronamespace = 'hubspot_sync'::regnamespace AND p.prokind = 'f'").fetchall()
    return {name: (retset, list(args)) for name, retset, args in rows}


def test_every_naming_argument_is_listed(db: psycopg.Connection) -> None:
    named = {(fn, arg) for fn, (_, args) in catalog(db).items() for arg in args
             if NAMING.search(arg)}
    assert named == set(ARGUMENTS)


def answer(db: psycopg.Connection, retset: bool, fn: str, args: dict[str, Any],
           named: str) -> tuple[Any, ...]:
    """What S1 is told: ('error', code, detail) or ('value', result), the name named replaced
    by a placeholder."""
    claims = args.pop("__claims")
    try:
        result = (rpc_rows if retset else rpc)(db, fn, claims=claims, **args)
    except RpcError as refused:
        return ("error", refused.code, (refused.detail or "").replace(named, "<name>"),
                refused.hint)
    return ("value", result)


def identifiers(x: SimpleNamespace, named: str) -> list[str]:
    """What names S0 or S0's things, but for the name S1 gave."""
    return [i for i in (x.student, email(x.student), x.booking.uuid, x.booking.hubspot_id,
                        x.booking.code, x.contact_id, x.contact_hubspot_id) if i != named]


@pytest.mark.parametrize(("fn", "arg"), sorted(ARGUMENTS), ids=lambda v: v)
def test_a_students_jwt_learns_nothing_of_another_students_things(
        db: psycopg.Connection, fn: str, arg: str) -> None:
    s = scenario(db)
    spec = ARGUMENTS[(fn, arg)]
    retset = catalog(db)[fn][0]
    claims = claims_of(s.s1)

    def told(x: SimpleNamespace, target: str) -> tuple[Any, ...]:
        s.target = target  # each call books (or is refused) on an exam and day of its own
        value = spec.value(x)
        return answer(db, retset, fn, {**spec.args(s, value), "__claims": claims}, value)

    target = exam(db, 40)
    before = table_digests(db)
    theirs = told(s.theirs, target)
    if spec.kind != NEW_NAME or theirs[0] == "error":
        assert table_digests(db) == before, (fn, arg, theirs)
    if spec.kind == NEW_NAME:
        # the same answer as a name of S1's own in use, naming nothing of S0's
        mine = told(s.mine, exam(db, 41))
        # the same refusal, or both made (a legacy code in use is stored as <code>-R<n>)
        assert (theirs[:2] if theirs[0] == "error" else sorted(theirs[1])) == (
            mine[:2] if mine[0] == "error" else sorted(mine[1])), (fn, arg, theirs, mine)
        said = repr(theirs)
        assert not [i for i in identifiers(s.theirs, spec.value(s.theirs))
                    if re.search(rf"\b{re.escape(i)}\b", said)], (fn, arg, theirs)
    else:
        assert theirs == told(nothing(), exam(db, 41)), (fn, arg, theirs)
    if spec.kind == ADMIN:
        assert theirs[:2] == ("error", "FORBIDDEN"), (fn, arg, theirs)


def test_a_reference_to_ones_own_thing_is_answered(db: psycopg.Connection) -> None:
    """The filter is ownership, not a blanket NULL: S1 reads and looks up S1's own."""
    s = scenario(db)
    claims = claims_of(s.s1)
    mine = s.mine.booking
    assert mine.uuid in str(rpc(db, "get_booking", p_id=mine.uuid, claims=claims))
    assert rpc(db, "check_idempotency_key", p_idempotency_key=mine.key,
               claims=claims)["id"] == mine.uuid
    assert s.s1 in str(rpc(db, "get_contact_credits", p_hubspot_id=s.mine.contact_hubspot_id,
                           claims=claims))
    # an admin's JWT and the service key see everyone's
    for admin in ({"role": "service_role", "sub": str(uuid.uuid4()), "email": "dean@example.com",
                   "app_metadata": {"role": "admin"}}, None):
        assert s.theirs.booking.uuid in str(rpc(db, "get_booking", p_id=s.theirs.booking.uuid,
                                                claims=admin))
        assert rpc(db, "check_idempotency_key", p_idempotency_key=s.theirs.booking.key,
                   claims=admin)["id"] == s.theirs.booking.uuid


def test_a_reference_that_also_names_another_students_booking_is_the_students_own(
        db: psycopg.Connection) -> None:
    """A legacy code equal to another booking's HubSpot id names two bookings: an admin is
    refused (AMBIGUOUS_REFERENCE, listing both); the student whose booking it is gets theirs,
    and learns nothing of the other."""
    s = scenario(db)
    shared = f"LEGACY-{uuid.uuid4().hex[:8]}"
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET booking_id = %s WHERE id = %s",
               (shared, s.mine.booking.uuid))
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET hubspot_id = %s WHERE id = %s",
               (shared, s.theirs.booking.uuid))
    with pytest.raises(RpcError) as ambiguous:
        rpc(db, "cancel_booking", p_booking_id=shared, p_student_id=s.s1)
    assert ambiguous.value.code == "AMBIGUOUS_REFERENCE"
    cancelled = rpc(db, "cancel_booking", p_booking_id=shared, p_student_id=s.s1,
                    claims=claims_of(s.s1))
    assert cancelled["id"] == s.mine.booking.uuid
    assert one(db, "SELECT is_active FROM hubspot_sync.hubspot_bookings WHERE id = %s",
               (s.theirs.booking.uuid,)) == "Active"


# ---- not there in time: the same work ------------------------------------------------------
# A booking reference is a uuid, a code or a HubSpot id: each form is compared.
FORMS: dict[tuple[str, str], list[Callable[[SimpleNamespace], str]]] = {
    (fn, "p_booking_id"): [lambda x: booking_of(x).code, lambda x: booking_of(x).uuid,
                           lambda x: booking_of(x).hubspot_id]
    for fn in ("cancel_booking", "rebook")}
# What a call did, read from the server's statistics of the call's own transaction
# (pg_stat_xact_user_functions with track_functions = all, pg_stat_xact_user_tables): every
# function it called and how often, and per table the scans and the rows they read and wrote.
WORK = """
    SELECT 'calls of ' || f.funcid::regprocedure::text, f.calls
    FROM pg_stat_xact_user_functions AS f
    UNION ALL
    SELECT t.relname || ' ' || c.counter, c.value FROM pg_stat_xact_user_tables AS t
    CROSS JOIN LATERAL (VALUES ('seq_scan', t.seq_scan), ('seq_tup_read', t.seq_tup_read),
                               ('idx_scan', t.idx_scan), ('idx_tup_fetch', t.idx_tup_fetch),
                               ('n_tup_ins', t.n_tup_ins), ('n_tup_upd', t.n_tup_upd),
                               ('n_tup_del', t.n_tup_del)) AS c(counter, value)
"""


def work(db: psycopg.Connection, fn: str, retset: bool, args: dict[str, Any],
         claims: dict[str, Any]) -> tuple[str, Counter]:
    """The call's answer (a SQLSTATE, or 'value') and its work: what the counters of WORK grew
    by during the call, in a transaction rolled back."""
    query, _, values = _typed_query(db, fn, args, rows=retset)
    with db.transaction(force_rollback=True):
        db.execute("SET LOCAL track_functions = 'all'")
        before = Counter(dict(db.execute(WORK).fetchall()))
        try:
            with db.transaction():
                db.execute(REQUEST_SETTINGS, request_params(claims=claims))
                db.execute(query, values).fetchall()
                db.execute("SET LOCAL ROLE NONE")
            answer = "value"
        except psycopg.Error as refused:
            answer = refused.sqlstate or ""
        after = Counter(dict(db.execute(WORK).fetchall()))
    after.subtract(before)
    return answer, +after


@pytest.mark.parametrize(("fn", "arg"), sorted(k for k, a in ARGUMENTS.items()
                                               if a.kind != NEW_NAME), ids=lambda v: v)
def test_another_students_thing_costs_what_nobodys_does(db: psycopg.Connection, fn: str,
                                                       arg: str) -> None:
    """S1 naming S0's thing and S1 naming nothing: the same answer from the same work, to the
    call: the same functions called as often, the same scans of every table reading and writing
    the same number of rows (docs/rpc.md, Who may call what). A new name (a key or code the
    caller chooses) is left out: whether one is in use is the answer itself."""
    s = scenario(db)
    spec = ARGUMENTS[(fn, arg)]
    retset = catalog(db)[fn][0]
    claims = claims_of(s.s1)
    s.target = exam(db, 40)
    for form in FORMS.get((fn, arg), [spec.value]):
        nobody = nothing()
        calls = {who: spec.args(s, form(x)) for who, x in (("theirs", s.theirs),
                                                           ("nobody's", nobody))}
        # plans settled alike: PL/pgSQL plans a statement for its first 5 runs with the values
        # in hand, then may keep one plan for any values (PostgreSQL's plan_cache_mode), so
        # either call made at the switch would be measured with another plan
        for _ in range(4):
            for args in calls.values():
                work(db, fn, retset, dict(args), claims)
        told = {who: work(db, fn, retset, dict(args), claims) for who, args in calls.items()}
        assert told["theirs"][0] == told["nobody's"][0] != "value" or spec.kind == REFERENCE
        assert told["theirs"] == told["nobody's"], (fn, arg, form(s.theirs), told)
