-- Frozen copy of db/functions/api/create_booking_atomic_v1.sql (new).
-- Why: production still has callers of the version without p_mock_set; it is the same call.
CREATE OR REPLACE FUNCTION hubspot_sync.create_booking_atomic_v1(
    p_booking_id text,
    p_student_id text,
    p_student_email text,
    p_mock_exam_id text,
    p_student_name text,
    p_token_used text,
    p_attending_location text,
    p_dominant_hand text,
    p_idempotency_key text,
    p_credit_field text,
    p_new_credit_value integer
)
RETURNS jsonb
LANGUAGE sql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
    SELECT hubspot_sync.create_booking_atomic(
        p_booking_id, p_student_id, p_student_email, p_mock_exam_id, p_student_name,
        p_token_used, p_attending_location, p_dominant_hand, p_idempotency_key, p_credit_field,
        p_new_credit_value, NULL)
$$;

COMMENT ON FUNCTION hubspot_sync.create_booking_atomic_v1(text, text, text, text, text, text, text, text, text, text, integer) IS
'Deprecated: use create_booking.
Production''s signature without `p_mock_set`, exactly: `create_booking_atomic` with
`p_mock_set` NULL (same checks, result and errors).';
REVOKE ALL ON FUNCTION hubspot_sync.create_booking_atomic_v1(text, text, text, text, text, text, text, text, text, text, integer)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.create_booking_atomic_v1(text, text, text, text, text, text, text, text, text, text, integer)
    TO service_role;
