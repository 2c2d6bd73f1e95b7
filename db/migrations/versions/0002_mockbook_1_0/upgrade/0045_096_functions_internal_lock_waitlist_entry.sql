-- Frozen copy of db/functions/internal/lock_waitlist_entry.sql (new).
-- Why: a waitlist place ranks with the bookings in the lock order (after its contact, before any
-- exam).
CREATE OR REPLACE FUNCTION mockbook_internal.lock_waitlist_entry(p_id bigint)
RETURNS hubspot_sync.waitlist_entries
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_place hubspot_sync.waitlist_entries;
BEGIN
    PERFORM mockbook_internal.wait_for_lock('waitlist_entry', p_id::text);
    SELECT * INTO v_place FROM hubspot_sync.waitlist_entries WHERE id = p_id;
    RETURN v_place;
END
$$;

COMMENT ON FUNCTION mockbook_internal.lock_waitlist_entry(bigint) IS
'Internal: locks a waitlist place (ranked with the bookings: after its contact, before any exam; BUSY
after mockbook.lock_timeout); NULL when there is none. Errors: BUSY. Locks: the place''s row, FOR
UPDATE.';
REVOKE ALL ON FUNCTION mockbook_internal.lock_waitlist_entry(bigint) FROM PUBLIC, anon, authenticated, service_role;
