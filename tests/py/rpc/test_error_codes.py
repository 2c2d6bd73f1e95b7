"""Every error code of the error contract, each with a call that triggers it (point 3).

Each row sets up its own exams and students, makes the failing call through the PostgREST request
helper and asserts what an app sees: MESSAGE = the code, the SQLSTATE (= the HTTP status
PostgREST answers), a DETAIL sentence and a HINT. The failing call must change nothing: every
hubspot_sync table has the same contents before and after it.

The table is also held against the code itself: `mockbook_internal.raise_error` (the one place error
codes live) must know exactly these codes with exactly these SQLSTATEs, so a code added there
without a row here, or a row for a code that no longer exists, fails this file.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import psycopg
import pytest
from invariants import table_digests, table_versions
from postgrest import RpcError, http_status, rpc, rpc_rows, signature
from psycopg import sql
from psycopg.types.json import Jsonb

# the error contract, verbatim.
DOCUMENTED_CODES = {
    "INVALID_ARGUMENT": "PT400", "INVALID_EXAM_TYPE": "PT400",
    "INSUFFICIENT_CREDITS": "PT402",
    "FORBIDDEN": "PT403",
    "CONTACT_NOT_FOUND": "PT404", "EXAM_NOT_FOUND": "PT404", "BOOKING_NOT_FOUND": "PT404",
    "EXAM_FULL": "PT409", "DUPLICATE_BOOKING": "PT409", "ALREADY_CANCELLED": "PT409",
    "NOT_CANCELLABLE": "PT409", "EXAM_NOT_ACTIVE": "PT409", "EXAM_IN_PAST": "PT409",
    "CREDIT_CONFLICT": "PT409",
    "IDEMPOTENCY_KEY_REUSED": "PT422", "PREREQUISITE_NOT_MET": "PT422",
    "CAPACITY_BELOW_BOOKED": "PT422", "REBOOK_NOT_ALLOWED": "PT422",
    "BUSY": "PT503",
}
# The scheduling rules and the waitlist add these, in the same PTnnn style.
DOCUMENTED_CODES |= {
    "OFFER_NOT_FOUND": "PT404",
    "TIME_CONFLICT": "PT409", "BOOKING_CLOSED": "PT409", "CANCELLATION_CLOSED": "PT409",
    "EXAM_NOT_FULL": "PT409", "WAITLIST_FULL": "PT409", "OFFER_EXPIRED": "PT409",
    "BOOKING_LIMIT_REACHED": "PT422",
}
# A booking reference that names two bookings (a legacy code equal to another's HubSpot id).
DOCUMENTED_CODES |= {"AMBIGUOUS_REFERENCE": "PT409"}
# A server that cannot take the call (disk full, read-only, out of resources).
DOCUMENTED_CODES |= {"UNAVAILABLE": "PT503"}
# A caller asking HubSpot for more records than its per-minute share (request_refresh).
DOCUMENTED_CODES |= {"REFRESH_LIMIT_REACHED": "PT429"}

Call = Callable[[psycopg.Connection], Any]


class Ctx:
    """What a scenario may use to set itself up: the autocommit test connection, the database
    URL (for a second connection) and an ExitStack closed after the call."""

    def __init__(self, db: psycopg.Connection, url: str, stack: ExitStack) -> None:
        self.db = db
        self.url = url
        self.stack = stack
        self.after: list[Callable[[], Any]] = []  # run after the test's last check

    def rule(self, name: str, value: Any) -> None:
        """Turn a scheduling rule on for this scenario; put it back once the test is done
        (after the digest comparison, so the restore is not mistaken for the call's change)."""
        old = self.one("SELECT value FROM hubspot_sync.booking_rules WHERE rule = %s", (name,))
        rpc(self.db, "set_booking_rule", p_rule=name, p_value=value)
        self.after.append(lambda: self.db.execute(
            "UPDATE hubspot_sync.booking_rules SET value = %s WHERE rule = %s",
            (Jsonb(old), name)))

    def join(self, student: str, exam: str) -> dict:
        return rpc(self.db, "join_waitlist", p_student_id=student, p_email=email(student),
                   p_mock_exam_id=exam, p_attending_location="mississauga")

    def one(self, query: str, params: Any = ()) -> Any:
        return self.db.execute(query, params).fetchone()[0]

    def exam(self, mock_type: str = "Situational Judgment", capacity: int = 10, day: int = 7,
             is_active: str = "true", prerequisites: list[str] | None = None) -> str:
        return self.one(
            """SELECT tests.make_exam(p_mock_type := %s, p_capacity := %s,
                   p_exam_date := hubspot_sync.business_today() + %s, p_is_active := %s,
                   p_prerequisite_exam_ids := %s)""",
            (mock_type, capacity, day, is_active, prerequisites or []))

    def student(self, sj: int = 0, cs: int = 0, shared: int = 0) -> str:
        return self.one("SELECT tests.make_student(p_sj := %s, p_cs := %s, p_shared := %s)",
                        (sj, cs, shared))

    def book(self, student: str, exam: str, key: str | None = None, **extra: Any) -> dict:
        """A successful booking made for the setup."""
        return booking_call(student, exam, key, **extra)(self.db)


def email(student: str) -> str:
    return f"{student.lower()}@example.com"


def booking_call(student: str, exam: str, key: str | None = None, **extra: Any) -> Call:
    args = {"p_student_id": student, "p_email": email(student), "p_mock_exam_id": exam,
            "p_idempotency_key": key or f"err-{uuid.uuid4()}",
            "p_attending_location": "mississauga", **extra}
    return lambda conn: rpc(conn, "create_booking", **args)


def cancel_call(booking: str, **extra: Any) -> Call:
    return lambda conn: rpc(conn, "cancel_booking", p_booking_id=booking, **extra)


# --- one scenario per code: set up, return the call that must fail with it -----------------

def invalid_argument(c: Ctx) -> Call:
    return booking_call("lower-case-id!", c.exam())


def invalid_exam_type(c: Ctx) -> Call:
    return booking_call(c.student(sj=1, cs=1, shared=1), c.exam(mock_type="Oral Boards"))


def insufficient_credits(c: Ctx) -> Call:
    return booking_call(c.student(), c.exam())


def forbidden(c: Ctx) -> Call:
    booking = c.book(c.student(sj=1), c.exam())
    return cancel_call(booking["booking_id"], p_student_id=c.student())


def contact_not_found(c: Ctx) -> Call:
    return booking_call(f"NOBODY{uuid.uuid4().hex[:8].upper()}", c.exam())


def exam_not_found(c: Ctx) -> Call:
    return booking_call(c.student(sj=1), f"NO-EXAM-{uuid.uuid4()}")


def booking_not_found(c: Ctx) -> Call:
    return cancel_call(f"BK-NOPE-{uuid.uuid4().hex[:6]}")


def exam_full(c: Ctx) -> Call:
    exam = c.exam(capacity=1)
    c.book(c.student(sj=1), exam)
    return booking_call(c.student(sj=1), exam)


def duplicate_booking(c: Ctx) -> Call:
    student = c.student(sj=2)
    c.book(student, c.exam(day=9))
    return booking_call(student, c.exam(day=9))


def already_cancelled(c: Ctx) -> Call:
    booking = c.book(c.student(sj=1), c.exam())
    cancel_call(booking["booking_id"])(c.db)
    return cancel_call(booking["booking_id"])


def not_cancellable(c: Ctx) -> Call:
    booking = c.book(c.student(sj=1), c.exam())
    rpc(c.db, "mark_attendance",
        p_updates=[{"booking_id": booking["booking_id"], "attendance": "Yes"}], p_actor="test")
    return cancel_call(booking["booking_id"])


def exam_not_active(c: Ctx) -> Call:
    return booking_call(c.student(sj=1), c.exam(is_active="false"))


def exam_in_past(c: Ctx) -> Call:
    return booking_call(c.student(sj=1), c.exam(day=-1))


def credit_conflict(c: Ctx) -> Call:
    # cancel_booking_atomic (the production function): the app computed the balance after the
    # refund itself. 4 credits plus one is 5; the app says 9 (it read a stale balance): refused,
    # never written blindly.
    student = c.student(sj=5)
    exam = c.exam()
    booking = c.book(student, exam)
    return lambda conn: rpc(
        conn, "cancel_booking_atomic", p_booking_id=booking["id"], p_credit_field="sj_credits",
        p_restored_credit_value=9)


def idempotency_key_reused(c: Ctx) -> Call:
    student = c.student(sj=2)
    key = f"reused-{uuid.uuid4()}"
    c.book(student, c.exam(day=10), key)
    return booking_call(student, c.exam(day=11), key)


def prerequisite_not_met(c: Ctx) -> Call:
    first = c.exam(day=8)
    return booking_call(c.student(sj=1), c.exam(day=12, prerequisites=[first]))


def capacity_below_booked(c: Ctx) -> Call:
    exam = c.exam(capacity=3)
    c.book(c.student(sj=1), exam)
    c.book(c.student(sj=1), exam)
    return lambda conn: rpc(conn, "set_exam_capacity", p_mock_exam_id=exam, p_capacity=1)


def rebook_not_allowed(c: Ctx) -> Call:
    booking = c.book(c.student(sj=1), c.exam())
    other_type = c.exam(mock_type="Clinical Skills", day=13)
    return lambda conn: rpc(conn, "rebook", p_booking_id=booking["booking_id"],
                            p_new_mock_exam_id=other_type,
                            p_idempotency_key=f"rebook-{uuid.uuid4()}")


def busy(c: Ctx) -> Call:
    exam = c.exam()
    student = c.student(sj=1)
    holder = c.stack.enter_context(psycopg.connect(c.url))
    holder.execute("SELECT FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s"
                   " FOR UPDATE", (exam,))
    caller = c.stack.enter_context(psycopg.connect(
        c.url, autocommit=True, options="-c statement_timeout=30s"))
    caller.execute("SET mockbook.lock_timeout = '100ms'")
    call = booking_call(student, exam)
    return lambda _conn: call(caller)


def unavailable(c: Ctx) -> Call:
    """A database whose writes are switched off (as Supabase does when its disk fills)."""
    exam, student = c.exam(), c.student(sj=1)
    database = sql.Identifier(c.db.info.dbname)
    c.db.execute(sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on")
                 .format(database))
    c.after.append(lambda: c.db.execute(
        sql.SQL("ALTER DATABASE {} RESET default_transaction_read_only").format(database)))
    caller = c.stack.enter_context(psycopg.connect(c.url, autocommit=True))
    call = booking_call(student, exam)
    return lambda _conn: call(caller)


def accept_call(student: str, exam: str) -> Call:
    return lambda conn: rpc(conn, "accept_offer", p_student_id=student, p_email=email(student),
                            p_mock_exam_id=exam)


def time_conflict(c: Ctx) -> Call:
    c.rule("time_conflict", True)
    student = c.student(sj=1, cs=1)
    c.book(student, c.exam(day=14))  # 09:00-12:00, as every exam of these scenarios
    return booking_call(student, c.exam(mock_type="Clinical Skills", day=14),
                        p_dominant_hand="right")


def booking_closed(c: Ctx) -> Call:
    c.rule("min_notice_hours", 24 * 400)  # every exam of these scenarios is closer than that
    return booking_call(c.student(sj=1), c.exam())


def cancellation_closed(c: Ctx) -> Call:
    c.rule("cancel_deadline_hours", 24 * 400)
    student = c.student(sj=1)
    booking = c.book(student, c.exam())
    return cancel_call(booking["booking_id"], p_student_id=student)


def booking_limit_reached(c: Ctx) -> Call:
    c.rule("max_active_per_type", 1)
    student = c.student(sj=2)
    c.book(student, c.exam(day=15))
    return booking_call(student, c.exam(day=16))


def exam_not_full(c: Ctx) -> Call:
    student, exam = c.student(sj=1), c.exam()
    return lambda conn: rpc(conn, "join_waitlist", p_student_id=student, p_email=email(student),
                            p_mock_exam_id=exam, p_attending_location="mississauga")


def waitlist_full(c: Ctx) -> Call:
    c.rule("waitlist_size", 1)
    exam = c.exam(capacity=1)
    c.book(c.student(sj=1), exam)
    c.join(c.student(sj=1), exam)
    student = c.student(sj=1)
    return lambda conn: rpc(conn, "join_waitlist", p_student_id=student, p_email=email(student),
                            p_mock_exam_id=exam, p_attending_location="mississauga")


def offer_not_found(c: Ctx) -> Call:
    return accept_call(c.student(sj=1), c.exam())


def offer_expired(c: Ctx) -> Call:
    exam = c.exam(capacity=1)
    booking = c.book(c.student(sj=1), exam)
    waiting = c.student(sj=1)
    c.join(waiting, exam)
    cancel_call(booking["booking_id"])(c.db)  # the seat is offered to `waiting`
    c.db.execute("UPDATE hubspot_sync.waitlist_entries SET offer_expires_at = now() - interval"
                 " '1 second' WHERE student_id = %s", (waiting,))
    return accept_call(waiting, exam)


def ambiguous_reference(c: Ctx) -> Call:
    exam = c.exam(capacity=5)
    first = c.book(c.student(sj=1), exam)
    second = c.book(c.student(sj=1), exam)
    # the second booking's HubSpot id is the first one's code: the code names both
    c.db.execute("UPDATE hubspot_sync.hubspot_bookings SET hubspot_id = %s WHERE id = %s",
                 (first["booking_id"], second["id"]))
    return cancel_call(first["booking_id"])


def refresh_limit_reached(c: Ctx) -> Call:
    for n in range(10):  # a caller's ten of the last minute, each for another record
        rpc(c.db, "request_refresh", p_mock_exam_id=f"EC-REFRESH-{n}")
    return lambda conn: rpc(conn, "request_refresh", p_mock_exam_id="EC-REFRESH-10")


SCENARIOS: dict[str, Callable[[Ctx], Call]] = {
    "INVALID_ARGUMENT": invalid_argument,
    "INVALID_EXAM_TYPE": invalid_exam_type,
    "INSUFFICIENT_CREDITS": insufficient_credits,
    "FORBIDDEN": forbidden,
    "CONTACT_NOT_FOUND": contact_not_found,
    "EXAM_NOT_FOUND": exam_not_found,
    "BOOKING_NOT_FOUND": booking_not_found,
    "EXAM_FULL": exam_full,
    "DUPLICATE_BOOKING": duplicate_booking,
    "ALREADY_CANCELLED": already_cancelled,
    "NOT_CANCELLABLE": not_cancellable,
    "EXAM_NOT_ACTIVE": exam_not_active,
    "EXAM_IN_PAST": exam_in_past,
    "CREDIT_CONFLICT": credit_conflict,
    "IDEMPOTENCY_KEY_REUSED": idempotency_key_reused,
    "PREREQUISITE_NOT_MET": prerequisite_not_met,
    "CAPACITY_BELOW_BOOKED": capacity_below_booked,
    "REBOOK_NOT_ALLOWED": rebook_not_allowed,
    "BUSY": busy,
    "TIME_CONFLICT": time_conflict,
    "BOOKING_CLOSED": booking_closed,
    "CANCELLATION_CLOSED": cancellation_closed,
    "BOOKING_LIMIT_REACHED": booking_limit_reached,
    "EXAM_NOT_FULL": exam_not_full,
    "WAITLIST_FULL": waitlist_full,
    "OFFER_NOT_FOUND": offer_not_found,
    "OFFER_EXPIRED": offer_expired,
    "AMBIGUOUS_REFERENCE": ambiguous_reference,
    "UNAVAILABLE": unavailable,
    "REFRESH_LIMIT_REACHED": refresh_limit_reached,
}


@pytest.fixture
def ctx(db: psycopg.Connection, database_url: str) -> Iterator[Ctx]:
    with ExitStack() as stack:
        ctx = Ctx(db, database_url, stack)
        yield ctx
        for undo in ctx.after:
            undo()


@pytest.mark.parametrize("code", list(SCENARIOS))
def test_error_code(code: str, ctx: Ctx) -> None:
    call = SCENARIOS[code](ctx)
    before = table_digests(ctx.db)
    with pytest.raises(RpcError) as info:
        call(ctx.db)
    err = info.value
    assert (err.message, err.sqlstate) == (code, DOCUMENTED_CODES[code]), err
    assert err.status == int(DOCUMENTED_CODES[code][2:])
    assert err.detail and err.detail.strip(), "DETAIL must be a sentence for people"
    assert err.hint and err.hint.strip(), "HINT must say what to do"
    ctx.stack.close()  # release a held lock (BUSY) before reading the tables again
    assert table_digests(ctx.db) == before, f"the failed {code} call changed data"


def raise_error_codes(db: psycopg.Connection) -> dict[str, str]:
    """The (code, SQLSTATE) pairs in mockbook_internal.raise_error's VALUES list."""
    body = db.execute(
        "SELECT pg_get_functiondef("
        "'mockbook_internal.raise_error(text, text, text)'::regprocedure)"
    ).fetchone()[0]
    pairs = re.findall(r"\(\s*'([A-Z_]+)'\s*,\s*'(PT\d{3})'", body)
    assert pairs, "could not find the code table in raise_error"
    found: dict[str, str] = {}
    for code, state in pairs:
        assert code not in found, f"{code} listed twice in raise_error"
        found[code] = state
    return found


def test_table_covers_exactly_the_codes_of_raise_error(db: psycopg.Connection) -> None:
    assert set(SCENARIOS) == set(DOCUMENTED_CODES)
    assert raise_error_codes(db) == DOCUMENTED_CODES


def test_unknown_code_is_a_bug_not_a_documented_error(db: psycopg.Connection) -> None:
    """raise_error refuses a code it does not know (XX000), so a typo cannot pose as a
    documented error."""
    with pytest.raises(psycopg.errors.InternalError_) as info:
        db.execute("SELECT mockbook_internal.raise_error('NO_SUCH_CODE', 'detail')")
    assert info.value.sqlstate == "XX000"


PUBLIC_FUNCTIONS = (
    "create_booking", "cancel_booking", "cancel_bookings", "admin_create_booking", "rebook",
    "mark_attendance", "set_exam_capacity", "adjust_credits", "get_credit_summary",
    "list_available_exams", "list_contact_bookings", "get_contact_credits", "get_booking",
    "check_idempotency_key", "create_booking_atomic", "cancel_booking_atomic",
    "increment_exam_bookings", "set_booking_rule", "join_waitlist", "leave_waitlist",
    "accept_offer", "process_waitlist", "complete_past_bookings",
)


@pytest.mark.parametrize("role", ["anon", "authenticated"])
@pytest.mark.parametrize("fn", PUBLIC_FUNCTIONS)
def test_only_service_role_may_call(fn: str, role: str, db: psycopg.Connection) -> None:
    """PostgREST's request shape: through PostgREST, anon and authenticated are refused every
    function (42501:
    PostgREST answers 401 to anon, 403 to an authenticated user); nothing runs, nothing
    changes."""
    params, retset = signature(db, fn)
    args = dict.fromkeys((p.name for p in params), None)
    before = table_versions(db)
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as info:
        (rpc_rows if retset else rpc)(db, fn, role=role, **args)
    assert http_status(info.value, role) == (401 if role == "anon" else 403)
    assert table_versions(db) == before
