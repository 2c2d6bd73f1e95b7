-- Undo db/functions/new_booking_code.sql (changed).
-- Frozen copy of db/functions/new_booking_code.sql (changed).
-- moved by 00_schema_changes.sql (ALTER FUNCTION ... SET SCHEMA): nothing left to drop here
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS hubspot_sync.new_booking_code;
/**
 * mockbook_internal.new_booking_code() -> text
 *
 * A fresh human-readable booking code BK-YYYYMMDD-XXXXXX: today's date in the business time
 * zone and 6 random upper-case letters or digits (36^6 = 2.2 billion per day). Uniqueness is
 * enforced by the unique index on hubspot_bookings.booking_id; mockbook_internal.insert_booking
 * draws again on the rare collision.
 * Errors: none. Locks: none.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.new_booking_code()
RETURNS text
LANGUAGE sql
VOLATILE
SET search_path = ''
AS $$
    SELECT 'BK-' || to_char(hubspot_sync.business_today(), 'YYYYMMDD') || '-'
           || string_agg(substr('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
                                1 + floor(random() * 36)::integer, 1), '')
    FROM generate_series(1, 6)
$$;

COMMENT ON FUNCTION mockbook_internal.new_booking_code() IS
'Internal: a new booking code BK-YYYYMMDD-XXXXXX (business date, 6 random upper-case alphanumerics).';
REVOKE ALL ON FUNCTION mockbook_internal.new_booking_code() FROM PUBLIC, anon, authenticated, service_role;
