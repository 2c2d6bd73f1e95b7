-- Undo db/functions/exam_starts_at.sql (changed).
-- Frozen copy of db/functions/exam_starts_at.sql (changed).
/**
 * mockbook_internal.exam_starts_at(p_exam_date date, p_time text) -> timestamptz
 *
 * The moment a session starts (or ends): the exam day at p_time ('09:00', '9:00 AM', '13:30:00'),
 * read in the business time zone (setting mockbook.business_timezone, default America/Toronto,
 * as hubspot_sync.business_today). NULL when the day is NULL or the time is missing or not a
 * time of day: the scheduling rules that need it then do not apply to that exam.
 * Errors: none. Locks: none.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.exam_starts_at(p_exam_date date, p_time text)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_time time;
BEGIN
    IF p_exam_date IS NULL OR nullif(btrim(p_time), '') IS NULL THEN
        RETURN NULL;
    END IF;
    IF btrim(p_time) ~ '^([01]?[0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$' THEN
        -- HH:MM[:SS], as HubSpot sends them: always a time, read without the subtransaction
        -- of the EXCEPTION block below (issue 13: a cheaper booking)
        v_time := btrim(p_time)::time;
    ELSE
        BEGIN
            v_time := btrim(p_time)::time;
        EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
            RETURN NULL;
        END;
    END IF;
    RETURN (p_exam_date + v_time) AT TIME ZONE
           coalesce(nullif(current_setting('mockbook.business_timezone', true), ''),
                    'America/Toronto');
END
$$;

COMMENT ON FUNCTION mockbook_internal.exam_starts_at(date, text) IS
'Internal: exam day + time of day in the business time zone as a timestamptz; NULL when the time is missing or unreadable.';
REVOKE ALL ON FUNCTION mockbook_internal.exam_starts_at(date, text) FROM PUBLIC, anon, authenticated, service_role;
