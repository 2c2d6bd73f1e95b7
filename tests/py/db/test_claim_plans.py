"""Every claim reads what it claims, whatever the data's shape and whatever the planner's
statistics say (the keyed claims of an idempotency key too: one key's rows).

The data has the shapes that once made claims read the backlog: 10,000 bookings made in one
transaction (their audit rows, ledger rows and outbox rows share one timestamp), most of them not
in HubSpot yet (their audit rows cannot become notes), a record with thousands of outbox rows
leased by another worker, outbox rows backing off, and 10,000 webhook events stored at once, half
of them leased or backing off. Each claim (and the write-back of a booking's HubSpot id, which
brings back the audit rows set aside for it) runs under five states of the statistics: none at all
with every index made on an empty table (a fresh install, which is what the test database is),
a fresh ANALYZE, statistics of an empty database kept while the rows were loaded, statistics
skewed on purpose (every key column said to hold one value), and plans cached in a session that
ran the claims while the tables were empty.

What is counted is rows read (heap rows fetched through an index, and rows a sequential scan
read), from the transaction's own statistics (pg_stat_get_xact_*), never time: the bound is a
small multiple of what the claim returns. Without the fixed plans a claim read every audit row
sharing the timestamp per note (the ledger by created_at), every pending outbox row per claim
(the siblings' scan), every leased event, or set aside 5,000 waiting rows per call; a booking's
HubSpot id read every waiting audit row of every contact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest

GROUP = 10_000  # bookings made in one transaction
PUSHED = 600  # of them given their HubSpot id afterwards (their notes can be written)
EVENTS = 10_000

TABLES = ("supabase_audit_log", "credit_ledger", "hubspot_bookings", "hubspot_contact_credits",
          "hubspot_mock_exams", "sync_queue", "webhook_events")

# Rows read by this transaction so far: heap rows fetched by index scans plus rows read by
# sequential scans, over mockbook's tables.
READ = """
SELECT coalesce(sum(pg_stat_get_xact_tuples_fetched(c.oid)
                    + pg_stat_get_xact_tuples_returned(c.oid)), 0)::bigint
FROM pg_class AS c
WHERE c.relnamespace = 'hubspot_sync'::regnamespace AND c.relkind = 'r'
"""

CLAIMS: dict[str, tuple[str, Callable[[int], int]]] = {
    # claim -> (its call, the most rows it may read for the rows it returned)
    "claim_audit_notes": ("SELECT count(*) FROM mockbook_internal.claim_audit_notes(100)",
                          # a window of five rows per note, each looked up by key a few times
                          lambda n: 60 * 100 + 500),
    "claim_sync_batch": ("SELECT count(*) FROM mockbook_internal.claim_sync_batch('probe', 100)",
                         lambda n: 10 * n + 500),
    "claim_webhook_events": ("SELECT count(*) FROM mockbook_internal.claim_webhook_events(100)",
                             lambda n: 10 * n + 500),
    # the keyed claims: one key's rows, by a unique index, whatever else the tables hold
    "claim_idempotency_key": ("SELECT count(*) FROM mockbook_internal.claim_idempotency_key("
                              "'cp-5', (SELECT b.idempotency_fingerprint "
                              "FROM hubspot_sync.hubspot_bookings AS b "
                              "WHERE b.idempotency_key = 'cp-5'))", lambda n: 10),
    "claim_idempotent_call": ("SELECT count(*) FROM mockbook_internal.claim_idempotent_call("
                              "'adjust_credits', 'cp-unused', 'x')", lambda n: 10),
    # a booking's HubSpot id written back (audit_notes_ready): its own audit rows and its
    # contact's come back, read by record, never the thousands of rows waiting for other ids
    "a booking's HubSpot id arrives": ("WITH b AS (UPDATE hubspot_sync.hubspot_bookings "
                                       "SET hubspot_id = 'BCP-late' "
                                       "WHERE idempotency_key = 'cp-9000' RETURNING 1) "
                                       "SELECT count(*) FROM b", lambda n: 50),
}

SETUP = f"""
DO $$ BEGIN
    PERFORM tests.make_exam(p_mock_type := 'Clinical Skills', p_hubspot_id := 'CPX' || i,
                            p_capacity := 100000)
    FROM generate_series(1, 200) AS i;
    PERFORM tests.make_student(p_cs := 5, p_student_id := 'CPS' || i,
                               p_hubspot_id := 'CCPS' || i)
    FROM generate_series(1, {GROUP}) AS i;
