"""The rules at their edges: the largest value an argument takes and the one past it, a balance
stored as NULL, a lock held by another transaction. Each test here kills mechanical mutants
(`make mutants`) that the rest of the booking tests let through: a limit moved by one, a NULL
read as something else, a row lock taken on the wrong row.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from invariants import table_digests
from postgrest import RpcError, rpc, rpc_rows
from psycopg import sql
from psycopg.types.json import Jsonb
from test_lock_order import Call, waiting_on_lock
from test_who_acts import CASES, balance, call, catalog_cache, claims_of, scenario
from test_who_acts import legacy_booking as legacy_booking_args
from zone import reset_business_timezone


def one(db: psycopg.Connection, query: str, params: Any = ()) -> Any:
    return db.execute(query, params).fetchone()[0]


def actor_functions(db: psycopg.Connection) -> list[str]:
    return sorted(fn for fn, (_, args) in catalog_cache(db).items() if "p_actor" in args)


def test_every_function_with_an_actor_is_checked_here(db: psycopg.Connection) -> None:
    assert actor_functions(db) == sorted(ACTOR_FUNCTIONS)


ACTOR_FUNCTIONS = ("adjust_credits", "admin_create_booking", "cancel_booking", "cancel_bookings",
                   "complete_past_bookings", "mark_attendance", "process_waitlist", "rebook",
                   "set_booking_rule", "set_business_timezone")


@pytest.mark.parametrize("fn", ACTOR_FUNCTIONS)
def test_p_actor_takes_255_characters_and_refuses_256(db: psycopg.Connection, fn: str) -> None:
    """docs/rpc.md: `p_actor` (≤ 255) in every function that takes one."""
    s = scenario(db)
    args = CASES[fn].args(db, s)
    with pytest.raises(RpcError) as refused:
        call(db, fn, None, {**args, "p_actor": "a" * 256})
    assert refused.value.code == "INVALID_ARGUMENT" and "p_actor" in refused.value.detail
    assert call(db, fn, None, {**CASES[fn].args(db, s), "p_actor": "a" * 255}) is not None


def test_a_balance_stored_as_null_is_zero(db: psycopg.Connection) -> None:
    """Production's credit columns may hold NULL: the summary shows 0 for each, and nothing
    usable."""
    student = one(db, "SELECT tests.make_student()")
    db.execute("UPDATE hubspot_sync.hubspot_contact_credits SET sj_credits = NULL,"
               " cs_credits = NULL, sjmini_credits = NULL, mock_discussion_token = NULL,"
               " shared_mock_credits = NULL WHERE student_id = %s", (student,))
    [row] = rpc_rows(db, "get_credit_summary", p_student_id=student,
                     p_email=one(db, "SELECT tests.email_of(%s)", (student,)))
    assert [row[k] for k in ("sj_credits", "cs_credits", "sjmini_credits",
                             "mock_discussion_token", "shared_mock_credits")] == [0] * 5
    assert set(row["available"].values()) == {0}


@pytest.mark.parametrize("field", ["sj_credits", "cs_credits", "sjmini_credits",
                                   "mock_discussion_token", "shared_mock_credits"])
def test_a_change_to_a_balance_stored_as_null_counts_from_zero(db: psycopg.Connection,
                                                               field: str) -> None:
    """apply_credit_delta reads a NULL balance as 0, for every field: +2 makes it 2, and the
    ledger row says 2."""
    student = one(db, "SELECT tests.make_student()")
    db.execute(f"UPDATE hubspot_sync.hubspot_contact_credits SET {field} = NULL"
               " WHERE student_id = %s", (student,))
    rpc(db, "adjust_credits", p_student_id=student, p_credit_field=field, p_delta=2,
        p_reason="goodwill", p_actor="test")
    assert one(db, f"SELECT {field} FROM hubspot_sync.hubspot_contact_credits"
                   " WHERE student_id = %s", (student,)) == 2
    assert one(db, "SELECT balance_after FROM hubspot_sync.credit_ledger WHERE student_id = %s"
                   " AND credit_field = %s ORDER BY created_at DESC LIMIT 1",
               (student, field)) == 2


def test_a_repeated_legacy_code_marks_the_new_booking_only(db: psycopg.Connection) -> None:
    """create_booking_atomic given a code already in use books <code>-R2 and notes the code it
    was given in that booking's legacy_booking_id; no other booking's is written."""
    s = scenario(db)
    args = legacy_booking_args(db, s) | {"p_booking_id": s.booking}
    rpc(db, "create_booking_atomic", **args)
    assert db.execute("SELECT booking_id, legacy_booking_id FROM hubspot_sync.hubspot_bookings"
                      " WHERE legacy_booking_id IS NOT NULL").fetchall() == [
        (f"{s.booking}-R2", s.booking)]


@pytest.mark.parametrize("delta", [0, None, 1001, -1001])
def test_a_delta_adjust_credits_cannot_take_is_refused_naming_its_bounds(
        db: psycopg.Connection, delta: int | None) -> None:
    """A zero, missing or out-of-range delta is refused by adjust_credits' own argument check,
    which names the argument and its bounds, before anything reads or writes a balance."""
    student = one(db, "SELECT tests.make_student()")
    ledger = one(db, "SELECT count(*) FROM hubspot_sync.credit_ledger")
    with pytest.raises(RpcError) as refused:
        rpc(db, "adjust_credits", p_student_id=student, p_credit_field="sj_credits",
            p_delta=delta, p_reason="goodwill", p_actor="test")
    assert refused.value.code == "INVALID_ARGUMENT"
    assert refused.value.detail == ("p_delta must be a non-zero integer between -1000 and 1000,"
                                    f" not {'NULL' if delta is None else delta}.")
    assert one(db, "SELECT count(*) FROM hubspot_sync.credit_ledger") == ledger


# the lock helpers of the lock order: (function, key type, the table and key column it locks)
LOCKS = {
    "contact": ("lock_contact", "uuid", "hubspot_contact_credits", "id"),
    "booking": ("lock_booking", "uuid", "hubspot_bookings", "id"),
    "exam": ("lock_exam", "text", "hubspot_mock_exams", "hubspot_id"),
    "waitlist place": ("lock_waitlist_entry", "bigint", "waitlist_entries", "id"),
}


@pytest.mark.parametrize("target", list(LOCKS))
def test_a_lock_helper_locks_its_row_and_only_it(db: psycopg.Connection, database_url: str,
                                                 target: str) -> None:
    """Free, the row is locked at once (another transaction's NOWAIT on it fails, on another
    row succeeds); held by another transaction, the helper waits for that row, not another:
    BUSY past mockbook.lock_timeout, while a free row next to it is locked at once."""
    fn, kind, table, column = LOCKS[target]
    scenario(db)
    mine, other = (str(k) for (k,) in db.execute(
        f"SELECT {column} FROM hubspot_sync.{table} ORDER BY {column} LIMIT 2").fetchall())
    helper = f"SELECT mockbook_internal.{fn}(%s::{kind})"
    nowait = f"SELECT FROM hubspot_sync.{table} WHERE {column} = %s::{kind} FOR UPDATE NOWAIT"
    with psycopg.connect(database_url) as caller, psycopg.connect(database_url) as rival:
        caller.execute(helper, (mine,))
        with pytest.raises(psycopg.errors.LockNotAvailable):
            rival.execute(nowait, (mine,))
        rival.rollback()
        rival.execute(nowait, (other,))
        caller.rollback()
        rival.rollback()
        # the row held elsewhere: a bounded wait for it
        rival.execute(nowait, (mine,))
        caller.execute("SET mockbook.lock_timeout = '200ms'")
        with pytest.raises(psycopg.Error) as busy:
            caller.execute(helper, (mine,))
        assert busy.value.diag.message_primary == "BUSY"
        caller.rollback()
        caller.execute(helper, (other,))
        caller.rollback()
        rival.rollback()


def test_with_no_lock_timeout_set_a_wait_ends_busy_at_the_documented_default(
        db: psycopg.Connection, database_url: str) -> None:
    """docs/dba.md: mockbook.lock_timeout defaults to 2s. With none set, a helper waiting for a
    row held elsewhere answers BUSY by itself; it never waits on until something else stops it
    (the 10 s statement_timeout here stands in for the API's)."""
    fn, kind, table, column = LOCKS["exam"]
    scenario(db)
    key = str(one(db, f"SELECT {column} FROM hubspot_sync.{table} ORDER BY {column} LIMIT 1"))
    with psycopg.connect(database_url) as caller, psycopg.connect(database_url) as rival:
        rival.execute(f"SELECT FROM hubspot_sync.{table} WHERE {column} = %s::{kind} FOR UPDATE",
                      (key,))
        caller.execute("SET mockbook.lock_timeout = ''")
        caller.execute("SET statement_timeout = '10s'")
        with pytest.raises(psycopg.Error) as busy:
            caller.execute(f"SELECT mockbook_internal.{fn}(%s::{kind})", (key,))
        assert busy.value.diag.message_primary == "BUSY", busy.value
        rival.rollback()


# the API functions that take a seat (mockbook_internal.take_seat), and the exam of
# test_who_acts' scenario whose seat each takes
SEAT_TAKERS = {"accept_offer": "o", "admin_create_booking": "e2", "create_booking": "e2",
               "create_booking_atomic": "e2", "create_booking_atomic_v1": "e2", "rebook": "e2"}


def test_every_function_that_takes_a_seat_is_checked_here(db: psycopg.Connection) -> None:
    """The API functions whose call reaches take_seat, read from the function bodies: through
    the booking pipeline (mockbook_internal.book) or take_seat itself."""
    rows = db.execute(
        "SELECT p.proname, p.prosrc FROM pg_catalog.pg_proc AS p"
        " WHERE p.pronamespace = 'hubspot_sync'::regnamespace AND p.prokind = 'f'").fetchall()
    direct = {name for name, src in rows
              if "mockbook_internal.book(" in src or "mockbook_internal.take_seat(" in src}
    wrappers = {name for name, src in rows
                if any(f"hubspot_sync.{inner}(" in src for inner in direct)}
    assert direct | wrappers == set(SEAT_TAKERS)


@pytest.mark.parametrize("fn", sorted(SEAT_TAKERS))
def test_the_seats_wait_ends_busy_and_keeps_nothing(db: psycopg.Connection, database_url: str,
                                                    fn: str) -> None:
    """take_seat's UPDATE waits for the exam row itself (no subtransaction of its own): held
    past mockbook.lock_timeout by another transaction, the call answers BUSY from its handler,
    never a raw 55P03, and nothing of it remains."""
    s = scenario(db)
    args = CASES[fn].args(db, s)
    exam = getattr(s, SEAT_TAKERS[fn])
    before = table_digests(db)
    with psycopg.connect(database_url) as rival, \
            psycopg.connect(database_url, autocommit=True) as caller:
        rival.execute("SELECT FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s"
                      " FOR UPDATE", (exam,))
        caller.execute("SET mockbook.lock_timeout = '200ms'")
        with pytest.raises(RpcError) as busy:
            call(caller, fn, None, args)
        rival.rollback()
    assert (busy.value.code, busy.value.sqlstate) == ("BUSY", "PT503")
    assert "mockbook.lock_timeout" in busy.value.detail
    assert table_digests(db) == before


# the keyed booking functions and the student each books for: S1 (no open waitlist place) takes
# the pipeline's common case, S0 (two) and an admin's booking or a legacy code its full path
KEYED_BOOKINGS = {"admin_create_booking": "s0", "create_booking": "s1",
                  "create_booking_atomic": "s0"}


@pytest.mark.parametrize("fn", KEYED_BOOKINGS)
def test_a_key_stored_past_the_key_lock_is_replayed_and_takes_no_seat(
        db: psycopg.Connection, database_url: str, fn: str) -> None:
    """A writer that bypasses the key lock (a direct insert) stores the call's key, with the
    call's fingerprint, while the call is past its idempotency check: the call's insert waits
    for that row, then answers as its replay. A replay takes no seat and spends no credit."""
    s = scenario(db)
    student = getattr(s, KEYED_BOOKINGS[fn])
    args = CASES[fn].args(db, s) | {"p_student_id": student}
    args[next(a for a in args if a.endswith("email"))] = email_of(db, student)
    key = args["p_idempotency_key"]
    with psycopg.connect(database_url) as dry:  # the row the call would write, then undone
        dry.execute(sql.SQL("SELECT hubspot_sync.{}({})").format(
            sql.Identifier(fn), sql.SQL(", ").join(
                sql.SQL("{} => {}").format(sql.Identifier(name), sql.Placeholder(name))
                for name in args)), args)
        # another code; the key's unique index, older than the one-per-day index, finds it first
        stored = one(dry, "SELECT to_jsonb(b) || jsonb_build_object('booking_id',"
                          " b.booking_id || '-X') FROM hubspot_sync.hubspot_bookings AS b"
                          " WHERE idempotency_key = %s", (key,))
        dry.rollback()
    before_seats, before_credit = one(db, "SELECT tests.total(%s)", (s.e2,)), balance(db, student)
    with psycopg.connect(database_url) as rival:
        rival.execute("INSERT INTO hubspot_sync.hubspot_bookings SELECT (jsonb_populate_record("
                      "NULL::hubspot_sync.hubspot_bookings, %s)).*", (Jsonb(stored),))
        caller = Call(database_url, lambda conn: call(conn, fn, None, args)).start()
        waiting_on_lock(db, caller.pid)  # its insert, on the rival's uncommitted key
        rival.commit()
    caller.join()
    assert caller.error is None, caller.error
    assert (caller.value["id"], caller.value["idempotent_replay"]) == (stored["id"], True)
    assert (one(db, "SELECT tests.total(%s)", (s.e2,)), balance(db, student)) == \
        (before_seats, before_credit)


def test_a_duplicate_without_a_code_is_named_as_such(db: psycopg.Connection) -> None:
    """A booking adopted from before mockbook may have no code: the DUPLICATE_BOOKING it
    causes says "(no code)", not an empty name."""
    student = one(db, "SELECT tests.make_student(p_sj := 3)")
    first, second = (one(db, "SELECT tests.make_exam(p_exam_date := hubspot_sync.business_today()"
                             " + 9)") for _ in "ab")
    with db.transaction():  # as the adoption stored it, past the code trigger
        db.execute("SET LOCAL session_replication_role = replica")
        db.execute("INSERT INTO hubspot_sync.hubspot_bookings (student_id, associated_mock_exam,"
                   " is_active, mock_type, exam_date) SELECT %s, e.hubspot_id, 'Active',"
                   " e.mock_type, e.exam_date FROM hubspot_sync.hubspot_mock_exams AS e"
                   " WHERE e.hubspot_id = %s", (student, first))
    with pytest.raises(RpcError) as refused:
        call(db, "create_booking", None, {
            "p_student_id": student, "p_email": one(db, "SELECT tests.email_of(%s)", (student,)),
            "p_mock_exam_id": second, "p_idempotency_key": f"edge-{student}",
            "p_attending_location": "mississauga"})
    assert refused.value.code == "DUPLICATE_BOOKING"
    assert "(no code)" in refused.value.detail


def test_a_rebook_replayed_after_its_stored_result_is_purged_is_rebuilt(
        db: psycopg.Connection) -> None:
    """rebook's contract: a replay answers the first result, past the retention rebuilt from
    the rows (never NULL)."""
    s = scenario(db)
    key = f"edge-rebook-{s.s0}"
    args = {"p_booking_id": s.booking, "p_new_mock_exam_id": s.e2, "p_idempotency_key": key}
    first = call(db, "rebook", None, args)
    db.execute("DELETE FROM hubspot_sync.idempotency_results WHERE idempotency_key = %s", (key,))
    again = call(db, "rebook", None, args)
    assert again is not None and again["idempotent_replay"] is True
    assert (again["id"], again["rebooked_from"]["id"]) == (first["id"],
                                                          first["rebooked_from"]["id"])


def test_the_waitlist_job_counts_only_the_offers_it_made(db: psycopg.Connection) -> None:
    """An offer expired and its seat was booked meanwhile: the job expires the offer and, with
    no free seat left, makes no offer there; what it reports is what it changed (the module's
    other tests left places of their own for it too)."""
    exam = one(db, "SELECT tests.make_exam(p_capacity := 1,"
                   " p_exam_date := hubspot_sync.business_today() + 9)")
    first, waiting, late = (one(db, "SELECT tests.make_student(p_sj := 2)") for _ in "abc")

    def booking(student: str) -> dict:
        return call(db, "create_booking", None, {
            "p_student_id": student, "p_email": one(db, "SELECT tests.email_of(%s)", (student,)),
            "p_mock_exam_id": exam, "p_idempotency_key": f"edge-{uuid.uuid4()}",
            "p_attending_location": "mississauga"})

    seat = booking(first)
    call(db, "join_waitlist", None, {
        "p_student_id": waiting, "p_email": one(db, "SELECT tests.email_of(%s)", (waiting,)),
        "p_mock_exam_id": exam, "p_attending_location": "mississauga"})
    call(db, "cancel_booking", None, {"p_booking_id": seat["booking_id"]})  # offered to waiting
    expires = one(db, "SELECT offer_expires_at FROM hubspot_sync.waitlist_entries"
                      " WHERE mock_exam_id = %s AND status = 'offered'", (exam,))
    db.execute("SELECT set_config('mockbook.clock_offset', (%s::timestamptz - now()"
               " + interval '1 minute')::text, false)", (expires,))
    try:
        booking(late)                   # the seat the expired offer held, taken
        began = one(db, "SELECT clock_timestamp()")
        done = call(db, "process_waitlist", None, {"p_actor": "test"})
    finally:
        db.execute("RESET mockbook.clock_offset")
    expired, offered = db.execute(
        "SELECT count(*) FILTER (WHERE status = 'expired' AND resolved_at >= %(t)s),"
        " count(*) FILTER (WHERE status = 'offered' AND offered_at >= %(t)s)"
        " FROM hubspot_sync.waitlist_entries", {"t": began}).fetchone()
    assert (done["expired"], done["offered"]) == (expired, offered), done
    assert one(db, "SELECT array_agg(status) FROM hubspot_sync.waitlist_entries"
                   " WHERE mock_exam_id = %s", (exam,)) == ["expired"]


def test_a_missing_credit_field_is_named_null(db: psycopg.Connection) -> None:
    student = one(db, "SELECT tests.make_student()")
    with pytest.raises(RpcError) as refused:
        call(db, "adjust_credits", None, {"p_student_id": student, "p_credit_field": None,
                                          "p_delta": 1, "p_reason": "r", "p_actor": "ops"})
    assert refused.value.code == "INVALID_ARGUMENT"
    assert refused.value.detail.startswith("p_credit_field NULL is not one of ")


def email_of(db: psycopg.Connection, student: str) -> str:
    return one(db, "SELECT tests.email_of(%s)", (student,))


def new_exam(db: psycopg.Connection, capacity: int = 10, day: int = 9) -> str:
    return one(db, "SELECT tests.make_exam(p_capacity := %s,"
                   " p_exam_date := hubspot_sync.business_today() + %s)", (capacity, day))


def book(db: psycopg.Connection, student: str, exam: str) -> dict:
    return call(db, "create_booking", None, {
        "p_student_id": student, "p_email": email_of(db, student), "p_mock_exam_id": exam,
        "p_idempotency_key": f"edge-{uuid.uuid4()}", "p_attending_location": "mississauga"})


def join(db: psycopg.Connection, student: str, exam: str) -> dict:
    return call(db, "join_waitlist", None, {
        "p_student_id": student, "p_email": email_of(db, student), "p_mock_exam_id": exam,
        "p_attending_location": "mississauga"})


def students(db: psycopg.Connection, n: int) -> list[str]:
    return [one(db, "SELECT tests.make_student(p_sj := 3)") for _ in range(n)]


def clock_at(db: psycopg.Connection, moment: Any) -> None:
    db.execute("SELECT set_config('mockbook.clock_offset', (%s::timestamptz - now())::text,"
               " false)", (moment,))


def expired_offer(db: psycopg.Connection) -> tuple[str, str, str]:
    """An exam of one seat, offered to one student with another waiting behind, and this
    session's clock a minute past the offer's end (the caller resets mockbook.clock_offset):
    (exam, the offered student, the next)."""
    exam = new_exam(db, capacity=1)
    first, expired, nxt = students(db, 3)
    seat = book(db, first, exam)
    join(db, expired, exam)
    join(db, nxt, exam)
    call(db, "cancel_booking", None, {"p_booking_id": seat["booking_id"]})  # held for expired
    expires = one(db, "SELECT offer_expires_at FROM hubspot_sync.waitlist_entries"
                      " WHERE mock_exam_id = %s AND status = 'offered'", (exam,))
    clock_at(db, one(db, "SELECT %s::timestamptz + interval '1 minute'", (expires,)))
    return exam, expired, nxt


def places(db: psycopg.Connection, exam: str) -> dict[str, str]:
    """Each student's waitlist status on the exam."""
    return dict(db.execute("SELECT student_id, status FROM hubspot_sync.waitlist_entries"
                           " WHERE mock_exam_id = %s", (exam,)).fetchall())


def test_join_waitlist_counts_only_its_exams_held_offers(db: psycopg.Connection) -> None:
    """A seat held by an offer on another exam does not fill this one: EXAM_NOT_FULL."""
    elsewhere, here = new_exam(db, capacity=1), new_exam(db, capacity=2)
    first, waiting, booked, joining = students(db, 4)
    seat = book(db, first, elsewhere)
    join(db, waiting, elsewhere)
    call(db, "cancel_booking", None, {"p_booking_id": seat["booking_id"]})  # held for waiting
    book(db, booked, here)                                     # one of two seats taken
    with pytest.raises(RpcError) as refused:
        join(db, joining, here)
    assert refused.value.code == "EXAM_NOT_FULL"


def test_an_expired_offer_says_whether_the_job_has_passed_it_on(db: psycopg.Connection) -> None:
    exam = new_exam(db, capacity=1)
    first, waiting = students(db, 2)
    seat = book(db, first, exam)
    join(db, waiting, exam)
    call(db, "cancel_booking", None, {"p_booking_id": seat["booking_id"]})
    expires = one(db, "SELECT offer_expires_at FROM hubspot_sync.waitlist_entries"
                      " WHERE mock_exam_id = %s AND status = 'offered'", (exam,))
    accept = {"p_student_id": waiting, "p_email": email_of(db, waiting), "p_mock_exam_id": exam}
    clock_at(db, expires)
    try:
        details = []
        for job in (False, True):
            if job:
                call(db, "process_waitlist", None, {"p_actor": "test"})
            with pytest.raises(RpcError) as expired:
                call(db, "accept_offer", None, accept)
            assert expired.value.code == "OFFER_EXPIRED"
            details.append(expired.value.detail)
    finally:
        db.execute("RESET mockbook.clock_offset")
    assert "free for anyone to book until the waitlist job" in details[0]
    assert "the waitlist job has offered free seats" in details[1]


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


@pytest.mark.parametrize("length", [100, 101])
def test_a_booking_code_takes_100_characters_and_refuses_101(db: psycopg.Connection,
                                                             length: int) -> None:
    """create_booking's p_booking_id: a code is 3 to 100 characters (docs/rpc.md)."""
    (student,) = students(db, 1)
    code = "C" * length
    args = {"p_student_id": student, "p_email": email_of(db, student),
            "p_mock_exam_id": new_exam(db), "p_idempotency_key": f"edge-{uuid.uuid4()}",
            "p_attending_location": "mississauga", "p_booking_id": code}
    if length > 100:
        before = table_digests(db)
        with pytest.raises(RpcError) as refused:
            call(db, "create_booking", None, args)
        assert refused.value.code == "INVALID_ARGUMENT"
        assert "101 characters" in refused.value.detail
        assert table_digests(db) == before
        return
    assert call(db, "create_booking", None, args)["booking_id"] == code


def test_a_zone_change_is_busy_while_its_documented_lock_is_held(db: psycopg.Connection,
                                                                 database_url: str) -> None:
    """docs/rpc.md, lock order: set_business_timezone takes the advisory lock
    hashtextextended('mockbook:business_timezone', 0) without waiting: held by another
    session, the change answers BUSY and changes nothing."""
    new_exam(db)
    before = table_digests(db)
    zone = one(db, "SELECT mockbook_internal.business_timezone()")
    try:
        with psycopg.connect(database_url) as rival:
            rival.execute("SELECT pg_advisory_xact_lock("
                          "hashtextextended('mockbook:business_timezone', 0))")
            with pytest.raises(RpcError) as busy:
                call(db, "set_business_timezone", None,
                     {"p_zone": "Asia/Tokyo", "p_actor": "test"})
            assert busy.value.code == "BUSY"
            rival.rollback()
        assert one(db, "SELECT mockbook_internal.business_timezone()") == zone
        assert table_digests(db) == before
    finally:
        reset_business_timezone(db)


def test_a_waiting_place_counts_the_places_before_it_on_its_own_exam(
        db: psycopg.Connection) -> None:
    """list_contact_bookings' waitlist_position (1 = next) counts the places waiting on the same
    exam up to this one: not a place waiting on another exam before it, not one after it."""
    first, second = new_exam(db, capacity=1, day=9), new_exam(db, capacity=1, day=10)
    a, b, elsewhere, me, later = students(db, 5)
    book(db, a, first)
    book(db, b, second)
    join(db, elsewhere, second)
    join(db, me, first)
    join(db, later, first)
    for student, position in ((me, 1), (later, 2), (elsewhere, 1)):
        [row] = rpc_rows(db, "list_contact_bookings", p_student_id=student)
        assert (row["is_active"], row["waitlist_position"]) == ("Waitlisted", position)


# an exam id of the largest length, in a call otherwise accepted: (argument, the other arguments)
AT_LIMIT = {
    "rebook": ("p_new_mock_exam_id", lambda s: {"p_booking_id": s.booking,
                                                "p_idempotency_key": f"edge-{uuid.uuid4()}"}),
    "set_exam_capacity": ("p_mock_exam_id", lambda s: {"p_capacity": 5}),
}


@pytest.mark.parametrize("fn", sorted(AT_LIMIT))
def test_an_exam_id_of_255_characters_is_looked_up_not_refused(db: psycopg.Connection,
                                                               fn: str) -> None:
    """docs/rpc.md, Errors: a text argument takes 255 characters; an exam id that long is looked
    up as any other (one past it is refused by name: the enumerated test below)."""
    arg, rest = AT_LIMIT[fn]
    with pytest.raises(RpcError) as refused:
        call(db, fn, None, {**rest(scenario(db)), arg: "X" * 255})
    assert refused.value.code == "EXAM_NOT_FOUND"


def test_a_booking_without_a_status_is_named_so_when_it_cannot_be_rebooked(
        db: psycopg.Connection) -> None:
    """An adopted booking may have no status (is_active NULL): rebook refuses it, and the
    message says so instead of leaving a blank."""
    s = scenario(db)
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET is_active = NULL"
               " WHERE booking_id = %s", (s.booking,))
    with pytest.raises(RpcError) as refused:
        call(db, "rebook", None, {"p_booking_id": s.booking, "p_new_mock_exam_id": s.e2,
                                  "p_idempotency_key": f"edge-{uuid.uuid4()}"})
    assert refused.value.code == "REBOOK_NOT_ALLOWED"
    assert "is without status; only Active bookings" in refused.value.detail


