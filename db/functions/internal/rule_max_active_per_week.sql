-- Why: the scheduling rule max_active_per_week (declared in declared_booking_rules).
CREATE OR REPLACE FUNCTION mockbook_internal.rule_max_active_per_week(
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
      AND date_trunc('week', b.exam_date) = date_trunc('week', p_exam.exam_date)
      AND b.id IS DISTINCT FROM p_ignore_booking_id;
    IF v_count >= v_limit THEN
        PERFORM mockbook_internal.raise_error('BOOKING_LIMIT_REACHED',
            format('%s already holds %s Active booking(s) in the week of %s; the limit is '
                   '%s per week.', p_student_id, v_count, p_exam.exam_date, v_limit));
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.rule_max_active_per_week(hubspot_sync.hubspot_mock_exams, text, uuid, jsonb) IS
'Internal: BOOKING_LIMIT_REACHED when the student holds p_value Active bookings in the ISO week of
the exam day (p_ignore_booking_id not counted). Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.rule_max_active_per_week(hubspot_sync.hubspot_mock_exams, text, uuid, jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
