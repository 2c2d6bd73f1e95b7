-- Frozen copy of db/functions/internal/pulled_date.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.pulled_date(p_properties jsonb, p_name text,
                                                   p_required boolean DEFAULT false)
RETURNS date
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_at timestamptz := mockbook_internal.pulled_timestamp(p_properties, p_name, p_required);
BEGIN
    RETURN (v_at AT TIME ZONE 'UTC')::date;
END
$$;

COMMENT ON FUNCTION mockbook_internal.pulled_date(jsonb, text, boolean) IS
'Internal (pull): a HubSpot date property (YYYY-MM-DD, or epoch ms of midnight UTC), NULL when blank;
INVALID_ARGUMENT when missing (if required) or malformed.';
REVOKE ALL ON FUNCTION mockbook_internal.pulled_date(jsonb, text, boolean) FROM PUBLIC, anon, authenticated, service_role;
