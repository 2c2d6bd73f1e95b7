"""The demo's SQL (glue/demo/ calls it; this module never imports glue/demo): its lock, its
reset, the load of its sample rows, the checks, the waitlist scene's calls and the dashboard's
reads. The demo's own rows are named by the caller (student pattern, email domain, exam prefix,
ids), so the rules of which rows are the demo's stay in glue/demo/data.py.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from glue.db.connection import connect


class MixedBookings(Exception):
    """Bookings join the demo's students or exams with other rows: the reset deletes nothing."""

    def __init__(self, codes: list[str]) -> None:
        super().__init__(", ".join(codes))
        self.codes = codes


def take_lock(conn: psycopg.Connection, key: str) -> bool:
    """A session advisory lock (released when conn closes); False when another session holds it."""
    return bool(
        conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (key,)).fetchone()[0]
    )


def business_today(conn: psycopg.Connection) -> date:
    return conn.execute("SELECT hubspot_sync.business_today()").fetchone()[0]


def free_connections(conn: psycopg.Connection) -> int:
    """The server's connections not taken, less 10 for its other sessions."""
    return conn.execute(
        "SELECT current_setting('max_connections')::int"
        " - current_setting('superuser_reserved_connections')::int"
        " - (SELECT count(*) FROM pg_stat_activity)::int - 10"
    ).fetchone()[0]


# ---- reset ---------------------------------------------------------------------------------------
def reset(
    conn: psycopg.Connection, student_pattern: str, email_domain: str, exam_prefix: str
) -> dict[str, int]:
    """Delete the demo's rows (students matching the pattern and domain, exams with the prefix)
    and every row about them, in one transaction. Returns counts per table; raises
    MixedBookings (nothing deleted) when a booking joins a demo row with another row."""
    with conn.transaction():
        conn.execute("SET LOCAL mockbook.origin = 'hubspot'")  # the deletes are not queued
        contacts = conn.execute(
            "SELECT id, student_id FROM hubspot_sync.hubspot_contact_credits "
            "WHERE student_id ~ %s AND email LIKE %s",
            (student_pattern, f"%@{email_domain}"),
        ).fetchall()
        exams = conn.execute(
            "SELECT id, hubspot_id FROM hubspot_sync.hubspot_mock_exams "
            "WHERE starts_with(mock_exam_name, %s)",
            (exam_prefix,),
        ).fetchall()
        contact_ids = [r[0] for r in contacts]
        student_ids = [r[1] for r in contacts]
        exam_ids = [r[0] for r in exams]
        exam_hubspot_ids = [r[1] for r in exams]
        mixed = conn.execute(
            "SELECT booking_id FROM hubspot_sync.hubspot_bookings "
            "WHERE (associated_mock_exam = ANY(%(e)s)) IS DISTINCT FROM (student_id = ANY(%(s)s))"
            " AND (associated_mock_exam = ANY(%(e)s) OR student_id = ANY(%(s)s)) LIMIT 5",
            {"e": exam_hubspot_ids, "s": student_ids},
        ).fetchall()
        if mixed:
            raise MixedBookings([str(r[0]) for r in mixed])
        booking_ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM hubspot_sync.hubspot_bookings WHERE student_id = ANY(%s) "
                "AND associated_mock_exam = ANY(%s)",
                (student_ids, exam_hubspot_ids),
            )
        ]
        counts = {}
        counts["credit_ledger"] = conn.execute(
            "DELETE FROM hubspot_sync.credit_ledger WHERE contact_id = ANY(%s)", (contact_ids,)
        ).rowcount
        by_table = {
            "hubspot_bookings": booking_ids,
            "hubspot_contact_credits": contact_ids,
            "hubspot_mock_exams": exam_ids,
        }
        for table, ids in by_table.items():
            counts[table] = conn.execute(
                sql.SQL("DELETE FROM hubspot_sync.{} WHERE id = ANY(%s)").format(
                    sql.Identifier(table)
                ),
                (ids,),
            ).rowcount
        places = [
            r[0]
            for r in conn.execute(
                "DELETE FROM hubspot_sync.waitlist_entries "
                "WHERE mock_exam_id = ANY(%s) OR student_id = ANY(%s) RETURNING sync_id",
                (exam_hubspot_ids, student_ids),
            )
        ]
        counts["waitlist_entries"] = len(places)
        # the places' outbox rows (pushed as HubSpot booking objects), their deletes' included
        counts["sync_queue"] = conn.execute(
            "DELETE FROM hubspot_sync.sync_queue "
            "WHERE table_name = 'waitlist_entries' AND record_id = ANY(%s)",
            (places,),
        ).rowcount
        # After the deletes: their audit rows (written by the delete triggers too) go as well.
        for name, query in (
            (
                "supabase_audit_log",
                "DELETE FROM hubspot_sync.supabase_audit_log "
                "WHERE table_name = %s AND record_id = ANY(%s)",
            ),
            (
                "sync_queue",
                "DELETE FROM hubspot_sync.sync_queue WHERE table_name = %s AND record_id = ANY(%s)",
            ),
            (
                "sync_errors",
                "DELETE FROM hubspot_sync.sync_errors "
                "WHERE entity_type = %s AND entity_id = ANY(%s::uuid[]::text[])",
            ),
        ):
            counts[name] = counts.get(name, 0) + sum(
                conn.execute(query, (table, ids)).rowcount for table, ids in by_table.items()
            )
    return counts


