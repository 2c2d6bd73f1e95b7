-- Undo db/functions/internal/lock_idempotency_key.sql (moved).
-- Frozen copy of db/functions/lock_idempotency_key.sql (changed).
/**
 * mockbook_internal.lock_idempotency_key(p_idempotency_key text) -> void
 *
 * The one lock of an idempotency key, shared by the bookings' key (claim_idempotency_key) and
 * every other keyed write (claim_idempotent_call): the transaction-scoped advisory lock
 * hashtextextended('mockbook:idem:' || key, 0). Concurrent calls with one key therefore run one
 * after the other, whichever functions they are, and each later one sees what the first
 * committed. Lock order (docs/rpc.md, Lock order): the key is taken FIRST, before any contact,
 * booking or exam row, and a call takes at most one key, so no cycle can form through it.
 * Errors: BUSY when the key's lock is not granted within mockbook.lock_timeout (default 2s).
 * Locks: the key's advisory lock until the transaction ends.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.lock_idempotency_key(p_idempotency_key text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
-- (SET lock_timeout: the timeout set below bounds only this function's own wait, as the
-- clause restores the caller's value when the function returns. Without it the timeout
-- lasted for the rest of the transaction, and a later wait ended in a raw 55P03, not BUSY.)
SET lock_timeout = 0
AS $$
BEGIN
    PERFORM pg_catalog.set_config('lock_timeout',
        coalesce(nullif(pg_catalog.current_setting('mockbook.lock_timeout', true), ''), '2s'),
        true);
    BEGIN
        PERFORM pg_catalog.pg_advisory_xact_lock(
            pg_catalog.hashtextextended('mockbook:idem:' || p_idempotency_key, 0));
    EXCEPTION WHEN lock_not_available OR deadlock_detected THEN  -- 40P01: a cycle with a
        -- transaction outside the lock order (ad-hoc SQL): the same answer as a long wait
        PERFORM mockbook_internal.raise_error('BUSY',
            'Another call with the same idempotency key is still running (lock wait exceeded).');
    END;
END
$$;

COMMENT ON FUNCTION mockbook_internal.lock_idempotency_key(text) IS
'Internal: the transaction-scoped advisory lock of one idempotency key, taken before any row lock; BUSY after mockbook.lock_timeout.';
REVOKE ALL ON FUNCTION mockbook_internal.lock_idempotency_key(text) FROM PUBLIC, anon, authenticated, service_role;
