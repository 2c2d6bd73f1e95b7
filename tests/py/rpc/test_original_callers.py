"""Every call the original apps make to the database, run against an adopted database. The
original apps (harmon-tuazon/PD_Mocks_Booking_ExpressVersion at commit
908ad6a6fea93c87609ea7f695519f818e015fdc: `user_root/api`, `admin_root/api` and the one-off
migration `scripts/`) reach the production schema in 101 places, listed below from their source
(git grep for `.rpc(`, `.from(` and `.schema(`, of which there is none): 10
`supabaseAdmin.rpc(...)` calls, 47 table reads and 44 direct table writes (`.from(<table>)
.insert / update / upsert / delete`). Here the production dump is adopted (stamp 0001_baseline,
upgrade head) with data written as the original app writes it, and each place runs as the JS
runs it, with its arguments and its error handling:

- every read selects the columns it names and gets rows;
- every direct write is refused with 42501 (HTTP 403) and changes nothing — a deliberate
  difference, each listed with its reason in docs/compatibility.md;
- every RPC answers what the JS's success path expects: two bookings of one student at once
  both book and both deduct; a rebook within the app's 5-minute key window books again;
  `increment_exam_bookings` answers a count (an error sends the JS to its direct-write
  fallback); an unknown exam's prerequisites answer a message with "not found", which
  delta.js turns into its 404.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from invariants import check_invariants, snapshot
from postgrest import RpcError, rpc
from psycopg import sql
from test_adopt_production import BASELINE, load_dump, populate_sql

from glue.db import migrations

MakeDatabase = Callable[[str], str]
DOCS = Path(__file__).resolve().parents[3] / "docs" / "compatibility.md"

# (file in the original repository, line, operation, table or function, columns it selects)
CALL_SITES = [
    # scripts/: the one-off migrations from HubSpot (a DBA's, not the apps'; `mockbook import`
    # replaces them)
    ('scripts/migrate-contact-credits-to-supabase.js', 203, 'upsert', 'hubspot_contact_credits',
     ''),
    ('scripts/migrate-hubspot-to-supabase.js', 174, 'upsert', 'hubspot_mock_exams', ''),
    ('scripts/migrate-hubspot-to-supabase.js', 218, 'upsert', 'hubspot_bookings', ''),
    ('scripts/sync-bookings-hubspot-to-supabase.js', 215, 'upsert', 'hubspot_bookings', ''),
    ('scripts/sync-bookings-hubspot-to-supabase.js', 260, 'select', 'hubspot_bookings', '*'),
    ('admin_root/api/_shared/refund.js', 473, 'update', 'hubspot_bookings', ''),
    ('admin_root/api/_shared/refund.js', 491, 'update', 'hubspot_contact_credits', ''),
    ('admin_root/api/_shared/refund.js', 503, 'update', 'hubspot_bookings', ''),
    ('admin_root/api/_shared/scheduledActivation.js', 130, 'select', 'hubspot_mock_exams', '*'),
    ('admin_root/api/_shared/supabase-data.js', 24, 'select', 'hubspot_contact_credits', '*'),
    ('admin_root/api/_shared/supabase-data.js', 44, 'select', 'hubspot_contact_credits', '*'),
    ('admin_root/api/_shared/supabase-data.js', 64, 'select', 'hubspot_contact_credits', '*'),
    ('admin_root/api/_shared/supabase-data.js', 86, 'select', 'hubspot_contact_credits', '*'),
    ('admin_root/api/_shared/supabase-data.js', 111, 'select', 'hubspot_bookings',
     'id, booking_id, is_active'),
    ('admin_root/api/_shared/supabase-data.js', 156, 'upsert', 'hubspot_contact_credits', ''),
    ('admin_root/api/_shared/supabase-data.js', 169, 'select', 'hubspot_bookings', '*'),
    ('admin_root/api/_shared/supabase-data.js', 188, 'select', 'hubspot_bookings', '*'),
    ('admin_root/api/_shared/supabase-data.js', 207, 'select', 'hubspot_mock_exams', '*'),
    ('admin_root/api/_shared/supabase-data.js', 261, 'select', 'hubspot_mock_exams', '*'),
    ('admin_root/api/_shared/supabase-data.js', 301, 'select', 'hubspot_mock_exams', '*'),
    ('admin_root/api/_shared/supabase-data.js', 321, 'select', 'hubspot_bookings', '*'),
    ('admin_root/api/_shared/supabase-data.js', 341, 'select', 'hubspot_bookings', '*'),
    ('admin_root/api/_shared/supabase-data.js', 433, 'upsert', 'hubspot_bookings', ''),
    ('admin_root/api/_shared/supabase-data.js', 495, 'upsert', 'hubspot_bookings', ''),
    ('admin_root/api/_shared/supabase-data.js', 558, 'upsert', 'hubspot_mock_exams', ''),
    ('admin_root/api/_shared/supabase-data.js', 593, 'update', 'hubspot_bookings', ''),
    ('admin_root/api/_shared/supabase-data.js', 603, 'update', 'hubspot_bookings', ''),
    ('admin_root/api/_shared/supabase-data.js', 652, 'rpc', 'increment_exam_bookings', ''),
    ('admin_root/api/_shared/supabase-data.js', 664, 'select', 'hubspot_mock_exams',
     'total_bookings'),
    ('admin_root/api/_shared/supabase-data.js', 677, 'update', 'hubspot_mock_exams', ''),
    ('admin_root/api/_shared/supabase-data.js', 695, 'update', 'hubspot_mock_exams', ''),
    ('admin_root/api/_shared/supabase-data.js', 719, 'delete', 'hubspot_bookings', ''),
    ('admin_root/api/_shared/supabase-data.js', 737, 'delete', 'hubspot_mock_exams', ''),
    ('admin_root/api/_shared/supabase-data.js', 782, 'update', 'hubspot_contact_credits', ''),
    ('admin_root/api/_shared/supabase-data.js', 813, 'select', 'hubspot_bookings', '*'),
    ('admin_root/api/_shared/supabase-data.js', 826, 'select', 'hubspot_bookings', '*'),
    ('admin_root/api/_shared/supabaseSync.optimized.js', 76, 'select', 'sync_metadata',
     'last_sync_timestamp'),
    ('admin_root/api/_shared/supabaseSync.optimized.js', 125, 'upsert', 'sync_metadata', ''),
    ('admin_root/api/_shared/supabaseSync.optimized.js', 336, 'upsert', 'hubspot_mock_exams', ''),
    ('admin_root/api/_shared/supabaseSync.optimized.js', 409, 'upsert', 'hubspot_bookings', ''),
    ('admin_root/api/_shared/supabaseSync.optimized.js', 455, 'select', 'hubspot_bookings',
     'id, hubspot_id, booking_id'),
    ('admin_root/api/_shared/supabaseSync.optimized.js', 478, 'update', 'hubspot_bookings', ''),
    ('admin_root/api/admin/bookings/bulk-create.js', 351, 'select', 'hubspot_contact_credits',
     'hubspot_id, student_id, email, firstname, lastname, sj_credits, cs_credits, '
     'sjmini_credits, mock_discussion_token, shared_mock_credits'),
    ('admin_root/api/admin/bookings/bulk-create.js', 371, 'select', 'hubspot_mock_exams',
     'hubspot_id, mock_type, mock_set, exam_date, start_time, end_time, location'),
    ('admin_root/api/admin/bookings/bulk-create.js', 395, 'select', 'hubspot_bookings',
     'booking_id'),
    ('admin_root/api/admin/bookings/bulk-create.js', 619, 'insert', 'hubspot_bookings', ''),
    ('admin_root/api/admin/bookings/bulk-create.js', 666, 'update', 'hubspot_contact_credits', ''),
    ('admin_root/api/admin/bookings/bulk-create.js', 690, 'rpc', 'increment_exam_bookings', ''),
    ('admin_root/api/admin/cron/sync-bookings-from-supabase.js', 103, 'select', 'hubspot_bookings',
     '*'),
    ('admin_root/api/admin/cron/sync-bookings-from-supabase.js', 171, 'update', 'hubspot_bookings',
     ''),
    ('admin_root/api/admin/mock-exams/[id]/attendance.js', 354, 'update', 'hubspot_bookings', ''),
    ('admin_root/api/admin/mock-exams/[id]/attendance.js', 421, 'update', 'hubspot_bookings', ''),
    ('admin_root/api/admin/mock-exams/[id]/attendance.js', 431, 'update', 'hubspot_bookings', ''),
    ('admin_root/api/admin/mock-exams/[id]/cancel-bookings.js', 187, 'select', 'hubspot_bookings',
     'id, is_active, exam_date, associated_contact_id, mock_type'),
    ('admin_root/api/admin/mock-exams/[id]/cancel-bookings.js', 326, 'update', 'hubspot_bookings',
     ''),
    ('admin_root/api/admin/mock-exams/[id]/prerequisites/delta.js',
     88, 'rpc', 'update_exam_prerequisites',
     ''),
    ('admin_root/api/admin/mock-exams/[id]/prerequisites/index.js',
     30, 'rpc', 'update_exam_prerequisites',
     ''),
    ('admin_root/api/admin/mock-exams/[id]/prerequisites/index.js',
     53, 'rpc', 'set_exam_prerequisites',
     ''),
    ('admin_root/api/admin/mock-exams/[id]/prerequisites/index.js',
     422, 'select', 'hubspot_mock_exams',
     'prerequisite_exam_ids, mock_type'),
    ('admin_root/api/admin/mock-exams/[id]/prerequisites/index.js',
     434, 'select', 'hubspot_mock_exams',
     'hubspot_id, mock_type, exam_date, location, start_time, end_time, capacity, '
     'total_bookings, is_active'),
    ('admin_root/api/admin/mock-exams/available-for-rebook.js', 65, 'select', 'hubspot_mock_exams',
     '*'),
    ('admin_root/api/admin/mock-exams/batch-delete.js', 232, 'delete', 'hubspot_bookings', ''),
    ('admin_root/api/admin/mock-exams/bulk-toggle-status.js', 218, 'update', 'hubspot_mock_exams',
     ''),
    ('admin_root/api/admin/sync/force-supabase.js', 110, 'upsert', 'hubspot_bookings', ''),
    ('admin_root/api/admin/sync/force-supabase.js', 162, 'upsert', 'hubspot_mock_exams', ''),
    ('admin_root/api/bookings/rebook.js', 248, 'update', 'hubspot_bookings', ''),
    ('user_root/api/_shared/supabase-data.js', 19, 'select', 'hubspot_bookings', '*'),
    ('user_root/api/_shared/supabase-data.js', 38, 'select', 'hubspot_bookings', '*'),
    ('user_root/api/_shared/supabase-data.js', 57, 'select', 'hubspot_mock_exams', '*'),
    ('user_root/api/_shared/supabase-data.js', 98, 'select', 'hubspot_mock_exams', '*'),
    ('user_root/api/_shared/supabase-data.js', 118, 'select', 'hubspot_bookings', '*'),
    ('user_root/api/_shared/supabase-data.js', 138, 'select', 'hubspot_bookings', '*'),
    ('user_root/api/_shared/supabase-data.js', 161, 'select', 'hubspot_bookings',
     'id, booking_id, is_active'),
    ('user_root/api/_shared/supabase-data.js', 190, 'select', 'hubspot_bookings',
     'id, booking_id, mock_type, exam_date, start_time, end_time, is_active'),
    ('user_root/api/_shared/supabase-data.js', 260, 'upsert', 'hubspot_bookings', ''),
    ('user_root/api/_shared/supabase-data.js', 309, 'upsert', 'hubspot_bookings', ''),
    ('user_root/api/_shared/supabase-data.js', 345, 'upsert', 'hubspot_mock_exams', ''),
    ('user_root/api/_shared/supabase-data.js', 363, 'update', 'hubspot_bookings', ''),
    ('user_root/api/_shared/supabase-data.js', 403, 'rpc', 'increment_exam_bookings', ''),
    ('user_root/api/_shared/supabase-data.js', 415, 'select', 'hubspot_mock_exams',
     'total_bookings'),
    ('user_root/api/_shared/supabase-data.js', 428, 'update', 'hubspot_mock_exams', ''),
    ('user_root/api/_shared/supabase-data.js', 446, 'update', 'hubspot_mock_exams', ''),
    ('user_root/api/_shared/supabase-data.js', 472, 'delete', 'hubspot_mock_exams', ''),
    ('user_root/api/_shared/supabase-data.js', 495, 'select', 'hubspot_contact_credits', '*'),
    ('user_root/api/_shared/supabase-data.js', 539, 'upsert', 'hubspot_contact_credits', ''),
    ('user_root/api/_shared/supabase-data.js', 583, 'update', 'hubspot_contact_credits', ''),
    ('user_root/api/_shared/supabase-data.js', 617, 'rpc', 'create_booking_atomic', ''),
    ('user_root/api/_shared/supabase-data.js', 676, 'rpc', 'cancel_booking_atomic', ''),
    ('user_root/api/_shared/supabase-data.js', 709, 'rpc', 'check_idempotency_key', ''),
    ('user_root/api/_shared/supabase-data.js', 749, 'select', 'hubspot_bookings', '*'),
    ('user_root/api/_shared/supabase-data.js', 762, 'select', 'hubspot_bookings', '*'),
    ('user_root/api/bookings/[id].js', 512, 'update', 'hubspot_bookings', ''),
    ('user_root/api/bookings/create.js', 82, 'select', 'hubspot_mock_exams', '*'),
    ('user_root/api/bookings/create.js', 118, 'select', 'hubspot_contact_credits', '*'),
    ('user_root/api/bookings/create.js', 164, 'select', 'hubspot_bookings', '*'),
    ('user_root/api/bookings/create.js', 359, 'rpc', 'create_booking_atomic', ''),
    ('user_root/api/bookings/create.js', 439, 'select', 'hubspot_contact_credits', '*'),
    ('user_root/api/mock-discussions/available.js', 211, 'select', 'hubspot_mock_exams',
     'hubspot_id, prerequisite_exam_ids'),
    ('user_root/api/mock-discussions/create-booking.js', 378, 'select', 'hubspot_mock_exams',
     'prerequisite_exam_ids'),
    ('user_root/api/mock-discussions/create-booking.js', 445, 'select', 'hubspot_bookings', '*'),
    ('user_root/api/mock-exams/[id]/capacity.js', 68, 'select', 'hubspot_mock_exams',
     'capacity, total_bookings'),
]
READS = [s for s in CALL_SITES if s[2] == "select"]
WRITES = [s for s in CALL_SITES if s[2] in ("insert", "update", "upsert", "delete")]
RPCS = [s for s in CALL_SITES if s[2] == "rpc"]


def as_service(conn: psycopg.Connection) -> None:
    """The transaction runs as PostgREST runs the apps' service key."""
    conn.execute("SELECT set_config('role', 'service_role', true),"
                 " set_config('request.jwt.claims', '{\"role\": \"service_role\"}', true)")


