"""Adoption repairs: data the old apps wrote that the frozen revisions would refuse.

env.py runs these in the adoption's transaction, around the step that adds the constraints
(0004_constraints). They live here, not in a revision, because committed revisions are frozen
and 0004 is the first of those that check the rows; they change no schema object that a new
database lacks, so the catalog of a new database is unchanged (on one, no row matches: nothing
happens). Each row changed is one hubspot_sync.adoption_report row; the dry run
(glue/db/adoption.py, `mockbook migrate --check`) lists the same.
"""

from __future__ import annotations

# Adoption: a data repair run just before 0004_constraints (README: "An existing production
# database"). The admin app writes attendance '' for an un-marked booking; 0004's frozen check
# refuses any attendance but 'Yes'/'No'/NULL, and '' means "not marked": NULL. Each row changed
# is one hubspot_sync.adoption_report row (the dry run, glue/db/adoption.py, lists the same).
# It lives here, not in a revision, because the committed revisions are frozen and 0004 comes
# first of those that check the rows; it changes no schema object, so the catalog of a new
# database is unchanged (on one, there is no such row: nothing happens).
UNMARKED_ATTENDANCE = """
WITH changed AS (
    UPDATE hubspot_sync.hubspot_bookings AS b SET attendance = NULL
    FROM (SELECT id, attendance AS old FROM hubspot_sync.hubspot_bookings
          WHERE btrim(attendance) = '') AS o
    WHERE b.id = o.id
    RETURNING b.id, o.old
)
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value,
                                          new_value)
SELECT '0004_constraints', 'unmarked attendance (empty) set to NULL',
       'hubspot_bookings.attendance', id::text, old, NULL
FROM changed
"""

# Bookings written before production added mock_type and exam_date hold NULLs there and name
# their exam only in associated_mock_exam. They get their exam's values: a booking's mock type
# and day are its exam's (create_booking copies them), 0004's frozen pre-check would otherwise
# group the NULLs together as "two bookings of one type on one day", and create_booking's
# one-seat-per-type-and-day check (step 7) would not see the legacy seat. A booking whose exam
# is unknown keeps its NULLs. One report row per value copied.
LEGACY_TYPE_AND_DAY = """
WITH changed AS (
    UPDATE hubspot_sync.hubspot_bookings AS b
    SET mock_type = coalesce(b.mock_type, o.exam_type),
        exam_date = coalesce(b.exam_date, o.exam_day)
    FROM (SELECT l.id, l.mock_type IS NULL AS no_type, l.exam_date IS NULL AS no_day,
                 e.mock_type AS exam_type, e.exam_date AS exam_day
          FROM hubspot_sync.hubspot_bookings AS l
          JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = l.associated_mock_exam
          WHERE (l.mock_type IS NULL AND e.mock_type IS NOT NULL)
             OR (l.exam_date IS NULL AND e.exam_date IS NOT NULL)) AS o
    WHERE b.id = o.id
    RETURNING b.id, CASE WHEN o.no_type THEN o.exam_type END AS new_type,
              CASE WHEN o.no_day THEN o.exam_day END AS new_day
)
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value,
                                          new_value)
SELECT '0004_constraints', 'legacy booking: copied from its exam', v.object, c.id::text, NULL,
       v.value
FROM changed AS c,
     LATERAL (VALUES ('hubspot_bookings.mock_type', c.new_type),
                     ('hubspot_bookings.exam_date', c.new_day::text)) AS v (object, value)
WHERE v.value IS NOT NULL
"""




# Run right after the step to 0003_supabase_roles (before 0004 checks the rows), in order.
BEFORE_CONSTRAINTS_SQL: list[str] = [UNMARKED_ATTENDANCE, LEGACY_TYPE_AND_DAY]
# Run right after the step to 0004_constraints, in order.
AFTER_CONSTRAINTS_SQL: list[str] = []