def test_a_listed_booking_without_an_end_time_ends_at_the_end_of_its_day(
        db: psycopg.Connection) -> None:
    """list_contact_bookings' ends_at for a booking whose copied end time is missing (adopted
    rows): the end of its day in the business time zone, as an exam's is."""
    (student,) = students(db, 1)
    seat = book(db, student, new_exam(db))
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET end_time = NULL WHERE id = %s",
               (seat["id"],))
    [row] = rpc_rows(db, "list_contact_bookings", p_student_id=student)
    assert row["ends_at"] == one(
        db, "SELECT (%s::date + 1)::timestamp AT TIME ZONE mockbook_internal.business_timezone()",
        (row["exam_date"],))


@pytest.mark.parametrize("length", [255, 256])
def test_set_exam_prerequisites_checks_a_256_character_exam_id_before_the_key(
        db: psycopg.Connection, length: int) -> None:
    """docs/rpc.md, Errors: text arguments take at most 255 characters, checked before the
    idempotency key: one past it is INVALID_ARGUMENT naming the argument, even under a key used
    for another call; within the limit that key's own answer."""
    key = f"edge-{uuid.uuid4()}"
    call(db, "set_exam_prerequisites", None,
         {"p_exam_id": new_exam(db), "p_prerequisite_ids": [], "p_idempotency_key": key})
    with pytest.raises(RpcError) as refused:
        call(db, "set_exam_prerequisites", None,
             {"p_exam_id": "X" * length, "p_prerequisite_ids": [], "p_idempotency_key": key})
    if length > 255:
        assert refused.value.code == "INVALID_ARGUMENT"
        assert "p_exam_id" in refused.value.detail
    else:
        assert refused.value.code == "IDEMPOTENCY_KEY_REUSED"


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