@pytest.fixture(scope="module")
def adopted(make_database: MakeDatabase) -> str:
    url = make_database("original_callers")
    load_dump(url)
    with psycopg.connect(url) as conn:
        conn.execute(populate_sql(300, 24, 12))
    migrations.stamp(url, BASELINE)
    migrations.upgrade(url, "head")
    return url


@pytest.fixture
def db(adopted: str) -> Any:
    with psycopg.connect(adopted, autocommit=True) as conn:
        yield conn


def student(db: psycopg.Connection, sj: int) -> tuple[str, str]:
    """An adopted student (the original app's data) given `sj` more SJ credits by an admin."""
    sid, email = db.execute(
        "SELECT student_id, email FROM hubspot_sync.hubspot_contact_credits"
        " WHERE student_id LIKE 'STU%%' AND NOT EXISTS (SELECT FROM hubspot_sync.credit_ledger"
        "   AS l WHERE l.contact_id = hubspot_contact_credits.id) ORDER BY random() LIMIT 1"
    ).fetchone()
    rpc(db, "adjust_credits", p_student_id=sid, p_credit_field="sj_credits", p_delta=sj,
        p_reason="test", p_actor="test")
    return sid, email


def future_exam(db: psycopg.Connection, mock_type: str = "Situational Judgment",
                days: int = 30) -> str:
    """A whole-day exam as the pull writes one (HubSpot owns exams), `days` ahead."""
    hid = str(52000000000 + uuid.uuid4().int % 10**9)
    db.execute("INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, mock_exam_name,"
               " mock_type, exam_date, location, capacity, total_bookings, is_active, mock_set)"
               " VALUES (%s, 'Caller exam', %s, current_date + %s, 'mississauga', 20, 0, 'true',"
               " 'A')", (hid, mock_type, days))
    return hid


