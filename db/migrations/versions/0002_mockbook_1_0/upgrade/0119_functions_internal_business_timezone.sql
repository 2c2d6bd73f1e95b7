-- Frozen copy of db/functions/internal/business_timezone.sql (moved).
/**
 * mockbook_internal.business_timezone() -> text
 *
 * The business time zone every day and local time of day is read in: the setting
 * mockbook.business_timezone (ALTER DATABASE ... SET mockbook.business_timezone =
 * 'America/Vancouver'), America/Toronto when unset. A value PostgreSQL does not know is refused
 * with INVALID_ARGUMENT naming the setting (never a raw 22023 from deep inside a booking).
 */
CREATE OR REPLACE FUNCTION mockbook_internal.business_timezone()
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_zone text := coalesce(nullif(btrim(pg_catalog.current_setting('mockbook.business_timezone', true)), ''),
                            'America/Toronto');
    v_probe timestamp;
BEGIN
    BEGIN
        v_probe := pg_catalog.now() AT TIME ZONE v_zone;
    EXCEPTION WHEN invalid_parameter_value THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('The setting mockbook.business_timezone (%L) is not a time zone PostgreSQL knows.',
                   v_zone),
            'Set it to an IANA zone name, e.g. ALTER DATABASE postgres SET mockbook.business_timezone = ''America/Toronto''.');
    END;
    RETURN v_zone;
END
$$;

COMMENT ON FUNCTION mockbook_internal.business_timezone() IS
'Internal: the business time zone (setting mockbook.business_timezone, default America/Toronto). Errors: INVALID_ARGUMENT when the setting names no known zone.';
REVOKE ALL ON FUNCTION mockbook_internal.business_timezone() FROM PUBLIC, anon, authenticated, service_role;
