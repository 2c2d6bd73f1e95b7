"""The claims of an idempotency key (mockbook_internal.claim_idempotent_call, and the booking
functions' own claim, mockbook_internal.claim_idempotency_key): a key reused with other arguments
by the same function is refused, and a key another writer stored past the key lock is answered
as a replay that takes no seat. Replays and concurrency of every keyed write:
test_idempotent_writes.py.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest
from booking_calls import email_of, one
from invariants import table_digests
from postgrest import RpcError
from psycopg import sql
from psycopg.types.json import Jsonb
from test_lock_order import Call, waiting_on_lock
from test_who_acts import CASES, balance, call, scenario

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
