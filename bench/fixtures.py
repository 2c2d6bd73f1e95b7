"""The bench database: schema, fixture data and the pgbench scripts that call create_booking.

Fixture (built with set-based SQL, audit/outbox triggers off while loading: the fixture is not
what is measured; the benchmarks themselves run with every trigger on unless B4 says otherwise):

- STUDENTS students B0..B49999 (HubSpot ids BC<n>, email b<n>@example.com), 1,000 SJ credits
  each, so no booking of the run ever lacks a credit;
- SPREAD_EXAMS Situational Judgment exams BX0..BX1008, one per day from tomorrow on, capacity
  100,000,000 (never full);
- hot exams BH<k> (B2), the rush exam (B3), push exams (B5) on days of their own, later.

Why no booking of a benchmark fails (pgbench aborts a client on any error): the n-th booking
of the spread workload (n from the sequence bench.n) is student n mod 50,000 on exam n mod
1,009; 50,000 and 1,009 are coprime, so (student, exam) never repeats for n < 50,450,000 and,
every exam being on its own day, the duplicate rule (student, mock type, day) never triggers;
idempotency keys are 'bench-<n>', unique. Consecutive n go to different students and different
exams, so concurrent calls spread over rows exactly as "bookings spread over many exams" means.
The hot exam takes student n mod 50,000: distinct students as long as one hot exam gets fewer
than 50,000 bookings (a run would need 2,500 tps for 20 s to reach that).
"""

from __future__ import annotations

import psycopg

from glue.db import migrations
from glue.db.postgrest import request_sql
from glue.db.source import apply_source

STUDENTS = 50_000
SPREAD_EXAMS = 1_009  # prime: coprime with STUDENTS
CREDITS = 1_000
HOT_DAY_OFFSET = 2_000  # hot exams: days after every spread exam
RUSH_DAY_OFFSET = 3_000
PUSH_DAY_OFFSET = 3_100
ANALYTICS_EXAMS = 2_003  # prime: coprime with STUDENTS

# What PostgREST does around an RPC call: one transaction, role, JWT claims, method.
POSTGREST_PREAMBLE = request_sql("service_role", "POST")  # glue/db/postgrest.py


def build(url: str, schema_source: str) -> None:
    """Schema from Alembic (`upgrade(url, 'head')`) or from db/ directly."""
    if schema_source == "db":
        apply_source(url)
    else:
        migrations.upgrade(url, "head")