# ---- load ----------------------------------------------------------------------------------------
def rows_in_id_range(conn: psycopg.Connection, low: int, high: int) -> list[tuple[str, str, str]]:
    """Up to 4 contacts, exams or bookings whose HubSpot id lies in [low, high]:
    (kind, id, what)."""
    return conn.execute(
        "SELECT t, hubspot_id, what FROM ("
        " SELECT 'contact' AS t, hubspot_id, coalesce(email, student_id) AS what"
        " FROM hubspot_sync.hubspot_contact_credits UNION ALL"
        " SELECT 'exam', hubspot_id, mock_exam_name FROM hubspot_sync.hubspot_mock_exams"
        " UNION ALL"
        " SELECT 'booking', hubspot_id, booking_id FROM hubspot_sync.hubspot_bookings) AS r "
        "WHERE hubspot_id ~ '^[0-9]{1,18}$' AND hubspot_id::bigint BETWEEN %s AND %s "
        "ORDER BY 1, 2 LIMIT 4",
        (low, high),
    ).fetchall()


def load(
    conn: psycopg.Connection,
    actor: str,
    exams: Sequence[list[Any]],
    contacts: Sequence[list[Any]],
    credit_fields: Sequence[str],
) -> None:
    """Insert exams and contacts as the import would (not queued for the push), in one
    transaction. ``exams``: columns hubspot_id, name, mock_type, exam_date, location, capacity;
    ``contacts``: hubspot_id, student_id, email, firstname, lastname, then one per credit field.
    A clash raises psycopg.errors.UniqueViolation."""
    with conn.transaction():
        conn.execute("SET LOCAL mockbook.origin = 'hubspot'")
        conn.execute("SELECT set_config('mockbook.actor', %s, true)", (actor,))
        conn.execute(
            "INSERT INTO hubspot_sync.hubspot_mock_exams (hubspot_id, mock_exam_name, "
            "mock_type, exam_date, start_time, end_time, location, capacity, total_bookings,"
            " is_active, mock_set, hubspot_last_sync_at) "
            "SELECT h, n, t, d, '09:00', '13:00', l, c, 0, 'true', 'A', now() "
            "FROM unnest(%s::text[], %s::text[], %s::text[], %s::date[], %s::text[], "
            "%s::int[]) AS x(h, n, t, d, l, c)",
            list(exams),
        )
        conn.execute(
            sql.SQL(
                "INSERT INTO hubspot_sync.hubspot_contact_credits (hubspot_id, student_id, "
                "email, firstname, lastname, {}, hubspot_last_sync_at) "
                "SELECT *, now() FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], "
                "%s::text[], {})"
            ).format(
                sql.SQL(", ").join(map(sql.Identifier, credit_fields)),
                sql.SQL(", ").join(sql.SQL("%s::int[]") for _ in credit_fields),
            ),
            list(contacts),
        )


