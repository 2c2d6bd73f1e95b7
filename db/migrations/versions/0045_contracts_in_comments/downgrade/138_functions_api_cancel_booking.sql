-- Undo db/functions/api/cancel_booking.sql (moved).
-- Frozen copy of db/functions/cancel_booking.sql (changed).
/**
 * hubspot_sync.cancel_booking(p_booking_id, p_student_id DEFAULT NULL, p_refund DEFAULT true,
 *                             p_reason DEFAULT NULL, p_actor DEFAULT NULL,
 *                             p_idempotency_key DEFAULT NULL) -> jsonb
 *
 * Cancels one booking and refunds its credit.
 *   p_booking_id  the booking's uuid, booking code or HubSpot id (mockbook_internal.booking_by_ref)
 *   p_student_id  when given, the booking must be this student's (a student cancelling their
 *                 own booking) -> else FORBIDDEN; NULL for admin calls
 *   p_refund      give the credit back (default true; false: cancel without refund)
 *   p_reason      why (at most 1000 characters; stored as the refund's ledger note)
 *   p_actor       who (at most 255 characters; the ledger actor, token_refund_admin and the
 *                 audit rows' performed_by via mockbook.actor) — unless the request's JWT
 *                 names a user, who is then the actor (mockbook_internal.request_actor)
 *   p_idempotency_key  optional, 1-255 characters: the same key with the same arguments
 *                 returns the first call's result unchanged and changes nothing; with other
 *                 arguments -> IDEMPOTENCY_KEY_REUSED (mockbook_internal.claim_idempotent_call)
 * Cancelled -> ALREADY_CANCELLED; Completed (or Failed) -> NOT_CANCELLABLE. The refund goes to
 * the field token_used names ('Shared Token' -> shared_mock_credits; 'Admin Override' ->
 * none), with a ledger row of reason 'cancellation'; total_bookings - 1.
 * Returns {success, id, booking_id, status, credit_field, credits_restored, credits_remaining,
 * total_bookings} (mockbook_internal.cancel_locked_booking).
 * Errors: INVALID_ARGUMENT, IDEMPOTENCY_KEY_REUSED, BOOKING_NOT_FOUND, FORBIDDEN,
 * ALREADY_CANCELLED, NOT_CANCELLABLE, CANCELLATION_CLOSED, BUSY.
 * Locks: the idempotency key's advisory lock (when keyed), then the booking's contact row (found by reading the booking without a lock), then the
 * booking row (read again), then the exam row by the last statement.
 */
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
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
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

    IF v_actor IS NOT NULL THEN
        PERFORM set_config('mockbook.actor', v_actor, true);
    END IF;
    v_booking := mockbook_internal.booking_by_ref(p_booking_id);
    IF v_booking.id IS NULL THEN
        PERFORM mockbook_internal.raise_error('BOOKING_NOT_FOUND',
            format('No booking %L (uuid, booking code or HubSpot id).', p_booking_id));
    END IF;
    v_result := mockbook_internal.cancel_locked_booking(v_booking.id, p_student_id, p_refund,
                                                   p_reason, v_actor);
    RETURN mockbook_internal.store_idempotent_result('cancel_booking', p_idempotency_key,
                                                v_fingerprint, v_result);
END
$$;

COMMENT ON FUNCTION hubspot_sync.cancel_booking(text, text, boolean, text, text, text) IS
'Cancels one booking (uuid, booking code or HubSpot id) and refunds one credit to the field its token_used names (Shared Token -> shared_mock_credits; Admin Override and p_refund false: none; ledger reason cancellation); total_bookings - 1. With p_student_id the booking must be that student''s. Optional p_idempotency_key: the same key and arguments return the first result and change nothing, other arguments IDEMPOTENCY_KEY_REUSED. The actor is the request''s JWT user when there is one, else p_actor. Errors: INVALID_ARGUMENT, IDEMPOTENCY_KEY_REUSED, BOOKING_NOT_FOUND, FORBIDDEN, ALREADY_CANCELLED, NOT_CANCELLABLE (Completed), CANCELLATION_CLOSED, BUSY. Returns {success, id, booking_id, status, credit_field, credits_restored, credits_remaining, total_bookings}. Locks: key, contact, booking, then the exam by the last statement.';
REVOKE ALL ON FUNCTION hubspot_sync.cancel_booking(text, text, boolean, text, text, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.cancel_booking(text, text, boolean, text, text, text)
    TO service_role;