def test_a_rebook_keeps_the_contacts_hubspot_id_its_contact_does_not_have_yet(
        db: psycopg.Connection) -> None:
    """A rebook copies the contact's HubSpot id to the new booking, and where the contact has
    none (not pushed yet, an adopted row) the one the old booking carried, never NULL."""
    s = scenario(db)
    carried = one(db, "SELECT associated_contact_id FROM hubspot_sync.hubspot_bookings"
                      " WHERE booking_id = %s", (s.booking,))
    assert carried is not None
    db.execute("UPDATE hubspot_sync.hubspot_contact_credits SET hubspot_id = NULL"
               " WHERE student_id = %s", (s.s0,))
    moved = call(db, "rebook", None, {"p_booking_id": s.booking, "p_new_mock_exam_id": s.e2,
                                      "p_idempotency_key": f"edge-{uuid.uuid4()}"})
    assert one(db, "SELECT associated_contact_id FROM hubspot_sync.hubspot_bookings"
                   " WHERE id = %s", (moved["id"],)) == carried


def test_an_offer_holds_its_seat_60_minutes_where_the_rule_is_not_stored(
        db: psycopg.Connection) -> None:
    """docs/rpc.md, Scheduling rules: offer_hold_minutes defaults to 60, on a database whose
    booking_rules lacks the row as well."""
    exam = new_exam(db, capacity=1)
    holder, waiting = students(db, 2)
    seat = book(db, holder, exam)
    join(db, waiting, exam)
    saved = one(db, "DELETE FROM hubspot_sync.booking_rules WHERE rule = 'offer_hold_minutes'"
                    " RETURNING value")
    try:
        call(db, "cancel_booking", None, {"p_booking_id": seat["booking_id"]})  # offered on
        held = one(db, "SELECT extract(epoch FROM offer_expires_at - offered_at)"
                       " FROM hubspot_sync.waitlist_entries"
                       " WHERE student_id = %s AND status = 'offered'", (waiting,))
        assert abs(float(held) - 3600) < 5
    finally:
        call(db, "set_booking_rule", None, {"p_rule": "offer_hold_minutes", "p_value": saved,
                                            "p_actor": "test"})


