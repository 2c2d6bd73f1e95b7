-- Undo db/functions/api/cancel_booking_atomic.sql (moved).
-- Frozen copy of db/functions/cancel_booking_atomic.sql (changed).
/**
 * hubspot_sync.cancel_booking_atomic(p_booking_id uuid, p_credit_field text,
 *     p_restored_credit_value integer) -> jsonb
 *
 * DEPRECATED: use hubspot_sync.cancel_booking. Kept for the original booking API, with the
 * production signature exactly (../shared/production dump): the app read the balance, computed
 * the restored absolute value (p_restored_credit_value) of the field it refunds (p_credit_field).
 * Now implemented on the cancel_booking logic, with the app's numbers verified, never written:
 *   - p_booking_id: the booking's uuid (NULL -> INVALID_ARGUMENT)
 *   - p_credit_field and p_restored_credit_value both NULL: cancel without refund; only one of
 *     them given, or an unknown field, or a negative value             -> INVALID_ARGUMENT
 *   - the booking's status is checked first (ALREADY_CANCELLED, NOT_CANCELLABLE)
 *   - p_credit_field is not the field the booking's token_used names (e.g. an Admin Override
 *     booking), or p_restored_credit_value <> its true balance + 1 read under the contact lock
 *                                                       -> CREDIT_CONFLICT, nothing changes
 *   - then as cancel_booking: one credit back relatively (ledger reason 'cancellation'),
 *     Cancelled, total_bookings - 1.
 * Returns the cancel_booking result with production's keys: success, booking_id (uuid),
 * booking_hubspot_id, student_id, mock_exam_id.
 * Errors: INVALID_ARGUMENT, BOOKING_NOT_FOUND, ALREADY_CANCELLED, NOT_CANCELLABLE,
 * CREDIT_CONFLICT, BUSY.
 * Locks: the contact row, then the booking row, then the exam row by the last statement.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.cancel_booking_atomic(
    p_booking_id uuid,
    p_credit_field text,
    p_restored_credit_value integer
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
    v_contact_id uuid;
    v_field text;
    v_balance integer;
BEGIN
    -- production's signature: a not-found error keeps the words the original apps match on
    PERFORM pg_catalog.set_config('mockbook.compat_messages', 'on', true);
    IF p_booking_id IS NULL THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'p_booking_id is required.');
    END IF;
    IF (p_credit_field IS NULL) <> (p_restored_credit_value IS NULL) THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'p_credit_field and p_restored_credit_value go together: give both or neither.');
    ELSIF p_credit_field IS NOT NULL THEN
        PERFORM mockbook_internal.check_credit_field('p_credit_field', p_credit_field);
    END IF;
    IF p_restored_credit_value < 0 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                                         'p_restored_credit_value is negative.');
    END IF;

    SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings AS b WHERE b.id = p_booking_id;
    IF v_booking.id IS NULL THEN
        PERFORM mockbook_internal.raise_error('BOOKING_NOT_FOUND',
            format('No booking %s.', p_booking_id));
    END IF;
    v_contact_id := mockbook_internal.contact_id_of_booking(v_booking);
    IF v_contact_id IS NOT NULL THEN
        PERFORM mockbook_internal.lock_contact(v_contact_id);  -- first in the lock order
    END IF;

    -- verify the caller's numbers under the contact lock, unless the booking cannot be
    -- cancelled at all (cancel_locked_booking then says why)
    SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings AS b WHERE b.id = v_booking.id;
    IF p_credit_field IS NOT NULL AND v_booking.is_active = 'Active' THEN
        v_field := mockbook_internal.credit_field_of_token(v_booking.token_used);
        IF v_field IS DISTINCT FROM p_credit_field THEN
            PERFORM mockbook_internal.raise_error('CREDIT_CONFLICT',
                format('Booking %s was paid with %s (%s), not %s.', v_booking.booking_id,
                       coalesce(v_field, 'no credit'), v_booking.token_used, p_credit_field));
        END IF;
        IF v_contact_id IS NOT NULL THEN
            v_balance := mockbook_internal.credit_balance(mockbook_internal.lock_contact(v_contact_id),
                                                     v_field);
        END IF;
        IF v_balance IS NULL OR p_restored_credit_value <> v_balance + 1 THEN
            PERFORM mockbook_internal.raise_error('CREDIT_CONFLICT',
                format('%s has %s %s: after the refund %s, not %s.', v_booking.student_id,
                       v_balance, v_field, v_balance + 1, p_restored_credit_value));
        END IF;
    END IF;

    RETURN mockbook_internal.cancel_locked_booking(v_booking.id, NULL, p_credit_field IS NOT NULL,
                                              NULL, NULL)
        || jsonb_build_object('success', true, 'booking_id', v_booking.id,
                              'booking_hubspot_id', v_booking.hubspot_id,
                              'student_id', v_booking.student_id,
                              'mock_exam_id', v_booking.associated_mock_exam);
END
$$;

COMMENT ON FUNCTION hubspot_sync.cancel_booking_atomic(uuid, text, integer) IS
'Deprecated: use cancel_booking. The production cancel call (same signature and result keys): the caller''s p_credit_field must be the field the booking''s token_used names and its absolute p_restored_credit_value must equal the true balance + 1 under the contact lock (else CREDIT_CONFLICT, nothing changes); the credit is then refunded relatively. Both NULL: cancel without refund. Otherwise cancel_booking''s checks, errors and result.';
REVOKE ALL ON FUNCTION hubspot_sync.cancel_booking_atomic(uuid, text, integer)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.cancel_booking_atomic(uuid, text, integer)
    TO service_role;
