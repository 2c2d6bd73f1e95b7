-- Why: prerequisites live in HubSpot as exam->exam associations, not as a property.
CREATE OR REPLACE FUNCTION mockbook_internal.apply_pulled_prerequisites(p_prerequisites jsonb,
                                                                  p_actor text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_exam_id text;
    v_ids jsonb;
    v_new text[];
    v_exam hubspot_sync.hubspot_mock_exams;
    v_updated integer := 0;
    v_unchanged integer := 0;
    v_kept integer := 0;
    v_unknown integer := 0;
    v_busy integer := 0;
BEGIN
    IF jsonb_typeof(p_prerequisites) IS DISTINCT FROM 'object'
       OR EXISTS (SELECT FROM jsonb_each(p_prerequisites) AS p
                  WHERE jsonb_typeof(p.value) <> 'array'
                     OR EXISTS (SELECT FROM jsonb_array_elements(p.value) AS x
                                WHERE jsonb_typeof(x) <> 'string' OR x #>> '{}' = '')) THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'p_prerequisites must be {"<exam id>": ["<prerequisite exam id>", ...], ...}.');
    END IF;
    PERFORM set_config('mockbook.origin', 'hubspot', true);
    PERFORM set_config('mockbook.actor', coalesce(nullif(p_actor, ''), 'hubspot:pull'), true);

    FOR v_exam_id, v_ids IN SELECT p.key, p.value FROM jsonb_each(p_prerequisites) AS p
                            ORDER BY p.key LOOP
        v_new := ARRAY(SELECT DISTINCT x FROM jsonb_array_elements_text(v_ids) AS x ORDER BY 1);
        SELECT e.* INTO v_exam FROM hubspot_sync.hubspot_mock_exams AS e
        WHERE e.hubspot_id = v_exam_id;
        IF v_exam.id IS NULL THEN
            v_unknown := v_unknown + 1;
        ELSIF ARRAY(SELECT DISTINCT x FROM unnest(coalesce(v_exam.prerequisite_exam_ids, '{}'))
                    AS x ORDER BY 1) IS NOT DISTINCT FROM v_new THEN
            v_unchanged := v_unchanged + 1;
        ELSIF mockbook_internal.local_change_pending('hubspot_mock_exams', v_exam.id,
                                                'prerequisite_exam_ids') THEN
            v_kept := v_kept + 1;
        ELSE
            BEGIN
                PERFORM mockbook_internal.lock_exam(v_exam_id);
                UPDATE hubspot_sync.hubspot_mock_exams AS e
                SET prerequisite_exam_ids = v_new, hubspot_last_sync_at = now()
                WHERE e.id = v_exam.id;
                v_updated := v_updated + 1;
            EXCEPTION WHEN SQLSTATE 'PT503' THEN
                v_busy := v_busy + 1;
            END;
        END IF;
        v_exam := NULL;
    END LOOP;
    RETURN jsonb_build_object('updated', v_updated, 'unchanged', v_unchanged,
                              'kept_local', v_kept, 'unknown', v_unknown, 'busy', v_busy);
END
$$;

COMMENT ON FUNCTION mockbook_internal.apply_pulled_prerequisites(jsonb, text) IS
'Glue (pull, reconcile): set the prerequisite lists of the given exams to what HubSpot''s exam->exam
associations say, keeping a local change not pushed yet. Returns {updated, unchanged, kept_local,
unknown, busy}. Errors: INVALID_ARGUMENT.';
REVOKE ALL ON FUNCTION mockbook_internal.apply_pulled_prerequisites(jsonb, text)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.apply_pulled_prerequisites(jsonb, text) TO mockbook_glue;
