-- Undo db/functions/cancel_booking_atomic.sql (changed).
-- Frozen copy of db/functions/cancel_booking_atomic.sql (new).
/**
 * hubspot_sync.cancel_booking_atomic(p_booking_id, p_student_id DEFAULT NULL,
 *     p_credit_field DEFAULT NULL, p_new_credit_value integer DEFAULT NULL,
 *     p_refund_admin DEFAULT NULL) -> jsonb
 *
 * DEPRECATED: use hubspot_sync.cancel_booking. Kept for callers of the production function of
 * this name. Its production parameter list is not in the repository; this is the
 * reconstructed one: the app read the balance, computed the restored absolute value
 * (p_new_credit_value) of the field it refunded (p_credit_field) and named the refunding admin
 * (p_refund_admin, stored in token_refund_admin).
 * Now implemented on the cancel_booking logic, with the app's numbers verified, never written:
 *   - p_booking_id: uuid, booking code or HubSpot id; p_student_id as in cancel_booking
 *   - p_credit_field and p_new_credit_value both NULL: cancel without refund; only one of
 *     them given, or an unknown field, or a negative value             -> INVALID_ARGUMENT
 *   - the booking's status is checked first (FORBIDDEN, ALREADY_CANCELLED, NOT_CANCELLABLE)
 *   - p_credit_field is not the field the booking's token_used names (e.g. an Admin Override
 *     booking), or p_new_credit_value <> its true balance + 1 read under the contact lock
 *                                                       -> CREDIT_CONFLICT, nothing changes
 *   - then as cancel_booking: one credit back relatively (ledger reason 'cancellation'),
 *     Cancelled, total_bookings - 1.
 * Returns the cancel_booking result.
 * Errors: INVALID_ARGUMENT, BOOKING_NOT_FOUND, FORBIDDEN, ALREADY_CANCELLED, NOT_CANCELLABLE,
 * CREDIT_CONFLICT, BUSY.
 * Locks: the booking's exam row, then the contact row, then the booking row.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.cancel_booking_atomic(
    p_booking_id text,
    p_student_id text DEFAULT NULL,
    p_credit_field text DEFAULT NULL,
    p_new_credit_value integer DEFAULT NULL,
    p_refund_admin text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_booking hubspot_sync.hubspot_bookings;
    v_contact_id uuid;
    v_field text;
    v_balance integer;
BEGIN
    PERFORM hubspot_sync.check_text_arg('p_booking_id', p_booking_id, true, 255);
    IF p_student_id IS NOT NULL THEN
        PERFORM hubspot_sync.check_text_arg('p_student_id', p_student_id, true, 64,
                                            '^[A-Z0-9]+$', 'upper-case letters and digits only');
    END IF;
    IF (p_credit_field IS NULL) <> (p_new_credit_value IS NULL) THEN
        PERFORM hubspot_sync.raise_error('INVALID_ARGUMENT',
            'p_credit_field and p_new_credit_value go together: give both or neither.');
    ELSIF p_credit_field NOT IN ('sj_credits', 'cs_credits', 'sjmini_credits',
                                 'mock_discussion_token', 'shared_mock_credits') THEN
        PERFORM hubspot_sync.raise_error('INVALID_ARGUMENT',
            'p_credit_field must be one of sj_credits, cs_credits, sjmini_credits, '
            'mock_discussion_token, shared_mock_credits.');
    ELSIF p_new_credit_value < 0 THEN
        PERFORM hubspot_sync.raise_error('INVALID_ARGUMENT', 'p_new_credit_value is negative.');
    END IF;
    PERFORM hubspot_sync.check_text_arg('p_refund_admin', p_refund_admin, false, 255);
    IF p_refund_admin IS NOT NULL THEN
        PERFORM set_config('mockbook.actor', p_refund_admin, true);
    END IF;

    v_booking := hubspot_sync.booking_by_ref(p_booking_id);
    IF v_booking.id IS NULL THEN
        PERFORM hubspot_sync.raise_error('BOOKING_NOT_FOUND',
            format('No booking %L (uuid, booking code or HubSpot id).', p_booking_id));
    END IF;
    IF EXISTS (SELECT FROM hubspot_sync.hubspot_mock_exams AS e
               WHERE e.hubspot_id = v_booking.associated_mock_exam) THEN
        PERFORM hubspot_sync.lock_exam(v_booking.associated_mock_exam);
    END IF;
    v_contact_id := hubspot_sync.contact_id_of_booking(v_booking);

    -- verify the caller's numbers under the contact lock, unless the booking cannot be
    -- cancelled at all (cancel_locked_booking then says why)
    SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings AS b WHERE b.id = v_booking.id;
    IF p_credit_field IS NOT NULL AND v_booking.is_active = 'Active'
       AND (p_student_id IS NULL OR v_booking.student_id = p_student_id) THEN
        v_field := hubspot_sync.credit_field_of_token(v_booking.token_used);
        IF v_field IS DISTINCT FROM p_credit_field THEN
            PERFORM hubspot_sync.raise_error('CREDIT_CONFLICT',
                format('Booking %s was paid with %s (%s), not %s.', v_booking.booking_id,
                       coalesce(v_field, 'no credit'), v_booking.token_used, p_credit_field));
        END IF;
        IF v_contact_id IS NOT NULL THEN
            v_balance := hubspot_sync.credit_balance(hubspot_sync.lock_contact(v_contact_id),
                                                     v_field);
        END IF;
        IF v_balance IS NULL OR p_new_credit_value <> v_balance + 1 THEN
            PERFORM hubspot_sync.raise_error('CREDIT_CONFLICT',
                format('%s has %s %s: after the refund %s, not %s.', v_booking.student_id,
                       v_balance, v_field, v_balance + 1, p_new_credit_value));
        END IF;
    END IF;

    RETURN hubspot_sync.cancel_locked_booking(v_booking.id, p_student_id,
                                              p_credit_field IS NOT NULL, NULL, p_refund_admin);
END
$$;

COMMENT ON FUNCTION hubspot_sync.cancel_booking_atomic(text, text, text, integer, text) IS
'Deprecated: use cancel_booking. Production-compatible cancel call: the caller''s p_credit_field must be the field the booking''s token_used names and its absolute p_new_credit_value must equal the true balance + 1 under the contact lock (else CREDIT_CONFLICT, nothing changes); the credit is then refunded relatively. Both NULL: cancel without refund. Otherwise cancel_booking''s checks, errors and result.';
REVOKE ALL ON FUNCTION hubspot_sync.cancel_booking_atomic(text, text, text, integer, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.cancel_booking_atomic(text, text, text, integer, text)
    TO service_role;
