"""B14: every claim costs its batch, whatever waits behind it and whatever shares a timestamp.

For each claim (``claim_audit_notes(100)``, ``claim_sync_batch(100)``,
``claim_webhook_events(100)``) the median time of 7 calls (each rolled back) with SMALL rows
pending that cannot be claimed yet, then with LARGE, in the same run on the same database:

- **B14a** the notes claim: audit rows of bookings not in HubSpot (set aside as written, as
  record_row_change writes them), ahead of a group of 10,000 bookings made in one transaction
  that are in HubSpot (their audit rows and ledger rows share one timestamp: the notes to write);
- **B14o** the outbox claim: due rows of distinct records, behind one record's 10,000 rows
  (one timestamp) leased by another worker and as many rows backing off after a failure;
- **B14w** the webhook claim: events received, behind 10,000 events received at once and
  leased by another processor, and as many backing off after a failure;
- **B14t** the notes claim of bookings whose audit rows waited for their HubSpot ids (the
  bookings made through `create_booking`, as students make them, then their ids written
  back as the push does): GROUP made in one transaction (one timestamp) ÷ as many made one by
  one (each its own), in the same run (quick: 2,000).

The figure is "flat": time at LARGE ÷ time at SMALL (target ≤ 2: one hundred times the rows,
at most twice the time; a claim reading what waits grows a hundredfold). The rows are written
with set-based SQL, triggers off (session_replication_role = replica) except where the claim's
own shape needs them, then VACUUM (ANALYZE). Standalone: ``bench/claims_flat.py [--quick]
[--out FILE] [--schema-source db]`` prints the figures as JSON (``--quick``: LARGE = 50,000).
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time

import fixtures
import psycopg
from common import Figure, admin_url, emit, log, recreate_database, script_arguments

DB = "mockbook_bench_claims"
SMALL, LARGE = 5_000, 500_000
GROUP = 10_000  # rows sharing one timestamp
CALLS = 7
TARGET = 2.0

# The group: GROUP contacts and bookings in HubSpot, each booking's spend a ledger row, and the
# audit rows of the booking and of the balance it moved, all at one timestamp (one transaction).
GROUP_SQL = f"""
SET session_replication_role = replica;
INSERT INTO hubspot_sync.hubspot_contact_credits
    (hubspot_id, student_id, email, firstname, lastname, sj_credits)
SELECT 'GC' || i, 'G' || i, 'g' || i || '@example.com', 'F', 'L', 4
FROM generate_series(1, {GROUP}) AS i;
INSERT INTO hubspot_sync.hubspot_bookings
    (hubspot_id, booking_id, student_id, student_email, associated_contact_id,
     associated_mock_exam, mock_type, exam_date, is_active, token_used, name)
SELECT 'GB' || i, 'GRP-' || i, 'G' || i, 'g' || i || '@example.com', 'GC' || i, 'GX',
       'Situational Judgment', current_date + 30, 'Active', 'SJ Token', 'G'
FROM generate_series(1, {GROUP}) AS i;
INSERT INTO hubspot_sync.credit_ledger
    (contact_id, student_id, credit_field, delta, balance_after, reason, booking_id, created_at)
SELECT k.id, k.student_id, 'sj_credits', -1, 4, 'booking', b.id, now()
FROM hubspot_sync.hubspot_contact_credits AS k
JOIN hubspot_sync.hubspot_bookings AS b ON b.student_id = k.student_id
WHERE k.student_id LIKE 'G%';
INSERT INTO hubspot_sync.supabase_audit_log
    (table_name, record_id, record_hubspot_id, operation, changed_fields, new_values,
     performed_by, performed_at)
SELECT 'hubspot_bookings', b.id, b.hubspot_id, 'INSERT', '["booking_id"]'::jsonb,
       jsonb_build_object('booking_id', b.booking_id, 'student_id', b.student_id),
       'user:g@example.com', now()
FROM hubspot_sync.hubspot_bookings AS b WHERE b.student_id LIKE 'G%'
UNION ALL
SELECT 'hubspot_contact_credits', k.id, k.hubspot_id, 'UPDATE', '["sj_credits"]'::jsonb,
       '{{"sj_credits": 4}}'::jsonb, 'user:g@example.com', now()
