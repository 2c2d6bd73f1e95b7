"""The adoption dry run (`mockbook migrate --check`): every row and object the upgrade of a
production database (at revision 0001_baseline, stamped or not) would change, and every row
that would stop it, read in one READ ONLY transaction: nothing is written. It is revision
0002_mockbook_1_0's (later ones, run in the same transaction, change no production row); a
database at it or past it has nothing to check.

Each finding is a dict: kind ('change' or 'refuse'), revision, action, object, record_id,
old_value, new_value. The 'change' findings are the rows hubspot_sync.adoption_report gets
when the upgrade runs (tests/py/db/test_adopt_production.py compares the two); the 'refuse' ones
are what the upgrade names when it stops.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Callable
from typing import Any

import psycopg

from glue.credit_fields import CREDIT_FIELD_NAMES
from glue.db.source import DB_DIR

OWNED = ("hubspot_contact_credits", "hubspot_mock_exams", "hubspot_bookings", "sync_metadata")
ADOPTION = "0002_mockbook_1_0"
FIELDS = ("kind", "revision", "action", "object", "record_id", "old_value", "new_value")

# one query per finding kind; each returns the FIELDS columns
QUERIES = (
    # the column types: values that do not convert exactly to mockbook's
    """SELECT 'refuse', '0002_mockbook_1_0', 'exam_date has a time of day',
              'hubspot_mock_exams.exam_date', id::text, exam_date::text, NULL
       FROM hubspot_sync.hubspot_mock_exams WHERE exam_date <> date_trunc('day', exam_date)""",
    """SELECT 'refuse', '0002_mockbook_1_0', 'exam_date is not a UTC midnight',
              'hubspot_bookings.exam_date', id::text, exam_date::text, NULL
       FROM hubspot_sync.hubspot_bookings
       WHERE (exam_date AT TIME ZONE 'UTC') <> date_trunc('day', exam_date AT TIME ZONE 'UTC')""",
    """SELECT 'refuse', '0002_mockbook_1_0', 'token_refunded is not ''true''/''false''',
              'hubspot_bookings.token_refunded', id::text, token_refunded, NULL
       FROM hubspot_sync.hubspot_bookings WHERE token_refunded NOT IN ('true', 'false')""",
    # legacy triggers and functions
    """SELECT 'change', '0002_mockbook_1_0',
              'dropped legacy audit trigger (duplicates mockbook''s audit)',
              t.tgrelid::regclass::text || '.' || t.tgname, NULL, t.tgfoid::regprocedure::text,
              NULL
       FROM pg_catalog.pg_trigger t
       WHERE t.tgrelid IN ('hubspot_sync.hubspot_bookings'::regclass,
                           'hubspot_sync.hubspot_contact_credits'::regclass,
                           'hubspot_sync.hubspot_mock_exams'::regclass)
         AND t.tgname IN ('bookings_audit_trigger', 'contact_credits_audit_trigger',
                          'exams_audit_trigger')""",
    """SELECT 'change', '0002_mockbook_1_0',
              'pinned search_path and revoked EXECUTE from PUBLIC, anon, authenticated',
              p.oid::regprocedure::text, NULL, p.proacl::text,
              'search_path="" / EXECUTE: service_role'
       FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'hubspot_sync'::regnamespace
         AND p.proname IN ('get_booking_aggregates', 'get_booking_aggregates_count',
                           'get_changed_fields', 'update_exam_prerequisites')""",
    # the production functions of the booking API (replaced; dropped first when the
    # signature differs) and any older overload of their names (dropped, definition reported)
    """SELECT 'change', '0002_mockbook_1_0',
              CASE WHEN NOT coalesce(p.oid = ANY (s.dump), false)
                   THEN 'dropped legacy overload (not in the production dump)'
                   WHEN p.oid = ANY (s.dump[1:3])
                   THEN 'dropped production function (replaced by mockbook''s)'
                   ELSE 'replaced production function by mockbook''s (same signature)' END,
              p.oid::regprocedure::text, NULL,
              CASE WHEN NOT coalesce(p.oid = ANY (s.dump), false)
                   THEN pg_catalog.pg_get_functiondef(p.oid) END, NULL
       FROM pg_catalog.pg_proc p, (SELECT ARRAY[
                to_regprocedure('hubspot_sync.create_booking_atomic(text, text, text, text, text,'
                                ' text, text, text, text, text, integer, text)'),
                to_regprocedure('hubspot_sync.create_booking_atomic_v1(text, text, text, text,'
                                ' text, text, text, text, text, text, integer)'),
                to_regprocedure('hubspot_sync.cancel_booking_atomic(uuid, text, integer)'),
                to_regprocedure('hubspot_sync.get_booking(uuid, text, text)'),
                to_regprocedure('hubspot_sync.get_contact_credits(text, text, uuid, text)'),
                to_regprocedure('hubspot_sync.check_idempotency_key(text)'),
                to_regprocedure('hubspot_sync.increment_exam_bookings(text, integer)')
              ]::oid[] AS dump) AS s
       WHERE p.pronamespace = 'hubspot_sync'::regnamespace
         AND p.proname IN ('create_booking_atomic', 'create_booking_atomic_v1',
                           'cancel_booking_atomic', 'get_booking', 'get_contact_credits',
                           'check_idempotency_key', 'increment_exam_bookings')""",
    # privileges and policies of other roles
    """SELECT 'change', '0002_mockbook_1_0', 'revoked schema privilege',
              'schema hubspot_sync ' || a.privilege_type || ' from ' || w.who, NULL,
              format('GRANT %%s ON SCHEMA hubspot_sync TO %%s', a.privilege_type, w.who), NULL
       FROM pg_catalog.pg_namespace n, aclexplode(n.nspacl) AS a,
            LATERAL (SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                                 ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS who) AS w
       WHERE n.nspname = 'hubspot_sync' AND a.grantee <> n.nspowner
         AND w.who <> 'service_role'""",
    """SELECT 'change', '0002_mockbook_1_0', 'dropped policy',
              p.tablename || '.' || p.policyname, NULL, p.cmd || ' TO ' || p.roles::text, NULL
       FROM pg_catalog.pg_policies p
       WHERE p.schemaname = 'hubspot_sync' AND p.tablename = ANY(%(owned)s)""",
    """SELECT 'change', '0002_mockbook_1_0', 'revoked table privilege',
              c.relname || ' ' || a.privilege_type || ' from ' ||
              CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                   ELSE quote_ident(pg_get_userbyid(a.grantee)) END, NULL, NULL, NULL
       FROM pg_catalog.pg_class c, aclexplode(c.relacl) AS a
       WHERE c.relnamespace = 'hubspot_sync'::regnamespace AND c.relname = ANY(%(owned)s)
         AND a.grantee <> c.relowner""",
    # the constraints: spellings, repeated codes, drifted counts
    """SELECT 'change', '0002_mockbook_1_0', 'normalised spelling', 'hubspot_bookings.is_active',
              id::text, is_active, initcap(btrim(is_active))
       FROM hubspot_sync.hubspot_bookings
       WHERE is_active NOT IN ('Active', 'Cancelled', 'Completed', 'Failed')
         AND lower(btrim(is_active)) IN ('active', 'cancelled', 'completed', 'failed')""",
    """SELECT 'change', '0002_mockbook_1_0', 'normalised spelling', 'hubspot_bookings.attendance',
              id::text, attendance, initcap(btrim(attendance))
       FROM hubspot_sync.hubspot_bookings
       WHERE attendance NOT IN ('Yes', 'No') AND lower(btrim(attendance)) IN ('yes', 'no')""",
    # before the constraints are checked: the admin app's un-marked attendance '' -> NULL
    """SELECT 'change', '0002_mockbook_1_0', 'unmarked attendance (empty) set to NULL',
              'hubspot_bookings.attendance', id::text, attendance, NULL
       FROM hubspot_sync.hubspot_bookings WHERE btrim(attendance) = ''""",
    # before the constraints are checked: a legacy booking's NULL mock type and exam day
    # copied from its exam (new_value as the report writes it: once retyped, a date)
    """SELECT 'change', '0002_mockbook_1_0', 'legacy booking: copied from its exam', v.object,
              b.id::text, NULL, v.value
       FROM hubspot_sync.hubspot_bookings AS b
       JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = b.associated_mock_exam,
            LATERAL (VALUES ('hubspot_bookings.mock_type',
                             CASE WHEN b.mock_type IS NULL THEN e.mock_type END),
                            ('hubspot_bookings.exam_date',
                             CASE WHEN b.exam_date IS NULL THEN e.exam_date::date::text END))
                AS v (object, value)
       WHERE v.value IS NOT NULL""",
    """SELECT 'change', '0002_mockbook_1_0', 'gave a repeated legacy booking code a unique one',
              'hubspot_bookings.booking_id', id::text, booking_id, booking_id || '-R' || n
       FROM (SELECT id, booking_id,
                    row_number() OVER (PARTITION BY booking_id
                                       ORDER BY created_at NULLS FIRST, id) AS n
             FROM hubspot_sync.hubspot_bookings
             WHERE booking_id IN (SELECT booking_id FROM hubspot_sync.hubspot_bookings
                                  WHERE booking_id IS NOT NULL
                                  GROUP BY booking_id HAVING count(*) > 1)) AS r
       WHERE n > 1""",
    """SELECT 'change', '0002_mockbook_1_0', 'recounted total_bookings (Active bookings)',
              'hubspot_mock_exams.total_bookings', id::text, old::text, n::text
       FROM (SELECT e.id, e.total_bookings AS old,
                    (SELECT count(*) FROM hubspot_sync.hubspot_bookings AS b
                     WHERE b.associated_mock_exam = e.hubspot_id
                       AND lower(btrim(b.is_active)) = 'active')::integer AS n
             FROM hubspot_sync.hubspot_mock_exams AS e) AS c
       WHERE old IS DISTINCT FROM n""",
    # rows the constraints would still reject (after the normalisation above)
    """SELECT 'refuse', '0002_mockbook_1_0', 'negative credit balance', 'hubspot_contact_credits',
              id::text, NULL, NULL
       FROM hubspot_sync.hubspot_contact_credits
       WHERE """ + " OR ".join(f"{name} < 0" for name in CREDIT_FIELD_NAMES),
    """SELECT 'refuse', '0002_mockbook_1_0', 'invalid capacity or is_active', 'hubspot_mock_exams',
              id::text, format('capacity %%s, is_active %%L', capacity, is_active), NULL
       FROM hubspot_sync.hubspot_mock_exams
       WHERE capacity < 0 OR lower(is_active) NOT IN ('true', 'false', 'scheduled', 'active')""",
    # before the constraints are checked: the old app's duplicate bookings (two
    # Active/Completed of one student, mock type and day) adopted, the later ones flagged
    """SELECT 'change', '0002_mockbook_1_0', 'legacy duplicate adopted and flagged',
              'hubspot_bookings.legacy_issue', id::text, NULL, 'duplicate of ' || kept
       FROM (SELECT b.id, first_value(coalesce(b.booking_id, b.id::text)) OVER w AS kept,
                    row_number() OVER w AS n
             FROM (SELECT l.id, l.booking_id, l.student_id, l.is_active, l.created_at,
                          coalesce(l.mock_type, e.mock_type) AS mock_type,
                          coalesce((l.exam_date AT TIME ZONE 'UTC')::date, e.exam_date::date)
                              AS exam_date
                   FROM hubspot_sync.hubspot_bookings AS l  -- with the repair above
                   LEFT JOIN hubspot_sync.hubspot_mock_exams AS e
                          ON e.hubspot_id = l.associated_mock_exam) AS b
             WHERE initcap(btrim(b.is_active)) IN ('Active', 'Completed')
             WINDOW w AS (PARTITION BY b.student_id, b.mock_type, b.exam_date
                          ORDER BY b.created_at NULLS FIRST, b.id)) AS r
       WHERE n > 1""",
    # exams the old app booked beyond capacity: adopted and reported, no data changed
    """SELECT 'change', '0002_mockbook_1_0',
              'legacy over-capacity exam adopted (no booking until under capacity)',
              'hubspot_mock_exams', e.id::text, format('capacity %%s', e.capacity),
              format('%%s Active bookings', c.n)
       FROM hubspot_sync.hubspot_mock_exams AS e
       CROSS JOIN LATERAL (SELECT count(*) AS n FROM hubspot_sync.hubspot_bookings AS b
                           WHERE b.associated_mock_exam = e.hubspot_id
                             AND initcap(btrim(b.is_active)) = 'Active') AS c
       WHERE c.n > e.capacity""",
    # at the end of the upgrade: codes that break the code rule, adopted as they are
    # (the rule of mockbook_internal.booking_code_problem, which production lacks: the same
    # tests and words, in the same order)
    """SELECT 'change', '0002_mockbook_1_0',
              'legacy booking code adopted (breaks the code rule)', 'hubspot_bookings.booking_id',
              id::text, booking_id, problem
       FROM (SELECT id, booking_id, CASE
                 WHEN length(booking_id) NOT BETWEEN 3 AND 100
                 THEN format('it has %%s characters (3 to 100)', length(booking_id))
                 WHEN booking_id !~ '^[A-Za-z0-9][A-Za-z0-9 .,_-]*[A-Za-z0-9]$'
                 THEN 'only letters A-Z, digits, space, ".", ",", "_" and "-" are allowed, '
                      'beginning and ending with a letter or digit'
                 WHEN booking_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                 THEN 'it is shaped like a uuid'
                 WHEN booking_id ~ '^[0-9]+$' THEN 'it is all digits, as HubSpot ids are'
                 WHEN upper(booking_id) LIKE 'WL-%%'
                 THEN 'codes starting with WL- are reserved for waitlist places' END AS problem
             FROM hubspot_sync.hubspot_bookings WHERE booking_id IS NOT NULL) AS c
       WHERE problem IS NOT NULL""",
    # production's aggregate functions read booking_details_view, which the dump lacks:
    # where the view is missing they failed on every call and are dropped
    """SELECT 'change', '0002_mockbook_1_0',
              'dropped production function (it reads booking_details_view, which this '
              'database lacks: every call failed)', p.oid::regprocedure::text, NULL, NULL, NULL
       FROM pg_catalog.pg_proc AS p
       WHERE p.pronamespace = 'hubspot_sync'::regnamespace
         AND p.proname IN ('get_booking_aggregates', 'get_booking_aggregates_count')
         AND to_regclass('hubspot_sync.booking_details_view') IS NULL""",
    """SELECT 'refuse', '0002_mockbook_1_0', 'unknown is_active or attendance', 'hubspot_bookings',
              id::text, format('is_active %%L, attendance %%L', is_active, attendance), NULL
       FROM hubspot_sync.hubspot_bookings
       WHERE lower(btrim(is_active)) NOT IN ('active', 'cancelled', 'completed', 'failed')
          OR lower(btrim(attendance)) NOT IN ('yes', 'no', '')""",
)


def has_production_tables(conn: psycopg.Connection) -> bool:
    """The dry run describes an upgrade of the production schema's tables."""
    return bool(conn.execute(
        "SELECT to_regclass('hubspot_sync.hubspot_bookings') IS NOT NULL").fetchone()[0])