# Legacy duplicates (the old app's duplicate check raced: two Active/Completed bookings of one
# student, mock type and day). Adopted, never refused: the later booking(s) of each group (by
# creation time) are flagged, and the earliest keeps its place under the one-per-day rule. 0004's
# frozen pre-check refuses such a group and its unique index could not be built, so inside the
# adoption's single transaction the flagged rows' student_id is set aside (suffixed) until
# revision 0042 has added hubspot_bookings.legacy_issue and rebuilt the index without the
# flagged rows; then AFTER_HEAD_SQL writes the flag and puts student_id back. Nobody outside the
# transaction ever sees the suffix. One report row per flagged booking (action LEGACY_DUPLICATE,
# new_value the flag), listed by the dry run before the upgrade.
LEGACY_DUPLICATE = "legacy duplicate adopted and flagged"
DUPLICATE_SUFFIX = "~legacy-duplicate~"
LEGACY_DUPLICATES = f"""
WITH ranked AS (
    SELECT id, first_value(coalesce(booking_id, id::text)) OVER w AS kept,
           row_number() OVER w AS n
    FROM hubspot_sync.hubspot_bookings
    WHERE initcap(btrim(is_active)) IN ('Active', 'Completed')
    WINDOW w AS (PARTITION BY student_id, mock_type, exam_date
                 ORDER BY created_at NULLS FIRST, id)
), flagged AS (
    UPDATE hubspot_sync.hubspot_bookings AS b
    SET student_id = b.student_id || '{DUPLICATE_SUFFIX}' || b.id::text
    FROM ranked AS r
    WHERE b.id = r.id AND r.n > 1
    RETURNING b.id, r.kept
)
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value,
                                          new_value)
SELECT '0004_constraints', '{LEGACY_DUPLICATE}', 'hubspot_bookings.legacy_issue', id::text,
       NULL, 'duplicate of ' || kept
FROM flagged
"""

# Exams the old app booked beyond their capacity (its capacity check raced): adopted as they
# are, reported; create_booking takes no seat on them until cancellations bring them under it.
LEGACY_OVER_CAPACITY_ACTION = "legacy over-capacity exam adopted (no booking until under capacity)"
LEGACY_OVER_CAPACITY = f"""
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value,
                                          new_value)
SELECT '0004_constraints', '{LEGACY_OVER_CAPACITY_ACTION}', 'hubspot_mock_exams', e.id::text,
       format('capacity %s', e.capacity), format('%s Active bookings', c.n)
FROM hubspot_sync.hubspot_mock_exams AS e
CROSS JOIN LATERAL (SELECT count(*) AS n FROM hubspot_sync.hubspot_bookings AS b
                    WHERE b.associated_mock_exam = e.hubspot_id
                      AND initcap(btrim(b.is_active)) = 'Active') AS c
WHERE c.n > e.capacity
"""

BEFORE_CONSTRAINTS_SQL.extend([LEGACY_DUPLICATES, LEGACY_OVER_CAPACITY])

# Run at the end of the adoption's transaction, at head: the flagged duplicates get their
# legacy_issue and their student_id back (the user triggers held off: this restores what the
# adoption set aside, it is not a change to audit or push).
AFTER_HEAD_SQL: list[str] = [f"""
ALTER TABLE hubspot_sync.hubspot_bookings DISABLE TRIGGER USER;
UPDATE hubspot_sync.hubspot_bookings AS b
SET legacy_issue = r.new_value,
    student_id = split_part(b.student_id, '{DUPLICATE_SUFFIX}', 1)
FROM hubspot_sync.adoption_report AS r
WHERE r.action = '{LEGACY_DUPLICATE}' AND r.record_id = b.id::text
  AND strpos(b.student_id, '{DUPLICATE_SUFFIX}') > 0;
ALTER TABLE hubspot_sync.hubspot_bookings ENABLE TRIGGER USER;
"""]

