-- Frozen copy of db/functions/api/admin_create_booking.sql (changed).
-- Why: admins book for a student without a credit, with a student's checks (the pipeline's mode
-- 'admin'); its own key fingerprint, so it cannot replay a create_booking.
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
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
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

COMMENT ON FUNCTION hubspot_sync.admin_create_booking(text, text, text, text, text, text, text, boolean) IS
'An admin books a seat without spending a credit (`token_used ''Admin Override''`, no ledger row; a
later cancellation refunds nothing). Same checks and order as `create_booking`, except: `p_actor`
is required (≤ 255); with `p_override_capacity` the capacity check is skipped and the result says
`"over_capacity": true` when `total_bookings` now exceeds the capacity; step 9 only requires a known
mock type. A `create_booking` key cannot replay here, nor the reverse (`IDEMPOTENCY_KEY_REUSED`).
Returns the `create_booking` result (`credit_field`, `credits_remaining` NULL) plus
`over_capacity`.
Errors: `INVALID_ARGUMENT`, `IDEMPOTENCY_KEY_REUSED`, `CONTACT_NOT_FOUND`, `EXAM_NOT_FOUND`,
`EXAM_NOT_ACTIVE`, `EXAM_IN_PAST`, `PREREQUISITE_NOT_MET`, `DUPLICATE_BOOKING`, `EXAM_FULL`,
`INVALID_EXAM_TYPE`, `BUSY`.';
REVOKE ALL ON FUNCTION hubspot_sync.admin_create_booking(text, text, text, text, text, text, text, boolean)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.admin_create_booking(text, text, text, text, text, text, text, boolean)
    TO service_role;