# The shapes mockbook_internal.exam_starts_at reads: an ISO-8601 instant, or a time of day
# (HH:MM[:SS], H:MM AM/PM) on the exam's day. A value of either shape must also convert
# (PostgreSQL's own cast, tried in a savepoint: '2025-02-30T10:00:00Z' and '25:00' do not).
ISO_INSTANT = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$", re.I)
TIME_OF_DAY = re.compile(r"^\d{1,2}:\d{2}(:\d{2}(\.\d{1,6})?)?(\s*[ap]\.?m\.?)?$", re.I)


def _converts(cur: psycopg.Cursor, value: str, cast: str) -> bool:
    try:
        with cur.connection.transaction():
            cur.execute(f"SELECT %s::{cast}", (value,))
        return True
    except psycopg.DataError:
        return False


def _readable(cur: psycopg.Cursor, day: Any, value: str | None) -> bool:
    text = (value or "").strip()
    if not text:
        return True
    if ISO_INSTANT.match(text):
        return _converts(cur, text, "timestamptz")
    return day is not None and bool(TIME_OF_DAY.match(text)) and _converts(
        cur, text.replace(".", ""), "time")


# A local time of day the clocks skip or repeat on its day in the business zone (as the database
# stores it, America/Toronto when unset): what mockbook_internal.exam_time_problem will say of
# it at head, with local_time_problem's reading (each offset three hours either side tried).
_SKIPPED_OR_REPEATED = """
WITH z AS (
    SELECT coalesce((
        SELECT nullif(btrim(substr(c.setting, length('mockbook.business_timezone=') + 1)), '')
        FROM pg_catalog.pg_db_role_setting AS s
        CROSS JOIN LATERAL unnest(s.setconfig) AS c(setting)
        WHERE s.setrole = 0
          AND s.setdatabase = (SELECT d.oid FROM pg_catalog.pg_database AS d
                               WHERE d.datname = current_database())
          AND c.setting LIKE 'mockbook.business\\_timezone=%%'), 'America/Toronto') AS zone
), l AS (
    SELECT %(day)s::date + %(time)s::time AS local, z.zone,
           (%(day)s::date + %(time)s::time) AT TIME ZONE z.zone AS at
    FROM z
), c AS (
    SELECT DISTINCT (l.local - o.off) AT TIME ZONE 'UTC' AS candidate, l.local, l.zone
    FROM l, LATERAL (VALUES
        (((l.at - interval '3 hours') AT TIME ZONE l.zone)
         - ((l.at - interval '3 hours') AT TIME ZONE 'UTC')),
        (((l.at + interval '3 hours') AT TIME ZONE l.zone)
         - ((l.at + interval '3 hours') AT TIME ZONE 'UTC'))
    ) AS o(off)
)
SELECT CASE count(*) FILTER (WHERE (c.candidate AT TIME ZONE c.zone) = c.local)
           WHEN 1 THEN NULL
           WHEN 0 THEN format('%%s %%L: %%s does not exist in %%s: the clocks move forward over it',
                              %(name)s::text, %(value)s::text, min(c.local), min(c.zone))
           ELSE format('%%s %%L: %%s happens twice in %%s: the clocks move back over it',
                       %(name)s::text, %(value)s::text, min(c.local), min(c.zone))
       END
FROM c
"""