FROM hubspot_sync.hubspot_contact_credits AS k WHERE k.student_id LIKE 'G%';
SET session_replication_role = origin;
"""
# n audit rows of bookings not in HubSpot (set aside as written), 100 to a booking
WAITING_SQL = (
    """INSERT INTO hubspot_sync.hubspot_bookings
           (booking_id, student_id, student_email, associated_mock_exam, mock_type, exam_date,
            is_active, name)
       SELECT 'W-' || %(tag)s || '-' || i, 'W' || %(tag)s || '-' || i, 'w@example.com', 'GX',
              'Situational Judgment', current_date + 30, 'Active', 'W'
       FROM generate_series(1, %(n)s / 100) AS i""",
    """INSERT INTO hubspot_sync.supabase_audit_log
           (table_name, record_id, operation, changed_fields, old_values, new_values,
            performed_by, note_waits)
       SELECT 'hubspot_bookings', b.id, 'UPDATE', '["attendance"]', '{"attendance": null}',
              '{"attendance": "Yes"}', 'admin@school.ca', true
       FROM hubspot_sync.hubspot_bookings AS b, generate_series(1, 100)
       WHERE b.booking_id LIKE 'W-' || %(tag)s || '-%%'""",
)
OUTBOX_GROUP_SQL = f"""
INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, new_data,
                                     next_attempt_at)
SELECT 'hubspot_mock_exams', '00000000-0000-4000-8000-000000000001', 'UPDATE', '{{}}',
       now() - interval '1 hour'
FROM generate_series(1, {GROUP});
SELECT count(*) FROM mockbook_internal.claim_sync_batch('holder', 1, 3600);
INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, new_data, attempts,
                                     next_attempt_at, last_error)
SELECT 'hubspot_bookings', gen_random_uuid(), 'UPDATE', '{{}}', 1, now() + interval '1 hour', 'x'
FROM generate_series(1, {GROUP});
"""
OUTBOX_SQL = """
INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, new_data)
SELECT 'hubspot_bookings', gen_random_uuid(), 'UPDATE', '{}' FROM generate_series(1, %(n)s)
"""
EVENTS_GROUP_SQL = f"""
INSERT INTO hubspot_sync.webhook_events (event_id, subscription_type, object_type_id, object_id,
                                         occurred_at, payload, attempts, leased_until)
SELECT i, 'contact.propertyChange', '0-1', 'E' || i, now(), '{{}}', 1,
       now() + CASE WHEN i % 2 = 0 THEN interval '60 seconds' ELSE interval '300 seconds' END
FROM generate_series(1, {GROUP}) AS i
"""
EVENTS_SQL = """
INSERT INTO hubspot_sync.webhook_events (event_id, subscription_type, object_type_id, object_id,
                                         occurred_at, payload)
