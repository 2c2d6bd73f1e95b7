"""The SQL of `mockbook run` / `worker` / `refresh-analytics` / `dlq`, by name: each function
takes an autocommit psycopg connection and makes one call (moved verbatim from the callers)."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import tuple_row

_REFRESH_AGE_SQL = """
SELECT extract(epoch FROM now() - last_sync_timestamp)::float8
FROM hubspot_sync.sync_metadata
WHERE sync_type = 'refresh_analytics' AND last_sync_status = 'success'
"""


def analytics_age(conn: psycopg.Connection) -> float | None:
    """Seconds since the last successful analytics refresh (None: never)."""
    row = conn.execute(_REFRESH_AGE_SQL).fetchone()
    return None if row is None or row[0] is None else float(row[0])


def refresh_analytics(conn: psycopg.Connection) -> dict[str, Any]:
    """refresh_analytics(): its JSON answer (refreshed, reason, views, seconds)."""
    return conn.execute("SELECT mockbook_internal.refresh_analytics()").fetchone()[0]


def purge(
    conn: psycopg.Connection, retention_seconds: float, idempotency_retention_seconds: float
) -> tuple[int, int]:
    """Delete done outbox rows older than their retention and idempotency results older than
    theirs; (outbox rows, keys) deleted."""
    purged, keys = conn.execute(
        "SELECT mockbook_internal.purge_sync_queue(p_retention => make_interval(secs => %s)),"
        " mockbook_internal.purge_idempotency_results(p_retention => make_interval(secs => %s))",
        (retention_seconds, idempotency_retention_seconds),
    ).fetchone()
    return purged, keys


def process_waitlist(conn: psycopg.Connection) -> dict[str, Any]:
    return conn.execute("SELECT hubspot_sync.process_waitlist()").fetchone()[0]


def complete_past_bookings(conn: psycopg.Connection) -> dict[str, Any]:
    return conn.execute("SELECT hubspot_sync.complete_past_bookings()").fetchone()[0]


def try_advisory_lock(conn: psycopg.Connection, name: str) -> bool:
    """A session-level advisory lock named by text: held until released or the session ends."""
    return bool(
        conn.execute(
            "SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (name,)
        ).fetchone()[0]
    )


def is_migrated(conn: psycopg.Connection) -> bool:
    return conn.execute(
        "SELECT to_regprocedure('mockbook_internal.purge_sync_queue(interval)') IS NOT NULL"
    ).fetchone()[0]


def leased_row_ids(conn: psycopg.Connection, worker: str) -> list[int]:
    """The open outbox rows leased by ``worker``."""
    with conn.cursor(row_factory=tuple_row) as cur:  # whatever rows the connection makes
        return cur.execute(
            "SELECT coalesce(array_agg(id), '{}') FROM hubspot_sync.sync_queue "
            "WHERE lease_owner = %s AND done_at IS NULL AND dead_at IS NULL",
            (worker,),
        ).fetchone()[0]


def lease_owners(conn: psycopg.Connection, prefix: str) -> list[str]:
    """The workers (names starting with ``prefix``) holding leases on open outbox rows."""
    with conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute(
            "SELECT DISTINCT lease_owner FROM hubspot_sync.sync_queue "
            "WHERE starts_with(lease_owner, %s) AND done_at IS NULL AND dead_at IS NULL",
            (prefix,),
        ).fetchall()
    return [r[0] for r in rows]


def dead_letters_resolved(conn: psycopg.Connection, ids: list[int]) -> dict[int, bool]:
    """{dead-letter id: resolved} of the given ids that exist."""
    with conn.cursor(row_factory=tuple_row) as cur:
        rows = cur.execute(
            "SELECT id, resolved FROM hubspot_sync.sync_errors WHERE id = ANY(%s)",
            (ids,),
        ).fetchall()
    return {row_id: resolved for row_id, resolved in rows}