def unreadable_times(cur: psycopg.Cursor) -> list[tuple[Any, ...]]:
    """Exams whose start or end time the exam trigger will not read at head (the time_problem
    of db/functions/internal/exam_time_problem.sql, its first two cases): adopted as they are,
    each one finding, as the upgrade reports them."""
    found = []
    exams = cur.execute("SELECT id::text, exam_date::date, start_time, end_time"
                        " FROM hubspot_sync.hubspot_mock_exams ORDER BY id").fetchall()
    for exam_id, day, start, end in exams:
        pairs = (("start_time", start), ("end_time", end))
        # as exam_time_problem judges: a time the clocks skip or repeat first, then unreadable
        problems = [cur.execute(_SKIPPED_OR_REPEATED, {
                        "name": name, "value": value, "day": day,
                        "time": value.strip().replace(".", "")}).fetchone()[0]
                    for name, value in pairs
                    if day is not None and _readable(cur, day, value)
                    and TIME_OF_DAY.match((value or "").strip())]
        problems += [cur.execute(  # quoted as the trigger's format('%L') quotes it
                         "SELECT format(%s, %s::text)",
                         (f"{name} %L is not a time mockbook can read", value)).fetchone()[0]
                     for name, value in pairs if not _readable(cur, day, value)]
        problem = next((p for p in problems if p), None)
        if problem:
            found.append(("change", ADOPTION, "legacy exam time adopted (unreadable)",
                          "hubspot_mock_exams.time_problem", exam_id,
                          " / ".join(v for v in (start, end) if v is not None), problem))
    return found


