"""The SQL of `mockbook status` (glue.run.status): one snapshot of the sync's health."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import tuple_row

_STATUS_SQL = """
SELECT h.pending, h.oldest_pending_seconds, h.errors_last_hour, h.dead_letters,
       h.last_push_at, h.last_pull_at, h.last_refresh_at,
       (SELECT count(*) FROM hubspot_sync.sync_queue AS q
        WHERE q.done_at >= now() - interval '1 hour'
           OR q.dead_at >= now() - interval '1 hour') AS processed_last_hour,
       r.last_sync_timestamp AS last_reconcile_at,
       CASE WHEN jsonb_typeof(r.cursor -> 'drift') = 'number'
            THEN (r.cursor ->> 'drift')::numeric END AS drift,
       now() AS checked_at,
       (SELECT count(*) FROM hubspot_sync.sync_errors) AS errors_total,
       mockbook_internal.oldest_unsent_audit_seconds() AS oldest_unsent_audit_seconds
FROM hubspot_sync.sync_health AS h
LEFT JOIN hubspot_sync.sync_metadata AS r ON r.sync_type = 'reconcile'
"""


def status_row(conn: psycopg.Connection) -> tuple[Any, ...]:
    """(pending, oldest pending seconds, errors last hour, dead letters, last push, last pull,
    last refresh, processed last hour, last reconcile, drift, checked at, errors total, seconds
    since the oldest audit row not yet written as a HubSpot note)."""
    with conn.transaction():
        row = conn.execute(_STATUS_SQL).fetchone()
    assert row is not None
    return tuple(row)


def invariant_rows(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    """(invariant, subject, detail) of every violation check_invariants() finds,
    read in one REPEATABLE READ snapshot (exam counts and ledger seen at the same instant).
    Its legacy_* rows (what the adoption took over) are not violations: data_problem_rows
    lists them."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        rows = conn.execute(
            "SELECT invariant, subject, detail FROM mockbook_internal.check_invariants()"
            " WHERE invariant NOT LIKE 'legacy\\_%'"
        ).fetchall()
    return [tuple(row) for row in rows]


def data_problem_rows(conn: psycopg.Connection) -> list[str]:
    """What admins must look at, reported and never a failure of the check: each upcoming
    exam's time_problem (docs/rpc.md, Exam times) and each unresolved booking conflict an
    exam's move in HubSpot left (docs/rpc.md, When an exam moves, closes or is cancelled).
    Also `mockbook reconcile`'s.
    """
    cur = conn.cursor(row_factory=tuple_row)  # whatever rows the connection makes
    rows = cur.execute(
        "SELECT format('exam %s (%s): %s', hubspot_id, coalesce(exam_date::text, 'no date'),"
        "              time_problem)"
        " FROM hubspot_sync.hubspot_mock_exams"
        " WHERE time_problem IS NOT NULL"
        "   AND (exam_date IS NULL OR exam_date >= (now() AT TIME ZONE 'UTC')::date - 1)"
        " ORDER BY exam_date NULLS FIRST, hubspot_id LIMIT 100").fetchall()
    # bookings an exam's move in HubSpot left against a rule (docs/rpc.md, When an exam moves)
    rows += cur.execute(
        "SELECT format('booking %s (%s): %s', coalesce(b.booking_id, c.booking_id::text), c.rule,"
        "              c.detail)"
        " FROM hubspot_sync.booking_conflicts AS c"
        " LEFT JOIN hubspot_sync.hubspot_bookings AS b ON b.id = c.booking_id"
        " WHERE c.resolved_at IS NULL ORDER BY c.id LIMIT 100").fetchall()
    # legacy data the adoption took over as the old apps left it, while it still is
    # (check_invariants' legacy_* rows: duplicates, over-capacity exams, codes, unreadable times)
    rows += cur.execute(
        "SELECT format('%s %s: %s%s', replace(invariant, '_', ' '), subject, detail,"
        "              CASE invariant WHEN 'legacy_duplicate'"
        "                   THEN '; resolve it: mockbook adoption resolve' ELSE '' END)"
        " FROM mockbook_internal.check_invariants() WHERE invariant LIKE 'legacy\\_%'"
        " LIMIT 200").fetchall()
    return [row[0] for row in rows]
