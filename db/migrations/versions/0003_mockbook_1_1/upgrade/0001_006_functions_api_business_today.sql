-- Frozen copy of db/functions/api/business_today.sql (changed).
-- Why: "past" means before today in the business time zone, not the server's; every function
-- that asks whether an exam's day is over asks this one, so they all agree.
CREATE OR REPLACE FUNCTION hubspot_sync.business_today()
RETURNS date
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    -- PL/pgSQL, not SQL: a SQL function with a SET clause is planned again on every call
    RETURN (mockbook_internal.clock_now() AT TIME ZONE mockbook_internal.business_timezone())::date;
EXCEPTION
    WHEN lock_not_available OR deadlock_detected THEN
        PERFORM mockbook_internal.raise_busy(SQLSTATE);
        RAISE;
    WHEN disk_full OR insufficient_resources OR out_of_memory OR configuration_limit_exceeded
         OR io_error OR read_only_sql_transaction THEN
        PERFORM mockbook_internal.raise_unavailable(SQLSTATE);
        RAISE;
END
$$;

COMMENT ON FUNCTION hubspot_sync.business_today() IS
'Today in the business time zone (`mockbook.business_timezone`, default `America/Toronto`); exams before it are in the past.';
REVOKE ALL ON FUNCTION hubspot_sync.business_today() FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.business_today() TO service_role;