END $$;
UPDATE hubspot_sync.supabase_audit_log SET synced_to_hubspot_at = now()
WHERE synced_to_hubspot_at IS NULL;
UPDATE hubspot_sync.sync_queue SET done_at = now() WHERE done_at IS NULL;
"""
# one transaction: the rows of 10,000 bookings share one timestamp
GROUP_BOOKINGS = f"""
SELECT count(tests.book('CPS' || i, 'CPX' || (i % 200 + 1), 'cp-' || i, p_hand := 'left'))
FROM generate_series(1, {GROUP}) AS i
"""
WRITE_BACK = f"""
SELECT set_config('mockbook.origin', 'sync', true);
UPDATE hubspot_sync.hubspot_bookings SET hubspot_id = 'BCP' || student_id
WHERE student_id IN (SELECT 'CPS' || i FROM generate_series(1, {PUSHED}) AS i);
"""
# Outbox rows that cannot be claimed yet: one record's 5,000 rows leased by another worker (a
# claim takes every pending row of a record), and 5,000 rows backing off after a failure.
OUTBOX = """
INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, new_data, next_attempt_at)
SELECT 'hubspot_mock_exams', '00000000-0000-4000-8000-000000000001', 'UPDATE', '{}',
       now() - interval '1 hour'
FROM generate_series(1, 5000);
INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, new_data, attempts,
                                     next_attempt_at, last_error)
SELECT 'hubspot_bookings', gen_random_uuid(), 'UPDATE', '{}', 1, now() + interval '1 hour', 'x'
FROM generate_series(1, 5000);
"""
EVENT_ROWS = f"""
INSERT INTO hubspot_sync.webhook_events (event_id, subscription_type, object_type_id, object_id,
                                         occurred_at, payload, attempts, leased_until)