def test_a_duplicate_names_the_students_own_booking_before_a_flagged_legacy_one(
        db: psycopg.Connection) -> None:
    """DUPLICATE_BOOKING names the other booking of the type and day: the student's own one
    (legacy_issue NULL) before an adopted duplicate flagged at adoption, whichever came first."""
    (student,) = students(db, 1)
    flagged = book(db, student, new_exam(db, day=9))
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET legacy_issue = 'duplicate'"
               " WHERE id = %s", (flagged["id"],))
    own = f"OWN-{uuid.uuid4().hex[:8]}"
    db.execute("INSERT INTO hubspot_sync.hubspot_bookings (id, booking_id, student_id,"
               " student_email, mock_type, exam_date, is_active, associated_mock_exam)"
               " SELECT gen_random_uuid(), %s, student_id, student_email, mock_type, exam_date,"
               " 'Active', associated_mock_exam FROM hubspot_sync.hubspot_bookings WHERE id = %s",
               (own, flagged["id"]))
    with pytest.raises(RpcError) as refused:
        book(db, student, new_exam(db, day=9))
    assert refused.value.code == "DUPLICATE_BOOKING"
    assert f"booking {own} of type" in refused.value.detail


def test_a_booking_code_with_a_wrong_mock_set_is_refused_for_the_mock_set(
        db: psycopg.Connection) -> None:
    """create_booking names the argument at fault: a call with a good booking code and a mock
    set outside A-H is refused for p_mock_set, not for its code."""
    (student,) = students(db, 1)
    with pytest.raises(RpcError) as refused:
        call(db, "create_booking", None, {
            "p_student_id": student, "p_email": email_of(db, student),
            "p_mock_exam_id": new_exam(db), "p_idempotency_key": f"edge-{uuid.uuid4()}",
            "p_attending_location": "mississauga", "p_booking_id": "CODE-123",
            "p_mock_set": "Z"})
    assert refused.value.code == "INVALID_ARGUMENT"
    assert "p_mock_set" in refused.value.detail


def test_a_rebook_of_a_booking_whose_contact_is_gone_checks_its_students_bookings(
        db: psycopg.Connection) -> None:
    """Adopted bookings of a student with no contact row can still be moved by an admin; the
    new exam's checks read the booking's own student: a prerequisite that student holds is
    met."""
    ghost = f"GONE{uuid.uuid4().hex[:8].upper()}"
    first, origin, target = (new_exam(db, day=day) for day in (8, 9, 10))
    for exam in (first, origin):
        db.execute(
            "INSERT INTO hubspot_sync.hubspot_bookings (id, booking_id, student_id,"
            " student_email, mock_type, exam_date, start_time, end_time, is_active,"
            " associated_mock_exam, attending_location)"
            " SELECT gen_random_uuid(), %s, %s, lower(%s) || '@example.com', e.mock_type,"
            " e.exam_date, e.start_time, e.end_time, 'Active', e.hubspot_id, 'mississauga'"
            " FROM hubspot_sync.hubspot_mock_exams AS e WHERE e.hubspot_id = %s",
            (f"{exam}-{ghost}", ghost, ghost, exam))
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET prerequisite_exam_ids = ARRAY[%s]"
               " WHERE hubspot_id = %s", (first, target))
    moved = call(db, "rebook", None, {"p_booking_id": f"{origin}-{ghost}",
                                      "p_new_mock_exam_id": target,
                                      "p_idempotency_key": f"edge-{uuid.uuid4()}"})
    assert moved["mock_exam_id"] == target


def test_a_capacity_cut_withdraws_live_offers_never_an_expired_one(
        db: psycopg.Connection) -> None:
    """The offers beyond a lowered capacity go back to waiting, newest first, among those still
    held: an offer past its instant holds nothing and is no reason to keep a live one."""
    exam = new_exam(db, capacity=2)
    a, b, older, newer = students(db, 4)
    seats = [book(db, s, exam) for s in (a, b)]
    join(db, older, exam)
    join(db, newer, exam)
    saved = one(db, "SELECT value FROM hubspot_sync.booking_rules"
                    " WHERE rule = 'offer_hold_minutes'")
    try:
        for hold, seat in ((600, seats[0]), (1, seats[1])):   # older long, newer short
            call(db, "set_booking_rule", None, {"p_rule": "offer_hold_minutes", "p_value": hold,
                                                "p_actor": "test"})
            call(db, "cancel_booking", None, {"p_booking_id": seat["booking_id"]})
        clock_at(db, one(db, "SELECT now() + interval '5 minutes'"))   # newer's has expired
        call(db, "set_exam_capacity", None, {"p_mock_exam_id": exam, "p_capacity": 0})
        statuses = places(db, exam)
    finally:
        db.execute("RESET mockbook.clock_offset")
        db.execute("UPDATE hubspot_sync.booking_rules SET value = %s"
                   " WHERE rule = 'offer_hold_minutes'", (Jsonb(saved),))
    assert statuses[older] == "waiting", statuses


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


