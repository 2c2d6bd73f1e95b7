-- Frozen copy of db/functions/internal/pulled_int.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.pulled_int(p_properties jsonb, p_name text,
                                                  p_required boolean DEFAULT false)
RETURNS integer
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_text text := mockbook_internal.pulled_text(p_properties, p_name, p_required);
BEGIN
    IF v_text IS NULL THEN
        RETURN NULL;
    END IF;
    IF v_text !~ '^[0-9]{1,9}(\.0+)?$' THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('property %s is not a whole number >= 0: %s', p_name, left(v_text, 80)));
    END IF;
    RETURN split_part(v_text, '.', 1)::integer;
END
$$;

COMMENT ON FUNCTION mockbook_internal.pulled_int(jsonb, text, boolean) IS
'Internal (pull): a HubSpot whole-number property (>= 0), NULL when blank; INVALID_ARGUMENT when
missing (if required) or malformed.';
REVOKE ALL ON FUNCTION mockbook_internal.pulled_int(jsonb, text, boolean) FROM PUBLIC, anon, authenticated, service_role;
