-- Frozen copy of db/functions/internal/trend_location.sql (new).
-- Why: daily_booking_trends groups bookings by campus, while stored locations keep every spelling
-- the apps and HubSpot used.
CREATE OR REPLACE FUNCTION mockbook_internal.trend_location(p_value text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    RETURN coalesce(mockbook_internal.legacy_attending_location(p_value), '(none)');
EXCEPTION WHEN SQLSTATE 'PT400' THEN
    RETURN p_value;
END
$$;

COMMENT ON FUNCTION mockbook_internal.trend_location(text) IS
'Internal: an attending_location as daily_booking_trends groups it: the campus code
(legacy_attending_location), ''(none)'' where it names no campus, any other value as it is. Never
raises. Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.trend_location(text)
    FROM PUBLIC, anon, authenticated, service_role;