def test_a_zone_change_gives_an_exam_without_an_end_time_the_end_of_its_day(
        db: psycopg.Connection) -> None:
    """set_business_timezone derives every exam's instants again: an exam without an end time
    ends at the end of its day in the new zone, as the exam trigger writes it."""
    exam = new_exam(db, day=12)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET end_time = NULL"
               " WHERE hubspot_id = %s", (exam,))
    try:
        call(db, "set_business_timezone", None, {"p_zone": "Asia/Tokyo", "p_actor": "test"})
        ends_at, day = db.execute("SELECT exam_ends_at, exam_date FROM"
                                  " hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s",
                                  (exam,)).fetchone()
        assert ends_at == one(db, "SELECT (%s::date + 1)::timestamp AT TIME ZONE 'Asia/Tokyo'",
                              (day,))
    finally:
        reset_business_timezone(db)


def test_a_keyed_write_sent_again_replays_its_first_answer(db: psycopg.Connection) -> None:
    (student,) = students(db, 1)
    seat = book(db, student, new_exam(db))
    args = {"p_booking_id": seat["booking_id"], "p_idempotency_key": f"edge-{uuid.uuid4()}"}
    first = call(db, "cancel_booking", None, args)
    assert call(db, "cancel_booking", None, args) == first


def test_an_exam_without_a_capacity_is_over_capacity_with_one_booking(
        db: psycopg.Connection) -> None:
    """mark_attendance reports each exam it touched; a capacity never set counts as none."""
    exam = new_exam(db)
    attended, booked = (book(db, s, exam) for s in students(db, 2))
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = NULL"
               " WHERE hubspot_id = %s", (exam,))
    done = call(db, "mark_attendance", None, {
        "p_updates": [{"booking_id": attended["booking_id"], "attendance": "Yes"}],
        "p_actor": "test"})
    assert booked["status"] == "Active"   # still Active: one seat taken of none
    [touched] = [e for e in done["exams"] if e["mock_exam_id"] == exam]
    assert touched["over_capacity"] is True


def test_the_waitlist_job_offers_a_seat_freed_without_an_offer(db: psycopg.Connection) -> None:
    """A seat that came free where nothing offered it (capacity raised in a write that fired no
    trigger, as a restore or a DBA's fix does) is offered by process_waitlist to the first
    waiting student: the job's candidates are the exams with more free seats than held offers."""
    exam = new_exam(db, capacity=1)
    booked, waiting = students(db, 2)
    book(db, booked, exam)
    join(db, waiting, exam)
    with db.transaction():
        db.execute("SET LOCAL session_replication_role = replica")
        db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = 2"
                   " WHERE hubspot_id = %s", (exam,))
    done = call(db, "process_waitlist", None, {"p_actor": "test"})
    assert done["offered"] == 1, done
    assert one(db, "SELECT status FROM hubspot_sync.waitlist_entries"
                   " WHERE student_id = %s AND mock_exam_id = %s", (waiting, exam)) == "offered"


def test_attendance_on_two_exams_recounts_and_reports_both(db: psycopg.Connection) -> None:
    """One mark_attendance call taking a booking on each of two exams out of Active recounts
    both exams' seats and reports both, not only the first it met."""
    exams = [new_exam(db), new_exam(db)]
    made = [book(db, s, e) for s, e in zip(students(db, 2), exams, strict=True)]
    done = call(db, "mark_attendance", None, {
        "p_updates": [{"booking_id": m["booking_id"], "attendance": "Yes"} for m in made],
        "p_actor": "test"})
    assert sorted(e["mock_exam_id"] for e in done["exams"]) == sorted(exams)
    assert [one(db, "SELECT tests.total(%s)", (e,)) for e in exams] == [0, 0]


def test_an_admin_booking_on_an_exam_without_a_capacity_says_it_is_over_capacity(
        db: psycopg.Connection) -> None:
    """admin_create_booking with p_override_capacity books an exam without a capacity (no
    seats) and says the booking is over it, as mark_attendance's report does."""
    exam = new_exam(db)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = NULL"
               " WHERE hubspot_id = %s", (exam,))
    (student,) = students(db, 1)
    result = call(db, "admin_create_booking", None, {
        "p_student_id": student, "p_email": one(db, "SELECT tests.email_of(%s)", (student,)),
        "p_mock_exam_id": exam, "p_idempotency_key": f"edge-{uuid.uuid4()}",
        "p_attending_location": "mississauga", "p_actor": "test", "p_override_capacity": True})
    assert result["total_bookings"] == 1
    assert result["over_capacity"] is True


def test_a_booking_reference_takes_255_characters_and_refuses_256(
        db: psycopg.Connection) -> None:
    """cancel_booking's p_booking_id is a code, a HubSpot id or a uuid: up to 255 characters
    it is looked up (nothing there: BOOKING_NOT_FOUND), one more is refused as an argument."""
    with pytest.raises(RpcError) as unknown:
        call(db, "cancel_booking", None, {"p_booking_id": "b" * 255})
    assert unknown.value.code == "BOOKING_NOT_FOUND"
    with pytest.raises(RpcError) as refused:
        call(db, "cancel_booking", None, {"p_booking_id": "b" * 256})
    assert refused.value.code == "INVALID_ARGUMENT" and "p_booking_id" in refused.value.detail


def test_a_capacity_of_null_is_refused_naming_it(db: psycopg.Connection) -> None:
    exam = new_exam(db)
    with pytest.raises(RpcError) as refused:
        call(db, "set_exam_capacity", None, {"p_mock_exam_id": exam, "p_capacity": None})
    assert refused.value.code == "INVALID_ARGUMENT"
    assert refused.value.detail == "p_capacity must be a non-negative integer, not NULL."


def test_a_booking_on_an_exam_without_a_count_counts_from_none(db: psycopg.Connection) -> None:
    """An adopted exam row may have no total_bookings: its first booking makes it 1."""
    exam = new_exam(db, capacity=3)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET total_bookings = NULL"
               " WHERE hubspot_id = %s", (exam,))
    (student,) = students(db, 1)
    assert book(db, student, exam)["total_bookings"] == 1
    assert one(db, "SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                   " WHERE hubspot_id = %s", (exam,)) == 1


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


def test_an_exam_without_a_capacity_or_a_count_is_listed_with_none_and_full(
        db: psycopg.Connection) -> None:
    """The listing reads a missing capacity and count as 0 (no seats, none booked): full."""
    exam = new_exam(db)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = NULL, total_bookings = NULL"
               " WHERE hubspot_id = %s", (exam,))
    (row,) = [r for r in rpc_rows(db, "list_available_exams", p_include_unbookable=True)
              if r["mock_exam_id"] == exam]
    assert (row["capacity"], row["total_bookings"], row["remaining_seats"], row["is_full"]) \
        == (0, 0, 0, True)


def test_prerequisites_are_set_on_an_exam_whose_id_has_255_characters(
        db: psycopg.Connection) -> None:
    """An exam id takes up to 255 characters in every function that writes prerequisites."""
    exam, first = new_exam(db), new_exam(db, day=5)
    long_id = "x" * 255
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET hubspot_id = %s WHERE hubspot_id = %s",
               (long_id, exam))
    done = call(db, "set_exam_prerequisites", None, {"p_exam_id": long_id,
                                                     "p_prerequisite_ids": [first]})
    assert done["prerequisite_exam_ids"] == [first]


def test_prerequisites_set_on_an_exam_whose_list_is_null(db: psycopg.Connection) -> None:
    """An adopted exam may hold NULL for its prerequisites: the change reads it as none."""
    exam, first = new_exam(db), new_exam(db, day=5)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET prerequisite_exam_ids = NULL"
               " WHERE hubspot_id = %s", (exam,))
    done = call(db, "set_exam_prerequisites", None, {"p_exam_id": exam,
                                                     "p_prerequisite_ids": [first]})
    assert (done["previous_prerequisite_exam_ids"], done["previous_count"],
            done["added_count"], done["removed_count"]) == ([], 0, 1, 0)


def test_a_booking_closes_the_students_places_that_day_when_no_one_else_waits(
        db: psycopg.Connection) -> None:
    """The booking's gate to close_day_places asks whether this student has an open place,
    whoever else waits: with no other place open anywhere, the student's place on another exam
    of the type and day is left all the same."""
    full, other = new_exam(db, capacity=1, day=14), new_exam(db, day=14)
    holder, student = students(db, 2)
    book(db, holder, full)
    db.execute("UPDATE hubspot_sync.waitlist_entries SET status = 'left', resolved_at = now()"
               " WHERE status IN ('waiting', 'offered')")   # the module's other tests' places
    join(db, student, full)
    book(db, student, other)
    assert one(db, "SELECT status FROM hubspot_sync.waitlist_entries WHERE student_id = %s",
               (student,)) == "left"


def student_functions(db: psycopg.Connection) -> list[str]:
    return sorted(fn for fn, (_, args) in catalog_cache(db).items() if "p_student_id" in args)


# the functions that take a student id (at most 64 characters); the two lookups take any and
# find nobody
STUDENT_ID_LIMITED = ("accept_offer", "adjust_credits", "admin_create_booking", "cancel_booking",
                      "create_booking", "create_booking_atomic", "create_booking_atomic_v1",
                      "get_credit_summary", "join_waitlist", "leave_waitlist",
                      "list_contact_bookings")
STUDENT_ID_LOOKUPS = ("get_contact_credits", "list_available_exams")


