-- Frozen copy of db/functions/api/admin_create_booking.sql (new).
/**
 * Why: admins book on a student's behalf without spending a credit, with the same checks as a
 * student's booking. The booking pipeline (mockbook_internal.book, mode 'admin') does the work;
 * this function only checks its own arguments. Its key fingerprint differs from create_booking's
 * so the two cannot replay each other's bookings.
 * The contract is the COMMENT ON FUNCTION below.
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
EXCEPTION
    -- the server cannot take the call (disk full, read-only, out of resources): one documented
    -- code, never a raw SQLSTATE naming a file; nothing of the call remains
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
mock type. A key used by `create_booking` cannot replay here, nor the reverse
(`IDEMPOTENCY_KEY_REUSED`).

Returns the `create_booking` result (`credit_field`, `credits_remaining` NULL) plus
`over_capacity`.
Errors: `INVALID_ARGUMENT`, `IDEMPOTENCY_KEY_REUSED`, `CONTACT_NOT_FOUND`, `EXAM_NOT_FOUND`,
`EXAM_NOT_ACTIVE`, `EXAM_IN_PAST`, `PREREQUISITE_NOT_MET`, `DUPLICATE_BOOKING`, `EXAM_FULL`,
`INVALID_EXAM_TYPE`, `BUSY`.';
REVOKE ALL ON FUNCTION hubspot_sync.admin_create_booking(text, text, text, text, text, text, text, boolean)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.admin_create_booking(text, text, text, text, text, text, text, boolean)
    TO service_role;
