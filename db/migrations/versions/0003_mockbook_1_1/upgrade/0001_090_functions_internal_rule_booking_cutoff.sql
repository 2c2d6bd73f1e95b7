-- Frozen copy of db/functions/internal/rule_booking_cutoff.sql (changed).
-- Why: the scheduling rule booking_cutoff (declared in declared_booking_rules).
CREATE OR REPLACE FUNCTION mockbook_internal.rule_booking_cutoff(
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
    -- an unknown start counts from the start of the exam day (exam_span)
    v_start timestamptz := lower(mockbook_internal.exam_span(p_exam.exam_date, p_exam.exam_starts_at,
                                                            p_exam.exam_ends_at));
BEGIN
    IF p_value = 'true'::jsonb AND mockbook_internal.clock_now() >= v_start THEN
        PERFORM mockbook_internal.raise_error('BOOKING_CLOSED',
            format('Exam %s starts at %s; booking closed at the start.', p_exam.hubspot_id,
                   v_start));
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.rule_booking_cutoff(hubspot_sync.hubspot_mock_exams, text, uuid, jsonb) IS
'Internal: BOOKING_CLOSED once the exam has started (exam_span: an unknown start counts from the
start of its day), when p_value is true. Called by check_booking_rules when the rule is on. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.rule_booking_cutoff(hubspot_sync.hubspot_mock_exams, text, uuid, jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
