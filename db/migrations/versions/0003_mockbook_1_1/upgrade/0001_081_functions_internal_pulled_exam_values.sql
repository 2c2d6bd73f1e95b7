-- Frozen copy of db/functions/internal/pulled_exam_values.sql (new).
-- Why: an exam's values are read and checked before anything is locked or written.
CREATE OR REPLACE FUNCTION mockbook_internal.pulled_exam_values(p_props jsonb)
RETURNS hubspot_sync.hubspot_mock_exams
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_new hubspot_sync.hubspot_mock_exams;
    v_text text;
BEGIN
    v_new.mock_exam_name := mockbook_internal.pulled_text(p_props, 'mock_exam_name');
    v_new.mock_type := mockbook_internal.pulled_text(p_props, 'mock_type', true);
    IF NOT EXISTS (SELECT FROM hubspot_sync.credit_rules() AS r
                   WHERE r.mock_type = v_new.mock_type) THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('unknown mock type %L', v_new.mock_type));
    END IF;
    v_new.exam_date := mockbook_internal.pulled_date(p_props, 'exam_date', true);
    v_new.start_time := mockbook_internal.pulled_text(p_props, 'start_time');
    v_new.end_time := mockbook_internal.pulled_text(p_props, 'end_time');
    v_new.location := mockbook_internal.pulled_text(p_props, 'location');
    v_new.capacity := mockbook_internal.pulled_int(p_props, 'capacity', true);
    v_new.scheduled_activation_datetime :=
        mockbook_internal.pulled_timestamp(p_props, 'scheduled_activation_datetime');
    v_new.is_active := lower(mockbook_internal.pulled_text(p_props, 'is_active', true));
    IF v_new.is_active NOT IN ('true', 'false', 'scheduled', 'active') THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('property is_active is not true, false, scheduled or active: %s',
                   left(v_new.is_active, 80)));
    END IF;
    IF v_new.is_active = 'scheduled' AND v_new.scheduled_activation_datetime <= now() THEN
        v_new.is_active := 'true';
    END IF;
    v_text := upper(mockbook_internal.pulled_text(p_props, 'mock_set'));
    IF v_text IS NOT NULL
       AND NOT v_text = ANY (enum_range(NULL::hubspot_sync.mock_set_letter)::text[]) THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('property mock_set is not one of A-H: %s', left(v_text, 80)));
    END IF;
    v_new.mock_set := v_text::hubspot_sync.mock_set_letter;
    v_text := mockbook_internal.pulled_text(p_props, 'prerequisite_exam_ids');
    IF NOT p_props ? 'prerequisite_exam_ids' THEN
        v_new.prerequisite_exam_ids := NULL;  -- not given: the list is kept
    ELSIF v_text IS NULL THEN
        v_new.prerequisite_exam_ids := '{}'::text[];
    ELSIF left(v_text, 1) = '[' THEN  -- a JSON list
        v_new.prerequisite_exam_ids := ARRAY(
            SELECT btrim(x.value) FROM jsonb_array_elements_text(v_text::jsonb) AS x
            WHERE btrim(x.value) <> '');
    ELSE  -- HubSpot's multiple-value format: "id1;id2" (commas accepted too)
        v_new.prerequisite_exam_ids := ARRAY(
            SELECT btrim(x.value) FROM regexp_split_to_table(v_text, '[;,]') AS x(value)
            WHERE btrim(x.value) <> '');
    END IF;
    RETURN v_new;
END
$$;

COMMENT ON FUNCTION mockbook_internal.pulled_exam_values(jsonb) IS
'Internal (apply_pulled_exam): the exam HubSpot''s properties give. Errors: INVALID_ARGUMENT.';
REVOKE ALL ON FUNCTION mockbook_internal.pulled_exam_values(jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
