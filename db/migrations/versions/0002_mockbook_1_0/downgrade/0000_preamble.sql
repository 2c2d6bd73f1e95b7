SET lock_timeout = '5s';
SET check_function_bodies = off;
-- Hand-written: before anything changes, the rows that would keep production's constraints from
-- coming back. Production's one-booking-a-day index (uq_bookings_one_per_student_type_day: one
-- Active or Completed booking per student, mock type and day) takes no pair of the old app's
-- duplicates the adoption kept (hubspot_bookings.legacy_issue), and production's
-- ndecc_exam_date is a date. The downgrade stops here, in its first statement, naming each row
-- and the way out (docs/dba.md, "Rolling back"): nothing has been changed.
DO $$
DECLARE
    v_duplicates text;
    v_dates text;
BEGIN
    SELECT string_agg(format('booking %s (id %s, student %s, %s, %s, %s%s)', d.booking_id, d.id,
                             d.student_id, d.mock_type, d.exam_date, d.is_active,
                             coalesce('; ' || d.legacy_issue, '')),
                      E'\n' ORDER BY d.exam_date, d.student_id, d.mock_type, d.created_at, d.id)
    INTO v_duplicates
    FROM (SELECT b.*, count(*) OVER (PARTITION BY b.student_id, b.mock_type, b.exam_date) AS n
          FROM hubspot_sync.hubspot_bookings AS b
          WHERE b.is_active IN ('Active', 'Completed') AND b.student_id IS NOT NULL
            AND b.mock_type IS NOT NULL AND b.exam_date IS NOT NULL) AS d
    WHERE d.n > 1;
    IF v_duplicates IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = 'downgrade to 0001_baseline refused, nothing changed: production''s index '
                      'uq_bookings_one_per_student_type_day (one Active or Completed booking per '
                      'student, mock type and day) cannot be rebuilt over these bookings',
            DETAIL = v_duplicates,
            HINT = 'Cancel the later booking of each pair: mockbook adoption resolve --past '
                   '--apply (a Completed one: docs/dba.md, "Rolling back"), then run the '
                   'downgrade again.';
    END IF;
    SELECT string_agg(format('booking %s (id %s): ndecc_exam_date %L', b.booking_id, b.id,
                             b.ndecc_exam_date), E'\n' ORDER BY b.id)
    INTO v_dates
    FROM hubspot_sync.hubspot_bookings AS b
    WHERE nullif(btrim(b.ndecc_exam_date), '') IS NOT NULL
      AND btrim(b.ndecc_exam_date) !~ '^\d{4}-\d{2}-\d{2}$';
    IF v_dates IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = 'downgrade to 0001_baseline refused, nothing changed: production''s '
                      'hubspot_bookings.ndecc_exam_date is a date and these values are not',
            DETAIL = v_dates,
            HINT = 'Set each to its date as YYYY-MM-DD (or NULL), then run the downgrade again.';
    END IF;
END
$$;
