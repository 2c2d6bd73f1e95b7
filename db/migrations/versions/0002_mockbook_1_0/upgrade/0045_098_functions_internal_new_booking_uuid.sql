-- Frozen copy of db/functions/internal/new_booking_uuid.sql (new).
/**
 * mockbook_internal.new_booking_uuid() -> uuid
 *
 * The id of a booking mockbook writes: a time-ordered UUID, version 7 of RFC 9562 (section
 * 5.7): the first 48 bits the Unix time in milliseconds (clock_timestamp(), the real clock, not
 * mockbook.clock_offset), then the version (7), the variant and 74 random bits. Ids made later
 * sort after earlier ones (within a millisecond, in random order), so a new booking's entries
 * in the indexes keyed by its id (hubspot_bookings_pkey, idx_bookings_no_hubspot_id, the
 * ledger's booking index, the audit log's and the outbox's record indexes) land on the same
 * few right-hand pages instead of a random page of each: about a fifth less CPU per booking on
 * a table of a million bookings (docs/performance.md). The id shows when the booking was made,
 * which its created_at shows as well.
 * Errors: none. Locks: none.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.new_booking_uuid()
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
BEGIN
    -- a random (version 4) UUID's 16 bytes, its first 6 replaced by the time in milliseconds
    -- (big-endian: the last 6 bytes of the 8-byte integer), then its version bits 0100 made
    -- 0111 (bits 52 and 53); the variant bits stay 10
    RETURN encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                                          PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp())
                                                                           * 1000)::bigint) FROM 3)
                                          FROM 1 FOR 6),
                                  52, 1), 53, 1), 'hex')::uuid;
END
$$;

COMMENT ON FUNCTION mockbook_internal.new_booking_uuid() IS
'Internal: a new booking id, a time-ordered UUID (version 7, RFC 9562): later ids sort after earlier ones.';
REVOKE ALL ON FUNCTION mockbook_internal.new_booking_uuid() FROM PUBLIC, anon, authenticated, service_role;
