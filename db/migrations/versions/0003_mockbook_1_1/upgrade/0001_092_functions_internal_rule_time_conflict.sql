-- Frozen copy of db/functions/internal/rule_time_conflict.sql (changed).
-- Why: the scheduling rule time_conflict (declared in declared_booking_rules).
CREATE OR REPLACE FUNCTION mockbook_internal.rule_time_conflict(
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
    v_other record;
    v_span tstzrange;  -- each session as every rule reads it (exam_span)
BEGIN
    IF p_value IS DISTINCT FROM 'true'::jsonb THEN
        RETURN;
    END IF;
    v_span := mockbook_internal.exam_span(p_exam.exam_date, p_exam.exam_starts_at,
                                          p_exam.exam_ends_at);
    -- the other exams' own instants (never the bookings' copies, which a reschedule in
    -- HubSpot may have left behind); sessions that only touch do not overlap
    SELECT b.booking_id, b.associated_mock_exam, b.mock_type, e.exam_date, e.start_time,
           e.end_time
    INTO v_other
    FROM hubspot_sync.hubspot_bookings AS b
    JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = b.associated_mock_exam
    CROSS JOIN LATERAL mockbook_internal.exam_span(e.exam_date, e.exam_starts_at,
                                                   e.exam_ends_at) AS o(span)
    WHERE b.student_id = p_student_id
      AND b.is_active = 'Active'
      AND b.id IS DISTINCT FROM p_ignore_booking_id
      AND lower(o.span) < upper(v_span)
      AND upper(o.span) > lower(v_span)
    ORDER BY b.booking_id
    LIMIT 1;
    IF FOUND THEN
        PERFORM mockbook_internal.raise_error('TIME_CONFLICT',
            format('%s already holds booking %s (%s, exam %s, %s %s-%s), which overlaps '
                   'exam %s (%s-%s).', p_student_id, v_other.booking_id, v_other.mock_type,
                   v_other.associated_mock_exam, v_other.exam_date, v_other.start_time,
                   v_other.end_time, p_exam.hubspot_id, p_exam.start_time, p_exam.end_time));
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.rule_time_conflict(hubspot_sync.hubspot_mock_exams, text, uuid, jsonb) IS
'Internal: TIME_CONFLICT, naming the booking, when the student holds an Active booking whose exam
overlaps this one (each read by exam_span: a session without a known start spans its day up to its
end), when p_value is true. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.rule_time_conflict(hubspot_sync.hubspot_mock_exams, text, uuid, jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
