-- Frozen copy of db/functions/internal/lock_idempotency_key.sql (new).
-- Why: one key, one lock, whichever function takes it: concurrent calls with one key run one after
-- the other and the later ones see what the first committed.
CREATE OR REPLACE FUNCTION mockbook_internal.lock_idempotency_key(p_idempotency_key text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
BEGIN
    PERFORM mockbook_internal.wait_for_lock('idempotency_key', p_idempotency_key);
END
$$;

COMMENT ON FUNCTION mockbook_internal.lock_idempotency_key(text) IS
'Internal: the transaction-scoped advisory lock of one idempotency key, taken before any row lock;
BUSY after mockbook.lock_timeout. Locks: the key''s advisory lock until the transaction ends.';
REVOKE ALL ON FUNCTION mockbook_internal.lock_idempotency_key(text) FROM PUBLIC, anon, authenticated, service_role;
