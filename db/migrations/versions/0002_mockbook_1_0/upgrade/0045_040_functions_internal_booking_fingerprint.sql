-- Frozen copy of db/functions/internal/booking_fingerprint.sql (new).
-- Why: a key replays only the request it was first used for.
CREATE OR REPLACE FUNCTION mockbook_internal.booking_fingerprint(VARIADIC p_parts text[])
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = ''
AS $$
BEGIN
    -- PL/pgSQL, not SQL: a SQL function with a SET clause is planned again on every call
    RETURN md5(pg_catalog.to_jsonb(p_parts)::text);
END
$$;

COMMENT ON FUNCTION mockbook_internal.booking_fingerprint(text[]) IS
'Internal: md5 fingerprint of a keyed request (kind or function, then its identifying arguments)
stored beside its idempotency key. Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.booking_fingerprint(text[]) FROM PUBLIC, anon, authenticated, service_role;