# ---- checks --------------------------------------------------------------------------------------
def capacity_rows(conn: psycopg.Connection, exam_ids: list[str]) -> list[dict[str, Any]]:
    """Per exam: capacity, total_bookings, Active and Cancelled bookings counted."""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT e.hubspot_id, e.mock_exam_name, e.mock_type, e.exam_date, e.capacity, "
            "e.total_bookings, count(b.id) FILTER (WHERE b.is_active = 'Active')::int AS active, "
            "count(b.id) FILTER (WHERE b.is_active = 'Cancelled')::int AS cancelled "
            "FROM hubspot_sync.hubspot_mock_exams e LEFT JOIN hubspot_sync.hubspot_bookings b "
            "ON b.associated_mock_exam = e.hubspot_id WHERE e.hubspot_id = ANY(%s) "
            "GROUP BY e.id ORDER BY e.exam_date",
            (exam_ids,),
        )
        .fetchall()
    )


def ledger_sums(conn: psycopg.Connection, student_ids: list[str]) -> list[tuple[str, str, int]]:
    """The students' ledger summed per (credit field, reason)."""
    return conn.execute(
        "SELECT l.credit_field, l.reason, sum(l.delta)::int FROM hubspot_sync.credit_ledger l "
        "JOIN hubspot_sync.hubspot_contact_credits c ON c.id = l.contact_id "
        "WHERE c.student_id = ANY(%s) GROUP BY 1, 2",
        (student_ids,),
    ).fetchall()


def balances_and_violations(
    conn: psycopg.Connection, student_ids: list[str], start: dict[str, dict[str, int]]
) -> tuple[list[tuple[str, int, int]], list[str]]:
    """In one REPEATABLE READ snapshot: per credit field (field, sum of the students' balances,
    students counted), and mockbook_internal.check_invariants' lines with ``start`` (student_id
    → field → starting balance) as the students' starting balances."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        totals = conn.execute(
            "SELECT f.credit_field, sum(mockbook_internal.credit_balance(c, f.credit_field))::int, "
            "count(DISTINCT c.id)::int FROM hubspot_sync.hubspot_contact_credits c "
            "CROSS JOIN mockbook_internal.credit_fields() f WHERE c.student_id = ANY(%s) "
            "GROUP BY 1",
            (student_ids,),
        ).fetchall()
        violations = conn.execute(
            "SELECT i.invariant || ': ' || i.subject || ': ' || i.detail "
            "FROM mockbook_internal.check_invariants((SELECT jsonb_object_agg(c.id, s.value) "
            "FROM jsonb_each(%s) s JOIN hubspot_sync.hubspot_contact_credits c "
            "ON c.student_id = s.key), 0) i WHERE i.invariant NOT LIKE 'legacy\\_%%'",
            (Jsonb(start),),
        ).fetchall()
    return totals, [line for (line,) in violations]


def other_pending(conn: psycopg.Connection, student_ids: list[str], exam_ids: list[str]) -> int:
    """Pending outbox rows of records that are not these students', exams' or their bookings'
    and waitlist places'."""
    return conn.execute(
        "SELECT count(*) FROM hubspot_sync.sync_queue q WHERE q.done_at IS NULL "
        "AND q.dead_at IS NULL AND NOT EXISTS (SELECT 1 FROM hubspot_sync.hubspot_bookings b "
        "  WHERE q.table_name = 'hubspot_bookings' AND b.id = q.record_id "
        "  AND b.student_id = ANY(%(s)s) AND b.associated_mock_exam = ANY(%(e)s)) "
        "AND NOT EXISTS (SELECT 1 FROM hubspot_sync.hubspot_contact_credits c "
        "  WHERE q.table_name = 'hubspot_contact_credits' AND c.id = q.record_id "
        "  AND c.student_id = ANY(%(s)s)) "
        "AND NOT EXISTS (SELECT 1 FROM hubspot_sync.hubspot_mock_exams e "
        "  WHERE q.table_name = 'hubspot_mock_exams' AND e.id = q.record_id "
        "  AND e.hubspot_id = ANY(%(e)s)) "
        "AND NOT EXISTS (SELECT 1 FROM hubspot_sync.waitlist_entries w "
        "  WHERE q.table_name = 'waitlist_entries' AND w.sync_id = q.record_id "
        "  AND w.student_id = ANY(%(s)s) AND w.mock_exam_id = ANY(%(e)s))",
        {"s": student_ids, "e": exam_ids},
    ).fetchone()[0]


