-- Frozen copy of db/functions/internal/broadcast_triggers.sql (new).
-- Why: the broadcast triggers are one switch; where they are is said once.
CREATE OR REPLACE FUNCTION mockbook_internal.broadcast_triggers()
RETURNS TABLE (table_name text, trigger_name text)
LANGUAGE plpgsql
IMMUTABLE
SET search_path = ''
AS $$
BEGIN
    RETURN QUERY VALUES
        ('hubspot_contact_credits', 'broadcast_credit_change'),
        ('hubspot_bookings', 'broadcast_booking_change'),
        ('waitlist_entries', 'broadcast_waitlist_change'),
        ('hubspot_mock_exams', 'broadcast_exam_seats'),
        ('refresh_requests', 'broadcast_refresh_outcome');
END
$$;

COMMENT ON FUNCTION mockbook_internal.broadcast_triggers() IS
'Internal: the broadcast triggers (db/triggers/broadcast.sql), by table, in the lock order (refresh requests, a kind of their own, last).
Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.broadcast_triggers()
    FROM PUBLIC, anon, authenticated, service_role;
