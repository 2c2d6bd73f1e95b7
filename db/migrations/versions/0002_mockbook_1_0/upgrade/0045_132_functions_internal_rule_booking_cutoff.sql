-- Frozen copy of db/functions/internal/rule_booking_cutoff.sql (new).
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
BEGIN
    IF p_value = 'true'::jsonb AND mockbook_internal.clock_now() >= p_exam.exam_starts_at THEN
        PERFORM mockbook_internal.raise_error('BOOKING_CLOSED',
            format('Exam %s starts at %s; booking closed at the start.', p_exam.hubspot_id,
                   p_exam.exam_starts_at));
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.rule_booking_cutoff(hubspot_sync.hubspot_mock_exams, text, uuid, jsonb) IS
'Internal: BOOKING_CLOSED once the exam has started (none without a start time), when p_value is
true. Called by check_booking_rules when the rule is on. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.rule_booking_cutoff(hubspot_sync.hubspot_mock_exams, text, uuid, jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
