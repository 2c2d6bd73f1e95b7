-- Undo db/functions/api/admin_create_booking.sql (moved).
-- Frozen copy of db/functions/admin_create_booking.sql (changed).
/**
 * hubspot_sync.admin_create_booking(p_student_id, p_email, p_mock_exam_id, p_idempotency_key,
 *     p_actor, p_attending_location DEFAULT NULL, p_dominant_hand DEFAULT NULL,
 *     p_override_capacity boolean DEFAULT false) -> jsonb
 *
 * An admin books a seat for a student without spending a credit (token_used 'Admin Override';
 * no balance change, no ledger row; a later cancellation refunds nothing). Same checks and order
 * as hubspot_sync.create_booking, except:
 *   - p_actor (who, at most 255 characters) is required; it names the audit rows
 *     (mockbook.actor);
 *   - capacity (step 8) is skipped when p_override_capacity: total_bookings may then exceed
 *     capacity, and the result says so with "over_capacity": true;
 *   - step 9 only requires a known mock type (INVALID_EXAM_TYPE), no credit.
 * The idempotency fingerprint is ('admin', student, lower(email), exam, location, hand): a key
 * used by create_booking cannot replay here, nor the reverse (IDEMPOTENCY_KEY_REUSED).
 * Returns the create_booking result (credit_field and credits_remaining NULL) plus
 * over_capacity (true when the exam's total_bookings now exceeds its capacity; a replay
 * reports the exam as it is now).
 * Errors: INVALID_ARGUMENT, IDEMPOTENCY_KEY_REUSED, CONTACT_NOT_FOUND, EXAM_NOT_FOUND,
 * EXAM_NOT_ACTIVE, EXAM_IN_PAST, PREREQUISITE_NOT_MET, DUPLICATE_BOOKING, EXAM_FULL,
 * INVALID_EXAM_TYPE, BUSY.
 * Locks: the idempotency key's advisory lock, then the contact row, the student's open
 * waitlist places on the exam and the other exams of its type and day (closed: 'left', a held
 * offer on the exam used; mockbook_internal.close_day_places), ascending id, then by the last
 * statements the exam row (mockbook_internal.take_seat) and those of the exams whose closed
 * offer is passed on, ascending HubSpot id.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.admin_create_booking(
    p_student_id text,
    p_email text,
    p_mock_exam_id text,
    p_idempotency_key text,
    p_actor text,
    p_attending_location text DEFAULT NULL,
    p_dominant_hand text DEFAULT NULL,
    p_override_capacity boolean DEFAULT false
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    -- admin powers: an admin's JWT or the service-role key, never a student's JWT
    PERFORM mockbook_internal.require_admin('admin_create_booking');
    -- 1. arguments
    PERFORM mockbook_internal.validate_booking_args(p_student_id, p_email, p_mock_exam_id,
                                               p_idempotency_key, p_attending_location,
                                               p_dominant_hand);
    PERFORM mockbook_internal.check_text_arg('p_actor', p_actor, true, 255);
    IF p_override_capacity IS NULL THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'p_override_capacity must be true or false.');
    END IF;
    PERFORM set_config('mockbook.actor', p_actor, true);

    -- 2.-10. the booking pipeline (mode 'admin')
    RETURN mockbook_internal.book(
        'admin', p_student_id, p_email, p_mock_exam_id, p_idempotency_key,
        mockbook_internal.booking_fingerprint('admin', p_student_id, lower(p_email),
                                         p_mock_exam_id, p_attending_location, p_dominant_hand),
        p_attending_location, p_dominant_hand, p_override_capacity := p_override_capacity);
END
$$;

COMMENT ON FUNCTION hubspot_sync.admin_create_booking(text, text, text, text, text, text, text, boolean) IS
'Admin books a seat for a student without spending a credit (token_used Admin Override, nothing refunded on cancel). Same checks and order as create_booking (INVALID_ARGUMENT, IDEMPOTENCY_KEY_REUSED, CONTACT_NOT_FOUND, EXAM_NOT_FOUND, EXAM_NOT_ACTIVE, EXAM_IN_PAST, PREREQUISITE_NOT_MET, DUPLICATE_BOOKING, EXAM_FULL, INVALID_EXAM_TYPE, BUSY), but p_actor is required and p_override_capacity skips the capacity check. Returns the create_booking result plus over_capacity (true when total_bookings now exceeds capacity). Locks: key, contact, the student''s open waitlist places on exams of that type and day (closed; a held offer on the exam used), then the exams by the last statements (ascending HubSpot id).';
REVOKE ALL ON FUNCTION hubspot_sync.admin_create_booking(text, text, text, text, text, text, text, boolean)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.admin_create_booking(text, text, text, text, text, text, text, boolean)
    TO service_role;
