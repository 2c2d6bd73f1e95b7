-- Frozen copy of db/functions/internal/pulled_properties.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.pulled_properties(p_item jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    IF jsonb_typeof(p_item -> 'properties') IS DISTINCT FROM 'object' THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'a record without properties');
    END IF;
    RETURN p_item -> 'properties';
END
$$;

COMMENT ON FUNCTION mockbook_internal.pulled_properties(jsonb) IS
'Internal (pull): a HubSpot record''s properties. Errors: INVALID_ARGUMENT.';
REVOKE ALL ON FUNCTION mockbook_internal.pulled_properties(jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