def bookings_of(url: str, student_ids: list[str], exam_ids: list[str]) -> list[dict[str, Any]]:
    """The bookings of these students on these exams, oldest first (a connection of its own)."""
    with connect(url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT booking_id, hubspot_id, is_active, associated_mock_exam, student_id "
            "FROM hubspot_sync.hubspot_bookings WHERE student_id = ANY(%s) "
            "AND associated_mock_exam = ANY(%s) ORDER BY created_at",
            (student_ids, exam_ids),
        ).fetchall()


# ---- the waitlist scene --------------------------------------------------------------------------
# who may book an exam of its type: a field credit_rules() lets pay for it holds a credit (read
# by the accessor credit_balance), so the rule of which credit pays is not written again here
_HAS_CREDIT = (
    "EXISTS (SELECT FROM hubspot_sync.credit_rules() AS r WHERE r.mock_type = %(type)s"
    " AND mockbook_internal.credit_balance(c, r.credit_field) > 0)"
)


def fullest_exam(conn: psycopg.Connection, exam_ids: list[str]) -> tuple[Any, ...]:
    """(hubspot_id, name, mock_type, exam_date, capacity, total_bookings) of the fullest exam."""
    return conn.execute(
        "SELECT hubspot_id, mock_exam_name, mock_type, exam_date, capacity, total_bookings"
        " FROM hubspot_sync.hubspot_mock_exams WHERE hubspot_id = ANY(%s)"
        " ORDER BY total_bookings::float / greatest(capacity, 1) DESC, hubspot_id LIMIT 1",
        (exam_ids,),
    ).fetchone()


def student_who_could_book(
    conn: psycopg.Connection, student_pattern: str, mock_type: str, day: date
) -> tuple[str, str] | None:
    """(student_id, email) of the first student matching the pattern with a credit for the type
    and no Active or Completed booking of it that day."""
    return conn.execute(
        "SELECT c.student_id, c.email FROM hubspot_sync.hubspot_contact_credits AS c"
        " WHERE c.student_id ~ %(pattern)s AND "
        + _HAS_CREDIT
        + " AND NOT EXISTS (SELECT FROM hubspot_sync.hubspot_bookings AS b"
        "   WHERE b.student_id = c.student_id AND b.mock_type = %(type)s"
        "   AND b.exam_date = %(day)s AND b.is_active IN ('Active', 'Completed'))"
        " ORDER BY c.student_id LIMIT 1",
        {"pattern": student_pattern, "type": mock_type, "day": day},
    ).fetchone()


def set_exam_capacity(conn: psycopg.Connection, exam: str, capacity: int) -> None:
    conn.execute("SELECT hubspot_sync.set_exam_capacity(%s, %s)", (exam, capacity))


def join_waitlist(conn: psycopg.Connection, student_id: str, email: str, exam: str) -> Any:
    return conn.execute(
        "SELECT hubspot_sync.join_waitlist(%s, %s, %s, 'mississauga', 'right')",
        (student_id, email, exam),
    ).fetchone()[0]


