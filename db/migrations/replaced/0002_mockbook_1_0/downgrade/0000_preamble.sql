SET lock_timeout = '5s';
SET check_function_bodies = off;
-- Runs in place of versions/0002_mockbook_1_0/downgrade/0000_preamble.sql (db/migrations/
-- replaced.py): the way down takes the old app's duplicate bookings back as production held
-- them (this file's neighbour 0004_schema_changes.sql no longer builds a one-booking-a-day
-- index, which production's schema never had), so only what production's schema really refuses
-- is checked. Before anything changes: production's hubspot_bookings.ndecc_exam_date is a date.
-- The downgrade stops here, in its first statement, naming each row and the way out
-- (docs/dba.md, "Rolling back"): nothing has been changed.
DO $$
DECLARE
    v_dates text;
BEGIN
    SELECT string_agg(format('booking %s (id %s): ndecc_exam_date %L', b.booking_id, b.id,
                             b.ndecc_exam_date), E'\n' ORDER BY b.id)
    INTO v_dates
    FROM hubspot_sync.hubspot_bookings AS b
    WHERE nullif(btrim(b.ndecc_exam_date), '') IS NOT NULL
      AND btrim(b.ndecc_exam_date) !~ '^\d{4}-\d{2}-\d{2}$';
    IF v_dates IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = 'downgrade to 0001_baseline refused: production''s '
                      'hubspot_bookings.ndecc_exam_date is a date and these values are not',
            DETAIL = v_dates,
            HINT = 'Set each to its date as YYYY-MM-DD (or NULL), then run the downgrade again.';
    END IF;
END
$$;