@functools.cache
def migrations_module(name: str) -> Any:
    """A module beside the revisions (db/migrations/<name>.py: dependents, customer, steps),
    which the adoption runs too (env.py loads them the same way)."""
    spec = importlib.util.spec_from_file_location(
        f"mockbook_migrations_{name}", DB_DIR / "migrations" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dependents(cur: psycopg.Cursor) -> list[tuple[Any, ...]]:
    """Objects outside mockbook built on what the upgrade changes (a column's type) or drops (a
    production function): the upgrade would fail on each, so each is a refusal naming the
    object, what it uses and what the upgrade does to that."""
    rows = cur.execute(migrations_module("dependents").DEPENDENTS_SQL, {}).fetchall()  # {}: %% is %
    return [("refuse", rev, f"uses {target}, which the upgrade {change}: drop or change it "
             "first, re-create it after", dependent, None, None, None)
            for rev, dependent, target, change in rows]


def changed_objects(cur: psycopg.Cursor) -> list[tuple[Any, ...]]:
    """Objects outside mockbook on the adopted tables whose behaviour the upgrade changes
    (db/migrations/customer.py): each a refusal naming what breaks and the fix, or, with
    mockbook.accept_changed_objects = on, a change (the report row the upgrade writes)."""
    customer = migrations_module("customer")
    found = customer.findings(lambda sql, params: cur.execute(sql, params).fetchall())
    if not found:
        return []
    if cur.execute(customer.ACCEPTED_SQL).fetchone()[0]:
        return [("change", ADOPTION, customer.ACCEPTED_ACTION, obj, None, what, fix)
                for obj, what, fix in found]
    return [("refuse", ADOPTION, f"{what}. Fix: {fix}", obj, None, None, None)
            for obj, what, fix in found]


def column_grants(cur: psycopg.Cursor) -> list[tuple[Any, ...]]:
    """The column-level privileges the upgrade revokes (db/migrations/customer.py,
    COLUMN_GRANTS_SQL), each a change with the GRANT that gives it back (the rollback runs it),
    as the upgrade reports them."""
    customer = migrations_module("customer")
    keep = cur.execute("SELECT coalesce(current_setting('mockbook.keep_legacy_grants', true),"
                       " '') IN ('on', 'true', '1')").fetchone()[0]
    return [("change", ADOPTION, customer.COLUMN_GRANT_ACTION, obj, None, grant, None)
            for obj, grant, _ in cur.execute(customer.COLUMN_GRANTS_SQL,
                                             (list(OWNED), keep)).fetchall()]


def migration_blockers(conn: psycopg.Connection, revision: str) -> list[dict[str, Any]]:
    """What stops any migration of the database, adopted or not (customer.py's
    migration_findings: event triggers), each a finding of ``revision``, the next to run: a
    refusal, or with mockbook.accept_changed_objects = on a change. Read only."""
    customer = migrations_module("customer")
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("SET TRANSACTION READ ONLY")
        found = customer.migration_findings(lambda sql, params: cur.execute(sql, params)
                                            .fetchall())
        accepted = cur.execute(customer.ACCEPTED_SQL).fetchone()[0]
    rows = [("change", revision, customer.ACCEPTED_ACTION, obj, None, what, fix) if accepted
            else ("refuse", revision, f"{what}. Fix: {fix}", obj, None, None, None)
            for obj, what, fix in found]
    return [dict(zip(FIELDS, row, strict=True)) for row in rows]


def api_timeouts(cur: psycopg.Cursor) -> dict[str, dict[str, Any]]:
    """The statement timeout each API role's calls run under ({role: {"seconds", "set_on"}},
    seconds None: no limit): a call of the old apps that waits on the adoption's locks longer
    is cancelled (57014)."""
    found = migrations_module("dependents")
    return found.api_timeouts(cur.execute(found.API_TIMEOUTS_SQL).fetchall())


def timeouts_cut(cut: dict[str, float]) -> str:
    """The adoption's window was longer than these roles' statement timeouts: said for the DBA."""
    return migrations_module("dependents").cancelled(cut)


CHECKS = len(QUERIES) + 3  # the dependents, the queries, the column grants, the unreadable times


def check(
    conn: psycopg.Connection,
    after: str = "0001_baseline",
    *,
    progress: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Every finding of the upgrade of a database at `after`, in a READ ONLY transaction
    (nothing can be written); none at 0002_mockbook_1_0 or later. ``progress``: called after
    each of the :data:`CHECKS` checks."""
    findings: list[dict[str, Any]] = []
    if after[:4] >= ADOPTION[:4]:
        return findings
    done = progress or (lambda: None)
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        with conn.cursor() as cur:
            for row in dependents(cur) + changed_objects(cur):
                findings.append(dict(zip(FIELDS, row, strict=True)))
            done()
            for query in QUERIES:
                cur.execute(query, {"owned": list(OWNED)})
                for row in cur.fetchall():
                    findings.append(dict(zip(FIELDS, row, strict=True)))
                done()
            for row in column_grants(cur):
                findings.append(dict(zip(FIELDS, row, strict=True)))
            done()
            for row in unreadable_times(cur):
                findings.append(dict(zip(FIELDS, row, strict=True)))
            done()
    return findings
