"""Checking a function with plpgsql_check leaves the session's later calls of it sound.

Regression for "XX000: unrecognized node type: 32": running tests/sql/test_create_booking.sql and
then tests/sql/test_booking_helpers.sql on one connection (pytest-pgtap shares one) made
insert_booking raise an internal error instead of INVALID_ARGUMENT. Reduced: one transaction runs
insert_booking down its unique-violation paths (the errors caught by the caller); a later one
changes the catalog (a temp table, which invalidates the session's cached plans), checks
insert_booking with plpgsql_check (tests.plpgsql_check_count, as the pgTAP files do), then calls
it again. plpgsql_check 2.3 rebuilt the invalidated plans of plpgsql's cached copy of the
function behind plpgsql's back, and plpgsql's simple-expression cache then evaluated a freed
expression tree (the comment on tests.plpgsql_check_count in tests/sql/helpers/40_admin_reads.sql
has the detail). Without plpgsql_check in the session the sequence answers correctly, so the
fix is in the checker helper, which now discards the session's cached plans after checking.
"""

from __future__ import annotations

import psycopg
from psycopg.types.json import Jsonb

# the row to insert: the existing booking 'ib-1' with these columns replaced, and the answer due
CASES = {
    "a lost race on the one-per-day index": (
        {"id": None, "booking_id": None, "idempotency_key": "ib-other"}, "PT409 DUPLICATE_BOOKING"),
    "a taken idempotency key": (
        {"id": None, "booking_id": None, "is_active": "Cancelled"}, "NULL (replay)"),
    "a caller's booking code already in use": (
        {"id": None, "idempotency_key": "ib-new", "is_active": "Cancelled"},
        "PT400 INVALID_ARGUMENT"),
}
INSERT = """
    SELECT (mockbook_internal.insert_booking(jsonb_populate_record(b, %s::jsonb))).id
    FROM hubspot_sync.hubspot_bookings b WHERE b.idempotency_key = 'ib-1'
"""
SIGNATURE = "mockbook_internal.insert_booking(hubspot_sync.hubspot_bookings, date)"


def setup_booking(conn: psycopg.Connection) -> None:
    # a temp table, as the pgTAP files make: its catalog change invalidates the session's cached
    # plans, which is what turned the old version's stale expression state into the error
    conn.execute("CREATE TEMP TABLE ib_scratch ON COMMIT DROP AS SELECT 1 AS x")
    conn.execute("SELECT tests.make_exam(p_hubspot_id := 'IB_1', "
                 "p_exam_date := hubspot_sync.business_today() + 7)")
    conn.execute("SELECT tests.make_student(p_sj := 5, p_student_id := 'IBA')")
    conn.execute("SELECT tests.book('IBA', 'IB_1', 'ib-1')")


def answer(conn: psycopg.Connection, override: dict) -> str:
    """What the caller sees: 'SQLSTATE MESSAGE' of the error, or what came back."""
    try:
        with conn.transaction():  # a savepoint: the caller catches the error and goes on
            (new_id,) = conn.execute(INSERT, [Jsonb(override)]).fetchone()
    except psycopg.Error as e:
        return f"{e.sqlstate} {e.diag.message_primary}"
    return "NULL (replay)" if new_id is None else "inserted"


def test_answers_survive_plpgsql_check_between_transactions(db: psycopg.Connection) -> None:
    # transaction 1: every unique-violation path runs once (errors caught), then rolled back
    with db.transaction(force_rollback=True):
        setup_booking(db)
        first = {name: answer(db, override) for name, (override, _) in CASES.items()}
    assert first == {name: due for name, (_, due) in CASES.items()}

    # transaction 2, same session: the pgTAP files' checker helper runs on insert_booking, then
    # the same calls
    with db.transaction(force_rollback=True):
        setup_booking(db)
        db.execute("SELECT tests.plpgsql_check_count(%s::regprocedure)", [SIGNATURE])
        second = {name: answer(db, override) for name, (override, _) in CASES.items()}
    assert second == {name: due for name, (_, due) in CASES.items()}

    # the session is still sound afterwards: a fresh booking goes in
    with db.transaction(force_rollback=True):
        setup_booking(db)
        assert answer(db, {"id": None, "booking_id": None, "idempotency_key": "ib-2",
                           "is_active": "Cancelled"}) == "inserted"
