-- Frozen copy of db/functions/api/cancel_booking_atomic.sql (changed).
-- Why: the original API's name with the app's refund arithmetic, checked against the rows, never
-- written, so a stale balance cannot overwrite a concurrent change.
CREATE OR REPLACE FUNCTION hubspot_sync.cancel_booking_atomic(
    p_booking_id uuid,
    p_credit_field text,
    p_restored_credit_value integer
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_booking hubspot_sync.hubspot_bookings;
    v_contact_id uuid;
    v_field text;
    v_balance integer;
    v_students constant text[] := mockbook_internal.caller_students();
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

    IF v_students IS NULL THEN
        SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings AS b WHERE b.id = p_booking_id;
    ELSE
        -- not yours = not there: only the student's own rows, read by student (OFFSET 0)
        SELECT * INTO v_booking
        FROM (SELECT * FROM hubspot_sync.hubspot_bookings AS o
              WHERE o.student_id = ANY (v_students) OFFSET 0) AS b
        WHERE b.id = p_booking_id;
    END IF;
    IF v_booking.id IS NULL THEN
        PERFORM mockbook_internal.raise_error('BOOKING_NOT_FOUND',
            format('No booking %s.', p_booking_id));
    END IF;
    v_contact_id := mockbook_internal.contact_id_of_booking(v_booking);
    IF v_contact_id IS NOT NULL THEN
        PERFORM mockbook_internal.lock_contact(v_contact_id);  -- first in the lock order
    END IF;

    -- the caller's numbers checked under the contact lock
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

COMMENT ON FUNCTION hubspot_sync.cancel_booking_atomic(uuid, text, integer) IS
'Deprecated: use cancel_booking.
Production''s signature exactly. On the `cancel_booking` logic. Both `p_credit_field` and
`p_restored_credit_value` NULL: cancel without refund; only one given, an unknown field or a
negative value → `INVALID_ARGUMENT`. The field must be the one the booking''s `token_used` names
and the value its true balance + 1, else `CREDIT_CONFLICT`; the refund is then relative. Returns
the `cancel_booking` result with production''s keys: `success`, `booking_id` (uuid),
`booking_hubspot_id`, `student_id`, `mock_exam_id`. Errors: `INVALID_ARGUMENT`,
`BOOKING_NOT_FOUND` (also another student''s booking, to a student''s JWT), `ALREADY_CANCELLED`, `NOT_CANCELLABLE`, `CREDIT_CONFLICT`, `BUSY`.';
REVOKE ALL ON FUNCTION hubspot_sync.cancel_booking_atomic(uuid, text, integer)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.cancel_booking_atomic(uuid, text, integer)
    TO service_role;