def load(url: str) -> dict[str, int]:
    """The shared fixture (see the module docstring); row counts."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
        conn.execute("CREATE SEQUENCE IF NOT EXISTS bench.n")
        conn.execute("GRANT USAGE ON SCHEMA bench TO service_role")
        conn.execute("GRANT USAGE, SELECT ON SEQUENCE bench.n TO service_role")
        conn.execute("CREATE TABLE IF NOT EXISTS bench.hot_row (id int PRIMARY KEY, n bigint)")
        conn.execute("INSERT INTO bench.hot_row VALUES (1, 0) ON CONFLICT DO NOTHING")
        conn.execute("GRANT SELECT, UPDATE ON bench.hot_row TO service_role")
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute(
                """INSERT INTO hubspot_sync.hubspot_contact_credits
                       (hubspot_id, student_id, email, firstname, lastname, sj_credits)
                   SELECT 'BC' || g, 'B' || g, 'b' || g || '@example.com', 'First' || g,
                          'Last' || g, %s
                   FROM generate_series(0, %s - 1) AS g""", (CREDITS, STUDENTS))
            # times as the original app stores them (ISO-8601 instants, 09:00-12:00 business
            # time), and the instants the exam trigger derives from them, which the bookings'
            # checks read (triggers are off here: a NULL instant would skip those checks)
            conn.execute(
                """INSERT INTO hubspot_sync.hubspot_mock_exams
                       (hubspot_id, mock_exam_name, mock_type, exam_date, start_time, end_time,
                        location, capacity, total_bookings, is_active, mock_set,
                        exam_starts_at, exam_ends_at)
                   SELECT 'BX' || g, 'bench exam ' || g, 'Situational Judgment', d,
                          to_char(s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                          to_char(e AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                          'mississauga', 100000000, 0, 'true', 'A', s, e
                   FROM generate_series(0, %s - 1) AS g,
                        LATERAL (SELECT hubspot_sync.business_today() + 1 + g AS d) AS day,
                        LATERAL (SELECT (d + time '09:00') AT TIME ZONE z AS s,
                                        (d + time '12:00') AT TIME ZONE z AS e
                                 FROM mockbook_internal.business_timezone() AS z) AS t""",
                (SPREAD_EXAMS,))
        conn.execute("CREATE TABLE IF NOT EXISTS bench.start_balance"
                     " (student_id text PRIMARY KEY, sj_credits int NOT NULL)")
        record_start_balances(conn)
        conn.execute("VACUUM ANALYZE")
    return {"students": STUDENTS, "exams": SPREAD_EXAMS}


def record_start_balances(conn: psycopg.Connection) -> None:
    """Remember the SJ balance of every contact not yet remembered (call right after adding
    students, before they book): the invariant check compares against it."""
    conn.execute(
        """INSERT INTO bench.start_balance (student_id, sj_credits)
           SELECT c.student_id, c.sj_credits FROM hubspot_sync.hubspot_contact_credits AS c
           ON CONFLICT (student_id) DO NOTHING""")


def add_exam(conn: psycopg.Connection, hubspot_id: str, day_offset: int, capacity: int) -> None:
    """One more SJ exam (with its triggers: an ordinary insert)."""
    conn.execute(
        """INSERT INTO hubspot_sync.hubspot_mock_exams
               (hubspot_id, mock_exam_name, mock_type, exam_date, start_time, end_time,
                location, capacity, total_bookings, is_active, mock_set)
           VALUES (%s, 'bench exam ' || %s, 'Situational Judgment',
                   hubspot_sync.business_today() + %s, '09:00', '12:00', 'mississauga', %s, 0,
                   'true', 'A')""", (hubspot_id, hubspot_id, day_offset, capacity))


def booking_script(exam_expr: str) -> str:
    """The pgbench script of one create_booking request as PostgREST makes it: BEGIN, the
    role/claims/method settings, the call, COMMIT. `exam_expr` is the SQL of the exam id
    (from s.n, the booking's number)."""
    return (
        "BEGIN;\n"
        f"{POSTGREST_PREAMBLE}\n"
        "SELECT hubspot_sync.create_booking("
        f"p_student_id := 'B' || (s.n % {STUDENTS}), "
        f"p_email := 'b' || (s.n % {STUDENTS}) || '@example.com', "
        f"p_mock_exam_id := {exam_expr}, "
        "p_idempotency_key := 'bench-' || s.n, "
        "p_attending_location := 'mississauga') "
        "FROM (SELECT nextval('bench.n') AS n) AS s;\n"
        "END;\n"
    )


SPREAD_SCRIPT = booking_script(f"'BX' || (s.n % {SPREAD_EXAMS})")


def hot_script(exam: str) -> str:
    return booking_script(f"'{exam}'")


# The profile's "raw writes": the rows one booking writes (the booking, the contact's credit,
# its ledger row, the exam's total), as plain SQL without any of create_booking's checks or
# helper functions but the one that makes its id, with the same triggers firing. Same
# students/exams/numbering as SPREAD_SCRIPT, so it never collides with it. The booking's id is
# made as mockbook makes it (time-ordered: mockbook_internal.new_booking_uuid), so its index
# entries fall where a booking's do. As the owner with the request's claims:
# service_role may not write the tables (create_booking writes them as their owner,
# SECURITY DEFINER), so this is what the booking function's own writes are.
RAW_WRITES_PREAMBLE = (
    "SELECT set_config('request.jwt.claims', '{\"role\": \"service_role\"}', true),"
    " set_config('request.method', 'POST', true);"
)
RAW_WRITES_SCRIPT = (
    "BEGIN;\n"
    f"{RAW_WRITES_PREAMBLE}\n"
    "SELECT nextval('bench.n') AS n \\gset\n"
    "WITH b AS (INSERT INTO hubspot_sync.hubspot_bookings (id, booking_id, associated_mock_exam, "
    "associated_contact_id, student_id, name, student_email, is_active, attending_location, "
    "token_used, start_time, end_time, exam_date, mock_type, mock_set, idempotency_key, "
    "idempotency_fingerprint) "
    "SELECT mockbook_internal.new_booking_uuid(), 'RAW-' || :n, e.hubspot_id, c.hubspot_id, "
    "c.student_id, c.firstname, c.email, "
    "'Active', 'mississauga', 'Situational Judgment Token', e.start_time, e.end_time, "
    "e.exam_date, e.mock_type, e.mock_set, 'raw-' || :n, 'raw' "
    "FROM hubspot_sync.hubspot_mock_exams AS e, hubspot_sync.hubspot_contact_credits AS c "
    f"WHERE e.hubspot_id = 'BX' || (:n % {SPREAD_EXAMS}) AND c.student_id = 'B' || "
    f"(:n % {STUDENTS}) RETURNING id), "
    "c AS (UPDATE hubspot_sync.hubspot_contact_credits SET sj_credits = sj_credits - 1 "
    f"WHERE student_id = 'B' || (:n % {STUDENTS}) RETURNING id, student_id, sj_credits) "
    "INSERT INTO hubspot_sync.credit_ledger (contact_id, student_id, credit_field, delta, "
    "balance_after, reason, booking_id, actor) "
    "SELECT c.id, c.student_id, 'sj_credits', -1, c.sj_credits, 'booking', b.id, 'bench' "
    "FROM b, c;\n"
    "UPDATE hubspot_sync.hubspot_mock_exams SET total_bookings = total_bookings + 1 "
    f"WHERE hubspot_id = 'BX' || (:n % {SPREAD_EXAMS});\n"
    "END;\n"
)

# B2's reference: pgbench's one-row UPDATE on one hot row (autocommit, one statement).
HOT_UPDATE_SCRIPT = "UPDATE pgbench_branches SET bbalance = bbalance + 1 WHERE bid = 1;\n"


def set_outbox_triggers(url: str, enabled: bool) -> None:
    """B4: the audit/outbox trigger (record_row_change) on the three synced tables, on or off."""
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("hubspot_contact_credits", "hubspot_mock_exams", "hubspot_bookings"):
            action = "ENABLE" if enabled else "DISABLE"
            # identifiers are our own constants
            conn.execute(f"ALTER TABLE hubspot_sync.{table} {action} TRIGGER record_row_change")


SYNCED_TABLES = ("hubspot_contact_credits", "hubspot_mock_exams", "hubspot_bookings")

# B4r's reference: the audit and outbox rows of a change without their jsonb, written into copies
# of the two tables that keep only their primary keys (no secondary index, no CHECK): the least
# two rows per change can cost, the floor of any design that writes an audit row and an outbox
# row in the booking's transaction. Ids come from sequences of their own (the outbox's, which
# the worker reads, is not drawn from). Installed in the bench database for B4r's legs, then
# dropped.
BARE = "".join(f"""
CREATE TABLE hubspot_sync.{copy} (LIKE hubspot_sync.{table} INCLUDING DEFAULTS);
ALTER TABLE hubspot_sync.{copy} ALTER COLUMN id DROP DEFAULT;
ALTER TABLE hubspot_sync.{copy} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;
ALTER TABLE hubspot_sync.{copy} ADD PRIMARY KEY (id);""" for copy, table in (
    ("bare_sq", "sync_queue"), ("bare_audit", "supabase_audit_log"))) + """
CREATE FUNCTION hubspot_sync.bench_bare() RETURNS trigger LANGUAGE plpgsql
SET search_path = '' AS $$
BEGIN
    WITH q AS (INSERT INTO hubspot_sync.bare_sq (table_name, record_id, operation)
               VALUES (TG_TABLE_NAME, CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END,
                       TG_OP))
    INSERT INTO hubspot_sync.bare_audit (table_name, record_id, operation,
                                         performed_by, performed_at)
    VALUES (TG_TABLE_NAME, CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END, TG_OP,
            current_user, now());
    RETURN NULL;
END $$;
""" + "".join(f"""
CREATE TRIGGER bench_bare AFTER INSERT OR UPDATE OR DELETE ON hubspot_sync.{t}
    FOR EACH ROW EXECUTE FUNCTION hubspot_sync.bench_bare();""" for t in SYNCED_TABLES)
BARE_DROP = "".join(f"DROP TRIGGER IF EXISTS bench_bare ON hubspot_sync.{t};"
                    for t in SYNCED_TABLES) + (
    "DROP FUNCTION IF EXISTS hubspot_sync.bench_bare();"
    "DROP TABLE IF EXISTS hubspot_sync.bare_sq, hubspot_sync.bare_audit;")


def set_bare(url: str, bare: bool) -> None:
    """B4r: the bare rows' trigger on and record_row_change off (`bare`), or the other way
    round (as shipped), on the three synced tables."""
    with psycopg.connect(url, autocommit=True) as conn:
        for table in SYNCED_TABLES:
            for trig, on in (("record_row_change", not bare), ("bench_bare", bare)):
                act = "ENABLE" if on else "DISABLE"
                conn.execute(f"ALTER TABLE hubspot_sync.{table} {act} TRIGGER {trig}")


def counts(url: str) -> dict[str, int]:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            """SELECT (SELECT count(*) FROM hubspot_sync.hubspot_bookings),
                      (SELECT count(*) FROM hubspot_sync.hubspot_mock_exams),
                      (SELECT count(*) FROM hubspot_sync.hubspot_contact_credits),
                      (SELECT count(*) FROM hubspot_sync.sync_queue),
                      (SELECT count(*) FROM hubspot_sync.supabase_audit_log)""").fetchone()
    return dict(zip(("bookings", "exams", "contacts", "outbox_rows", "audit_rows"), row,
                    strict=True))


def invariant_violations(url: str) -> list[str]:
    """the data model as the database checks it (mockbook_internal.check_invariants, the one
    implementation):
    total_bookings = Active bookings for every exam; every contact's SJ balance = its balance
    when added (bench.start_balance) + its ledger deltas; no negative balance; every Active
    booking has its credit ledger row; the ledger chains up. At most 20 lines."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            """SELECT i.invariant || ': ' || i.subject || ': ' || i.detail
               FROM mockbook_internal.check_invariants(
                   (SELECT jsonb_object_agg(c.id, jsonb_build_object('sj_credits', s.sj_credits))
                    FROM bench.start_balance AS s
                    JOIN hubspot_sync.hubspot_contact_credits AS c USING (student_id)), 0) AS i
               WHERE i.invariant NOT LIKE 'legacy\\_%'
               LIMIT 20""").fetchall()
    return [line for (line,) in rows]


# ---- a booking history (mockbook trace's bench and its plan test) --------------------------------
# What a busy installation's tables hold after `bookings` bookings, loaded set-based with the
# triggers off: booking n is student n mod STUDENTS on exam n mod SPREAD_EXAMS (as SPREAD_SCRIPT
# books), its id md5('trace-n'), code TR-n; nine in ten pushed (HubSpot id 9000000n, an audit row
# writing it, the outbox row done), the tenth still queued; each with its INSERT audit row and its
# ledger row. Beside them: a dead letter per hundred bookings, a flagged legacy duplicate and an
# adoption note per twenty, a repeated legacy code per five hundred, a conflict per two hundred,
# two webhook events per student. load() must have run first.
HISTORY = """
INSERT INTO hubspot_sync.hubspot_bookings
    (id, hubspot_id, booking_id, associated_mock_exam, associated_contact_id, student_id, name,
     student_email, is_active, attending_location, token_used, exam_date, mock_type, mock_set,
     idempotency_key, created_at, legacy_booking_id)
SELECT md5('trace-' || g)::uuid, CASE WHEN g % 10 <> 9 THEN (9000000000 + g)::text END,
       'TR-' || g, e.hubspot_id, c.hubspot_id, c.student_id, c.firstname, c.email, 'Active',
       'mississauga', 'Situational Judgment Token', e.exam_date, e.mock_type, e.mock_set,
       'trace-' || g, now() - make_interval(secs => {n} - g),
       CASE WHEN g % 500 = 7 THEN 'OLD-' || (g / 1000) END
FROM generate_series(0, {n} - 1) AS g
JOIN hubspot_sync.hubspot_contact_credits AS c ON c.student_id = 'B' || (g % {students})
JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = 'BX' || (g % {exams});
INSERT INTO hubspot_sync.credit_ledger (contact_id, student_id, credit_field, delta,
                                        balance_after, reason, booking_id, actor, created_at)
SELECT c.id, c.student_id, 'sj_credits', -1, 999, 'booking', b.id, c.student_id, b.created_at
FROM hubspot_sync.hubspot_bookings AS b
JOIN hubspot_sync.hubspot_contact_credits AS c ON c.student_id = b.student_id
WHERE b.booking_id LIKE 'TR-%';
INSERT INTO hubspot_sync.supabase_audit_log (table_name, record_id, record_hubspot_id, operation,
    changed_fields, new_values, performed_by, performed_at, synced_to_hubspot_at)
SELECT 'hubspot_bookings', b.id, NULL, 'INSERT', NULL::jsonb,
       jsonb_build_object('booking_id', b.booking_id, 'is_active', 'Active'), b.student_id,
       b.created_at, b.created_at + interval '2 seconds'
FROM hubspot_sync.hubspot_bookings AS b WHERE b.booking_id LIKE 'TR-%'
UNION ALL
SELECT 'hubspot_bookings', b.id, b.hubspot_id, 'UPDATE', '["hubspot_id"]'::jsonb,
       jsonb_build_object('hubspot_id', b.hubspot_id), 'mockbook_glue',
       b.created_at + interval '1 second', NULL::timestamptz
FROM hubspot_sync.hubspot_bookings AS b
WHERE b.booking_id LIKE 'TR-%' AND b.hubspot_id IS NOT NULL;
INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, new_data, created_at,
                                     attempts, next_attempt_at, done_at)
SELECT 'hubspot_bookings', b.id, 'INSERT', NULL::jsonb, b.created_at,
       CASE WHEN b.hubspot_id IS NULL THEN 0 ELSE 1 END, b.created_at,
       CASE WHEN b.hubspot_id IS NOT NULL THEN b.created_at + interval '1 second' END
FROM hubspot_sync.hubspot_bookings AS b WHERE b.booking_id LIKE 'TR-%';
INSERT INTO hubspot_sync.sync_errors (entity_type, entity_id, direction, operation, error,
                                      attempts, resolved)
SELECT 'hubspot_bookings', b.id::text, 'push', 'INSERT', 'PROPERTY_DOESNT_EXIST: bench', 8,
       b.created_at < now() - interval '1 hour'
FROM hubspot_sync.hubspot_bookings AS b
WHERE b.booking_id LIKE 'TR-%' AND substr(b.booking_id, 4)::bigint % 100 = 0;
UPDATE hubspot_sync.hubspot_bookings AS b SET legacy_issue = 'duplicate of TR-0'
WHERE b.booking_id LIKE 'TR-%' AND substr(b.booking_id, 4)::bigint % 20 = 13;
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value,
                                          new_value)