def refused_naming(db: psycopg.Connection, fn: str, s: Any, field: str, value: str,
                   limit: int) -> bool:
    """Whether ``fn``, called with the scenario's arguments and ``field`` set to ``value``, is
    refused as INVALID_ARGUMENT naming the field and its limit (any other answer: False)."""
    try:
        call(db, fn, None, {**CASES[fn].args(db, s), field: value})
    except RpcError as exc:
        return exc.code == "INVALID_ARGUMENT" and field in (exc.detail or "") \
            and str(limit) in exc.detail
    return False


@pytest.mark.parametrize("fn", STUDENT_ID_LIMITED)
def test_a_student_id_takes_64_characters_and_refuses_65(db: psycopg.Connection,
                                                         fn: str) -> None:
    s = scenario(db)
    for length, refused in ((64, False), (65, True)):
        assert refused_naming(db, fn, s, "p_student_id", "A" * length, 64) == refused, (fn, length)


def test_every_function_with_a_student_id_is_checked_at_its_length(db: psycopg.Connection,
                                                                   ) -> None:
    assert student_functions(db) == sorted(STUDENT_ID_LIMITED + STUDENT_ID_LOOKUPS)


def test_a_rule_name_of_64_characters_is_an_unknown_rule_65_too_long(
        db: psycopg.Connection) -> None:
    for length, words in ((64, "is not a scheduling rule"), (65, "64")):
        with pytest.raises(RpcError) as refused:
            call(db, "set_booking_rule", None, {"p_rule": "r" * length, "p_value": True,
                                                "p_actor": "test"})
        assert refused.value.code == "INVALID_ARGUMENT" and words in refused.value.detail, (
            length, refused.value.detail)


def test_an_exam_without_a_date_took_place_on_no_date(db: psycopg.Connection) -> None:
    exam = new_exam(db)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET exam_date = NULL, start_time = NULL,"
               " end_time = NULL WHERE hubspot_id = %s", (exam,))
    with pytest.raises(RpcError) as refused:
        book(db, students(db, 1)[0], exam)
    assert refused.value.code == "EXAM_IN_PAST" and "on no date" in refused.value.detail


def test_a_booking_without_a_student_id_refunds_its_hubspot_contact(
        db: psycopg.Connection) -> None:
    """An adopted booking may carry only its HubSpot contact id: the refund goes there."""
    (student,) = students(db, 1)
    seat = book(db, student, new_exam(db))
    contact = one(db, "SELECT hubspot_id FROM hubspot_sync.hubspot_contact_credits"
                      " WHERE student_id = %s", (student,))
    with db.transaction():
        db.execute("SET LOCAL session_replication_role = replica")   # as adopted
        db.execute("UPDATE hubspot_sync.hubspot_bookings SET student_id = NULL,"
                   " associated_contact_id = %s WHERE id = %s", (contact, seat["id"]))
    before = one(db, "SELECT sj_credits FROM hubspot_sync.hubspot_contact_credits"
                     " WHERE student_id = %s", (student,))
    call(db, "cancel_booking", None, {"p_booking_id": seat["booking_id"]})
    assert one(db, "SELECT sj_credits FROM hubspot_sync.hubspot_contact_credits"
                   " WHERE student_id = %s", (student,)) == before + 1


def test_a_replay_of_a_booking_whose_copy_differs_shows_the_copys_times(
        db: psycopg.Connection) -> None:
    """A booking's result carries the exam's instants while the booking copies its times; a
    copy that differs (an adopted row without an end time) is read on its own: it ends at the
    end of its day."""
    (student,) = students(db, 1)
    exam = new_exam(db)
    args = {"p_student_id": student, "p_email": email_of(db, student), "p_mock_exam_id": exam,
            "p_idempotency_key": f"edge-{uuid.uuid4()}", "p_attending_location": "mississauga"}
    first = call(db, "create_booking", None, args)
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET end_time = NULL WHERE id = %s",
               (first["id"],))
    again = call(db, "create_booking", None, args)
    day_end = one(db, "SELECT ((%s::date + 1)::timestamp AT TIME ZONE 'America/Toronto')::text",
                  (first["exam_date"],))
    assert again["idempotent_replay"] and again["starts_at"] == first["starts_at"]
    assert one(db, "SELECT %s::timestamptz = %s::timestamptz", (again["ends_at"], day_end))


def test_the_credit_fields_have_one_order(db: psycopg.Connection) -> None:
    assert db.execute("SELECT credit_field, position FROM mockbook_internal.credit_fields()"
                      " ORDER BY position").fetchall() == [
        ("sj_credits", 1), ("cs_credits", 2), ("sjmini_credits", 3),
        ("mock_discussion_token", 4), ("shared_mock_credits", 5)]


def test_a_rebook_keeps_the_old_bookings_ndecc_date_when_the_contact_has_none(
        db: psycopg.Connection) -> None:
    (student,) = students(db, 1)
    seat = book(db, student, new_exam(db))
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET ndecc_exam_date = '2027-06-01'"
               " WHERE id = %s", (seat["id"],))
    moved = call(db, "rebook", None, {"p_booking_id": seat["booking_id"],
                                      "p_new_mock_exam_id": new_exam(db, day=11),
                                      "p_idempotency_key": f"edge-{uuid.uuid4()}"})
    assert one(db, "SELECT ndecc_exam_date FROM hubspot_sync.hubspot_bookings WHERE id = %s",
               (moved["id"],)) == "2027-06-01"


def test_the_waitlist_job_offers_a_seat_of_an_exam_whose_count_is_null(
        db: psycopg.Connection) -> None:
    """An adopted exam may hold NULL for total_bookings (none booked): its free seat is
    offered to its waiting student."""
    exam = new_exam(db, capacity=1)
    (waiting,) = students(db, 1)
    db.execute("UPDATE hubspot_sync.waitlist_entries SET status = 'left', resolved_at = now()"
               " WHERE status IN ('waiting', 'offered')")   # the module's other tests' places
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET total_bookings = NULL"
               " WHERE hubspot_id = %s", (exam,))
    db.execute("INSERT INTO hubspot_sync.waitlist_entries (mock_exam_id, student_id, contact_id,"
               " attending_location) SELECT %s, c.student_id, c.id, 'mississauga'"
               " FROM hubspot_sync.hubspot_contact_credits AS c WHERE c.student_id = %s",
               (exam, waiting))
    assert call(db, "process_waitlist", None, {"p_actor": "test"})["offered"] == 1


def email_functions(db: psycopg.Connection) -> list[str]:
    return sorted(fn for fn, (_, args) in catalog_cache(db).items()
                  if {"p_email", "p_student_email"} & set(args))


# the functions that check an email's form (at most 254 characters, RFC 5321's path limit);
# get_contact_credits only looks one up and finds nobody
EMAIL_LIMITED = ("accept_offer", "admin_create_booking", "create_booking",
                 "create_booking_atomic", "create_booking_atomic_v1", "get_credit_summary",
                 "join_waitlist")
EMAIL_LOOKUPS = ("get_contact_credits",)


def test_every_function_with_an_email_is_checked_at_its_length(db: psycopg.Connection) -> None:
    assert email_functions(db) == sorted(EMAIL_LIMITED + EMAIL_LOOKUPS)


@pytest.mark.parametrize("fn", EMAIL_LIMITED)
def test_an_email_takes_254_characters_and_refuses_255(db: psycopg.Connection, fn: str) -> None:
    """A 254-character address passes the argument check (it names no student here, so another
    error answers); one of 255 is refused naming the argument and the limit."""
    s = scenario(db)
    args = CASES[fn].args(db, s)
    field = "p_email" if "p_email" in args else "p_student_email"
    for length, refused in ((254, False), (255, True)):
        email = "a" * (length - len("@example.com")) + "@example.com"
        assert refused_naming(db, fn, s, field, email, 254) == refused, (fn, length)


def test_a_refund_value_of_zero_is_a_conflict_not_a_bad_argument(db: psycopg.Connection) -> None:
    """cancel_booking_atomic refuses a negative p_restored_credit_value as an argument; 0 is a
    value, checked against the balance (never below 0, so the refund makes it at least 1)."""
    (student,) = students(db, 1)
    seat = book(db, student, new_exam(db))
    balance = one(db, "SELECT sj_credits FROM hubspot_sync.hubspot_contact_credits"
                      " WHERE student_id = %s", (student,))
    for value, code in ((-1, "INVALID_ARGUMENT"), (0, "CREDIT_CONFLICT")):
        with pytest.raises(RpcError) as refused:
            call(db, "cancel_booking_atomic", None, {
                "p_booking_id": seat["id"], "p_credit_field": "sj_credits",
                "p_restored_credit_value": value})
        assert refused.value.code == code, (value, refused.value.detail)
    assert f"after the refund {balance + 1}, not 0" in refused.value.detail
    assert one(db, "SELECT is_active FROM hubspot_sync.hubspot_bookings WHERE id = %s",
               (seat["id"],)) == "Active"


