-- Frozen (hand-written): before adding constraints, bring the production rows to what they must
-- hold, reporting every changed row in hubspot_sync.adoption_report, then name every remaining
-- row that would violate a constraint (nothing is then changed: the migration stops with the
-- list and a hint). What is normalised (each change one report row, old and new value):
--   - bookings.is_active / attendance spelled in another case ('cancelled', 'completed',
--     'yes', ...) -> 'Cancelled', 'Completed', 'Yes', ...;
--   - legacy booking codes (<mock type>-<student id>-<exam date>) that repeat because a
--     student cancelled and rebooked: the oldest row keeps the code, each later one gets
--     <code>-R<n> (n = 2, 3, ... in creation order) and keeps the old code in
--     legacy_booking_id (README: legacy booking codes);
--   - total_bookings that drifted from the exam's Active bookings are recounted.
SET lock_timeout = '5s';

LOCK TABLE hubspot_sync.hubspot_bookings, hubspot_sync.hubspot_mock_exams IN SHARE ROW EXCLUSIVE MODE;

WITH changed AS (
    UPDATE hubspot_sync.hubspot_bookings AS b
    SET is_active = initcap(btrim(b.is_active))
    FROM (SELECT id, is_active AS old FROM hubspot_sync.hubspot_bookings
          WHERE is_active NOT IN ('Active', 'Cancelled', 'Completed', 'Failed')
            AND lower(btrim(is_active)) IN ('active', 'cancelled', 'completed', 'failed')) AS o
    WHERE b.id = o.id
    RETURNING b.id, o.old, b.is_active
)
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value, new_value)
SELECT '0002_mockbook_1_0', 'normalised spelling', 'hubspot_bookings.is_active', id::text, old,
       is_active
FROM changed;

WITH changed AS (
    UPDATE hubspot_sync.hubspot_bookings AS b
    SET attendance = initcap(btrim(b.attendance))
    FROM (SELECT id, attendance AS old FROM hubspot_sync.hubspot_bookings
          WHERE attendance NOT IN ('Yes', 'No')
            AND lower(btrim(attendance)) IN ('yes', 'no')) AS o
    WHERE b.id = o.id
    RETURNING b.id, o.old, b.attendance
)
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value, new_value)
SELECT '0002_mockbook_1_0', 'normalised spelling', 'hubspot_bookings.attendance', id::text, old,
       attendance
FROM changed;

WITH repeats AS (
    SELECT id, booking_id,
           row_number() OVER (PARTITION BY booking_id ORDER BY created_at NULLS FIRST, id) AS n
    FROM hubspot_sync.hubspot_bookings
    WHERE booking_id IN (SELECT booking_id FROM hubspot_sync.hubspot_bookings
                         WHERE booking_id IS NOT NULL GROUP BY booking_id HAVING count(*) > 1)
), changed AS (
    UPDATE hubspot_sync.hubspot_bookings AS b
    SET booking_id = r.booking_id || '-R' || r.n, legacy_booking_id = r.booking_id
    FROM repeats AS r
    WHERE b.id = r.id AND r.n > 1
    RETURNING b.id, b.legacy_booking_id, b.booking_id
)
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value, new_value)
SELECT '0002_mockbook_1_0', 'gave a repeated legacy booking code a unique one',
       'hubspot_bookings.booking_id', id::text, legacy_booking_id, booking_id
FROM changed;

WITH counted AS (
    SELECT e.id, e.total_bookings AS old,
           (SELECT count(*) FROM hubspot_sync.hubspot_bookings AS b
            WHERE b.associated_mock_exam = e.hubspot_id AND b.is_active = 'Active')::integer AS n
    FROM hubspot_sync.hubspot_mock_exams AS e
), changed AS (
    UPDATE hubspot_sync.hubspot_mock_exams AS e SET total_bookings = c.n
    FROM counted AS c
    WHERE e.id = c.id AND e.total_bookings IS DISTINCT FROM c.n
    RETURNING e.id, c.old, c.n
)
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value, new_value)
SELECT '0002_mockbook_1_0', 'recounted total_bookings (Active bookings)',
       'hubspot_mock_exams.total_bookings', id::text, old::text, n::text
FROM changed;

DO $$
DECLARE
    v_problems text[] := '{}';
    v_rows text;
BEGIN
    SELECT string_agg(format('%s (%s)', id, hubspot_id), ', ') INTO v_rows
    FROM (SELECT id, hubspot_id FROM hubspot_sync.hubspot_contact_credits
          WHERE sj_credits < 0 OR cs_credits < 0 OR sjmini_credits < 0
             OR mock_discussion_token < 0 OR shared_mock_credits < 0
          ORDER BY id LIMIT 20) AS d;
    IF v_rows IS NOT NULL THEN
        v_problems := v_problems || ('contacts with a negative credit balance: ' || v_rows);
    END IF;

    SELECT string_agg(format('%s (capacity %s, is_active %L)', hubspot_id, capacity, is_active),
                      ', ') INTO v_rows
    FROM (SELECT hubspot_id, capacity, is_active
          FROM hubspot_sync.hubspot_mock_exams
          WHERE capacity < 0 OR lower(is_active) NOT IN ('true', 'false', 'scheduled', 'active')
          ORDER BY hubspot_id LIMIT 20) AS d;
    IF v_rows IS NOT NULL THEN
        v_problems := v_problems || ('exams with invalid capacity/is_active: ' || v_rows);
    END IF;

    SELECT string_agg(format('%s/%s/%s (bookings %s)', student_id, mock_type, exam_date, ids), ', ')
    INTO v_rows
    FROM (SELECT student_id, mock_type, exam_date, string_agg(coalesce(booking_id, id::text), ' ') AS ids
          FROM hubspot_sync.hubspot_bookings
          WHERE is_active IN ('Active', 'Completed')
          GROUP BY student_id, mock_type, exam_date HAVING count(*) > 1
          ORDER BY student_id LIMIT 20) AS d;
    IF v_rows IS NOT NULL THEN
        v_problems := v_problems
            || ('students with two Active/Completed bookings of one mock type on one day: ' || v_rows);
    END IF;

    SELECT string_agg(format('%s (is_active %L, attendance %L)', coalesce(booking_id, id::text),
                             is_active, attendance), ', ') INTO v_rows
    FROM (SELECT id, booking_id, is_active, attendance FROM hubspot_sync.hubspot_bookings
          WHERE is_active NOT IN ('Active', 'Cancelled', 'Completed', 'Failed')
             OR attendance NOT IN ('Yes', 'No')
          ORDER BY id LIMIT 20) AS d;
    IF v_rows IS NOT NULL THEN
        v_problems := v_problems || ('bookings with an unknown is_active or attendance: ' || v_rows);
    END IF;

    IF cardinality(v_problems) > 0 THEN
        RAISE EXCEPTION 'mockbook 0002_mockbook_1_0: existing rows violate the new constraints; nothing was changed'
            USING DETAIL = array_to_string(v_problems, E'\n'),
                  HINT = 'Fix or remove these rows (at most 20 are listed per problem; `mockbook migrate --check` lists all), then run the upgrade again.';
    END IF;
END
$$;
