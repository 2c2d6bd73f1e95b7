"""The glue's least-privilege role: `mockbook_glue` (NOLOGIN, a template the DBA
grants to a login role) may use both schemas, EXECUTE the glue's functions and read the tables
the glue reads, and nothing else: it writes no table directly (its functions are SECURITY
DEFINER) and cannot call the apps' write functions or the internal helpers.

The suite runs the glue as such a login role (tests/glue_role.py: `mockbook_test_glue`, a member
of mockbook_glue): push_helpers.settings_for / env_for / open_db and pull_helpers.open_db hand
the glue that URL, so every push, pull, import, reconcile, notes, webhook, run and worker test
proves the grants are enough. This module proves they are not more.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from glue_role import GLUE_LOGIN, glue_url
from push_helpers import env_for, settings_for

from glue.db.database import Database
from glue.sandbox import Sandbox

# What the glue needs, and all it gets (docs/rpc.md, internal section; README, Roles).
GLUE_FUNCTIONS = {
    "claim_sync_batch", "push_state", "complete_sync_batch", "fail_sync_rows",
    "sync_queue_next_due", "requeue_for_push", "record_credit_push", "relink_contact",
    "list_dead_letters", "resolve_dead_letters", "record_sync_run", "get_sync_cursor",
    "save_sync_cursor", "apply_pulled_exams", "apply_pulled_contacts", "apply_pulled_bookings",
    "apply_pulled_prerequisites", "activate_due_exams", "pull_recheck_ids", "note_pull_outcome",
    "reconcile_state", "requeue_records", "claim_audit_notes", "mark_audit_notes",
    "store_webhook_events", "claim_webhook_events", "finish_webhook_events", "refresh_analytics",
    "purge_sync_queue", "purge_idempotency_results", "check_invariants",
    "oldest_unsent_audit_seconds", "trace_record", "take_glue_lease", "release_glue_lease",
    # the worker's refresh lane, and `mockbook status`'s Realtime line
    "claim_refresh_requests", "finish_refresh_requests", "realtime_state",
    # the API's jobs and the cache's read
    "process_waitlist", "complete_past_bookings", "list_available_exams",
}
GLUE_READS = {
    "hubspot_contact_credits", "hubspot_mock_exams", "hubspot_bookings", "sync_queue",
    "sync_errors", "sync_metadata", "waitlist_entries", "sync_health", "booking_conflicts",
    "glue_leases",
}


@pytest.fixture
def glue(glue_database_url: str) -> psycopg.Connection:
    with psycopg.connect(glue_database_url, autocommit=True) as conn:
        yield conn


def test_the_suites_glue_connection_is_the_glue_role_not_a_superuser(
    glue: psycopg.Connection, db: psycopg.Connection,
) -> None:
    who = glue.execute(
        "SELECT session_user, current_user, r.rolsuper, r.rolbypassrls, r.rolcreaterole,"
        " pg_has_role(session_user, 'mockbook_glue', 'MEMBER')"
        " FROM pg_roles AS r WHERE r.rolname = session_user").fetchone()
    assert who == (GLUE_LOGIN, GLUE_LOGIN, False, False, False, True)
    template = db.execute("SELECT rolcanlogin, rolsuper FROM pg_roles"
                          " WHERE rolname = 'mockbook_glue'").fetchone()
    assert template == (False, False), "mockbook_glue is a NOLOGIN template"
    # it owns nothing of mockbook's (the owner runs the migrations)
    owned = db.execute(
        """SELECT count(*) FROM pg_class AS c
           WHERE c.relnamespace IN ('hubspot_sync'::regnamespace, 'mockbook_internal'::regnamespace)
             AND pg_has_role(%s, c.relowner, 'MEMBER')""", [GLUE_LOGIN]).fetchone()[0]
    assert owned == 0


def test_the_glue_helpers_hand_the_glue_that_role(database_url: str) -> None:
    """What the push/pull/CLI tests give the glue: the login role, on the same database."""
    with Sandbox(access_token="x") as sb:
        urls = [settings_for(database_url, sb).database_url,
                env_for(database_url, sb)["DATABASE_URL"]]
    for url in urls:
        assert url == glue_url(database_url)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT session_user").fetchone()[0] == GLUE_LOGIN


def test_mockbook_glue_holds_exactly_what_the_glue_needs(db: psycopg.Connection) -> None:
    functions = {name for (name,) in db.execute(
        """SELECT p.proname FROM pg_proc AS p
           WHERE p.pronamespace IN ('hubspot_sync'::regnamespace, 'mockbook_internal'::regnamespace)
             AND has_function_privilege('mockbook_glue', p.oid, 'EXECUTE')""").fetchall()}
    assert functions == GLUE_FUNCTIONS
    privileges = db.execute(
        """SELECT c.relname, p.privilege
           FROM pg_class AS c
           CROSS JOIN (VALUES ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'),
                              ('REFERENCES'), ('TRIGGER')) AS p (privilege)
           WHERE c.relnamespace IN ('hubspot_sync'::regnamespace, 'mockbook_internal'::regnamespace)
             AND c.relkind IN ('r', 'p', 'v', 'm')
             AND has_table_privilege('mockbook_glue', c.oid, p.privilege)""").fetchall()
    assert {name for name, _ in privileges} == GLUE_READS
    assert {privilege for _, privilege in privileges} == {"SELECT"}, "the glue writes no table"
    schemas = db.execute(
        "SELECT has_schema_privilege('mockbook_glue', 'hubspot_sync', 'USAGE'),"
        " has_schema_privilege('mockbook_glue', 'mockbook_internal', 'USAGE'),"
        " has_schema_privilege('mockbook_glue', 'hubspot_sync', 'CREATE'),"
        " has_schema_privilege('mockbook_glue', 'mockbook_internal', 'CREATE')").fetchone()
    assert schemas == (True, True, False, False)


@pytest.mark.parametrize("statement", [
    "UPDATE hubspot_sync.hubspot_contact_credits SET sj_credits = 99",
    "UPDATE hubspot_sync.hubspot_mock_exams SET total_bookings = 0",
    "DELETE FROM hubspot_sync.hubspot_bookings",
    "INSERT INTO hubspot_sync.credit_ledger (contact_id, student_id, credit_field, delta,"
    " balance_after, reason) SELECT id, student_id, 'sj_credits', 5, 5, 'admin_adjustment'"
    " FROM hubspot_sync.hubspot_contact_credits LIMIT 1",
    "DELETE FROM hubspot_sync.sync_queue",
    "TRUNCATE hubspot_sync.supabase_audit_log",
    "SELECT * FROM hubspot_sync.credit_ledger",
    "SELECT mockbook_internal.apply_credit_delta(gen_random_uuid(), 'sj_credits', 1,"
    " 'admin_adjustment')",
    "SELECT hubspot_sync.adjust_credits('A1', 'sj_credits', 5, 'why', 'glue')",
    "SELECT hubspot_sync.create_booking('A1', 'a@example.com', 'X', 'k')",
    "CREATE TABLE hubspot_sync.glue_was_here (id int)",
])
def test_the_glue_role_cannot_write_beyond_its_functions(
    glue: psycopg.Connection, db: psycopg.Connection, statement: str,
) -> None:
    db.execute("SELECT tests.make_student(p_sj := 1, p_student_id := %s)",
               [f"GR{uuid.uuid4().hex[:8].upper()}"])
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        glue.execute(statement)


def test_the_glue_role_works_through_its_functions(glue_database_url: str,
                                                   db: psycopg.Connection) -> None:
    """Its doors open: the glue's role reads what it reads and writes through its functions
    (SECURITY DEFINER) what it may not write itself."""
    job = f"glue-role-test-{uuid.uuid4().hex[:8]}"
    with Database(glue_database_url) as store:
        store.record_sync_run(job, "success", 3)
        store.sync_queue_next_due()
        assert store.list_dead_letters(limit=1) is not None
        with store.pool.connection() as conn:
            assert conn.execute("SELECT count(*) FROM hubspot_sync.sync_health").fetchone()
            assert conn.execute(
                "SELECT pg_sequence_last_value('hubspot_sync.sync_queue_id_seq')").fetchone()
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("UPDATE hubspot_sync.sync_metadata SET records_synced = 0"
                             " WHERE sync_type = %s", [job])
    recorded = db.execute("SELECT last_sync_status, records_synced FROM hubspot_sync.sync_metadata"
                          " WHERE sync_type = %s", [job]).fetchone()
    assert recorded == ("success", 3)
    db.execute("DELETE FROM hubspot_sync.sync_metadata WHERE sync_type = %s", [job])
