-- Frozen copy of db/functions/internal/write_exam_prerequisites.sql (new).
-- Why: update_exam_prerequisites and set_exam_prerequisites store a list the same way (checked,
-- sorted, without duplicates, under the exam's lock).
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
BEGIN
    PERFORM mockbook_internal.check_text_arg('p_exam_id', p_exam_id, true, 255);
    PERFORM mockbook_internal.check_prerequisite_ids(p_exam_id, p_prerequisite_ids);
    v_new := ARRAY(SELECT DISTINCT btrim(x.id)
                   FROM unnest(coalesce(p_prerequisite_ids, '{}'::text[])) AS x(id)
                   ORDER BY 1);

    v_exam := mockbook_internal.lock_exam(p_exam_id);
    PERFORM mockbook_internal.check_prerequisite_exams(v_exam.hubspot_id, v_new);

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
'Internal: store an exam''s checked prerequisite list (shared by update_exam_prerequisites and
set_exam_prerequisites). Errors: INVALID_ARGUMENT, EXAM_NOT_FOUND, BUSY. Locks: the exam row
(lock_exam).';
REVOKE ALL ON FUNCTION mockbook_internal.write_exam_prerequisites(text, text[])
    FROM PUBLIC, anon, authenticated, service_role;
