-- Frozen copy of db/functions/api/rebook.sql (changed).
-- Why a cancel plus a new booking, not an update: the booking code is HubSpot's upsert key and
-- associations are only ever added, so a moved row would keep its old exam there.
CREATE OR REPLACE FUNCTION hubspot_sync.rebook(
    p_booking_id text,
    p_new_mock_exam_id text,
    p_idempotency_key text,
    p_actor text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_actor text;
BEGIN
    -- 1. arguments
    PERFORM mockbook_internal.check_text_arg('p_booking_id', p_booking_id, true, 255);
    PERFORM mockbook_internal.check_text_arg('p_new_mock_exam_id', p_new_mock_exam_id, true, 255);
    PERFORM mockbook_internal.check_idempotency_key_arg(p_idempotency_key, true);
    PERFORM mockbook_internal.check_text_arg('p_actor', p_actor, false, 255);
    v_actor := mockbook_internal.request_actor(p_actor);
    PERFORM set_config('mockbook.actor', v_actor, true);
    -- a student's JWT moves only the student's own booking (another's is not there), decided
    -- before the key can replay anything; an admin's any
    IF v_actor LIKE 'user:%' AND (mockbook_internal.booking_by_ref(p_booking_id)).id IS NULL THEN
        PERFORM mockbook_internal.raise_error('BOOKING_NOT_FOUND',
            format('No booking %L (uuid, booking code or HubSpot id).', p_booking_id));
    END IF;

    -- 2.-7. and the move: the booking pipeline (mode 'rebook'; its result stored under the key)
    RETURN mockbook_internal.book(
        'rebook', NULL, NULL, p_new_mock_exam_id, p_idempotency_key,
        mockbook_internal.booking_fingerprint('rebook', p_booking_id, p_new_mock_exam_id),
        p_old_booking := p_booking_id, p_actor := v_actor);
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

COMMENT ON FUNCTION hubspot_sync.rebook(text, text, text, text) IS
'Moves an Active booking to another open exam of the same mock type, atomically: the old booking
is cancelled and a new one (new booking code; same student, name, location, hand, `token_used`)
created, as the booking code is HubSpot''s upsert key and associations are only ever added. No
balance change: two `rebook` ledger rows (+1 old, −1 new). A replay of the key answers the first
result (`idempotent_replay` true; past the retention, rebuilt from the rows).
Returns the `create_booking` result of the new booking plus `rebooked_from: {id, booking_id,
mock_exam_id, status}` and `previous_exam_total_bookings`.
Errors: `INVALID_ARGUMENT`, `IDEMPOTENCY_KEY_REUSED`, `BOOKING_NOT_FOUND` (also another
student''s booking, to a student''s JWT: not yours = not there), `REBOOK_NOT_ALLOWED`
(not Active; the new exam the same, of another type, closed or past: the reason given),
`EXAM_NOT_FOUND`, `PREREQUISITE_NOT_MET`, `DUPLICATE_BOOKING` (the moved booking aside),
`EXAM_FULL`, `BUSY`. Locks: the key, the contact, the old booking, the student''s open places of
the new exam''s type and day (closed, as by `create_booking`), then the exams (HubSpot id order).';
REVOKE ALL ON FUNCTION hubspot_sync.rebook(text, text, text, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.rebook(text, text, text, text) TO service_role;
