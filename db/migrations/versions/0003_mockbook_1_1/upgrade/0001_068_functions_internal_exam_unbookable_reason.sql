-- Frozen copy of db/functions/internal/exam_unbookable_reason.sql (changed).
-- re-created below, in the same transaction
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS mockbook_internal.exam_unbookable_reason;
CREATE OR REPLACE FUNCTION mockbook_internal.exam_unbookable_reason(
    p_exam hubspot_sync.hubspot_mock_exams,
    p_now timestamptz DEFAULT NULL,
    p_zone text DEFAULT NULL
)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    -- business_today inlined; the caller's instant and zone when given
    v_now constant timestamptz := coalesce(p_now, mockbook_internal.clock_now());
    v_span tstzrange;
BEGIN
    IF NOT (lower(coalesce(p_exam.is_active, '')) IN ('true', 'active')
            OR (lower(coalesce(p_exam.is_active, '')) = 'scheduled'
                AND coalesce(p_exam.scheduled_activation_datetime <= v_now, false))) THEN
        RETURN 'EXAM_NOT_ACTIVE';
    END IF;
    -- started and over as every rule reads them, an unknown time included
    v_span := mockbook_internal.exam_span(p_exam.exam_date, p_exam.exam_starts_at,
                                          p_exam.exam_ends_at);
    -- PL/pgSQL, not SQL: a SQL function with a SET clause is planned again on every call
    RETURN CASE
        WHEN upper(v_span) <= v_now
             OR p_exam.exam_date
                < (v_now AT TIME ZONE coalesce(p_zone, mockbook_internal.business_timezone()))::date
            THEN 'EXAM_IN_PAST'
        -- started: the rule is read only then (a started exam is rare on the booking path)
        WHEN lower(v_span) <= v_now
             AND mockbook_internal.booking_rule('allow_booking_after_start')
                 IS DISTINCT FROM 'true'::jsonb
            THEN 'EXAM_IN_PAST'
    END;
END
$$;

COMMENT ON FUNCTION mockbook_internal.exam_unbookable_reason(hubspot_sync.hubspot_mock_exams, timestamptz, text) IS
'NULL when the exam is open for booking now, else EXAM_NOT_ACTIVE or EXAM_IN_PAST (it is over: its
end has passed or its day is over; or it has started and the rule allow_booking_after_start is
off), started and over read by exam_span, so an unknown start counts from the start of its day.
p_now, p_zone: the caller''s clock_now() and business_timezone() (NULL: read here).';
REVOKE ALL ON FUNCTION mockbook_internal.exam_unbookable_reason(hubspot_sync.hubspot_mock_exams, timestamptz, text)
    FROM PUBLIC, anon, authenticated, service_role;