def test_an_expired_offer_the_job_has_not_passed_on_holds_no_seat_a_cancellation_frees(
        db: psycopg.Connection) -> None:
    """An offer past its instant still reads 'offered' until the waitlist job runs; a seat freed
    meanwhile goes to the next waiting student all the same (the expired offer holds nothing)."""
    exam, expired, nxt = expired_offer(db)
    late = students(db, 1)[0]
    try:
        again = book(db, late, exam)               # the seat the expired offer held, taken
        call(db, "cancel_booking", None, {"p_booking_id": again["booking_id"]})
        statuses = places(db, exam)
    finally:
        db.execute("RESET mockbook.clock_offset")
    assert (statuses[expired], statuses[nxt]) == ("offered", "offered"), statuses


def test_attendance_past_a_booking_without_an_exam_recounts_the_exams_after_it(
        db: psycopg.Connection) -> None:
    """A booking whose exam is unknown (an adopted row without one) changes status and touches
    no exam; the bookings after it in the same call still have their exams recounted and
    reported."""
    orphan_exam, exam = new_exam(db), new_exam(db)
    orphan, made = [book(db, s, e) for s, e in zip(students(db, 2), (orphan_exam, exam),
                                                  strict=True)]
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET associated_mock_exam = NULL"
               " WHERE booking_id = %s", (orphan["booking_id"],))
    done = call(db, "mark_attendance", None, {
        "p_updates": [{"booking_id": m["booking_id"], "attendance": "Yes"}
                      for m in (orphan, made)], "p_actor": "test"})
    assert len(done["updated"]) == 2
    assert [e["mock_exam_id"] for e in done["exams"]] == [exam]
    assert one(db, "SELECT tests.total(%s)", (exam,)) == 0


def test_a_capacity_change_counts_only_its_exams_held_offers(db: psycopg.Connection) -> None:
    """set_exam_capacity's remaining_seats leaves out the seats offers hold on this exam, not
    those held on another."""
    elsewhere, here = new_exam(db, capacity=1), new_exam(db, capacity=2)
    first, waiting, booked = students(db, 3)
    seat = book(db, first, elsewhere)
    join(db, waiting, elsewhere)
    call(db, "cancel_booking", None, {"p_booking_id": seat["booking_id"]})  # held for waiting
    book(db, booked, here)
    done = call(db, "set_exam_capacity", None, {"p_mock_exam_id": here, "p_capacity": 3})
    assert (done["total_bookings"], done["remaining_seats"]) == (1, 2)


def test_a_cancellation_reason_takes_1000_characters_and_refuses_1001(
        db: psycopg.Connection) -> None:
    """cancel_booking's p_reason (stored with the cancellation) up to 1,000 characters; one more
    is refused as an argument, naming it."""
    exam = new_exam(db)
    made = [book(db, s, exam) for s in students(db, 2)]
    with pytest.raises(RpcError) as refused:
        call(db, "cancel_booking", None, {"p_booking_id": made[0]["booking_id"],
                                          "p_reason": "r" * 1001})
    assert refused.value.code == "INVALID_ARGUMENT" and "p_reason" in refused.value.detail
    done = call(db, "cancel_booking", None, {"p_booking_id": made[1]["booking_id"],
                                             "p_reason": "r" * 1000})
    assert done["status"] == "Cancelled"


def test_a_students_call_naming_no_student_names_the_jwts_user(db: psycopg.Connection) -> None:
    """A student's JWT on cancel_booking without p_student_id (the admin form) is FORBIDDEN,
    the detail naming the user as the JWT does (its email, without the actor's prefix)."""
    exam = new_exam(db)
    student, = students(db, 1)
    made = book(db, student, exam)
    with pytest.raises(RpcError) as refused:
        call(db, "cancel_booking", claims_of(student), {"p_booking_id": made["booking_id"]})
    assert refused.value.code == "FORBIDDEN"
    assert f"the request's JWT names {email_of(db, student)}, who is not an admin" \
        in refused.value.detail


def test_a_pattern_without_its_words_is_named_well_formed(db: psycopg.Connection) -> None:
    """check_text_arg's documented default: a value off a pattern given without the words for
    it is refused as not well-formed (every API caller gives its words; this is the helper's
    own contract)."""
    with pytest.raises(psycopg.Error) as refused:
        db.execute("SELECT mockbook_internal.check_text_arg('p_x', 'a b', true, 10, '^[a-z]+$')")
    db.rollback()
    assert (refused.value.diag.message_primary, refused.value.diag.message_detail) == \
        ("INVALID_ARGUMENT", "p_x must be well-formed.")


def test_an_expired_offer_the_job_finds_locked_holds_no_seat_the_job_offers_on(
        db: psycopg.Connection, database_url: str) -> None:
    """process_waitlist passes over an expired offer another transaction holds (SKIP LOCKED: it
    stays 'offered' until a later run); the seat it held is free all the same, and the same run
    offers it to the next waiting student."""
    exam, expired, nxt = expired_offer(db)
    try:
        with psycopg.connect(database_url) as rival:
            rival.execute("SELECT FROM hubspot_sync.waitlist_entries WHERE mock_exam_id = %s"
                          " AND student_id = %s FOR UPDATE", (exam, expired))
            call(db, "process_waitlist", None, {"p_actor": "test"})
            rival.rollback()
        statuses = places(db, exam)
    finally:
        db.execute("RESET mockbook.clock_offset")
    # (the job's counts take in the places of the module's other tests: this exam's are read)
    assert (statuses[expired], statuses[nxt]) == ("offered", "offered"), statuses


@pytest.mark.parametrize("delta", [1000, -1000])
def test_adjust_credits_takes_a_delta_at_either_bound(db: psycopg.Connection,
                                                      delta: int) -> None:
    """docs/rpc.md: p_delta between -1000 and 1000, both included."""
    student = one(db, "SELECT tests.make_student(p_sj := 1000)")
    rpc(db, "adjust_credits", p_student_id=student, p_credit_field="sj_credits", p_delta=delta,
        p_reason="goodwill", p_actor="test")
    assert balance(db, student) == 1000 + delta
    assert one(db, "SELECT delta FROM hubspot_sync.credit_ledger WHERE student_id = %s",
               (student,)) == delta


def test_the_seats_left_and_is_full_read_null_columns_as_zero(
        db: psycopg.Connection) -> None:
    """list_available_exams' remaining_seats (capacity - total_bookings - held, 0 at the least)
    and is_full: a NULL capacity or total (production's columns allow both) counts as 0, so an
    exam without a capacity is full and one without a total has its capacity free."""
    full, no_capacity, no_total = new_exam(db, capacity=1), new_exam(db), new_exam(db, capacity=1)
    book(db, students(db, 1)[0], full)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = NULL WHERE hubspot_id = %s",
               (no_capacity,))
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET total_bookings = NULL"
               " WHERE hubspot_id = %s", (no_total,))
    rows = {r["mock_exam_id"]: (r["capacity"], r["total_bookings"], r["remaining_seats"],
                                r["is_full"])
            for r in rpc_rows(db, "list_available_exams", p_include_unbookable=True)}
    assert rows[full] == (1, 1, 0, True)
    assert rows[no_capacity] == (0, 0, 0, True)
    assert rows[no_total] == (1, 0, 1, False)


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


def test_a_seat_count_stored_as_null_is_zero_seats_taken(db: psycopg.Connection) -> None:
    """take_seat reads a NULL total_bookings (production's column allows it) as 0: the exam's one
    seat is free, and taking it writes 1."""
    exam = new_exam(db, capacity=1)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET total_bookings = NULL"
               " WHERE hubspot_id = %s", (exam,))
    made = book(db, students(db, 1)[0], exam)
    assert made["success"] is True
    assert one(db, "SELECT total_bookings FROM hubspot_sync.hubspot_mock_exams"
                   " WHERE hubspot_id = %s", (exam,)) == 1


def test_a_capacity_emptied_while_the_seat_waits_is_full_and_says_0_of_0(
        db: psycopg.Connection, database_url: str) -> None:
    """Another writer (a HubSpot sync, an admin app) empties the exam's capacity and count while
    a booking that passed its checks waits for the row: the seat's UPDATE reads the row it
    waited for, so the booking is EXAM_FULL, reading both NULLs as 0 in its detail, and keeps
    nothing."""
    exam = new_exam(db, capacity=5)
    student = students(db, 1)[0]
    with psycopg.connect(database_url) as rival:
        rival.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = NULL,"
                      " total_bookings = NULL WHERE hubspot_id = %s", (exam,))
        caller = Call(database_url, lambda conn: book(conn, student, exam)).start()
        waiting_on_lock(db, caller.pid)  # the seat's UPDATE, on the rival's row
        rival.commit()
    caller.join()
    assert isinstance(caller.error, RpcError) and caller.error.code == "EXAM_FULL", caller.error
    assert caller.error.detail == f"Exam {exam} is full (0 of 0 seats booked)."
    assert one(db, "SELECT count(*) FROM hubspot_sync.hubspot_bookings WHERE student_id = %s",
               (student,)) == 0
    assert one(db, "SELECT sj_credits FROM hubspot_sync.hubspot_contact_credits"
                   " WHERE student_id = %s", (student,)) == 3


