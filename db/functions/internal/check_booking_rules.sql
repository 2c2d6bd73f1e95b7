-- Why: the scheduling rules are checked in one place, after the booking's own checks, by every path
-- that binds students (create_booking, accept_offer, a student's rebook); each declared rule that
-- is on is checked by its own function, in the declared order, and a declared rule without its
-- call here fails every booking that would check it, never skipped.
CREATE OR REPLACE FUNCTION mockbook_internal.check_booking_rules(
    p_exam hubspot_sync.hubspot_mock_exams,
    p_student_id text,
    p_ignore_booking_id uuid DEFAULT NULL
)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    -- the checked rules' values in one statement, clamped to their maxima
    v_rules jsonb := mockbook_internal.booking_rules(
        ARRAY(SELECT jsonb_object_keys(mockbook_internal.booking_rule_offs())));
    v_rule text;
    v_value jsonb;
BEGIN
    FOR v_rule IN
        SELECT d.rule FROM mockbook_internal.declared_booking_rules() WITH ORDINALITY AS d
        WHERE d.checked ORDER BY d.ordinality
    LOOP
        v_value := coalesce(v_rules -> v_rule, 'null'::jsonb);
        CONTINUE WHEN (mockbook_internal.booking_rule_offs() -> v_rule) @> jsonb_build_array(v_value);
        -- each checked rule's check, called by name (no SQL is built at run time)
        CASE v_rule
            WHEN 'min_notice_hours' THEN
                PERFORM mockbook_internal.rule_min_notice_hours(p_exam, p_student_id,
                                                                p_ignore_booking_id, v_value);
            WHEN 'booking_cutoff' THEN
                PERFORM mockbook_internal.rule_booking_cutoff(p_exam, p_student_id,
                                                              p_ignore_booking_id, v_value);
            WHEN 'time_conflict' THEN
                PERFORM mockbook_internal.rule_time_conflict(p_exam, p_student_id,
                                                             p_ignore_booking_id, v_value);
            WHEN 'max_active_per_type' THEN
                PERFORM mockbook_internal.rule_max_active_per_type(p_exam, p_student_id,
                                                                   p_ignore_booking_id, v_value);
            WHEN 'max_active_per_week' THEN
                PERFORM mockbook_internal.rule_max_active_per_week(p_exam, p_student_id,
                                                                   p_ignore_booking_id, v_value);
            ELSE
                RAISE EXCEPTION 'scheduling rule % is declared checked but has no call in '
                                'mockbook_internal.check_booking_rules', v_rule;
        END CASE;
    END LOOP;
END
$$;

COMMENT ON FUNCTION mockbook_internal.check_booking_rules(hubspot_sync.hubspot_mock_exams, text, uuid) IS
'Internal: the scheduling rules that are on for a student and exam, each by its
mockbook_internal.rule_<rule>(exam, student, ignored booking, value), in the declared order.
Errors: the rules'' (BOOKING_CLOSED, TIME_CONFLICT, BOOKING_LIMIT_REACHED, ...). Locks: none
(reads only; the callers run it under the contact''s lock).';
REVOKE ALL ON FUNCTION mockbook_internal.check_booking_rules(hubspot_sync.hubspot_mock_exams, text, uuid)
    FROM PUBLIC, anon, authenticated, service_role;
