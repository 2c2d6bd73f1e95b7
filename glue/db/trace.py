"""The SQL of `mockbook trace` (glue.sync.trace): which records an operator's key names, and one
record's story (mockbook_internal.trace_record), both read in one READ ONLY, REPEATABLE READ
transaction: plain SELECTs, no row lock, nothing a booking waits for."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.rows import dict_row

# Every branch is one index probe (docs/operations.md, "Trace one record": the order in which an
# ambiguous key's matches are listed is this one).
LOOKUP_SQL = """
SELECT 'booking' AS kind, b.id, 'booking code' AS matched, b.booking_id AS label
FROM hubspot_sync.hubspot_bookings AS b WHERE b.booking_id = %(key)s
UNION ALL
SELECT 'booking', b.id, 'legacy booking code', b.booking_id
FROM hubspot_sync.hubspot_bookings AS b WHERE b.legacy_booking_id = %(key)s
UNION ALL
SELECT 'booking', b.id, 'booking id', b.booking_id
FROM hubspot_sync.hubspot_bookings AS b WHERE b.id = %(id)s
UNION ALL
SELECT 'booking', b.id, 'HubSpot id', b.booking_id
FROM hubspot_sync.hubspot_bookings AS b WHERE b.hubspot_id = %(key)s
UNION ALL
SELECT 'student', c.id, 'student id', c.student_id || ' <' || c.email || '>'
FROM hubspot_sync.hubspot_contact_credits AS c WHERE c.student_id = %(key)s
UNION ALL
SELECT 'student', c.id, 'email', c.student_id || ' <' || c.email || '>'
FROM hubspot_sync.hubspot_contact_credits AS c
-- any spelling the API takes: mockbook_internal.same_email's comparison, by its index
-- (idx_contact_credits_email_key)
WHERE lower(btrim(c.email, E' \t\r\n')) = lower(btrim(%(key)s, E' \t\r\n'))
UNION ALL
SELECT 'student', c.id, 'contact id', c.student_id || ' <' || c.email || '>'
FROM hubspot_sync.hubspot_contact_credits AS c WHERE c.id = %(id)s
UNION ALL
SELECT 'student', c.id, 'HubSpot id', c.student_id || ' <' || c.email || '>'
FROM hubspot_sync.hubspot_contact_credits AS c WHERE c.hubspot_id = %(key)s
UNION ALL
SELECT 'exam', e.id, 'exam id', e.hubspot_id || ' ' || coalesce(e.mock_exam_name, '')
       || ' ' || coalesce(e.exam_date::text, '')
FROM hubspot_sync.hubspot_mock_exams AS e WHERE e.hubspot_id = %(key)s
UNION ALL
SELECT 'exam', e.id, 'exam record id', e.hubspot_id || ' ' || coalesce(e.mock_exam_name, '')
       || ' ' || coalesce(e.exam_date::text, '')
FROM hubspot_sync.hubspot_mock_exams AS e WHERE e.id = %(id)s
LIMIT 100
"""

TRACE_SQL = (
    "SELECT mockbook_internal.trace_record(p_table => %(table)s, p_record_id => %(id)s,"
    " p_limit => %(limit)s) AS story"
)


@contextmanager
def snapshot(conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """A READ ONLY, REPEATABLE READ transaction on an autocommit connection: every read inside
    sees one instant, and none can lock or write a row."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield conn


def as_uuid(key: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(key.strip())
    except ValueError:
        return None


def lookup(conn: psycopg.Connection, key: str) -> list[dict[str, Any]]:
    """The records ``key`` names, as {kind (booking | student | exam), id, matched, label}."""
    cur = conn.cursor(row_factory=dict_row)
    return cur.execute(
        LOOKUP_SQL, {"key": key, "id": as_uuid(key)}
    ).fetchall()


def trace_record(
    conn: psycopg.Connection, table: str, record_id: uuid.UUID, limit: int
) -> dict[str, Any] | None:
    """trace_record's jsonb (None: no such row)."""
    cur = conn.cursor(row_factory=dict_row)
    row = cur.execute(TRACE_SQL, {"table": table, "id": record_id, "limit": limit}).fetchone()
    return None if row is None else row["story"]
