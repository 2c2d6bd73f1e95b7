-- Why from the catalog, not the session's copy of the setting: a pooled connection opened before
-- set_business_timezone (PostgREST keeps its pool for hours) would keep the old zone.
CREATE OR REPLACE FUNCTION mockbook_internal.business_timezone()
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_zone text := nullif(pg_catalog.current_setting('mockbook.business_timezone_in_transaction',
                                                     true), '');
    v_database oid;
BEGIN
    IF v_zone IS NOT NULL THEN
        RETURN v_zone;
    END IF;
    -- the database's oid, looked up once per session (it never changes)
    v_database := nullif(pg_catalog.current_setting('mockbook.database_oid', true), '')::oid;
    IF v_database IS NULL THEN
        SELECT d.oid INTO v_database FROM pg_catalog.pg_database AS d
        WHERE d.datname = pg_catalog.current_database();
        PERFORM pg_catalog.set_config('mockbook.database_oid', v_database::text, false);
    END IF;
    SELECT btrim(substr(c.setting, length('mockbook.business_timezone=') + 1)) INTO v_zone
    FROM pg_catalog.pg_db_role_setting AS s
    CROSS JOIN LATERAL unnest(s.setconfig) AS c(setting)
    WHERE s.setrole = 0 AND s.setdatabase = v_database
      AND c.setting LIKE 'mockbook.business\_timezone=%';
    v_zone := coalesce(nullif(v_zone, ''), 'America/Toronto');
    -- the probe is a subtransaction: done once per session and zone
    IF v_zone IS DISTINCT FROM pg_catalog.current_setting('mockbook.business_timezone_checked',
                                                          true) THEN
        BEGIN
            PERFORM pg_catalog.now() AT TIME ZONE v_zone;
        EXCEPTION WHEN invalid_parameter_value THEN
            PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                format('The setting mockbook.business_timezone (%L) is not a time zone PostgreSQL knows.',
                       v_zone),
                'Set it with hubspot_sync.set_business_timezone, which takes IANA zone names such as America/Toronto.');
        END;
        PERFORM pg_catalog.set_config('mockbook.business_timezone_checked', v_zone, false);
    END IF;
    RETURN pg_catalog.set_config('mockbook.business_timezone_in_transaction', v_zone, true);
END
$$;

COMMENT ON FUNCTION mockbook_internal.business_timezone() IS
'Internal: the business time zone as the database stores it now (its setting
mockbook.business_timezone, read from the catalog once per transaction, default America/Toronto).
Errors: INVALID_ARGUMENT when the setting names no known zone.';
REVOKE ALL ON FUNCTION mockbook_internal.business_timezone() FROM PUBLIC, anon, authenticated, service_role;
