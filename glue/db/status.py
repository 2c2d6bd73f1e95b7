"""The SQL of `mockbook status` (glue.run.status): one snapshot of the sync's health."""

from __future__ import annotations

from collections.abc import Sequence
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
       mockbook_internal.oldest_unsent_audit_seconds() AS oldest_unsent_audit_seconds,
       mockbook_internal.realtime_state() AS realtime
FROM hubspot_sync.sync_health AS h
LEFT JOIN hubspot_sync.sync_metadata AS r ON r.sync_type = 'reconcile'
"""


def status_row(conn: psycopg.Connection) -> tuple[Any, ...]:
    """(pending, oldest pending seconds, errors last hour, dead letters, last push, last pull,
    last refresh, processed last hour, last reconcile, drift, checked at, errors total, seconds
    since the oldest audit row not yet written as a HubSpot note, the Realtime broadcasts'
    state: mockbook_internal.realtime_state())."""
    with conn.transaction():
        row = conn.execute(_STATUS_SQL).fetchone()
    assert row is not None
    return tuple(row)


def checked_rows(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    """(invariant, subject, detail) of every row check_invariants() returns, read in one
    REPEATABLE READ snapshot (exam counts and ledger seen at the same instant): the violations,
    and the legacy_* rows (what the adoption took over), which are not violations. It reads
    every contact, booking and ledger row: `mockbook status --check`, never plain `status`."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        rows = conn.cursor(row_factory=tuple_row).execute(
            "SELECT invariant, subject, detail FROM mockbook_internal.check_invariants()"
        ).fetchall()
    return [tuple(row) for row in rows]


def _legacy(invariant: str) -> bool:
    return invariant.startswith("legacy_")


def invariant_rows(checked: Sequence[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The violations among ``checked`` (checked_rows)."""
    return [row for row in checked if not _legacy(row[0])]


LEGACY_SHOWN = 200


def data_problem_rows(
    conn: psycopg.Connection, checked: Sequence[tuple[str, str, str]] | None = None
) -> list[str]:
    """What admins must look at, reported and never a failure of the check: each upcoming
    exam's time_problem (docs/rpc.md, Exam times) and each unresolved booking conflict an
    exam's move in HubSpot left (docs/rpc.md, When an exam moves, closes or is cancelled);
    and the legacy data the adoption took over as the old apps left it, while it still is:
    check_invariants' legacy_* rows among ``checked`` (its rows, already read), read here when
    None (`mockbook reconcile`'s; plain `mockbook status` passes none: it reads no table
    through).
    """
    if checked is None:  # first: its snapshot is a transaction of its own
        checked = checked_rows(conn)
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
    lines = [row[0] for row in rows]
    # (check_invariants' legacy_* rows: duplicates, over-capacity exams, codes, unreadable times)
    legacy = [row for row in checked if _legacy(row[0])]
    for invariant, subject, detail in legacy[:LEGACY_SHOWN]:
        hint = "; resolve it: mockbook adoption resolve" if invariant == "legacy_duplicate" else ""
        lines.append(f"{invariant.replace('_', ' ')} {subject}: {detail}{hint}")
    return lines
