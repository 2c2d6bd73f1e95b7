-- Frozen copy of db/functions/internal/validate_booking_args.sql (new).
/**
 * Why: step 1 of every booking, the argument checks, written once for the functions that book a
 * seat, so they refuse the same inputs with the same words. The checks are the COMMENT ON FUNCTION
 * below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.validate_booking_args(
    p_student_id text,
    p_email text,
    p_mock_exam_id text,
    p_idempotency_key text,
    p_attending_location text,
    p_dominant_hand text,
    p_email_arg text DEFAULT 'p_email'
)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    PERFORM mockbook_internal.check_text_arg('p_student_id', p_student_id, true, 64,
                                        '^[A-Z0-9]+$', 'upper-case letters and digits only');
    PERFORM mockbook_internal.check_text_arg(p_email_arg, p_email, true, 254,
                                        '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$',
                                        'an email address');
    PERFORM mockbook_internal.check_text_arg('p_mock_exam_id', p_mock_exam_id, true, 255);
    PERFORM mockbook_internal.check_idempotency_key_arg(p_idempotency_key, true);
    IF p_attending_location IS NOT NULL
       AND NOT p_attending_location = ANY (mockbook_internal.locations()) THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('p_attending_location must be one of %s.',
                   array_to_string(mockbook_internal.locations(), ', ')));
    END IF;
    PERFORM mockbook_internal.check_text_arg('p_dominant_hand', p_dominant_hand, false, 32);
END
$$;

COMMENT ON FUNCTION mockbook_internal.validate_booking_args(text, text, text, text, text, text, text) IS
'Internal: step 1 of create_booking (argument checks shared by the booking functions); INVALID_ARGUMENT naming the field.

Step 1 of create_booking''s contract for every function that books a seat (create_booking,
admin_create_booking, create_booking_atomic):
  p_student_id          required, ^[A-Z0-9]+$, at most 64 characters
  p_email               required, looks like an email (x@y.z, no spaces), at most 254
                        (p_email_arg is the argument''s name in the caller, for the DETAIL)
  p_mock_exam_id        required, at most 255
  p_idempotency_key     required, 1-255 characters, not starting with waitlist-offer-
                        (reserved for accept_offer: mockbook_internal.check_idempotency_key_arg)
  p_attending_location  optional; when given one of mississauga, calgary, vancouver, montreal,
                        richmond_hill (exactly, lower case) -- the one list of locations
  p_dominant_hand       optional free text, at most 32
Errors: INVALID_ARGUMENT naming the field. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.validate_booking_args(text, text, text, text, text, text, text)
    FROM PUBLIC, anon, authenticated, service_role;