def first_active_booking(conn: psycopg.Connection, exam: str) -> tuple[str, str]:
    """(booking_id, student_id) of the exam's first Active booking by code."""
    return conn.execute(
        "SELECT booking_id, student_id FROM hubspot_sync.hubspot_bookings"
        " WHERE associated_mock_exam = %s AND is_active = 'Active' ORDER BY booking_id LIMIT 1",
        (exam,),
    ).fetchone()


def cancel_booking(conn: psycopg.Connection, booking: str, student_id: str) -> None:
    conn.execute(
        "SELECT hubspot_sync.cancel_booking(%s, p_student_id => %s)", (booking, student_id)
    )


def offer_expires_at(conn: psycopg.Connection, waitlist_id: Any) -> Any:
    """When the place's offer expires; None when it holds no offer."""
    row = conn.execute(
        "SELECT offer_expires_at FROM hubspot_sync.waitlist_entries"
        " WHERE id = %s AND status = 'offered'",
        (waitlist_id,),
    ).fetchone()
    return row[0] if row else None


def accept_offer(conn: psycopg.Connection, student_id: str, email: str, exam: str) -> Any:
    return conn.execute(
        "SELECT hubspot_sync.accept_offer(%s, %s, %s)", (student_id, email, exam)
    ).fetchone()[0]


def exam_seats(conn: psycopg.Connection, exam: str) -> tuple[int, int, int, int]:
    """(capacity, total_bookings, Active bookings, held offers) of one exam."""
    return tuple(
        conn.execute(
            "SELECT e.capacity, e.total_bookings,"
            " (SELECT count(*) FROM hubspot_sync.hubspot_bookings b"
            "  WHERE b.associated_mock_exam = e.hubspot_id AND b.is_active = 'Active')::int,"
            " (SELECT count(*) FROM hubspot_sync.waitlist_entries w"
            "  WHERE w.mock_exam_id = e.hubspot_id AND w.status = 'offered')::int"
            " FROM hubspot_sync.hubspot_mock_exams e WHERE e.hubspot_id = %s",
            (exam,),
        ).fetchone()
    )


# ---- the dashboard -------------------------------------------------------------------------------
def refresh_and_read(conn: psycopg.Connection, exam_ids: list[str]) -> dict[str, Any]:
    """refresh_analytics(), then what the dashboard shows, read from the views."""
    cur = conn.cursor(row_factory=dict_row)
    refreshed = cur.execute("SELECT mockbook_internal.refresh_analytics() AS r").fetchone()["r"]
    if isinstance(refreshed, str):
        refreshed = json.loads(refreshed)
    exams = cur.execute(
        "SELECT mock_exam_name, mock_type, capacity, active, cancelled, utilization "
        "FROM hubspot_sync.exam_utilization WHERE hubspot_id = ANY(%s) "
        "ORDER BY utilization DESC NULLS LAST, exam_date",
        (exam_ids,),
    ).fetchall()
    types = cur.execute(
        "SELECT mock_type, sum(exams)::int AS exams, sum(bookings)::int AS bookings, "
        "sum(active)::int AS active, sum(cancellations)::int AS cancellations, "
        "round(sum(avg_utilization * exams) / nullif(sum(exams), 0), 4) AS utilization "
        "FROM hubspot_sync.booking_analytics GROUP BY mock_type ORDER BY mock_type"
    ).fetchall()
    credits = cur.execute(
        "SELECT credit_field, sum(spent)::int AS spent, sum(refunded)::int AS refunded, "
        "sum(rebooked)::int AS rebooked, sum(net)::int AS net "
        "FROM hubspot_sync.credit_usage GROUP BY credit_field ORDER BY credit_field"
    ).fetchall()
    health = cur.execute("SELECT * FROM hubspot_sync.sync_health").fetchone()
    return {
        "refresh": refreshed,
        "exams": exams,
        "types": types,
        "credits": credits,
        "health": health,
    }


# ---- the rush's calls ----------------------------------------------------------------------------
def is_member_of(conn: psycopg.Connection, role: str) -> bool:
    return bool(conn.execute("SELECT pg_has_role(%s, 'MEMBER')", (role,)).fetchone()[0])


