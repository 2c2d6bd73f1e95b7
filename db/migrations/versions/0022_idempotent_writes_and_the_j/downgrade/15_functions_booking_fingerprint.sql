-- Undo db/functions/booking_fingerprint.sql (changed).
-- Frozen copy of db/functions/booking_fingerprint.sql (new).
/**
 * hubspot_sync.booking_fingerprint(VARIADIC p_parts text[]) -> text
 *
 * The fingerprint stored in hubspot_bookings.idempotency_fingerprint beside an idempotency key:
 * md5 of the request's identifying arguments, as a JSON array (so NULL, '' and separators cannot
 * collide). The first part names the kind of request, so one key cannot replay a different
 * function's booking:
 *   create_booking, create_booking_atomic  ('booking', student_id, lower(email), exam, location, hand)
 *   admin_create_booking                   ('admin', student_id, lower(email), exam, location, hand)
 *   rebook                                 ('rebook', p_booking_id, p_new_mock_exam_id)
 * Errors: none. Locks: none.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.booking_fingerprint(VARIADIC p_parts text[])
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = ''
AS $$
    SELECT md5(pg_catalog.to_jsonb(p_parts)::text)
$$;

COMMENT ON FUNCTION hubspot_sync.booking_fingerprint(text[]) IS
'Internal: md5 fingerprint of a booking request (kind, then its identifying arguments) stored beside its idempotency key.';
REVOKE ALL ON FUNCTION hubspot_sync.booking_fingerprint(text[]) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.booking_fingerprint(text[]) TO service_role;
