-- Frozen copy of db/functions/internal/new_booking_code.sql (new).
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
    RETURN 'BK-' || to_char(hubspot_sync.business_today(), 'YYYYMMDD') || '-'
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
