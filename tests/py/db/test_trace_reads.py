"""What `mockbook trace` costs the database: every statement it runs, inside trace_record too,
reads its rows through an index (never a sequential scan of a big table), planned with realistic
statistics (a history of bookings loaded as bench/fixtures.py loads the bench's, then ANALYZE,
enable_seqscan on); and it takes no lock a booking waits for (a read-only transaction held open
while other sessions book, cancel and push the same records).

The plans are EXPLAIN's (FORMAT JSON), as auto_explain logs them for each statement, nested ones
included (log_nested_statements), and sends them to this client (client_min_messages = log)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from glue_role import GLUE_LOGIN, glue_url

from bench import fixtures as bench_fixtures
from glue.db import trace as trace_db
from glue.sync.trace import TABLES

BOOKINGS = 100_000
# the tables a trace reads that grow with the bookings (and the students, the exams)
BIG = {"hubspot_bookings", "hubspot_contact_credits", "hubspot_mock_exams", "credit_ledger",
       "supabase_audit_log", "sync_queue", "sync_errors", "webhook_events", "adoption_report",
       "booking_conflicts"}


@pytest.fixture(scope="module")
def history(database_url: str) -> str:
    bench_fixtures.load(database_url)
    counts = bench_fixtures.load_history(database_url, BOOKINGS)
    assert counts["hubspot_bookings"] == BOOKINGS and counts["supabase_audit_log"] > BOOKINGS
    return database_url


def keys(url: str) -> dict[str, str]:
    """One key of each kind an operator types, into the loaded history."""
    with psycopg.connect(url) as conn:
        booking, contact, exam = conn.execute(
            "SELECT md5('trace-1200')::uuid,"
            " (SELECT id FROM hubspot_sync.hubspot_contact_credits WHERE student_id = 'B123'),"
            " (SELECT id FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = 'BX5')"
        ).fetchone()
    return {"booking code": "TR-1200", "booking id": str(booking),
            "booking HubSpot id": "9000001200", "legacy code": "OLD-0", "student id": "B123",
            "email": "B123@Example.com", "contact id": str(contact),
            "student HubSpot id": "BC123", "exam id": "BX5", "exam record id": str(exam)}


def plans(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """auto_explain on ``conn`` (LOAD needs the superuser; the reads then run as the glue's
    role): a list that collects the JSON plan of every statement run."""
    found: list[dict[str, Any]] = []

    def collect(diag: psycopg.errors.Diagnostic) -> None:
        text = diag.message_primary or ""
        if "plan:" in text:
            found.append(json.loads(text[text.index("{"):])["Plan"])

    conn.execute("LOAD 'auto_explain'")
    for setting, value in (("log_min_duration", "0"), ("log_nested_statements", "on"),
                           ("log_format", "json")):
        conn.execute(f"SET auto_explain.{setting} = {value}")
    conn.execute("SET client_min_messages = log")
    conn.execute("SET enable_seqscan = on")
    conn.execute(f"SET ROLE {GLUE_LOGIN}")
    conn.add_notice_handler(collect)
    return found


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def read(found: list[dict[str, Any]]) -> set[str]:
    return {n["Relation Name"] for p in found for n in nodes(p) if "Relation Name" in n}


# what a trace of each kind reads (of BIG), besides the three synced tables of the lookup
COMMON = {"supabase_audit_log", "sync_queue", "sync_errors", "webhook_events", "adoption_report",
          "hubspot_bookings", "hubspot_contact_credits", "hubspot_mock_exams"}
READ = {"booking": COMMON | {"credit_ledger", "booking_conflicts"}, "legacy": COMMON,
        "student": COMMON | {"credit_ledger"}, "email": COMMON | {"credit_ledger"},
        "contact": COMMON | {"credit_ledger"}, "exam": COMMON | {"booking_conflicts"}}


def seq_scans(found: list[dict[str, Any]]) -> list[str]:
    return sorted({n["Relation Name"] for p in found for n in nodes(p)
                   if n["Node Type"] == "Seq Scan" and n.get("Relation Name") in BIG})


def trace_plans(url: str, key: str) -> tuple[list[dict[str, Any]], int]:
    """The plans of a trace of ``key`` (every record it names), and how many records."""
    with psycopg.connect(url, autocommit=True) as conn:
        found = plans(conn)
        with trace_db.snapshot(conn):
            matches = trace_db.lookup(conn, key)
            for m in matches:
                assert trace_db.trace_record(conn, TABLES[m["kind"]], m["id"], 200)
        return found, len(matches)


def test_every_read_of_a_trace_is_index_backed(history: str) -> None:
    for kind, key in keys(history).items():
        found, records = trace_plans(history, key)
        assert records == (2 if kind == "legacy code" else 1), kind
        # the lookup's plan and trace_record's statements (their subqueries read every table)
        assert read(found) >= READ[kind.split()[0]], kind
        assert seq_scans(found) == [], f"{kind} {key}: sequential scans"


def test_the_plan_check_sees_a_missing_index(history: str) -> None:
    index = ("CREATE INDEX idx_sync_errors_entity"
             " ON hubspot_sync.sync_errors (entity_type, entity_id)")
    with psycopg.connect(history, autocommit=True) as owner:
        owner.execute("DROP INDEX hubspot_sync.idx_sync_errors_entity")
        try:
            found, _ = trace_plans(history, "TR-1200")
        finally:
            owner.execute(index)
    assert seq_scans(found) == ["sync_errors"]


def test_a_trace_holds_no_lock_a_booking_waits_for(history: str) -> None:
    """A trace's transaction held open (as a slow terminal would hold it) while other sessions
    book for the traced student, cancel the traced booking, change the traced exam and claim the
    traced outbox rows: none of them waits (each would fail at its lock_timeout if it did)."""
    key = keys(history)
    with psycopg.connect(glue_url(history), autocommit=True) as tracer, \
            psycopg.connect(history, autocommit=True) as other:
        other.execute("SET lock_timeout = '1s'")
        with trace_db.snapshot(tracer):
            story = {m["kind"]: trace_db.trace_record(tracer, TABLES[m["kind"]], m["id"], 200)
                     for k in ("booking code", "student id", "exam id")
                     for m in trace_db.lookup(tracer, key[k])}
            assert tracer.execute("SHOW transaction_read_only").fetchone()[0] == "on"
            held = tracer.execute(
                "SELECT locktype, mode FROM pg_locks WHERE pid = pg_backend_pid()"
                " AND locktype NOT IN ('virtualxid')").fetchall()
            assert {mode for _, mode in held} == {"AccessShareLock"}, held
            assert {kind for kind, _ in held} == {"relation"}, held

            booked = other.execute(
                "SELECT hubspot_sync.create_booking(p_student_id := 'B123', p_email := "
                "'b123@example.com', p_mock_exam_id := 'BX700', p_idempotency_key := 'lock-1',"
                " p_attending_location := 'mississauga')").fetchone()[0]
            assert booked["success"], booked
            cancelled = other.execute(
                "SELECT hubspot_sync.cancel_booking(p_booking_id := 'TR-1200')").fetchone()[0]
            assert cancelled["success"], cancelled
            other.execute("UPDATE hubspot_sync.hubspot_mock_exams SET capacity = capacity + 1"
                          " WHERE hubspot_id = 'BX5'")
            claimed = other.execute(
                "SELECT count(*) FROM mockbook_internal.claim_sync_batch("
                "p_worker => 'lock-test', p_limit => 50, p_lease_seconds => 60)").fetchone()[0]
            assert claimed > 0
            # the trace still reads the snapshot it started with
            again = trace_db.trace_record(tracer, "hubspot_bookings",
                                          uuid.UUID(story["booking"]["record"]["id"]), 200)
            assert again["record"]["is_active"] == "Active"
        now = trace_db.trace_record(tracer, "hubspot_bookings",
                                    uuid.UUID(story["booking"]["record"]["id"]), 200)
        assert now["record"]["is_active"] == "Cancelled"
