"""Direct table writes cannot break the invariants: service_role (and
anon, authenticated) may read mockbook's tables but not INSERT, UPDATE, DELETE or TRUNCATE them;
the documented functions (SECURITY DEFINER) are the only way to change them.

The writes below are the original apps' own direct writes, replayed exactly as supabase-js sends
them through PostgREST (tests/py/postgrest.py's table_request: role service_role, JWT claims, the
JSON body turned into the table's row type), from harmon-tuazon/PD_Mocks_Booking_ExpressVersion
(commit 908ad6a6). Each one is refused with 42501 (PostgREST: HTTP 403) and changes nothing
(every hubspot_sync table's contents fingerprinted before and after); PostgREST's table reads
and filters keep working; a booking through the contract still works and keeps the invariants.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from invariants import check_invariants, snapshot, table_digests
from postgrest import http_status, rpc, table_request

NOW = "2026-11-23T05:00:00.000Z"

# (tables mockbook owns; the production tables it does not own keep their grants, README)
OWNED = (
    "hubspot_contact_credits", "hubspot_mock_exams", "hubspot_bookings", "credit_ledger",
    "supabase_audit_log", "sync_queue", "sync_errors", "sync_metadata", "contact_credit_sync",
    "webhook_events", "adoption_report", "booking_rules", "waitlist_entries", "idempotency_results",
    "exam_hubspot_sync",
)


def world(db: psycopg.Connection) -> dict[str, Any]:
    """A student with 3 SJ credits, two SJ exams, and one Active booking on the first (made
    through create_booking)."""
    tag = uuid.uuid4().hex[:8].upper()
    student, exam, other = f"DW{tag}", f"DWX{tag}", f"DWY{tag}"
    db.execute("SELECT tests.make_student(p_sj := 3, p_student_id := %s)", [student])
    db.execute("SELECT tests.make_exam(p_hubspot_id := %s)", [exam])
    db.execute("SELECT tests.make_exam(p_hubspot_id := %s, p_exam_date := "
               "(now() AT TIME ZONE 'America/Toronto')::date + 8)", [other])
    email = f"{student.lower()}@example.com"
    booking = rpc(db, "create_booking", p_student_id=student, p_email=email, p_mock_exam_id=exam,
                  p_idempotency_key=f"dw-{tag}", p_attending_location="mississauga")
    db.execute("UPDATE hubspot_sync.hubspot_bookings SET hubspot_id = %s WHERE id = %s",
               [f"HB{tag}", booking["id"]])
    contact = db.execute("SELECT id, hubspot_id FROM hubspot_sync.hubspot_contact_credits"
                         " WHERE student_id = %s", [student]).fetchone()
    return {"tag": tag, "student": student, "email": email, "exam": exam, "other": other,
            "booking": booking, "booking_hubspot_id": f"HB{tag}", "contact_id": contact[0],
            "contact_hubspot_id": contact[1]}


# Each replay: (where in the original apps, the request it sends).
REPLAYS: dict[str, Callable[[psycopg.Connection, dict], list]] = {
    # user_root/api/_shared/supabase-data.js:361-369 updateBookingStatusInSupabase (cancellation:
    # status only, no refund, no recount)
    "cancel by status update": lambda c, w: table_request(
        c, "PATCH", "hubspot_bookings", eq={"hubspot_id": w["booking_hubspot_id"]},
        body={"is_active": "Cancelled", "updated_at": NOW, "synced_at": NOW}),
    # user_root/api/_shared/supabase-data.js:444-452 (absolute total_bookings, "legacy behavior
    # for cron sync")
    "absolute exam count": lambda c, w: table_request(
        c, "PATCH", "hubspot_mock_exams", eq={"hubspot_id": w["exam"]},
        body={"total_bookings": 0, "updated_at": NOW, "synced_at": NOW}),
    # user_root/api/_shared/supabase-data.js:470-474 deleteExamFromSupabase
    "exam delete": lambda c, w: table_request(
        c, "DELETE", "hubspot_mock_exams", eq={"hubspot_id": w["other"]}),
    # user_root/api/_shared/supabase-data.js:522-540 (contact sync: absolute balances, upsert on
    # hubspot_id)
    "contact upsert with absolute credits": lambda c, w: table_request(
        c, "POST", "hubspot_contact_credits", on_conflict="hubspot_id",
        body={"hubspot_id": w["contact_hubspot_id"], "student_id": w["student"],
              "email": w["email"], "firstname": "Ann", "lastname": "Example",
              "sj_credits": 9, "cs_credits": 0, "sjmini_credits": 0, "mock_discussion_token": 0,
              "shared_mock_credits": 0, "updated_at": NOW, "synced_at": NOW}),
    # admin_root/api/admin/bookings/bulk-create.js:586-621 (bulk insert: no credit, no count)
    "bulk-create insert": lambda c, w: table_request(
        c, "POST", "hubspot_bookings",
        body=[{"booking_id": f"Situational Judgment-{w['student']}-bulk",
               "associated_mock_exam": w["other"], "associated_contact_id": w["contact_hubspot_id"],
               "student_id": w["student"], "name": "Ann Example", "student_email": w["email"],
               "mock_type": "Situational Judgment", "mock_set": "A", "exam_date": "2027-01-01",
               "start_time": "09:00", "end_time": "12:00", "attending_location": "mississauga",
               "token_used": "Situational Judgment Token", "is_active": "Active",
               "attendance": None, "dominant_hand": None,
               "idempotency_key": f"idem_{w['tag']}", "created_at": NOW, "updated_at": NOW,
               "synced_at": NOW}]),
    # admin_root/api/admin/bookings/bulk-create.js:661-668 (credits: an absolute value the app
    # computed, by student_id)
    "bulk-create absolute credits": lambda c, w: table_request(
        c, "PATCH", "hubspot_contact_credits", eq={"student_id": w["student"]},
        body={"sj_credits": 1, "updated_at": NOW}),
    # admin_root/api/bookings/rebook.js:236-252 (in-place rebook: the booking moves, no count
    # on either exam)
    "in-place rebook": lambda c, w: table_request(
        c, "PATCH", "hubspot_bookings", eq={"id": w["booking"]["id"]},
        body={"associated_mock_exam": w["other"], "exam_date": "2027-01-02",
              "start_time": "09:00", "end_time": "12:00", "mock_set": "A", "updated_at": NOW}),
    # admin_root/api/_shared/refund.js:472-481 and 490-497 (refund: flag, then an absolute
    # balance)
    "refund flag": lambda c, w: table_request(
        c, "PATCH", "hubspot_bookings", eq={"id": w["booking"]["id"]},
        body={"token_refunded": "true", "token_refunded_at": NOW,
              "token_refund_admin": "admin@example.com", "updated_at": NOW, "synced_at": NOW}),
    "refund absolute credits": lambda c, w: table_request(
        c, "PATCH", "hubspot_contact_credits", eq={"id": str(w["contact_id"])},
        body={"sj_credits": 3, "updated_at": NOW, "synced_at": NOW}),
    # and what no app did but a service key could: the ledger and the outbox
    "ledger row": lambda c, w: table_request(
        c, "POST", "credit_ledger",
        body={"contact_id": str(w["contact_id"]), "student_id": w["student"],
              "credit_field": "sj_credits", "delta": 5, "balance_after": 7,
              "reason": "admin_adjustment"}),
    "outbox delete": lambda c, w: table_request(c, "DELETE", "sync_queue"),
}


@pytest.mark.parametrize("name", sorted(REPLAYS))
def test_the_original_apps_direct_writes_are_refused(db: psycopg.Connection, name: str) -> None:
    w = world(db)
    before = table_digests(db)
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
        REPLAYS[name](db, w)
    assert refused.value.sqlstate == "42501"
    assert http_status(refused.value) == 403  # what PostgREST answers a JWT role
    assert table_digests(db) == before, f"{name}: the refused write changed something"


def test_reads_and_filters_keep_working(db: psycopg.Connection) -> None:
    """PostgREST's table reads (supabase.from(t).select().eq(...)) stay open to service_role."""
    w = world(db)
    rows = table_request(db, "GET", "hubspot_bookings", eq={"student_id": w["student"]})
    assert [r["booking_id"] for r in rows] == [w["booking"]["booking_id"]]
    exam = table_request(db, "GET", "hubspot_mock_exams", eq={"hubspot_id": w["exam"]})
    assert exam[0]["total_bookings"] == 1
    ledger = table_request(db, "GET", "credit_ledger", eq={"student_id": w["student"]})
    assert [(r["reason"], r["delta"]) for r in ledger] == [("booking", -1)]


