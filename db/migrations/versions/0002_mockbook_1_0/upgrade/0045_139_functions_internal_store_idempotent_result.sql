-- Frozen copy of db/functions/internal/store_idempotent_result.sql (new).
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
'Internal: stores a keyed write''s result under its idempotency key (nothing for a NULL key) and
returns it.';
REVOKE ALL ON FUNCTION mockbook_internal.store_idempotent_result(text, text, text, jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
