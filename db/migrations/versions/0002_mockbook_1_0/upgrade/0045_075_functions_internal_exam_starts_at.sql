-- Frozen copy of db/functions/internal/exam_starts_at.sql (new).
-- Why: exams store their times as text, in the spellings the platform and HubSpot use.
CREATE OR REPLACE FUNCTION mockbook_internal.exam_starts_at(p_exam_date date, p_time text)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_text text := btrim(p_time);
    v_time time;
    v_zone text;
BEGIN
    IF nullif(v_text, '') IS NULL THEN
        RETURN NULL;
    END IF;
    -- an instant: date, 'T' or a space, time of day, and Z or an offset
    IF v_text ~* '^\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(:\d{2}(\.\d{1,9})?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$' THEN
        BEGIN
            RETURN v_text::timestamptz;
        EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
            RETURN NULL;  -- '2025-02-30T10:00:00Z': reported by the exam trigger
        END;
    END IF;
    IF p_exam_date IS NULL THEN
        RETURN NULL;
    END IF;
    v_time := mockbook_internal.time_of_day(v_text);
    IF v_time IS NULL THEN
        RETURN NULL;  -- '25:00', '13:00 PM', 'TBD'
    END IF;
    v_zone := mockbook_internal.business_timezone();
    -- a time the clocks skip or repeat that day is not guessed: NULL, reported by the trigger
    IF mockbook_internal.local_time_problem(p_exam_date + v_time, v_zone) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    RETURN (p_exam_date + v_time) AT TIME ZONE v_zone;
END
$$;

COMMENT ON FUNCTION mockbook_internal.exam_starts_at(date, text) IS
'Internal: an exam''s stored start_time/end_time as an instant: an ISO-8601 instant as it is, a time
of day (HH:MM[:SS], H:MM AM/PM) on the exam day in the business time zone; NULL when missing or
unreadable, or when that local time does not exist or exists twice that day (a daylight-saving
transition).';
REVOKE ALL ON FUNCTION mockbook_internal.exam_starts_at(date, text) FROM PUBLIC, anon, authenticated, service_role;
