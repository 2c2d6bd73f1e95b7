-- Undo db/functions/write_exam_prerequisites.sql (changed).
-- Frozen copy of db/functions/write_exam_prerequisites.sql (changed).
-- moved by 00_schema_changes.sql (ALTER FUNCTION ... SET SCHEMA): nothing left to drop here
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS hubspot_sync.write_exam_prerequisites;
/**
 * mockbook_internal.write_exam_prerequisites(p_exam_id text, p_prerequisite_ids text[]) -> jsonb
 *
 * Internal: the one writer behind update_exam_prerequisites and set_exam_prerequisites. Locks
 * the exam (lock_exam: BUSY after mockbook.lock_timeout), checks the new list, and stores it
 * sorted and without duplicates. The change is an ordinary UPDATE, so the outbox queues the exam
 * and the push writes the list to HubSpot as exam->exam associations (type
 * HUBSPOT_PREREQUISITE_ASSOCIATION_TYPE_ID, default 1340). An unchanged list writes nothing.
 * Checks, in order:
 *   - an id NULL, blank or longer than 255 characters          -> INVALID_ARGUMENT
 *   - the exam itself among its prerequisites                   -> INVALID_ARGUMENT
 *   - the exam p_exam_id unknown                                -> EXAM_NOT_FOUND
 *   - an id that is no known exam (DETAIL lists them)           -> EXAM_NOT_FOUND
 * Returns {success, exam_id, prerequisite_exam_ids, previous_prerequisite_exam_ids,
 *          previous_count, current_count, added_count, removed_count}.
 * Locks: the exam row (lock_exam).
 */
CREATE OR REPLACE FUNCTION mockbook_internal.write_exam_prerequisites(p_exam_id text,
                                                                p_prerequisite_ids text[])
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_exam hubspot_sync.hubspot_mock_exams;
    v_previous text[];
    v_new text[];
    v_missing text[];
BEGIN
    PERFORM mockbook_internal.check_text_arg('p_exam_id', p_exam_id, true, 255);
    IF EXISTS (SELECT FROM unnest(coalesce(p_prerequisite_ids, '{}'::text[])) AS x(id)
               WHERE x.id IS NULL OR btrim(x.id) = '' OR length(x.id) > 255) THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'prerequisite exam ids must be HubSpot exam ids: not NULL, not blank, at most 255 '
            'characters.');
    END IF;
    v_new := ARRAY(SELECT DISTINCT btrim(x.id)
                   FROM unnest(coalesce(p_prerequisite_ids, '{}'::text[])) AS x(id)
                   ORDER BY 1);
    IF p_exam_id = ANY (v_new) THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('Exam %s cannot be its own prerequisite.', p_exam_id));
    END IF;

    v_exam := mockbook_internal.lock_exam(p_exam_id);

    v_missing := ARRAY(SELECT x.id FROM unnest(v_new) AS x(id)
                       WHERE NOT EXISTS (SELECT FROM hubspot_sync.hubspot_mock_exams AS e
                                         WHERE e.hubspot_id = x.id)
                       ORDER BY 1);
    IF cardinality(v_missing) > 0 THEN
        PERFORM mockbook_internal.raise_error('EXAM_NOT_FOUND',
            format('No exam with HubSpot id %s (prerequisites of exam %s).',
                   array_to_string(v_missing, ', '), p_exam_id));
    END IF;

    v_previous := coalesce(v_exam.prerequisite_exam_ids, '{}'::text[]);
    IF v_new IS DISTINCT FROM ARRAY(SELECT DISTINCT x FROM unnest(v_previous) AS x ORDER BY 1) THEN
        UPDATE hubspot_sync.hubspot_mock_exams AS e SET prerequisite_exam_ids = v_new
        WHERE e.id = v_exam.id;
    END IF;

    RETURN jsonb_build_object(
        'success', true,
        'exam_id', v_exam.hubspot_id,
        'prerequisite_exam_ids', to_jsonb(v_new),
        'previous_prerequisite_exam_ids', to_jsonb(v_previous),
        'previous_count', cardinality(v_previous),
        'current_count', cardinality(v_new),
        'added_count', (SELECT count(*)::integer FROM unnest(v_new) AS x
                        WHERE NOT x = ANY (v_previous)),
        'removed_count', (SELECT count(*)::integer FROM unnest(v_previous) AS x
                          WHERE NOT x = ANY (v_new)));
END
$$;

COMMENT ON FUNCTION mockbook_internal.write_exam_prerequisites(text, text[]) IS
'Internal: store an exam''s checked prerequisite list (shared by update_exam_prerequisites and set_exam_prerequisites). Errors: INVALID_ARGUMENT, EXAM_NOT_FOUND, BUSY. Locks the exam row.';
REVOKE ALL ON FUNCTION mockbook_internal.write_exam_prerequisites(text, text[])
    FROM PUBLIC, anon, authenticated, service_role;
