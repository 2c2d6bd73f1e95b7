-- Frozen copy of db/functions/internal/check_prerequisite_ids.sql (new).
/**
 * Why: the prerequisite functions check their list argument the same way, before their
 * idempotency key as every argument check. The contract is the COMMENT ON FUNCTION below.
 */
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
'Internal: the argument check of a prerequisite id list (no NULL, blank or over-long id; not the exam itself); INVALID_ARGUMENT.

The argument check of a list of prerequisite exam ids, shared by set_exam_prerequisites and
update_exam_prerequisites (before their idempotency key: create_booking''s contract checks arguments first)
and write_exam_prerequisites (the writer behind both):
  - an id NULL, blank or longer than 255 characters                  -> INVALID_ARGUMENT
  - p_exam_id (when not NULL) among the ids, blanks trimmed: an exam cannot be its own
    prerequisite                                                      -> INVALID_ARGUMENT
p_ids NULL is an empty list. Reads no table: whether the exams exist is
mockbook_internal.check_prerequisite_exams''s question.
Errors: INVALID_ARGUMENT. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.check_prerequisite_ids(text, text[])
    FROM PUBLIC, anon, authenticated, service_role;
