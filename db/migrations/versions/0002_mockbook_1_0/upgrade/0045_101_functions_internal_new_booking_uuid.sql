-- Frozen copy of db/functions/internal/new_booking_uuid.sql (new).
-- Why: time-ordered, so a new booking's entries in the indexes keyed by its id land on the same few
-- right-hand pages instead of a random page of each (docs/performance.md).
CREATE OR REPLACE FUNCTION mockbook_internal.new_booking_uuid()
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
BEGIN
    -- UUIDv7: a v4's first 6 bytes replaced by the time in milliseconds, version bits 0111
    RETURN encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                                          PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp())
                                                                           * 1000)::bigint) FROM 3)
                                          FROM 1 FOR 6),
                                  52, 1), 53, 1), 'hex')::uuid;
END
$$;

COMMENT ON FUNCTION mockbook_internal.new_booking_uuid() IS
'Internal: a new booking id, a time-ordered UUID (version 7, RFC 9562): later ids sort after earlier
ones.';
REVOKE ALL ON FUNCTION mockbook_internal.new_booking_uuid() FROM PUBLIC, anon, authenticated, service_role;
