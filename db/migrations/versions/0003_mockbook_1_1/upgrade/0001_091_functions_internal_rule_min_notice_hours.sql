-- Frozen copy of db/functions/internal/rule_min_notice_hours.sql (changed).
-- Why: the scheduling rule min_notice_hours (declared in declared_booking_rules).
CREATE OR REPLACE FUNCTION mockbook_internal.rule_min_notice_hours(
    p_exam hubspot_sync.hubspot_mock_exams,
    p_student_id text,
    p_ignore_booking_id uuid,
    p_value jsonb
)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_notice numeric := (p_value #>> '{}')::numeric;
    -- an unknown start counts from the start of the exam day (exam_span)
    v_start timestamptz := lower(mockbook_internal.exam_span(p_exam.exam_date, p_exam.exam_starts_at,
                                                            p_exam.exam_ends_at));
BEGIN
    IF mockbook_internal.clock_now() > v_start - make_interval(secs => v_notice * 3600) THEN
        PERFORM mockbook_internal.raise_error('BOOKING_CLOSED',
            format('Exam %s starts at %s; booking closed %s hour(s) before the start.',
                   p_exam.hubspot_id, v_start, v_notice));
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.rule_min_notice_hours(hubspot_sync.hubspot_mock_exams, text, uuid, jsonb) IS
'Internal: BOOKING_CLOSED within p_value hours of the exam''s start (exam_span: an unknown start
counts from the start of its day).
Called by check_booking_rules when the rule is on. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.rule_min_notice_hours(hubspot_sync.hubspot_mock_exams, text, uuid, jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
