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
