-- Frozen copy of db/functions/internal/booking_fingerprint.sql (new).
/**
 * Why: a key replays only the request it was first used for; the fingerprint stored beside it
 * names the kind of request and its identifying arguments, built one way for every keyed write.
 * The contract is the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.booking_fingerprint(VARIADIC p_parts text[])
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = ''
AS $$
BEGIN
    -- PL/pgSQL, not SQL: a SQL function with a SET clause is never inlined and is
    -- parsed and planned again at every call; PL/pgSQL keeps this expression's plan
    RETURN md5(pg_catalog.to_jsonb(p_parts)::text);
END
$$;

COMMENT ON FUNCTION mockbook_internal.booking_fingerprint(text[]) IS
'Internal: md5 fingerprint of a keyed request (kind or function, then its identifying arguments) stored beside its idempotency key.

The fingerprint stored beside an idempotency key — in hubspot_bookings.idempotency_fingerprint
for a booking, in hubspot_sync.idempotency_results.fingerprint for the other keyed writes:
md5 of the request''s identifying arguments, as a JSON array (so NULL, '''' and separators cannot
collide). The first part names the kind of request, so one key cannot replay a different
function''s call:
  create_booking, create_booking_atomic  (''booking'', student_id, lower(email), exam, location, hand)
  admin_create_booking                   (''admin'', student_id, lower(email), exam, location, hand)
  rebook                                 (''rebook'', p_booking_id, p_new_mock_exam_id)
  every other keyed write                (its function name, each argument but the key as text,
                                          the actor mockbook_internal.request_actor names), e.g.
                                          (''adjust_credits'', student, field, delta, reason, actor)
Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.booking_fingerprint(text[]) FROM PUBLIC, anon, authenticated, service_role;
