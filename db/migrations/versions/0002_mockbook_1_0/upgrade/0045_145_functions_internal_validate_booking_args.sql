-- Frozen copy of db/functions/internal/validate_booking_args.sql (new).
-- Why: step 1 of every booking, the argument checks, written once for the functions that book a
-- seat, so they refuse the same inputs with the same words.
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
'Internal: step 1 of create_booking (argument checks shared by the booking functions);
INVALID_ARGUMENT naming the field. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.validate_booking_args(text, text, text, text, text, text, text)
    FROM PUBLIC, anon, authenticated, service_role;