def test_a_rebook_replayed_answers_its_first_result_not_todays_rows(
        db: psycopg.Connection) -> None:
    """rebook stores its result under its key: a replay answers it as it was, though the old
    exam's count has moved since (a booking of it by someone else)."""
    s = scenario(db)
    args = {"p_booking_id": s.booking, "p_new_mock_exam_id": s.e2,
            "p_idempotency_key": f"edge-rebook-{s.s0}"}
    first = call(db, "rebook", None, args)
    book(db, s.s1, s.e)                  # the old exam's count moves on
    again = call(db, "rebook", None, args)
    assert again["idempotent_replay"] is True
    assert again["previous_exam_total_bookings"] == first["previous_exam_total_bookings"]
    assert one(db, "SELECT tests.total(%s)", (s.e,)) == first["previous_exam_total_bookings"] + 1


def test_offers_a_booking_closes_on_two_exams_are_offered_on_at_once(
        db: psycopg.Connection) -> None:
    """A student holding offers on two exams books a third of the same type and day: both
    offers are left, and each exam's seat goes to its next waiting student in the same call."""
    held, also_held, other = new_exam(db, capacity=1), new_exam(db, capacity=1), new_exam(db)
    offered, *rest = students(db, 5)
    for exam, (first, nxt) in ((held, rest[:2]), (also_held, rest[2:])):
        seat = book(db, first, exam)
        join(db, offered, exam)
        join(db, nxt, exam)
        call(db, "cancel_booking", None, {"p_booking_id": seat["booking_id"]})  # for offered
    book(db, offered, other)
    statuses = db.execute("SELECT mock_exam_id, student_id, status"
                          " FROM hubspot_sync.waitlist_entries WHERE mock_exam_id IN (%s, %s)",
                          (held, also_held)).fetchall()
    assert sorted(statuses) == sorted([(held, offered, "left"), (held, rest[1], "offered"),
                                       (also_held, offered, "left"),
                                       (also_held, rest[3], "offered")]), statuses


# the functions whose key claim_idempotent_call claims, and an argument that changes what a
# second call with the same key asks (each in the key's fingerprint)
KEY_REUSE: dict[str, tuple[str, Any]] = {
    "adjust_credits": ("p_delta", 2),
    "cancel_booking": ("p_reason", "another reason"),
    "cancel_bookings": ("p_refund", False),
    "mark_attendance": ("p_updates", None),  # the same booking, marked No
    "set_exam_capacity": ("p_capacity", 13),
    "set_exam_prerequisites": ("p_prerequisite_ids", None),  # the scenario's exam E
    "update_exam_prerequisites": ("p_remove_ids", None),  # the scenario's exam E
}


def test_every_function_that_claims_a_key_is_checked_here(db: psycopg.Connection) -> None:
    claimers = {name for (name,) in db.execute(
        "SELECT p.proname FROM pg_catalog.pg_proc AS p"
        " WHERE p.pronamespace = 'hubspot_sync'::regnamespace"
        " AND p.prosrc LIKE '%%mockbook_internal.claim_idempotent_call(%%'").fetchall()}
    assert claimers == set(KEY_REUSE)


@pytest.mark.parametrize("fn", KEY_REUSE)
def test_a_key_reused_with_other_arguments_by_the_same_function_is_refused(
        db: psycopg.Connection, fn: str) -> None:
    """The same function, the same key, other arguments: IDEMPOTENCY_KEY_REUSED, nothing
    written (not the first call's result replayed)."""
    s = scenario(db)
    args = {**CASES[fn].args(db, s), "p_idempotency_key": f"edge-reuse-{uuid.uuid4()}"}
    call(db, fn, None, args)
    before = table_digests(db)
    changed, value = KEY_REUSE[fn]
    if value is None:
        value = {"p_updates": [{"booking_id": s.booking, "attendance": "No"}],
                 "p_prerequisite_ids": [s.e], "p_remove_ids": [s.e]}[changed]
    with pytest.raises(RpcError) as refused:
        call(db, fn, None, {**args, changed: value})
    assert refused.value.code == "IDEMPOTENCY_KEY_REUSED", refused.value
    assert table_digests(db) == before


def test_cancel_booking_atomic_cancels_a_booking_whose_student_has_no_contact(
        db: psycopg.Connection) -> None:
    """An adopted booking may name a student no contact row has: cancel_booking_atomic (no
    credit to restore) locks no contact and cancels it."""
    made = book(db, students(db, 1)[0], new_exam(db))
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET student_id = %s,"
               " associated_contact_id = NULL WHERE id = %s", (f"GONE{uuid.uuid4().hex[:8]}",
                                                               made["id"]))
    done = call(db, "cancel_booking_atomic", None, {
        "p_booking_id": made["id"], "p_credit_field": None, "p_restored_credit_value": None})
    assert done["success"] is True
    assert one(db, "SELECT is_active FROM hubspot_sync.hubspot_bookings WHERE id = %s",
               (made["id"],)) == "Cancelled"


def test_with_no_lock_timeout_set_the_seats_wait_ends_busy_at_the_documented_default(
        db: psycopg.Connection, database_url: str) -> None:
    """docs/dba.md: mockbook.lock_timeout defaults to 2s, for the seat's own wait too: a booking
    whose exam row is held elsewhere answers BUSY by itself (the 10 s statement_timeout stands in
    for the API's)."""
    exam, student = new_exam(db), students(db, 1)[0]
    with psycopg.connect(database_url, autocommit=True) as caller, \
            psycopg.connect(database_url) as rival:
        rival.execute("SELECT FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = %s"
                      " FOR UPDATE", (exam,))
        caller.execute("SET mockbook.lock_timeout = ''")
        caller.execute("SET statement_timeout = '10s'")
        with pytest.raises(RpcError) as busy:
            book(caller, student, exam)
        assert busy.value.code == "BUSY", busy.value
        rival.rollback()


def test_a_students_rebook_is_no_time_conflict_with_the_booking_it_replaces(
        db: psycopg.Connection) -> None:
    """time_conflict on: a student moving a booking to an exam that overlaps the one it leaves
    is not refused for overlapping itself."""
    saved = one(db, "SELECT value FROM hubspot_sync.booking_rules WHERE rule = 'time_conflict'")
    first, moved = new_exam(db), new_exam(db)
    db.execute("UPDATE hubspot_sync.hubspot_mock_exams SET start_time = '10:00',"
               " end_time = '13:00' WHERE hubspot_id = %s", (moved,))  # 09:00-12:00 left
    student = students(db, 1)[0]
    made = book(db, student, first)
    rpc(db, "set_booking_rule", p_rule="time_conflict", p_value=True, p_actor="test")
    try:
        done = call(db, "rebook", claims_of(student), {
            "p_booking_id": made["booking_id"], "p_new_mock_exam_id": moved,
            "p_idempotency_key": f"edge-{uuid.uuid4()}"})
    finally:
        rpc(db, "set_booking_rule", p_rule="time_conflict", p_value=saved, p_actor="test")
    assert done["success"] is True and done["rebooked_from"]["id"] == made["id"]


# a text argument's largest accepted length, where it is not 255 (docs/rpc.md, "Errors")
TEXT_LIMITS = {"p_reason": 1000, "p_student_id": 64, "p_email": 254, "p_student_email": 254,
               "p_dominant_hand": 32}


# functions that write nothing: a name past its limit is one nobody holds (not found, an empty
# list), and the call changes nothing either way. increment_exam_bookings is production's
# counter, kept for its callers, and changes nothing (docs/rpc.md).
NO_WRITES = ("increment_exam_bookings",)


def text_arguments(db: psycopg.Connection) -> list[tuple[str, str]]:
    """(function, argument) of every text argument of the API functions that write (VOLATILE),
    from the catalog."""
    rows = db.execute(
        "SELECT p.proname, a.name FROM pg_catalog.pg_proc AS p"
        " CROSS JOIN LATERAL unnest(p.proargnames, p.proargtypes::oid[]) WITH ORDINALITY"
        "     AS a(name, type, n)"
        " WHERE p.pronamespace = 'hubspot_sync'::regnamespace AND p.prokind = 'f'"
        "   AND p.provolatile = 'v' AND a.type = 'text'::regtype AND a.n <= p.pronargs"
        " ORDER BY 1, 2").fetchall()
    return [(fn, arg) for fn, arg in rows if fn not in NO_WRITES]


def test_every_text_argument_one_past_its_limit_is_refused_by_name(
        db: psycopg.Connection) -> None:
    """Enumerated from the catalog: every text argument of every API function that writes, one
    character past its limit (255 unless docs/rpc.md says otherwise), is INVALID_ARGUMENT naming
    it, and the call changes nothing."""
    failures = []
    arguments = text_arguments(db)
    assert {fn for fn, _ in arguments} >= {"create_booking", "rebook", "set_exam_capacity",
                                          "set_exam_prerequisites", "adjust_credits"}
    for fn, arg in arguments:
        s = scenario(db)
        args = {**CASES[fn].args(db, s), arg: "X" * (TEXT_LIMITS.get(arg, 255) + 1)}
        before = table_digests(db)
        try:
            call(db, fn, None, args)
            failures.append(f"{fn}({arg}): accepted")
        except RpcError as refused:
            if refused.code != "INVALID_ARGUMENT" or arg not in (refused.detail or ""):
                failures.append(f"{fn}({arg}): {refused.code} {refused.detail}")
        if table_digests(db) != before:
            failures.append(f"{fn}({arg}): changed the tables")
    assert failures == [], "\n".join(failures)
