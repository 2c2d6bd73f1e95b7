"""The SQL of glue.cache: the snapshot the Redis keys are built from, and the outbox feed the
worker follows (its high-water mark, the ids and changes after a position). Moved verbatim."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

# One statement, so one snapshot: the available list, the seats of the exams asked for (all of
# them with %(all)s), and the HubSpot ids of contacts found by student_id. remaining seats use
# the same rule as list_available_exams: the seats held by waitlist offers are not free (never
# below 0).
_SNAPSHOT_SQL = """
SELECT
  (SELECT coalesce(jsonb_agg(to_jsonb(a) - 'ordinality' ORDER BY a.ordinality), '[]'::jsonb)::text
   FROM hubspot_sync.list_available_exams() WITH ORDINALITY AS a) AS available,
  (SELECT coalesce(jsonb_agg(jsonb_build_array(
              e.hubspot_id,
              greatest(coalesce(e.capacity, 0) - coalesce(e.total_bookings, 0)
                       - (SELECT count(*) FROM hubspot_sync.waitlist_entries AS w
                          WHERE w.mock_exam_id = e.hubspot_id AND w.status = 'offered'
                            AND w.offer_expires_at > now()), 0),
              coalesce(e.total_bookings, 0))), '[]'::jsonb)
   FROM hubspot_sync.hubspot_mock_exams AS e
   WHERE %(all)s OR e.hubspot_id = ANY (%(exams)s::text[])) AS exams,
  (SELECT coalesce(array_agg(c.hubspot_id), '{}'::text[])
   FROM hubspot_sync.hubspot_contact_credits AS c
   WHERE c.student_id = ANY (%(students)s::text[]) AND c.hubspot_id IS NOT NULL) AS contacts
"""

_CHANGES_SQL = """
SELECT id, table_name, operation, old_data, new_data
FROM hubspot_sync.sync_queue
WHERE id > %(last)s OR id = ANY (%(gaps)s::bigint[])
ORDER BY id
LIMIT %(limit)s
"""

_IDS_SQL = """
SELECT id
FROM hubspot_sync.sync_queue
WHERE id > %(last)s OR id = ANY (%(gaps)s::bigint[])
ORDER BY id
LIMIT %(limit)s
"""

# The outbox's high-water mark: the last id handed out (committed or not), read from the
# sequence without a lock; 0 before the first outbox row.
_MARK_SQL = (
    "SELECT coalesce(pg_sequence_last_value('hubspot_sync.sync_queue_id_seq'::regclass), 0)"
)

# The newest id, and the ids below it (within the lookback) that are not visible yet.
_START_SQL = """
WITH top AS (SELECT coalesce(max(id), 0) AS m FROM hubspot_sync.sync_queue)
SELECT top.m,
       ARRAY(SELECT s.i FROM generate_series(greatest(top.m - %(lookback)s + 1, 1), top.m) AS s(i)
             WHERE NOT EXISTS (SELECT 1 FROM hubspot_sync.sync_queue AS q WHERE q.id = s.i)
             ORDER BY s.i)
FROM top
"""


# Keepers take turns (the worker, `mockbook run`'s rebuild, the webhook processor): each reads its
# snapshot and writes Redis while holding this transaction-level lock, so a keeper that read
# before a commit cannot write after a keeper that read after it (an older value over a newer
# one, left until the exam changed again). Taken in a statement of its own, before the snapshot's:
# under READ COMMITTED the snapshot is then taken after the wait.
_TURN_SQL = "SELECT pg_advisory_xact_lock(hashtextextended('mockbook:cache', 0))"


@contextmanager
def keeper_turn(conn: psycopg.Connection) -> Iterator[None]:
    """A transaction holding the keepers' lock: snapshot and write Redis inside it."""
    with conn.transaction():
        conn.execute(_TURN_SQL)
        yield


def snapshot(
    conn: psycopg.Connection, *, all_exams: bool, exams: list[str], students: list[str]
) -> tuple[str, list[list[Any]], list[str]]:
    """(available exams as JSON text, [[exam id, remaining, total]], contact HubSpot ids)."""
    with conn.transaction():
        row = conn.execute(
            _SNAPSHOT_SQL, {"all": all_exams, "exams": exams, "students": students}
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def start(conn: psycopg.Connection, lookback: int) -> tuple[int, list[int]]:
    """(the newest outbox id, the ids below it within ``lookback`` not visible yet)."""
    with conn.transaction():
        row = conn.execute(_START_SQL, {"lookback": lookback}).fetchone()
    assert row is not None
    return row[0], list(row[1])


def changes(conn: psycopg.Connection, *, last: int, gaps: list[int], limit: int) -> list[Any]:
    """The outbox rows (id, table_name, operation, old_data, new_data) after ``last`` or in
    ``gaps``, oldest first."""
    with conn.transaction():
        return conn.execute(
            _CHANGES_SQL, {"last": last, "gaps": gaps, "limit": limit}
        ).fetchall()


def ids(conn: psycopg.Connection, *, last: int, gaps: list[int], limit: int) -> list[int]:
    """The ids only, without a transaction of their own (``conn`` is autocommit)."""
    rows = conn.execute(_IDS_SQL, {"last": last, "gaps": gaps, "limit": limit}).fetchall()
    return [row[0] for row in rows]


def mark(conn: psycopg.Connection) -> int:
    row = conn.execute(_MARK_SQL).fetchone()
    assert row is not None
    return int(row[0])