def balance(db: psycopg.Connection, sid: str) -> int:
    return db.execute("SELECT sj_credits FROM hubspot_sync.hubspot_contact_credits"
                      " WHERE student_id = %s", (sid,)).fetchone()[0]


def create_js(sid: str, email: str, exam: str, new_value: int, key: str) -> dict[str, Any]:
    """user_root/api/bookings/create.js:359 (and supabase-data.js:617): its named arguments."""
    return {"p_booking_id": f"Situational Judgment-{sid}-March 1, 2031", "p_mock_exam_id": exam,
            "p_student_id": sid.upper(), "p_student_name": "Ann Example",
            "p_student_email": email, "p_attending_location": "Mississauga",
            "p_dominant_hand": "Right", "p_token_used": "Situational Judgment Token",
            "p_credit_field": "sj_credits", "p_idempotency_key": key,
            "p_new_credit_value": new_value, "p_mock_set": "A"}


def test_the_inventory_is_the_original_apps_calls() -> None:
    """The list is what the apps' source holds: 96 places, each kind counted, each named once."""
    assert (len(CALL_SITES), len(READS), len(WRITES), len(RPCS)) == (101, 47, 44, 10)
    assert len({(s[0], s[1]) for s in CALL_SITES}) == 101
    assert {s[3] for s in RPCS} == {"create_booking_atomic", "cancel_booking_atomic",
                                    "check_idempotency_key", "increment_exam_bookings",
                                    "update_exam_prerequisites", "set_exam_prerequisites"}


