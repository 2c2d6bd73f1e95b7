-- Frozen copy of db/functions/api/cancel_booking.sql (changed).
-- Why: the one cancellation path for apps. The booking is read unlocked to learn its contact, then
-- contact and booking are locked in the lock order; the seat is given back last (release_seat).
CREATE OR REPLACE FUNCTION hubspot_sync.cancel_booking(
    p_booking_id text,
    p_student_id text DEFAULT NULL,
    p_refund boolean DEFAULT true,
    p_reason text DEFAULT NULL,
    p_actor text DEFAULT NULL,
    p_idempotency_key text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_booking hubspot_sync.hubspot_bookings;
    v_actor text;
    v_fingerprint text;
    v_result jsonb;
BEGIN
    PERFORM mockbook_internal.check_text_arg('p_booking_id', p_booking_id, true, 255);
    IF p_student_id IS NOT NULL THEN  -- given but blank is an error, never an admin call
        PERFORM mockbook_internal.check_text_arg('p_student_id', p_student_id, true, 64,
                                            '^[A-Z0-9]+$', 'upper-case letters and digits only');
    END IF;
    IF p_refund IS NULL THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'p_refund must be true or false.');
    END IF;
    PERFORM mockbook_internal.check_text_arg('p_reason', p_reason, false, 1000);
    PERFORM mockbook_internal.check_text_arg('p_actor', p_actor, false, 255);
    v_actor := mockbook_internal.request_actor(p_actor);
    -- a student's JWT: only their own booking, never the admin path (no p_student_id)
    PERFORM mockbook_internal.check_student_caller(p_student_id, 'cancel_booking');

    v_fingerprint := mockbook_internal.booking_fingerprint('cancel_booking', p_booking_id,
                                                      p_student_id, p_refund::text, p_reason,
                                                      v_actor);
    v_result := mockbook_internal.claim_idempotent_call('cancel_booking', p_idempotency_key,
                                                   v_fingerprint);
    IF v_result IS NOT NULL THEN
        RETURN v_result;
    END IF;

    PERFORM set_config('mockbook.actor', v_actor, true);
    v_booking := mockbook_internal.booking_by_ref(p_booking_id);
    IF v_booking.id IS NULL THEN
        PERFORM mockbook_internal.raise_error('BOOKING_NOT_FOUND',
            format('No booking %L (uuid, booking code or HubSpot id).', p_booking_id));
    END IF;
    v_result := mockbook_internal.cancel_locked_booking(v_booking.id, p_student_id, p_refund,
                                                   p_reason, v_actor);
    RETURN mockbook_internal.store_idempotent_result('cancel_booking', p_idempotency_key,
                                                v_fingerprint, v_result);
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

COMMENT ON FUNCTION hubspot_sync.cancel_booking(text, text, boolean, text, text, text) IS
'Cancels one booking and refunds its credit. `p_booking_id`: uuid, code or HubSpot id. With
`p_student_id` (a student cancelling their own booking) it must be theirs, else `FORBIDDEN` (with
a student''s JWT another student''s booking is not there: `BOOKING_NOT_FOUND`); NULL for admin
calls. `p_refund false` cancels without refund. `p_reason` (≤ 1000) is the refund''s
ledger note; `p_actor` (≤ 255) the actor, unless the JWT names a user ([Who
acted](#who-acted-the-actor)). `p_idempotency_key` (optional, 1–255): a retry returns the first
result (never `ALREADY_CANCELLED` for your own retry). The refund goes to the field `token_used`
names (`Admin Override` → nothing), one ledger row (`cancellation`), `total_bookings - 1`.
Returns `{success, id, booking_id, status, credit_field, credits_restored, credits_remaining,
total_bookings}`.
Errors: `INVALID_ARGUMENT`, `IDEMPOTENCY_KEY_REUSED`, `BOOKING_NOT_FOUND`, `FORBIDDEN`,
`ALREADY_CANCELLED`, `NOT_CANCELLABLE` (Completed or Failed), `CANCELLATION_CLOSED`, `BUSY`.
Locks: the key (when given), the booking''s contact, the booking, then the exam, last.';
REVOKE ALL ON FUNCTION hubspot_sync.cancel_booking(text, text, boolean, text, text, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.cancel_booking(text, text, boolean, text, text, text)
    TO service_role;
