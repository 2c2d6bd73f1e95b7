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
BEGIN
    IF mockbook_internal.clock_now()
       > p_exam.exam_starts_at - make_interval(secs => v_notice * 3600) THEN
        PERFORM mockbook_internal.raise_error('BOOKING_CLOSED',
            format('Exam %s starts at %s; booking closed %s hour(s) before the start.',
                   p_exam.hubspot_id, p_exam.exam_starts_at, v_notice));
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.rule_min_notice_hours(hubspot_sync.hubspot_mock_exams, text, uuid, jsonb) IS
'Internal: BOOKING_CLOSED within p_value hours of the exam''s start (none without a start time).
Called by check_booking_rules when the rule is on. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.rule_min_notice_hours(hubspot_sync.hubspot_mock_exams, text, uuid, jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
