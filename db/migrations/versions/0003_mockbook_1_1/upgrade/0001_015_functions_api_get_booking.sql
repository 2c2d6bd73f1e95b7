-- Frozen copy of db/functions/api/get_booking.sql (changed).
-- Why: production's read of one booking row, kept as it was for existing callers.
CREATE OR REPLACE FUNCTION hubspot_sync.get_booking(
    p_id uuid DEFAULT NULL,
    p_hubspot_id text DEFAULT NULL,
    p_booking_id text DEFAULT NULL
)
RETURNS hubspot_sync.hubspot_bookings
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_booking hubspot_sync.hubspot_bookings;
    v_students constant text[] := mockbook_internal.caller_students();
BEGIN
    IF p_id IS NULL AND p_hubspot_id IS NULL AND p_booking_id IS NULL THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'Provide p_id, p_hubspot_id or p_booking_id.');
    ELSIF v_students IS NOT NULL THEN
        -- not yours = not there: only the student's own rows, read by student (OFFSET 0)
        SELECT * INTO v_booking
        FROM (SELECT * FROM hubspot_sync.hubspot_bookings AS o
              WHERE o.student_id = ANY (v_students) OFFSET 0) AS b
        WHERE CASE WHEN p_id IS NOT NULL THEN b.id = p_id
                   WHEN p_hubspot_id IS NOT NULL THEN b.hubspot_id = p_hubspot_id
                   ELSE b.booking_id = p_booking_id END;
    ELSIF p_id IS NOT NULL THEN
        SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings AS b WHERE b.id = p_id;
    ELSIF p_hubspot_id IS NOT NULL THEN
        SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings AS b
        WHERE b.hubspot_id = p_hubspot_id;
    ELSE
        SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings AS b
        WHERE b.booking_id = p_booking_id;
    END IF;
    IF v_booking.id IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN v_booking;
EXCEPTION
    WHEN lock_not_available OR deadlock_detected THEN
        PERFORM mockbook_internal.raise_busy(SQLSTATE);
        RAISE;
    WHEN disk_full OR insufficient_resources OR out_of_memory OR configuration_limit_exceeded
         OR io_error OR read_only_sql_transaction THEN
        PERFORM mockbook_internal.raise_unavailable(SQLSTATE);
        RAISE;
END
$$;

COMMENT ON FUNCTION hubspot_sync.get_booking(uuid, text, text) IS
'Compatibility: production''s read of one booking row.
One booking row by `p_id`, else `p_hubspot_id`, else `p_booking_id` (the code); NULL when nothing
matches (with a student''s JWT, also for another student''s booking: not yours = not there); no
key → `INVALID_ARGUMENT`. Prefer `list_contact_bookings`.';
REVOKE ALL ON FUNCTION hubspot_sync.get_booking(uuid, text, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.get_booking(uuid, text, text) TO service_role;
