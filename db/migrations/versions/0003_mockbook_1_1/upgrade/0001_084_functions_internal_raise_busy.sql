-- Frozen copy of db/functions/internal/raise_busy.sql (new).
-- Why: a lock wait that ran out outside wait_for_lock (the seat's UPDATE in take_seat), or a
-- deadlock, reaches the caller as BUSY, never as a raw 55P03 or 40P01: one answer, from the
-- handler every API function has.
CREATE OR REPLACE FUNCTION mockbook_internal.raise_busy(p_sqlstate text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    PERFORM mockbook_internal.raise_error('BUSY',
        format('Another call holds a row this call needs (%s). Nothing of the call was kept.',
               CASE p_sqlstate
                   WHEN '40P01' THEN 'a deadlock, broken by failing this call'
                   ELSE 'the wait ran past mockbook.lock_timeout'
               END));
END
$$;

COMMENT ON FUNCTION mockbook_internal.raise_busy(text) IS
'Internal: raises BUSY (PT503) for a lock wait that ran out (55P03) or a deadlock (40P01) caught
by an API function''s handler. Errors: BUSY. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.raise_busy(text) FROM PUBLIC, anon, authenticated, service_role;
