-- Frozen copy of db/functions/internal/pulled_date.sql (new).
/**
 * mockbook_internal.pulled_date(p_properties jsonb, p_name text, p_required boolean DEFAULT false)
 *   -> date
 *
 * A date property of a record read from HubSpot: "2026-03-01", or epoch milliseconds of midnight
 * UTC (how HubSpot stores date properties, and how the push sends them), or an ISO date-time
 * (its UTC day). NULL when blank and not required.
 * Errors: INVALID_ARGUMENT naming the property: missing (when required) or not a date.
 * Locks: none.
 */
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
'Internal (pull): a HubSpot date property (YYYY-MM-DD, or epoch ms of midnight UTC), NULL when blank; INVALID_ARGUMENT when missing (if required) or malformed.';
REVOKE ALL ON FUNCTION mockbook_internal.pulled_date(jsonb, text, boolean) FROM PUBLIC, anon, authenticated, service_role;
