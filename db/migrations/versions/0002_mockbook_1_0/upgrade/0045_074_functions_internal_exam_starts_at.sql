-- Frozen copy of db/functions/internal/exam_starts_at.sql (new).
/**
 * Why: exams store their times as text, in the spellings the platform and HubSpot use; this is the
 * one reader that turns them into instants, so every rule and job decides with the same instants.
 * The contract is the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.exam_starts_at(p_exam_date date, p_time text)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_text text := btrim(p_time);
    v_time time;
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
    -- a time the clocks skip or repeat that day is not guessed: NULL, reported by the trigger
    IF mockbook_internal.local_time_problem(p_exam_date + v_time,
                                            mockbook_internal.business_timezone()) IS NOT NULL THEN
        RETURN NULL;
    END IF;
    RETURN (p_exam_date + v_time) AT TIME ZONE mockbook_internal.business_timezone();
END
$$;

COMMENT ON FUNCTION mockbook_internal.exam_starts_at(date, text) IS
'Internal: an exam''s stored start_time/end_time as an instant: an ISO-8601 instant as it is, a time of day (HH:MM[:SS], H:MM AM/PM) on the exam day in the business time zone; NULL when missing or unreadable, or when that local time does not exist or exists twice that day (a daylight-saving transition).

The one reader of an exam''s stored start_time / end_time, as the platform and HubSpot store
them: an ISO-8601 instant (''2025-12-25T19:00:00.000Z'', ''2025-12-25T14:00:00-05:00'', with or
without milliseconds; the instant itself, whatever p_exam_date says), or a time of day local to
the business time zone on p_exam_date (''09:00'', ''9:00'', ''13:30:00'', ''9:00 AM'', ''1:30 pm'').
NULL when the day or the time is missing, or the text is not one of those: the exam trigger
(mockbook_internal.derive_exam_instants) then records the value in time_problem, so an
unreadable value is reported (check_invariants'' data problems, mockbook status), never
silently taken for "no time". Errors: INVALID_ARGUMENT (an unknown business time zone).';
REVOKE ALL ON FUNCTION mockbook_internal.exam_starts_at(date, text) FROM PUBLIC, anon, authenticated, service_role;
