-- Frozen (hand-written): before adding constraints, recount the total_bookings that drifted
-- from the exam's Active bookings (each change one report row, old and new value), then name
-- every remaining row that would violate a constraint (nothing is then changed: the migration
-- stops with the list and a hint). The spellings, empty attendance and repeated legacy booking
-- codes were repaired in the bookings table's rewrite (01_dual_id.sql).
SET lock_timeout = '5s';

LOCK TABLE hubspot_sync.hubspot_bookings, hubspot_sync.hubspot_mock_exams IN SHARE ROW EXCLUSIVE MODE;

WITH counted AS (
    SELECT e.id, e.total_bookings AS old, coalesce(c.n, 0)::integer AS n
    FROM hubspot_sync.hubspot_mock_exams AS e
    LEFT JOIN (SELECT associated_mock_exam, count(*) AS n FROM hubspot_sync.hubspot_bookings
               WHERE is_active = 'Active' GROUP BY associated_mock_exam) AS c
           ON c.associated_mock_exam = e.hubspot_id
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

    -- (two Active/Completed bookings of one student, mock type and day cannot remain: the
    -- later ones were flagged as legacy duplicates before this check)
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
