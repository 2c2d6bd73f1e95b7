-- Frozen copy of db/functions/internal/business_timezone.sql (new).
/**
 * mockbook_internal.business_timezone() -> text
 *
 * The business time zone every day and local time of day is read in: the setting
 * mockbook.business_timezone (ALTER DATABASE ... SET mockbook.business_timezone =
 * 'America/Vancouver'), America/Toronto when unset. A value PostgreSQL does not know is refused
 * with INVALID_ARGUMENT naming the setting (never a raw 22023 from deep inside a booking).
 * A zone is probed once per session (remembered in mockbook.business_timezone_checked).
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
    -- a zone already found good in this session is not probed again: the probe's EXCEPTION
    -- block is a subtransaction, and a booking asks for the zone several times. The memo is the
    -- session's setting mockbook.business_timezone_checked; a changed zone is probed anew.
    IF v_zone = pg_catalog.current_setting('mockbook.business_timezone_checked', true) THEN
        RETURN v_zone;
    END IF;
    BEGIN
        v_probe := pg_catalog.now() AT TIME ZONE v_zone;
    EXCEPTION WHEN invalid_parameter_value THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('The setting mockbook.business_timezone (%L) is not a time zone PostgreSQL knows.',
                   v_zone),
            'Set it to an IANA zone name, e.g. ALTER DATABASE postgres SET mockbook.business_timezone = ''America/Toronto''.');
    END;
    PERFORM pg_catalog.set_config('mockbook.business_timezone_checked', v_zone, false);
    RETURN v_zone;
END
$$;

COMMENT ON FUNCTION mockbook_internal.business_timezone() IS
'Internal: the business time zone (setting mockbook.business_timezone, default America/Toronto). Errors: INVALID_ARGUMENT when the setting names no known zone.';
REVOKE ALL ON FUNCTION mockbook_internal.business_timezone() FROM PUBLIC, anon, authenticated, service_role;
