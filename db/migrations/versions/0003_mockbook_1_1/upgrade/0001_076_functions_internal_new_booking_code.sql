-- Frozen copy of db/functions/internal/new_booking_code.sql (changed).
-- re-created below, in the same transaction
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS mockbook_internal.new_booking_code;
CREATE OR REPLACE FUNCTION mockbook_internal.new_booking_code(p_day date DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    c CONSTANT text := 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
BEGIN
    -- PL/pgSQL, not SQL: a SQL function with a SET clause is planned again on every call
    -- the caller's date, or business_today's without its call (a subtransaction, a role switch)
    RETURN 'BK-' || to_char(coalesce(p_day::timestamp,
                                     mockbook_internal.clock_now()
                                     AT TIME ZONE mockbook_internal.business_timezone()),
                            'YYYYMMDD') || '-'
           || substr(c, 1 + floor(random() * 36)::integer, 1)
           || substr(c, 1 + floor(random() * 36)::integer, 1)
           || substr(c, 1 + floor(random() * 36)::integer, 1)
           || substr(c, 1 + floor(random() * 36)::integer, 1)
           || substr(c, 1 + floor(random() * 36)::integer, 1)
           || substr(c, 1 + floor(random() * 36)::integer, 1);
END
$$;

COMMENT ON FUNCTION mockbook_internal.new_booking_code(date) IS
'Internal: a new booking code BK-YYYYMMDD-XXXXXX (business date, 6 random upper-case
alphanumerics); p_day: the caller''s business date (NULL: read here).';
REVOKE ALL ON FUNCTION mockbook_internal.new_booking_code(date) FROM PUBLIC, anon, authenticated, service_role;