def rpc(conn: psycopg.Connection, fn: str, args: dict[str, Any], request: Any = None) -> Any:
    """hubspot_sync.<fn>(named args) in one transaction, after ``request`` (PostgREST's
    settings, glue.db.postgrest.request_sql) when given; psycopg.Error as raised."""
    query = sql.SQL("SELECT hubspot_sync.{}({})").format(
        sql.Identifier(fn),
        sql.SQL(", ").join(
            sql.SQL("{} => {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in args
        ),
    )
    with conn.transaction():
        if request is not None:
            conn.execute(request)
        return conn.execute(query, args).fetchone()[0]


# ---- live pages: the messages a database with Supabase Realtime would send -------------------
# The embedded database has no Supabase Realtime. The demo stands in for its one piece that
# Broadcast from the Database writes to (realtime.send storing a row in realtime.messages, with
# realtime.topic() the policies read), turns broadcasts on for its run, reads what was sent,
# then turns them off and removes the stand-in: the messages are the ones mockbook's triggers
# make, through the same functions, as on a Supabase database.
STAND_IN = "mockbook demo: a stand-in for Supabase Realtime's schema, removed at the demo's end"
_STAND_IN_SQL = """
CREATE SCHEMA realtime;
CREATE TABLE realtime.messages (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), topic text NOT NULL, extension text NOT NULL,
    payload jsonb, event text, private boolean, inserted_at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION realtime.topic() RETURNS text LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('realtime.topic', true), '') $$;
CREATE FUNCTION realtime.send(payload jsonb, event text, topic text, private boolean DEFAULT true)
    RETURNS void LANGUAGE sql
    AS $$ INSERT INTO realtime.messages (payload, event, topic, private, extension)
          VALUES (payload, event, topic, private, 'broadcast') $$;
"""
_DROP_STAND_IN = """
DROP TABLE realtime.messages;
DROP FUNCTION realtime.send(jsonb, text, text, boolean);
DROP FUNCTION realtime.topic();
DROP SCHEMA realtime;
"""


def _stand_in_here(conn: psycopg.Connection) -> bool:
    return conn.execute("SELECT obj_description(to_regnamespace('realtime'), 'pg_namespace')"
                        " = %s", (STAND_IN,)).fetchone()[0] is True


def begin_broadcasts(conn: psycopg.Connection) -> bool:
    """Broadcasts on for the demo; a stand-in for Realtime's schema where there is none (True:
    it is the demo's, removed by end_broadcasts)."""
    if _stand_in_here(conn):  # a demo killed before its end
        end_broadcasts(conn, True)
    stand_in = conn.execute("SELECT to_regnamespace('realtime') IS NULL").fetchone()[0]
    if stand_in:
        conn.execute(_STAND_IN_SQL)
        conn.execute(sql.SQL("COMMENT ON SCHEMA realtime IS {}").format(sql.Literal(STAND_IN)))
    conn.execute("SELECT hubspot_sync.set_realtime_broadcasts(p_enabled := true,"
                 " p_actor := 'mockbook demo')")
    return bool(stand_in)


def end_broadcasts(conn: psycopg.Connection, stand_in: bool) -> None:
    if stand_in:
        conn.execute("SELECT hubspot_sync.set_realtime_broadcasts(p_enabled := false,"
                     " p_actor := 'mockbook demo')")
        conn.execute(_DROP_STAND_IN)


def sent_messages(conn: psycopg.Connection, exam_ids: list[str]) -> list[dict[str, Any]]:
    """The seats messages of these exams' topics, in the order they were written (each under
    its exam's lock, at its commit: the exam's commit order), and the count of the students'."""
    rows = conn.execute(
        "SELECT topic, event, payload FROM realtime.messages"
        " WHERE topic = ANY(%s) OR topic LIKE 'mockbook:student:%%'"
        " ORDER BY inserted_at, id",
        ([f"mockbook:exam:{e}" for e in exam_ids],)).fetchall()
    return [{"topic": t, "event": e, "payload": p} for t, e, p in rows]
