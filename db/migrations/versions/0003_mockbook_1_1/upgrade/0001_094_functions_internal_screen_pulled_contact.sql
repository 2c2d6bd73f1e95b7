-- Frozen copy of db/functions/internal/screen_pulled_contact.sql (changed).
-- Why: a pulled contact's values are read and screened once, before anything is written.
CREATE OR REPLACE FUNCTION mockbook_internal.screen_pulled_contact(p_item jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_props constant jsonb := mockbook_internal.pulled_properties(p_item);
    v_unknown constant jsonb := coalesce(p_item -> 'unknown', '[]'::jsonb);
    v_field text;
    v_hval integer;
    v_hub jsonb := '{}'::jsonb;
    v_known jsonb := '{}'::jsonb;
    v_values jsonb;
BEGIN
    -- the email lower-cased: HubSpot matches emails case-insensitively, and the original apps
    -- store and look a contact up by its lower-cased email (create.js, supabase-data.js)
    v_values := jsonb_build_object(
        'id', p_item ->> 'id',
        'email', lower(mockbook_internal.pulled_text(v_props, 'email', true)),
        'student_id', mockbook_internal.pulled_text(v_props, 'student_id'),
        'firstname', mockbook_internal.pulled_text(v_props, 'firstname'),
        'lastname', mockbook_internal.pulled_text(v_props, 'lastname'),
        'ndecc_exam_date', mockbook_internal.pulled_text(v_props, 'ndecc_exam_date'),
        'modified', mockbook_internal.pulled_timestamp(v_props, 'lastmodifieddate'));
    FOR v_field IN SELECT DISTINCT r.credit_field FROM hubspot_sync.credit_rules() AS r LOOP
        v_hval := mockbook_internal.pulled_int(v_props, v_field);
        v_hub := v_hub || jsonb_build_object(v_field, coalesce(v_hval, 0));
        -- an unknown empty credit is left out of the merge (the local balance kept)
        IF NOT v_unknown ? v_field THEN
            v_known := v_known || jsonb_build_object(v_field, coalesce(v_hval, 0));
        END IF;
    END LOOP;
    RETURN v_values || jsonb_build_object('hub', v_hub, 'known', v_known);
END
$$;

COMMENT ON FUNCTION mockbook_internal.screen_pulled_contact(jsonb) IS
'Internal (apply_pulled_contact): one pulled contact''s values, screened: {id, email, student_id,
firstname, lastname, ndecc_exam_date, modified, hub (every credit field, 0 when empty), known (the
credit fields its unknown list does not name)}. Errors: INVALID_ARGUMENT.';
REVOKE ALL ON FUNCTION mockbook_internal.screen_pulled_contact(jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