SELECT i, 'contact.propertyChange', '0-1', 'CCPS' || i, now(), '{{}}',
       CASE WHEN i <= {EVENTS // 2} THEN 1 ELSE 0 END,
       CASE WHEN i <= {EVENTS // 2} THEN now() + interval '5 minutes' END
FROM generate_series(1, {EVENTS}) AS i
"""


def _reset_statistics(conn: psycopg.Connection, *, tuples: int, pages: int) -> None:
    """Every table's and index's statistics as the planner would find them: ``tuples`` -1 and
    ``pages`` 0 (never vacuumed or analyzed), or 0/0 (analyzed while empty); indexes as made on
    an empty table (0 tuples, 1 page). No column statistics."""
    names = list(TABLES)
    conn.execute(
        "DELETE FROM pg_statistic WHERE starelid IN "
        "(SELECT c.oid FROM pg_class AS c WHERE c.relnamespace = 'hubspot_sync'::regnamespace "
        " AND c.relname = ANY (%s))", [names])
    conn.execute(
        "UPDATE pg_class AS c SET reltuples = %s, relpages = %s "
        "WHERE c.relnamespace = 'hubspot_sync'::regnamespace AND c.relname = ANY (%s)",
        [tuples, pages, names])
    conn.execute(
        "UPDATE pg_class AS c SET reltuples = 0, relpages = 1 FROM pg_index AS i "
        "JOIN pg_class AS t ON t.oid = i.indrelid "
        "WHERE c.oid = i.indexrelid AND t.relnamespace = 'hubspot_sync'::regnamespace "
        "AND t.relname = ANY (%s)", [names])


def _analyze(conn: psycopg.Connection) -> None:
    for table in TABLES:
        conn.execute(f"ANALYZE hubspot_sync.{table}")


def _skewed(conn: psycopg.Connection) -> None:
    """ANALYZE with every key column said to hold one value: an index on it looks useless."""
    keys = {"credit_ledger": ("contact_id", "booking_id"),
            "supabase_audit_log": ("record_id", "table_name"),
            "hubspot_bookings": ("id", "student_id"),
            "sync_queue": ("record_id", "table_name"),
            "webhook_events": ("object_id",)}
    for table, columns in keys.items():
        for column in columns:
            conn.execute(f"ALTER TABLE hubspot_sync.{table} ALTER COLUMN {column} "
                         "SET (n_distinct = 1)")
    _analyze(conn)
    for table, columns in keys.items():
        for column in columns:
            conn.execute(f"ALTER TABLE hubspot_sync.{table} ALTER COLUMN {column} "
                         "RESET (n_distinct)")


STATES: dict[str, Callable[[psycopg.Connection], None]] = {
    "fresh install": lambda c: _reset_statistics(c, tuples=-1, pages=0),
    "analyzed": _analyze,
    "analyzed while empty": lambda c: _reset_statistics(c, tuples=0, pages=0),
    "skewed": _skewed,
}


def _read_by(conn: psycopg.Connection, call: str) -> tuple[int, int]:
    """(rows the call returned, rows it read), in a transaction rolled back."""
    with conn.transaction(force_rollback=True):
        before = conn.execute(READ).fetchone()[0]
        (returned,) = conn.execute(call).fetchone()
        return returned, conn.execute(READ).fetchone()[0] - before


@pytest.fixture(scope="module")
def loaded(database_url: str) -> Iterator[tuple[str, dict[str, tuple[int, int]]]]:
    """The module's database with the data above, and what each claim read in a session that
    ran it (planned and cached its statements) while the tables were empty."""
    with psycopg.connect(database_url, autocommit=True) as early, \
            psycopg.connect(database_url, autocommit=True) as conn:
        for table in TABLES:  # no ANALYZE behind the test's back
            conn.execute(f"ALTER TABLE hubspot_sync.{table} SET (autovacuum_enabled = false)")
        conn.execute(SETUP)
        _reset_statistics(conn, tuples=-1, pages=0)
        for call, _ in CLAIMS.values():
            for _ in range(7):  # past the five custom plans: the generic plan is cached
                _read_by(early, call)
        with conn.transaction():
            conn.execute(GROUP_BOOKINGS)
        with conn.transaction():
            conn.execute(WRITE_BACK)
        conn.execute(OUTBOX)
        with conn.transaction():  # another worker holds one record's 5,000 rows
            conn.execute("SELECT count(*) FROM mockbook_internal.claim_sync_batch('holder', 1)")
        conn.execute(EVENT_ROWS)
        cached = {name: _read_by(early, call) for name, (call, _) in CLAIMS.items()}
        yield database_url, cached


def test_the_data_has_the_shapes(loaded: tuple[str, dict[str, tuple[int, int]]]) -> None:
    url, _ = loaded
    with psycopg.connect(url) as conn:
        shared = conn.execute(
            "SELECT count(*) FROM hubspot_sync.credit_ledger GROUP BY created_at "
            "ORDER BY 1 DESC LIMIT 1").fetchone()[0]
        waiting = conn.execute(
            "SELECT count(*) FROM hubspot_sync.supabase_audit_log "
            "WHERE synced_to_hubspot_at IS NULL AND note_waits").fetchone()[0]
        leased = conn.execute(
            "SELECT count(*) FROM hubspot_sync.sync_queue "
            "WHERE lease_owner = 'holder' AND done_at IS NULL").fetchone()[0]
    assert shared == GROUP
    # the bookings not pushed and the credits they spent, set aside as they were written
    assert waiting == 2 * (GROUP - PUSHED)
    assert leased == 5000


@pytest.mark.parametrize("claim", sorted(CLAIMS))
def test_a_claim_reads_what_it_claims_with_plans_cached_on_empty_tables(
    loaded: tuple[str, dict[str, tuple[int, int]]], claim: str
) -> None:
    _, cached = loaded
    returned, read = cached[claim]
    assert returned > 0
    assert read <= CLAIMS[claim][1](returned), (claim, returned, read)


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("claim", sorted(CLAIMS))
def test_a_claim_reads_what_it_claims_whatever_the_statistics(
    loaded: tuple[str, dict[str, tuple[int, int]]], claim: str, state: str
) -> None:
    url, _ = loaded
    with psycopg.connect(url, autocommit=True) as admin:
        STATES[state](admin)
    call, bound = CLAIMS[claim]
    with psycopg.connect(url) as conn:  # a new session: plans made under these statistics
        returned, read = _read_by(conn, call)
    assert returned > 0
    assert read <= bound(returned), (claim, state, returned, read)
