-- Frozen copy of db/functions/internal/pulled_text.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.pulled_text(p_properties jsonb, p_name text,
                                                   p_required boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_value jsonb := p_properties -> p_name;
    v_text text;
BEGIN
    IF v_value IS NOT NULL AND jsonb_typeof(v_value) NOT IN ('string', 'number', 'null') THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('property %s is not a string: %s', p_name, left(v_value::text, 80)));
    END IF;
    v_text := nullif(btrim(p_properties ->> p_name), '');
    IF v_text IS NULL AND p_required THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', format('missing property %s', p_name));
    END IF;
    RETURN v_text;
END
$$;

COMMENT ON FUNCTION mockbook_internal.pulled_text(jsonb, text, boolean) IS
'Internal (pull): a HubSpot property value, trimmed, NULL when blank; INVALID_ARGUMENT "missing
property" when required.';
REVOKE ALL ON FUNCTION mockbook_internal.pulled_text(jsonb, text, boolean) FROM PUBLIC, anon, authenticated, service_role;