def test_every_read_of_the_original_apps_reads(db: psycopg.Connection) -> None:
    failed = []
    for path, line, _, table, columns in READS:
        try:
            with db.transaction():
                as_service(db)
                cols = sql.SQL("*") if columns.strip() == "*" else sql.SQL(", ").join(
                    sql.Identifier(c.strip()) for c in columns.split(","))
                rows = db.execute(sql.SQL("SELECT {} FROM hubspot_sync.{} LIMIT 1").format(
                    cols, sql.Identifier(table))).fetchall()
                assert rows, "no rows"
        except (psycopg.Error, AssertionError) as exc:
            failed.append(f"{path}:{line} {table}({columns}): {exc}")
    assert failed == []


@pytest.mark.parametrize("op", ["insert", "update", "upsert", "delete"])
def test_every_direct_write_is_refused_changes_nothing_and_is_documented(
        db: psycopg.Connection, op: str) -> None:
    documented = DOCS.read_text()
    for path, line, _, table, _ in [s for s in WRITES if s[2] == op]:
        assert f"`{path}:{line}`" in documented, f"{path}:{line} not in docs/compatibility.md"
        before = db.execute(sql.SQL("SELECT count(*), sum(hashtext(t::text)) FROM"
                                    " hubspot_sync.{} AS t").format(sql.Identifier(table))
                            ).fetchone()
        statement = {  # what PostgREST sends for each, reduced to the privilege it needs
            "insert": "INSERT INTO hubspot_sync.{} DEFAULT VALUES",
            "update": "UPDATE hubspot_sync.{} SET updated_at = updated_at",
            "upsert": "INSERT INTO hubspot_sync.{} DEFAULT VALUES ON CONFLICT DO NOTHING",
            "delete": "DELETE FROM hubspot_sync.{}",
        }[op]
        with pytest.raises(psycopg.errors.InsufficientPrivilege), db.transaction():
            as_service(db)
            db.execute(sql.SQL(statement).format(sql.Identifier(table)))
        after = db.execute(sql.SQL("SELECT count(*), sum(hashtext(t::text)) FROM"
                                   " hubspot_sync.{} AS t").format(sql.Identifier(table))
                           ).fetchone()
        assert after == before, f"{path}:{line}"


