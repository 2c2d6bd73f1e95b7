-- Frozen copy of db/functions/internal/trend_location.sql (new).
/**
 * Why: daily_booking_trends groups bookings by campus, while stored locations keep every spelling
 * the apps and HubSpot used; this maps them with legacy_attending_location and never raises. The
 * contract is the COMMENT ON FUNCTION below.
 */
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
'Internal: an attending_location as daily_booking_trends groups it: the campus code (legacy_attending_location), ''(none)'' where it names no campus, any other value as it is. Never raises.

A booking''s attending_location as daily_booking_trends groups it: the campus code of
mockbook_internal.legacy_attending_location (the one mapping of the original app''s spellings:
''Mississauga'', ''Mississauga - B9'' and ''mississauga'' are all ''mississauga''), ''(none)'' where the
value names no campus (NULL, blank, ''TBD'', ''Online'', ''Virtual'', ''Hybrid'', ''In-Person''), and
any other value as it is (an unknown spelling stays visible rather than being merged into a
campus or into ''(none)''). Production rows and bookings pulled from HubSpot hold the original
app''s spellings; without this a campus was split over several locations on one day.
Never raises: legacy_attending_location''s INVALID_ARGUMENT (PT400) for an unknown value is
caught here. Called once per distinct stored value by the view''s refresh, not per booking.
Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.trend_location(text)
    FROM PUBLIC, anon, authenticated, service_role;
