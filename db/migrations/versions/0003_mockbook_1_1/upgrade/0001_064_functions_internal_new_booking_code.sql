-- Frozen copy of db/functions/internal/new_booking_code.sql (changed).
CREATE OR REPLACE FUNCTION mockbook_internal.new_booking_code()
RETURNS text
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    c CONSTANT text := 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
BEGIN
    -- PL/pgSQL, not SQL: a SQL function with a SET clause is planned again on every call
    -- business_today's date, without its call (a subtransaction and a role switch a booking)
    RETURN 'BK-' || to_char(mockbook_internal.clock_now()
                            AT TIME ZONE mockbook_internal.business_timezone(), 'YYYYMMDD') || '-'
           || substr(c, 1 + floor(random() * 36)::integer, 1)
           || substr(c, 1 + floor(random() * 36)::integer, 1)
           || substr(c, 1 + floor(random() * 36)::integer, 1)
           || substr(c, 1 + floor(random() * 36)::integer, 1)
           || substr(c, 1 + floor(random() * 36)::integer, 1)
           || substr(c, 1 + floor(random() * 36)::integer, 1);
END
$$;

COMMENT ON FUNCTION mockbook_internal.new_booking_code() IS
'Internal: a new booking code BK-YYYYMMDD-XXXXXX (business date, 6 random upper-case alphanumerics).';
REVOKE ALL ON FUNCTION mockbook_internal.new_booking_code() FROM PUBLIC, anon, authenticated, service_role;