def test_booking_retrying_rebooking_and_cancelling_as_the_user_app_does(
        db: psycopg.Connection) -> None:
    """create.js:359 / supabase-data.js:617 book; a retry with the same key (a double click)
    answers the first booking; supabase-data.js:709 finds the key; supabase-data.js:676
    cancels; the same key within the 5-minute bucket books again (production's unique key
    answered 23505 there); supabase-data.js:403 counts."""
    sid, email = student(db, 3)
    exam = future_exam(db)
    start = balance(db, sid)
    snap = snapshot(db)
    key = "idem_" + uuid.uuid4().hex
    first = rpc(db, "create_booking_atomic", **create_js(sid, email, exam, start - 1, key))
    assert first["success"] is True and balance(db, sid) == start - 1
    again = rpc(db, "create_booking_atomic", **create_js(sid, email, exam, start - 1, key))
    assert (again["booking_id"], again["idempotent_replay"]) == (first["booking_id"], True)
    assert balance(db, sid) == start - 1
    found = rpc(db, "check_idempotency_key", p_idempotency_key=key)
    assert found["found"] is True and found["id"] == first["booking_id"]
    cancelled = rpc(db, "cancel_booking_atomic", p_booking_id=first["booking_id"],
                    p_credit_field="sj_credits", p_restored_credit_value=start)
    assert cancelled["success"] is True and balance(db, sid) == start
    rebooked = rpc(db, "create_booking_atomic", **create_js(sid, email, exam, start - 1, key))
    assert rebooked["success"] is True and rebooked["idempotent_replay"] is False
    assert rebooked["booking_id"] != first["booking_id"] and rebooked["status"] == "Active"
    assert balance(db, sid) == start - 1
    # the rebook's own retry replays it
    retry = rpc(db, "create_booking_atomic", **create_js(sid, email, exam, start - 1, key))
    assert (retry["booking_id"], retry["idempotent_replay"]) == (rebooked["booking_id"], True)
    assert rpc(db, "increment_exam_bookings", p_exam_id=exam, p_delta=1) == 1
    check_invariants(db, snap)


