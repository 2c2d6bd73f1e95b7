-- Frozen: before adding constraints, name every existing row that would violate one.
-- Nothing is dropped or altered: the migration stops with the list and a hint.
SET lock_timeout = '5s';
DO $$
DECLARE
    v_problems text[] := '{}';
    v_rows text;
BEGIN
    SELECT string_agg(format('%s (%s rows)', student_id, n), ', ') INTO v_rows
    FROM (SELECT student_id, count(*) AS n FROM hubspot_sync.hubspot_contact_credits
          GROUP BY student_id HAVING count(*) > 1 ORDER BY student_id LIMIT 20) AS d;
    IF v_rows IS NOT NULL THEN
        v_problems := v_problems || ('duplicate contact student_id: ' || v_rows);
    END IF;

    SELECT string_agg(format('%s (%s)', id, hubspot_id), ', ') INTO v_rows
    FROM (SELECT id, hubspot_id FROM hubspot_sync.hubspot_contact_credits
          WHERE sj_credits < 0 OR cs_credits < 0 OR sjmini_credits < 0
             OR mock_discussion_token < 0 OR shared_mock_credits < 0
          ORDER BY id LIMIT 20) AS d;
    IF v_rows IS NOT NULL THEN
        v_problems := v_problems || ('contacts with a negative credit balance: ' || v_rows);
    END IF;

    SELECT string_agg(format('%s (capacity %s, total_bookings %s, is_active %L)',
                             hubspot_id, capacity, total_bookings, is_active), ', ') INTO v_rows
    FROM (SELECT hubspot_id, capacity, total_bookings, is_active
          FROM hubspot_sync.hubspot_mock_exams
          WHERE capacity < 0 OR total_bookings < 0
             OR lower(is_active) NOT IN ('true', 'false', 'scheduled', 'active')
          ORDER BY hubspot_id LIMIT 20) AS d;
    IF v_rows IS NOT NULL THEN
        v_problems := v_problems || ('exams with invalid capacity/total_bookings/is_active: ' || v_rows);
    END IF;

    SELECT string_agg(format('%s (%s rows)', booking_id, n), ', ') INTO v_rows
    FROM (SELECT booking_id, count(*) AS n FROM hubspot_sync.hubspot_bookings
          WHERE booking_id IS NOT NULL
          GROUP BY booking_id HAVING count(*) > 1 ORDER BY booking_id LIMIT 20) AS d;
    IF v_rows IS NOT NULL THEN
        v_problems := v_problems || ('duplicate booking codes: ' || v_rows);
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
        RAISE EXCEPTION 'mockbook 0004_constraints: existing rows violate the new constraints; nothing was changed'
            USING DETAIL = array_to_string(v_problems, E'\n'),
                  HINT = 'Fix or remove these rows (at most 20 are listed per problem), then run the upgrade again.';
    END IF;
END
$$;