SELECT %(first)s + i, 'contact.propertyChange', '0-1', 'F' || i, now(), '{}'
FROM generate_series(1, %(n)s) AS i
"""
CLAIMS = {
    "B14a": ("the notes claim", "SELECT count(*) FROM mockbook_internal.claim_audit_notes(100)"),
    "B14o": ("the outbox claim",
             "SELECT count(*) FROM mockbook_internal.claim_sync_batch('bench', 100)"),
    "B14w": ("the webhook claim",
             "SELECT count(*) FROM mockbook_internal.claim_webhook_events(100)"),
}


def claim_ms(conn: psycopg.Connection, call: str) -> tuple[float, int]:
    """(median ms of CALLS calls, each rolled back, after a first one; rows the last returned)."""
    times, got = [], 0
    for k in range(CALLS + 1):
        with conn.transaction(force_rollback=True):
            started = time.perf_counter()
            got = conn.execute(call).fetchone()[0]
            if k:
                times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), got


def load(conn: psycopg.Connection, n: int, first: int) -> None:
    conn.execute("SET session_replication_role = replica")
    for sql in WAITING_SQL:
        conn.execute(sql, {"n": n, "tag": str(first)})
    conn.execute("SET session_replication_role = origin")
    conn.execute(OUTBOX_SQL, {"n": n})
    conn.execute(EVENTS_SQL, {"n": n, "first": GROUP + first})
    for table in ("supabase_audit_log", "sync_queue", "webhook_events", "hubspot_bookings"):
        conn.execute(f"VACUUM (ANALYZE) hubspot_sync.{table}")


# B14t: the rows of the claims before it marked noted; bookings made by create_booking (students
# B<n> of bench/fixtures.py, one exam each of its spread exams, as B1's spread workload); their
# HubSpot ids written back as the push writes them (the audit rows waiting for them are ready)
DONE_SQL = ("UPDATE hubspot_sync.supabase_audit_log SET synced_to_hubspot_at = now() "
            "WHERE synced_to_hubspot_at IS NULL AND NOT note_waits")
BOOK_SQL = ("SELECT hubspot_sync.create_booking(p_student_id := 'B' || %(n)s, p_email := 'b' || "
            "%(n)s || '@example.com', p_mock_exam_id := 'BX' || %(n)s %% 1009, "
            "p_idempotency_key := 'b14t-' || %(n)s, p_attending_location := 'mississauga')")
WRITTEN_BACK_SQL = ("UPDATE hubspot_sync.hubspot_bookings SET hubspot_id = 'HB' || booking_id "
                    "WHERE hubspot_id IS NULL AND student_id LIKE 'B%'")


def one_timestamp(url: str, group: int) -> Figure:
    """B14t (module docstring): the notes claim of ``group`` bookings made one by one, then of
    as many made in one transaction."""
    call = CLAIMS["B14a"][1]
    fixtures.load(url)
    measured = []
    with psycopg.connect(url, autocommit=True) as conn:
        for first, shared in ((0, False), (group, True)):
            conn.execute(DONE_SQL)
            with conn.transaction() if shared else contextlib.nullcontext():
                for n in range(first, first + group):
                    conn.execute(BOOK_SQL, {"n": n})
            conn.execute(WRITTEN_BACK_SQL)
            conn.execute("VACUUM (ANALYZE)")
            measured.append(claim_ms(conn, call))
            log(f"  B14t {group:,} bookings {'in one transaction' if shared else 'one by one'}: "
                f"{measured[-1][0]:.1f} ms ({measured[-1][1]} rows)")
    (spread_ms, spread_rows), (one_ms, one_rows) = measured
    fig = Figure(
        id="B14t", bench="B14",
        title=f"the notes claim: {group:,} bookings' notes sharing one timestamp ÷ one by one",
        value=round(one_ms, 2), unit="ms", reference=round(spread_ms, 2), reference_unit="ms",
        reference_name=f"{group:,} bookings made one by one", ratio=round(one_ms / spread_ms, 3),
        ratio_meaning="time at one timestamp / time one by one", target=TARGET, target_op="<=",
        how=f"`{call}`, median of {CALLS} calls rolled back, over {group:,} create_booking "
            "calls each in its own transaction, then (their notes marked written) as many in "
            "one, their HubSpot ids written back after each (module docstring).")
    fig.details.update(rows_returned=[spread_rows, one_rows])
    fig.passed = fig.ratio is not None and fig.ratio <= TARGET
    return fig


def b13(quick: bool, schema_source: str, keep: bool = False) -> list[Figure]:
    large = LARGE // 10 if quick else LARGE
    url = recreate_database(DB)
    fixtures.build(url, schema_source)
    measured: dict[str, list[tuple[float, int]]] = {k: [] for k in CLAIMS}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(GROUP_SQL)
        conn.execute(OUTBOX_GROUP_SQL)
        conn.execute(EVENTS_GROUP_SQL)
        for n, first in ((SMALL, 0), (large - SMALL, SMALL)):
            started = time.monotonic()
            load(conn, n, first)
            log(f"B14: {first + n:,} rows that cannot be claimed yet of each kind "
                f"({time.monotonic() - started:.0f} s to write)")
            for fig_id, (_, call) in CLAIMS.items():
                measured[fig_id].append(claim_ms(conn, call))
                log(f"  {fig_id}: {measured[fig_id][-1][0]:.1f} ms "
                    f"({measured[fig_id][-1][1]} rows)")
    figures = []
    for fig_id, (name, call) in CLAIMS.items():
        (small_ms, small_rows), (large_ms, large_rows) = measured[fig_id]
        fig = Figure(
            id=fig_id, bench="B14", title=f"{name} flat: {large:,} rows waiting ÷ {SMALL:,}",
            value=round(large_ms, 2), unit="ms", reference=round(small_ms, 2),
            reference_unit="ms", reference_name=f"the same claim with {SMALL:,} waiting",
            ratio=round(large_ms / small_ms, 3), ratio_meaning="time at LARGE / time at SMALL",
            target=TARGET, target_op="<=",
            how=f"`{call}`, median of {CALLS} calls rolled back, with {SMALL:,} then "
                f"{large:,} rows that cannot be claimed yet, behind {GROUP:,} rows sharing one "
                "timestamp (module docstring).")
        fig.details.update(rows_returned=[small_rows, large_rows])
        fig.passed = fig.ratio is not None and fig.ratio <= TARGET
        figures.append(fig)
    figures.append(one_timestamp(url, 2_000 if quick else GROUP))
    if not keep:
        with psycopg.connect(admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    return figures


def main(argv: list[str] | None = None) -> int:
    args = script_arguments(__doc__).parse_args(argv)
    emit(b13(args.quick, args.schema_source, args.keep), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