SELECT '0002_mockbook_1_0', 'normalised spelling', 'hubspot_bookings.is_active', b.id::text,
       'active', 'Active'
FROM hubspot_sync.hubspot_bookings AS b
WHERE b.booking_id LIKE 'TR-%' AND substr(b.booking_id, 4)::bigint % 20 = 13;
INSERT INTO hubspot_sync.booking_conflicts (booking_id, mock_exam_id, rule, detail, detected_at)
SELECT b.id, b.associated_mock_exam, 'time_conflict', 'bench', b.created_at
FROM hubspot_sync.hubspot_bookings AS b
WHERE b.booking_id LIKE 'TR-%' AND substr(b.booking_id, 4)::bigint % 200 = 199;
INSERT INTO hubspot_sync.webhook_events (event_id, subscription_id, subscription_type,
    object_type_id, object_id, occurred_at, payload, processed_at)
SELECT g * 2 + k, 1, 'contact.propertyChange', '0-1', c.hubspot_id, now(), '{{}}'::jsonb, now()
FROM hubspot_sync.hubspot_contact_credits AS c
CROSS JOIN generate_series(0, 1) AS k
JOIN LATERAL (SELECT substr(c.student_id, 2)::bigint AS g) AS s ON true
WHERE c.student_id LIKE 'B%';
"""


def load_history(url: str, bookings: int) -> dict[str, int]:
    """HISTORY's rows for ``bookings`` bookings, then VACUUM ANALYZE; the tables' row counts."""
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute(HISTORY.format(n=int(bookings), students=STUDENTS,
                                        exams=SPREAD_EXAMS))
        conn.execute("VACUUM ANALYZE")
        tables = ("hubspot_bookings", "credit_ledger", "supabase_audit_log", "sync_queue",
                  "sync_errors", "adoption_report", "booking_conflicts", "webhook_events")
        return {t: conn.execute(f"SELECT count(*) FROM hubspot_sync.{t}").fetchone()[0]
                for t in tables}
