-- Frozen copy of db/functions/internal/pull_record_failed.sql (changed).
-- Why: what the pull does with a record it could not apply (retry, or report and dead-letter) is one
-- rule, written once for every kind of record (apply_pulled_records).
CREATE OR REPLACE FUNCTION mockbook_internal.pull_record_failed(p_entity_type text, p_entity_id text,
                                                          p_item jsonb, p_sqlstate text,
                                                          p_message text, p_detail text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_error text;
BEGIN
    IF p_sqlstate IN ('PT503', '40P01', '55P03') AND p_entity_id IS NOT NULL THEN
        RETURN jsonb_build_object('retry', jsonb_build_array(p_entity_id));
    END IF;
    v_error := CASE WHEN p_sqlstate LIKE 'PT%'
                    THEN p_message || ': ' || coalesce(p_detail, '')
                    -- a unique key another row holds: the property and its value, by name
                    WHEN p_sqlstate = '23505' AND p_detail ~ '^Key \((.*)\)=\((.*)\) already exists'
                    THEN format('DUPLICATE_KEY: property %s %s is already another record''s',
                                substring(p_detail FROM '^Key \(([^)]*)\)='),
                                substring(p_detail FROM '\)=\((.*)\) already exists'))
                    ELSE format('%s (SQLSTATE %s)', p_message, p_sqlstate) END;
    IF p_entity_id IS NOT NULL THEN
        PERFORM mockbook_internal.note_pull_outcome(p_entity_type, p_entity_id, v_error, p_item);
    END IF;
    RETURN jsonb_build_object('errors',
                              jsonb_build_array(jsonb_build_object('id', p_entity_id,
                                                                   'error', v_error)));
END
$$;

COMMENT ON FUNCTION mockbook_internal.pull_record_failed(text, text, jsonb, text, text, text) IS
'Internal (apply_pulled_records): what the pull does with a record that raised: a transient error
(BUSY, deadlock, lock not available) is {retry: [id]}; anything else is {errors: [{id, error}]}
as one line (DUPLICATE_KEY naming the property for a unique key) and its pull dead letter
opened. Errors: none.';
REVOKE ALL ON FUNCTION mockbook_internal.pull_record_failed(text, text, jsonb, text, text, text)
    FROM PUBLIC, anon, authenticated, service_role;