# Booking codes the old app wrote that break the code rule mockbook enforces on new writes
# (mockbook_internal.booking_code_problem: 3-100 of A-Z a-z 0-9 space . , _ -, not uuid-shaped,
# not all digits, not WL-) and exam times nothing can read (hubspot_mock_exams.time_problem,
# derived by the exam trigger at head): adopted as they are — a legacy code still resolves
# (booking_by_ref), an unreadable time is "not known", never "no time" — and one report row each,
# so the adoption report, `migrate --check`, `mockbook status` and check_invariants() list them
# as legacy (the last two while they are still wrong). The dry run's queries
# (glue/db/adoption.py) apply the same rules to the production rows.
LEGACY_RULES_REVISION = "0042_exam_times_as_instants_star"
LEGACY_CODE = "legacy booking code adopted (breaks the code rule)"
LEGACY_TIME = "legacy exam time adopted (unreadable)"
AFTER_HEAD_SQL.extend([f"""
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value,
                                          new_value)
SELECT '{LEGACY_RULES_REVISION}', '{LEGACY_CODE}', 'hubspot_bookings.booking_id', b.id::text,
       b.booking_id, mockbook_internal.booking_code_problem(b.booking_id)
FROM hubspot_sync.hubspot_bookings AS b
WHERE b.booking_id IS NOT NULL AND mockbook_internal.booking_code_problem(b.booking_id) IS NOT NULL
""", f"""
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value,
                                          new_value)
SELECT '{LEGACY_RULES_REVISION}', '{LEGACY_TIME}', 'hubspot_mock_exams.time_problem', e.id::text,
       concat_ws(' / ', e.start_time, e.end_time), e.time_problem
FROM hubspot_sync.hubspot_mock_exams AS e
WHERE strpos(e.time_problem, ' is not a time mockbook can read') > 0
"""])

