-- Frozen copy of db/functions/internal/exam_refusal.sql (new).
-- Why: the listing must say what create_booking would answer, so it runs the very checks the
-- booking runs, in its order, instead of repeating them.
CREATE OR REPLACE FUNCTION mockbook_internal.exam_refusal(p_exam hubspot_sync.hubspot_mock_exams,
                                                       p_contact hubspot_sync.hubspot_contact_credits)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_reason text := mockbook_internal.exam_unbookable_reason(p_exam);
BEGIN
    IF v_reason IS NOT NULL OR p_contact.id IS NULL THEN
        RETURN v_reason;
    END IF;
    BEGIN
        PERFORM mockbook_internal.check_exam_for_student(p_exam, p_contact.student_id, NULL, NULL,
                                                        p_check_fields := false,
                                                        p_check_capacity := false);
        PERFORM mockbook_internal.check_booking_rules(p_exam, p_contact.student_id);
        PERFORM mockbook_internal.pick_credit(p_contact, p_exam.mock_type);
    EXCEPTION WHEN OTHERS THEN
        IF SQLSTATE LIKE 'PT%' THEN
            RETURN SQLERRM;
        END IF;
        RAISE;
    END;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION mockbook_internal.exam_refusal(hubspot_sync.hubspot_mock_exams, hubspot_sync.hubspot_contact_credits) IS
'Internal: the error code create_booking would answer for this student and exam now (capacity aside),
NULL when it would book it.';
REVOKE ALL ON FUNCTION mockbook_internal.exam_refusal(hubspot_sync.hubspot_mock_exams, hubspot_sync.hubspot_contact_credits)
    FROM PUBLIC, anon, authenticated, service_role;
