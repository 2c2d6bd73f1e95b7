-- Undo db/functions/api/business_today.sql (moved).
-- Frozen copy of db/functions/business_today.sql (changed).
/**
 * hubspot_sync.business_today() -> date
 *
 * Today in the business time zone: the setting mockbook.business_timezone (set it with
 * ALTER DATABASE ... SET mockbook.business_timezone = 'America/Vancouver'), default
 * America/Toronto. Exams before this day are in the past.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.business_today()
RETURNS date
LANGUAGE plpgsql
STABLE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    -- PL/pgSQL, not SQL: a SQL function with a SET clause is never inlined and is
    -- parsed and planned again at every call; PL/pgSQL keeps this expression's plan
    RETURN (mockbook_internal.clock_now() AT TIME ZONE mockbook_internal.business_timezone())::date;
END
$$;

COMMENT ON FUNCTION hubspot_sync.business_today() IS
'Today in the business time zone (setting mockbook.business_timezone, default America/Toronto).';
REVOKE ALL ON FUNCTION hubspot_sync.business_today() FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.business_today() TO service_role;
