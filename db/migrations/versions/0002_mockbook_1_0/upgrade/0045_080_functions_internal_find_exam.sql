-- Frozen copy of db/functions/internal/find_exam.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.find_exam(p_mock_exam_id text)
RETURNS hubspot_sync.hubspot_mock_exams
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_exam hubspot_sync.hubspot_mock_exams;
BEGIN
    SELECT * INTO v_exam FROM hubspot_sync.hubspot_mock_exams AS e
    WHERE e.hubspot_id = p_mock_exam_id;
    IF NOT FOUND THEN
        PERFORM mockbook_internal.raise_error('EXAM_NOT_FOUND', format('No exam %L.', p_mock_exam_id));
    END IF;
    RETURN v_exam;
END
$$;

COMMENT ON FUNCTION mockbook_internal.find_exam(text) IS
'Internal: the exam with this HubSpot id (no lock); EXAM_NOT_FOUND otherwise.';
REVOKE ALL ON FUNCTION mockbook_internal.find_exam(text) FROM PUBLIC, anon, authenticated, service_role;
