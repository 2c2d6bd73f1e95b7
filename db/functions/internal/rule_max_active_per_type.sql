-- Why: the scheduling rule max_active_per_type (declared in declared_booking_rules).
CREATE OR REPLACE FUNCTION mockbook_internal.rule_max_active_per_type(
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
    v_limit integer := (p_value #>> '{}')::integer;
    v_count integer;
BEGIN
    SELECT count(*)::integer INTO v_count FROM hubspot_sync.hubspot_bookings AS b
    WHERE b.student_id = p_student_id AND b.is_active = 'Active'
      AND b.mock_type = p_exam.mock_type AND b.id IS DISTINCT FROM p_ignore_booking_id;
    IF v_count >= v_limit THEN
        PERFORM mockbook_internal.raise_error('BOOKING_LIMIT_REACHED',
            format('%s already holds %s Active %s booking(s); the limit is %s per mock type.',
                   p_student_id, v_count, p_exam.mock_type, v_limit));
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.rule_max_active_per_type(hubspot_sync.hubspot_mock_exams, text, uuid, jsonb) IS
'Internal: BOOKING_LIMIT_REACHED when the student holds p_value Active bookings of the exam''s mock
type (p_ignore_booking_id not counted). Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.rule_max_active_per_type(hubspot_sync.hubspot_mock_exams, text, uuid, jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
