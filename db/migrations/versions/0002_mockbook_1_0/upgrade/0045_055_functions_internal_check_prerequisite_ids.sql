-- Frozen copy of db/functions/internal/check_prerequisite_ids.sql (new).
-- Why: the prerequisite functions check their list argument the same way, before their idempotency
-- key as every argument check.
CREATE OR REPLACE FUNCTION mockbook_internal.check_prerequisite_ids(p_exam_id text, p_ids text[])
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    IF EXISTS (SELECT FROM unnest(coalesce(p_ids, '{}'::text[])) AS x(id)
               WHERE x.id IS NULL OR btrim(x.id) = '' OR length(x.id) > 255) THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'prerequisite exam ids must be HubSpot exam ids: not NULL, not blank, at most 255 '
            'characters.');
    END IF;
    IF btrim(p_exam_id) IN (SELECT btrim(x.id) FROM unnest(p_ids) AS x(id)) THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('Exam %s cannot be its own prerequisite.', p_exam_id));
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.check_prerequisite_ids(text, text[]) IS
'Internal: the argument check of a prerequisite id list (no NULL, blank or over-long id; not the exam
itself). Errors: INVALID_ARGUMENT. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.check_prerequisite_ids(text, text[])
    FROM PUBLIC, anon, authenticated, service_role;
