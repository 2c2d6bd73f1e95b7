-- Frozen copy of db/functions/internal/store_idempotent_result.sql (new).
/**
 * mockbook_internal.store_idempotent_result(p_function text, p_idempotency_key text,
 *                                      p_fingerprint text, p_result jsonb) -> jsonb
 *
 * The last statement of a keyed write (see mockbook_internal.claim_idempotent_call): stores the
 * result it is about to return under its key, in the same transaction, and returns p_result
 * unchanged. A NULL key stores nothing. The key's advisory lock is held since the claim, so no
 * other call can have stored the key meanwhile.
 * Errors: none. Locks: none (the key's advisory lock is already held).
 */
CREATE OR REPLACE FUNCTION mockbook_internal.store_idempotent_result(p_function text,
                                                                p_idempotency_key text,
                                                                p_fingerprint text,
                                                                p_result jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
BEGIN
    IF p_idempotency_key IS NOT NULL THEN
        INSERT INTO hubspot_sync.idempotency_results (idempotency_key, function_name, fingerprint,
                                                      result)
        VALUES (p_idempotency_key, p_function, p_fingerprint, p_result);
    END IF;
    RETURN p_result;
END
$$;

COMMENT ON FUNCTION mockbook_internal.store_idempotent_result(text, text, text, jsonb) IS
'Internal: stores a keyed write''s result under its idempotency key (nothing for a NULL key) and returns it.';
REVOKE ALL ON FUNCTION mockbook_internal.store_idempotent_result(text, text, text, jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
