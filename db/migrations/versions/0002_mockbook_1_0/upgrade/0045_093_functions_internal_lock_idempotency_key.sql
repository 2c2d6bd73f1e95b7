-- Frozen copy of db/functions/internal/lock_idempotency_key.sql (new).
/**
 * Why: one key, one lock, whichever function takes it: concurrent calls with one key run one
 * after the other and the later ones see what the first committed. The key is taken before any
 * row, and a call takes at most one, so no cycle can form through it.
 * The contract is the COMMENT ON FUNCTION below.
 */
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
'Internal: the transaction-scoped advisory lock of one idempotency key, taken before any row lock; BUSY after mockbook.lock_timeout.

The one lock of an idempotency key, shared by the bookings'' key (claim_idempotency_key) and
every other keyed write (claim_idempotent_call): the transaction-scoped advisory lock
hashtextextended(''mockbook:idem:'' || key, 0). Concurrent calls with one key therefore run one
after the other, whichever functions they are, and each later one sees what the first
committed. Lock order (docs/rpc.md, Lock order): the key is taken FIRST, before any contact,
booking or exam row, and a call takes at most one key, so no cycle can form through it.
Errors: BUSY when the key''s lock is not granted within mockbook.lock_timeout (default 2s).
Locks: the key''s advisory lock until the transaction ends.';
REVOKE ALL ON FUNCTION mockbook_internal.lock_idempotency_key(text) FROM PUBLIC, anon, authenticated, service_role;