def test_two_bookings_of_one_student_at_once_both_book_and_both_deduct(
        db: psycopg.Connection, adopted: str) -> None:
    """The app reads the balance, then calls: two tabs booking two exams at once send the same
    absolute value. Both book; both deduct; the ledger notes the value the app expected."""
    sid, email = student(db, 4)
    exams = [future_exam(db, days=32), future_exam(db, days=33)]
    start = balance(db, sid)
    snap = snapshot(db)
    barrier = threading.Barrier(2)
    results: list[Any] = [None, None]

    def book(i: int) -> None:
        with psycopg.connect(adopted, autocommit=True) as conn:
            args = create_js(sid, email, exams[i], start - 1, "idem_" + uuid.uuid4().hex)
            barrier.wait()
            try:
                results[i] = rpc(conn, "create_booking_atomic", **args)
            except RpcError as exc:
                results[i] = exc

    threads = [threading.Thread(target=book, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [r["success"] for r in results] == [True, True], results
    assert balance(db, sid) == start - 2
    notes = [n for (n,) in db.execute(
        "SELECT note FROM hubspot_sync.credit_ledger AS l JOIN"
        " hubspot_sync.hubspot_contact_credits AS c ON c.id = l.contact_id"
        " WHERE c.student_id = %s AND l.reason = 'booking' ORDER BY l.id", (sid,))]
    assert len(notes) == 2 and any(n and str(start - 1) in n for n in notes), notes
    check_invariants(db, snap)


def test_the_admin_apps_prerequisite_and_count_calls(db: psycopg.Connection) -> None:
    """prerequisites/index.js:30 and :53, delta.js:88, bulk-create.js:690 and
    admin supabase-data.js:652 — and delta.js's 404 for an unknown exam, which needs "not
    found" in rpcError.message."""
    discussion, sj = future_exam(db, "Mock Discussion", 40), future_exam(db, days=35)
    added = rpc(db, "update_exam_prerequisites", p_exam_id=discussion, p_add_ids=[sj],
                p_remove_ids=[])
    assert added["prerequisite_exam_ids"] == [sj]
    replaced = rpc(db, "set_exam_prerequisites", p_exam_id=discussion, p_prerequisite_ids=[])
    assert replaced["prerequisite_exam_ids"] == []
    assert rpc(db, "increment_exam_bookings", p_exam_id=sj, p_delta=3) == 0
    with pytest.raises(RpcError) as unknown:
        rpc(db, "update_exam_prerequisites", p_exam_id="99999999999", p_add_ids=[],
            p_remove_ids=[])
    assert unknown.value.sqlstate == "PT404"
    assert "not found" in unknown.value.message  # delta.js:98: rpcError.message.includes(...)
    assert unknown.value.message.startswith("EXAM_NOT_FOUND")
    # mockbook's own functions keep the bare code
    with pytest.raises(RpcError) as own:
        rpc(db, "adjust_credits", p_student_id="NOBODY", p_credit_field="sj_credits",
            p_delta=1, p_reason="test", p_actor="test")
    assert own.value.message == "CONTACT_NOT_FOUND"


def test_a_retry_of_a_booking_production_made_answers_it(db: psycopg.Connection) -> None:
    """A booking production's create_booking_atomic made before the adoption stored the app's
    location spelling ('Mississauga'); the app's retry of it within its key window, after the
    adoption, is the replay it was meant to be (production's unique key answered 23505, which
    createBookingAtomic took for "already booked"), not IDEMPOTENCY_KEY_REUSED."""
    row = db.execute(
        "SELECT b.id::text, b.idempotency_key, b.student_id, b.student_email,"
        " b.associated_mock_exam, b.attending_location, b.dominant_hand, b.booking_id"
        " FROM hubspot_sync.hubspot_bookings AS b"
        " WHERE b.idempotency_key IS NOT NULL AND b.idempotency_fingerprint IS NULL"
        "   AND b.is_active IN ('Active', 'Completed') AND b.attending_location = 'Mississauga'"
        "   AND b.dominant_hand = 'Right' LIMIT 1").fetchone()
    assert row is not None, "the adopted data has such a booking"
    bid, key, sid, email, exam, location, hand, code = row
    snap = snapshot(db)
    answer = rpc(db, "create_booking_atomic", **{
        **create_js(sid, email, exam, 0, key), "p_attending_location": location,
        "p_dominant_hand": hand, "p_booking_id": code})
    assert (answer["id"], answer["idempotent_replay"]) == (bid, True)
    check_invariants(db, snap)
