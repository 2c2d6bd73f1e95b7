-- Frozen copy of db/functions/internal/business_timezone.sql (changed).
-- Why compiled in: a catalog read per transaction took a lock every session shares; a new body
-- reaches every session's next transaction, pooled connections included.
CREATE OR REPLACE FUNCTION mockbook_internal.stored_business_timezone()
RETURNS text
LANGUAGE sql
STABLE
SET search_path = ''
AS $$
    SELECT btrim(substr(c.setting, length('mockbook.business_timezone=') + 1))
    FROM pg_catalog.pg_db_role_setting AS s
    JOIN pg_catalog.pg_database AS d ON d.oid = s.setdatabase
    CROSS JOIN LATERAL unnest(s.setconfig) AS c(setting)
    WHERE s.setrole = 0 AND d.datname = pg_catalog.current_database()
      AND c.setting LIKE 'mockbook.business\_timezone=%'
$$;

COMMENT ON FUNCTION mockbook_internal.stored_business_timezone() IS
'Internal: the database''s setting mockbook.business_timezone as stored now. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.stored_business_timezone() FROM PUBLIC, anon, authenticated, service_role;

CREATE OR REPLACE FUNCTION mockbook_internal.stamp_business_timezone()
RETURNS text
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $stamp$
DECLARE
    v_zone text := coalesce(nullif(mockbook_internal.stored_business_timezone(), ''),
                            'America/Toronto');
    v_known boolean := true;
BEGIN
    BEGIN
        PERFORM pg_catalog.now() AT TIME ZONE v_zone;
    EXCEPTION WHEN invalid_parameter_value THEN
        v_known := false;
    END;
    EXECUTE format($f$CREATE OR REPLACE FUNCTION mockbook_internal.business_timezone()
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $body$
DECLARE
    v_zone text := nullif(pg_catalog.current_setting('mockbook.business_timezone_in_transaction',
                                                     true), '');
BEGIN
    IF v_zone IS NULL AND NOT %s THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('The setting mockbook.business_timezone (%%L) is not a time zone PostgreSQL knows.',
                   %L),
            'Set it with hubspot_sync.set_business_timezone, which takes IANA zone names such as America/Toronto.');
    END IF;
    RETURN coalesce(v_zone, %L);
END
$body$
$f$, CASE WHEN v_known THEN 'true' ELSE 'false' END, v_zone, v_zone);
    RETURN v_zone;
END
$stamp$;

COMMENT ON FUNCTION mockbook_internal.stamp_business_timezone() IS
'Internal: compiles the stored zone (default America/Toronto; unknown: a body that refuses) into
business_timezone(), and returns it. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.stamp_business_timezone() FROM PUBLIC, anon, authenticated, service_role;

CREATE OR REPLACE FUNCTION mockbook_internal.business_timezone()
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    RETURN coalesce(nullif(pg_catalog.current_setting('mockbook.business_timezone_in_transaction',
                                                      true), ''), 'America/Toronto');
END
$$;

COMMENT ON FUNCTION mockbook_internal.business_timezone() IS
'Internal: the business time zone (mockbook.business_timezone, default America/Toronto) as
stamp_business_timezone compiled it in. Errors: INVALID_ARGUMENT when it names no known zone.';
REVOKE ALL ON FUNCTION mockbook_internal.business_timezone() FROM PUBLIC, anon, authenticated, service_role;

SELECT mockbook_internal.stamp_business_timezone();
