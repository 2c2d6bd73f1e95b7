-- Undo db/functions/exam_unbookable_reason.sql (changed).
-- Frozen copy of db/functions/exam_unbookable_reason.sql (changed).
-- moved by 00_schema_changes.sql (ALTER FUNCTION ... SET SCHEMA): nothing left to drop here
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS hubspot_sync.exam_unbookable_reason;
/**
 * mockbook_internal.exam_unbookable_reason(p_exam) -> text
 *
 * NULL when the exam can be booked now, else the error code saying why: EXAM_NOT_ACTIVE (is_active
 * is not true/active, case-insensitive, nor 'scheduled' with its activation time reached) or
 * EXAM_IN_PAST (exam day before today in the business time zone). Capacity is not considered.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.exam_unbookable_reason(p_exam hubspot_sync.hubspot_mock_exams)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = ''
AS $$
    SELECT CASE
        WHEN NOT (lower(coalesce(p_exam.is_active, '')) IN ('true', 'active')
                  OR (lower(coalesce(p_exam.is_active, '')) = 'scheduled'
                      AND coalesce(p_exam.scheduled_activation_datetime <= now(), false)))
            THEN 'EXAM_NOT_ACTIVE'
        WHEN p_exam.exam_date < hubspot_sync.business_today() THEN 'EXAM_IN_PAST'
    END
$$;

COMMENT ON FUNCTION mockbook_internal.exam_unbookable_reason(hubspot_sync.hubspot_mock_exams) IS
'NULL when the exam is open for booking now, else EXAM_NOT_ACTIVE or EXAM_IN_PAST.';
REVOKE ALL ON FUNCTION mockbook_internal.exam_unbookable_reason(hubspot_sync.hubspot_mock_exams)
    FROM PUBLIC, anon, authenticated, service_role;