def test_the_contract_still_writes_and_keeps_the_invariants(db: psycopg.Connection) -> None:
    """The same changes through the documented functions (SECURITY DEFINER) work as service_role:
    the rebook and cancellation the apps wrote directly, with their ledger rows and recounts."""
    w = world(db)
    snap = snapshot(db)
    moved = rpc(db, "rebook", p_booking_id=w["booking"]["booking_id"],
                p_new_mock_exam_id=w["other"], p_idempotency_key=f"dw-rebook-{w['tag']}")
    cancelled = rpc(db, "cancel_booking", p_booking_id=moved["booking_id"])
    assert cancelled["status"] == "Cancelled"
    assert cancelled["credits_remaining"] == 3
    check_invariants(db, snap)


def test_no_request_role_may_write_a_table(db: psycopg.Connection) -> None:
    """From the catalog: anon, authenticated and service_role hold no INSERT, UPDATE, DELETE or
    TRUNCATE on any table, view or sequence mockbook owns (so a new table is checked too), and
    service_role keeps SELECT on the tables above."""
    writable = db.execute(
        """SELECT c.relname || ' ' || r.rolname || ' ' || p.privilege
           FROM pg_catalog.pg_class AS c
           CROSS JOIN (VALUES ('anon'), ('authenticated'), ('service_role')) AS r (rolname)
           CROSS JOIN (VALUES ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE')) AS p (privilege)
           WHERE c.relnamespace IN ('hubspot_sync'::regnamespace,
                                    'mockbook_internal'::regnamespace)
             AND c.relkind IN ('r', 'p', 'v', 'm')
             AND c.relname NOT IN ('audit_log', 'groups', 'groups_instructors', 'groups_students',
                                   'instructors', 'work_check_bookings', 'work_check_slots')
             AND pg_catalog.has_table_privilege(r.rolname, c.oid, p.privilege)
           ORDER BY 1""").fetchall()
    assert writable == []
    sequences = db.execute(
        """SELECT c.relname FROM pg_catalog.pg_class AS c
           WHERE c.relnamespace = 'hubspot_sync'::regnamespace AND c.relkind = 'S'
             AND CASE WHEN c.relkind = 'S'  -- (evaluated only on sequences)
                      THEN pg_catalog.has_sequence_privilege('service_role', c.oid, 'USAGE')
                 END""").fetchall()
    assert sequences == []
    readable = [t for t in OWNED if db.execute(
        "SELECT has_table_privilege('service_role', %s, 'SELECT')",
        [f"hubspot_sync.{t}"]).fetchone()[0]]
    assert readable == list(OWNED)
