-- Frozen copy of db/functions/internal/check_prerequisite_exams.sql (new).
-- Why: whether an exam and its named prerequisites exist is checked one way, without a lock before
-- the key and again under the exam's lock.
CREATE OR REPLACE FUNCTION mockbook_internal.check_prerequisite_exams(p_exam_id text,
                                                                 p_ids text[])
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_missing text[];
BEGIN
    PERFORM mockbook_internal.find_exam(p_exam_id);
    v_missing := ARRAY(SELECT DISTINCT btrim(x.id) FROM unnest(p_ids) AS x(id)
                       WHERE NOT EXISTS (SELECT FROM hubspot_sync.hubspot_mock_exams AS e
                                         WHERE e.hubspot_id = btrim(x.id))
                       ORDER BY 1);
    IF cardinality(v_missing) > 0 THEN
        PERFORM mockbook_internal.raise_error('EXAM_NOT_FOUND',
            format('No exam with HubSpot id %s (prerequisites of exam %s).',
                   array_to_string(v_missing, ', '), p_exam_id));
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.check_prerequisite_exams(text, text[]) IS
'Internal: EXAM_NOT_FOUND unless the exam and every listed prerequisite id are known exams (no lock).
Errors: EXAM_NOT_FOUND. Locks: none (reads only).';
REVOKE ALL ON FUNCTION mockbook_internal.check_prerequisite_exams(text, text[])
    FROM PUBLIC, anon, authenticated, service_role;