# What the adoption's DDL would meet outside mockbook: objects a DBA or another app built on the
# production columns whose type revision 0002 changes, or on the production functions the
# upgrade drops. PostgreSQL refuses ALTER COLUMN ... TYPE under a view, a rule, a policy, a
# trigger naming the column (WHEN or UPDATE OF) or a SQL-standard function body, and DROP
# FUNCTION under anything that uses the function; indexes, CHECK constraints and statistics on a
# column are rebuilt by ALTER TYPE itself and need nothing. One row per such dependent:
# (revision, object, what it uses, what the upgrade does to that). env.py stops the adoption
# before changing anything when there is one; `migrate --check` lists them as refusals.
# Written for a driver that takes parameters: every % doubled (run it with parameters).
TYPE_CHANGES = (  # revision 0002_dual_id, 4. column types
    ("hubspot_contact_credits", "created_at", "timestamptz"),
    ("hubspot_contact_credits", "updated_at", "timestamptz"),
    ("hubspot_contact_credits", "synced_at", "timestamptz"),
    ("hubspot_mock_exams", "exam_date", "date"),
    ("hubspot_mock_exams", "created_at", "timestamptz"),
    ("hubspot_mock_exams", "updated_at", "timestamptz"),
    ("hubspot_mock_exams", "synced_at", "timestamptz"),
    ("hubspot_bookings", "exam_date", "date"),
    ("hubspot_bookings", "token_refunded", "boolean"),
    ("hubspot_bookings", "ndecc_exam_date", "text"),
    ("hubspot_bookings", "created_at", "timestamptz"),
    ("hubspot_bookings", "updated_at", "timestamptz"),
    ("hubspot_bookings", "synced_at", "timestamptz"),
    ("sync_metadata", "last_sync_timestamp", "timestamptz"),
    ("sync_metadata", "created_at", "timestamptz"),
    ("sync_metadata", "updated_at", "timestamptz"),
)
_TYPE_CHANGES_VALUES = ",\n        ".join(f"('{t}', '{c}', '{n}')" for t, c, n in TYPE_CHANGES)
DEPENDENTS_SQL = f"""
WITH changed (tab, col, new_type) AS (
    VALUES
        {_TYPE_CHANGES_VALUES}
), columns AS (
    SELECT c.tab, c.col, c.new_type, a.attrelid, a.attnum
    FROM changed AS c
    JOIN pg_catalog.pg_attribute AS a
      ON a.attrelid = to_regclass('hubspot_sync.' || c.tab) AND a.attname = c.col
     AND NOT a.attisdropped
    -- only while the column still has production's type (an upgrade part-way has changed it)
    WHERE format_type(a.atttypid, a.atttypmod) <> c.new_type
      AND NOT (c.new_type = 'timestamptz'
               AND a.atttypid = 'timestamp with time zone'::regtype)
), dropped AS (
    -- 0002: the legacy audit trigger functions; 0006: production's booking calls whose
    -- signature mockbook changes (and any overload of their names not in the production dump);
    -- 0043: the aggregate functions, where booking_details_view is missing
    SELECT p.oid, CASE WHEN p.proname LIKE 'log\\_%%' THEN '0002_dual_id'
                       WHEN p.proname LIKE 'get\\_booking\\_aggregates%%'
                       THEN '0043_exam_times_in_every_result'
                       ELSE '0006_booking_core' END AS rev
    FROM pg_catalog.pg_proc AS p
    WHERE p.pronamespace = 'hubspot_sync'::regnamespace
      AND (p.proname IN ('log_booking_changes', 'log_contact_credits_changes', 'log_exam_changes',
                         'create_booking_atomic', 'create_booking_atomic_v1',
                         'cancel_booking_atomic')
           OR (p.proname IN ('get_booking', 'get_contact_credits', 'check_idempotency_key',
                             'increment_exam_bookings')
               AND NOT p.oid = ANY (ARRAY[
                   to_regprocedure('hubspot_sync.get_booking(uuid, text, text)'),
                   to_regprocedure('hubspot_sync.get_contact_credits(text, text, uuid, text)'),
                   to_regprocedure('hubspot_sync.check_idempotency_key(text)'),
                   to_regprocedure('hubspot_sync.increment_exam_bookings(text, integer)')
               ]::oid[]))
           OR (p.proname IN ('get_booking_aggregates', 'get_booking_aggregates_count')
               AND to_regclass('hubspot_sync.booking_details_view') IS NULL))
), uses AS (
    SELECT DISTINCT '0002_dual_id' AS rev, d.classid, d.objid,
           format('column %%s.%%s', c.tab, c.col) AS target,
           format('changes its type to %%s', c.new_type) AS change
    FROM columns AS c
    JOIN pg_catalog.pg_depend AS d
      ON d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = c.attrelid
     AND d.refobjsubid = c.attnum AND d.deptype = 'n'
    WHERE d.classid IN ('pg_catalog.pg_rewrite'::regclass, 'pg_catalog.pg_trigger'::regclass,
                        'pg_catalog.pg_policy'::regclass, 'pg_catalog.pg_proc'::regclass)
      -- the production audit triggers, which 0002 drops before it changes the types
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_trigger AS t WHERE t.oid = d.objid
                        AND d.classid = 'pg_catalog.pg_trigger'::regclass
                        AND t.tgname IN ('bookings_audit_trigger',
                                         'contact_credits_audit_trigger', 'exams_audit_trigger'))
    UNION
    SELECT f.rev, d.classid, d.objid, format('function %%s', f.oid::regprocedure),
           'drops it'
    FROM dropped AS f
    JOIN pg_catalog.pg_depend AS d
      ON d.refclassid = 'pg_catalog.pg_proc'::regclass AND d.refobjid = f.oid
     AND d.deptype = 'n'
    -- the production audit triggers, dropped with their functions
    WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_trigger AS t WHERE t.oid = d.objid
                        AND d.classid = 'pg_catalog.pg_trigger'::regclass
                        AND t.tgname IN ('bookings_audit_trigger',
                                         'contact_credits_audit_trigger', 'exams_audit_trigger'))
)
SELECT u.rev,
       CASE WHEN u.classid = 'pg_catalog.pg_rewrite'::regclass THEN (
                SELECT CASE WHEN r.rulename = '_RETURN'
                            THEN CASE k.relkind WHEN 'm' THEN 'materialized view ' ELSE 'view ' END
                                 || format('%%I.%%I', n.nspname, k.relname)
                            ELSE format('rule %%I on %%I.%%I', r.rulename, n.nspname, k.relname) END
                FROM pg_catalog.pg_rewrite AS r
                JOIN pg_catalog.pg_class AS k ON k.oid = r.ev_class
                JOIN pg_catalog.pg_namespace AS n ON n.oid = k.relnamespace
                WHERE r.oid = u.objid)
            ELSE (SELECT i.type || ' ' || i.identity
                  FROM pg_catalog.pg_identify_object(u.classid, u.objid, 0) AS i)
       END AS dependent,
       u.target, u.change
FROM uses AS u
ORDER BY 2, 3
"""
