-- Frozen copy of db/functions/internal/cancel_locked_booking.sql (changed).
-- Why: cancel_booking, cancel_bookings, cancel_booking_atomic and the pull's exam changes cancel a
-- booking the same way.
CREATE OR REPLACE FUNCTION mockbook_internal.cancel_locked_booking(
    p_booking_id uuid,
    p_student_id text,
    p_refund boolean,
    p_reason text,
    p_actor text
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
    v_restored integer := 0;
    v_total integer;
    v_refund boolean := p_refund;
    v_deadline numeric;
    v_start timestamptz;
BEGIN
    SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings AS b WHERE b.id = p_booking_id;
    IF NOT FOUND THEN
        PERFORM mockbook_internal.raise_error('BOOKING_NOT_FOUND', format('No booking %s.', p_booking_id));
    END IF;
    v_contact_id := mockbook_internal.contact_id_of_booking(v_booking);
    IF v_contact_id IS NOT NULL THEN
        PERFORM mockbook_internal.lock_contact(v_contact_id);
    END IF;
    v_booking := mockbook_internal.lock_booking(p_booking_id);
    IF v_booking.id IS NULL THEN
        PERFORM mockbook_internal.raise_error('BOOKING_NOT_FOUND', format('No booking %s.', p_booking_id));
    END IF;

    IF p_student_id IS NOT NULL AND v_booking.student_id IS DISTINCT FROM p_student_id THEN
        PERFORM mockbook_internal.raise_error('FORBIDDEN',
            format('Booking %s does not belong to %s.', v_booking.booking_id, p_student_id));
    ELSIF v_booking.is_active = 'Cancelled' THEN
        PERFORM mockbook_internal.raise_error('ALREADY_CANCELLED',
            format('Booking %s is already cancelled.', v_booking.booking_id));
    ELSIF v_booking.is_active IS DISTINCT FROM 'Active' THEN
        PERFORM mockbook_internal.raise_error('NOT_CANCELLABLE',
            format('Booking %s is %s; only Active bookings can be cancelled.',
                   v_booking.booking_id, coalesce(v_booking.is_active, 'without status')));
    END IF;

    IF p_student_id IS NOT NULL THEN
        v_deadline := coalesce(
            (mockbook_internal.booking_rule('cancel_deadline_hours') #>> '{}')::numeric, 0);
        -- the exam's own start (a reschedule moves it), else the booking's copy (exam_span)
        SELECT lower(mockbook_internal.exam_span(e.exam_date, e.exam_starts_at, e.exam_ends_at))
        INTO v_start
        FROM hubspot_sync.hubspot_mock_exams AS e
        WHERE e.hubspot_id = v_booking.associated_mock_exam;
        IF NOT FOUND THEN
            v_start := lower(mockbook_internal.exam_span(
                v_booking.exam_date,
                mockbook_internal.exam_starts_at(v_booking.exam_date, v_booking.start_time),
                mockbook_internal.exam_starts_at(v_booking.exam_date, v_booking.end_time)));
        END IF;
        IF v_deadline > 0
           AND mockbook_internal.clock_now() > v_start - make_interval(secs => v_deadline * 3600) THEN
            IF mockbook_internal.booking_rule('cancel_deadline_action') = '"no_refund"'::jsonb THEN
                v_refund := false;
            ELSE
                PERFORM mockbook_internal.raise_error('CANCELLATION_CLOSED',
                    format('Booking %s starts at %s; students may cancel until %s hour(s) '
                           'before the start.', v_booking.booking_id, v_start, v_deadline));
            END IF;
        END IF;
    END IF;
    v_field := mockbook_internal.credit_field_of_token(v_booking.token_used);
    IF v_refund AND v_field IS NOT NULL THEN
        IF v_contact_id IS NULL THEN
            PERFORM mockbook_internal.raise_error('CONTACT_NOT_FOUND',
                format('Booking %s has no contact to refund its credit to.', v_booking.booking_id));
        END IF;
        -- an exam cancelled in HubSpot (apply_exam_change) refunds with its own ledger reason
        PERFORM mockbook_internal.apply_credit_delta(v_contact_id, v_field, 1,
                                                CASE WHEN p_reason = 'exam_cancelled'
                                                     THEN 'exam_cancelled' ELSE 'cancellation' END,
                                                v_booking.id, coalesce(p_actor, p_student_id),
                                                p_reason);
        v_restored := 1;
    END IF;

    UPDATE hubspot_sync.hubspot_bookings AS b
    SET is_active = 'Cancelled',
        token_refunded = (v_restored = 1),
        token_refunded_at = CASE WHEN v_restored = 1 THEN now() END,
        token_refund_admin = CASE WHEN v_restored = 1 THEN p_actor END,
        updated_at = now()
    WHERE b.id = v_booking.id;
    v_total := mockbook_internal.release_seat(v_booking.associated_mock_exam);

    RETURN jsonb_build_object(
        'success', true,
        'id', v_booking.id,
        'booking_id', v_booking.booking_id,
        'status', 'Cancelled',
        'credit_field', v_field,
        'credits_restored', v_restored,
        'credits_remaining', (SELECT mockbook_internal.credit_balance(c, v_field)
                              FROM hubspot_sync.hubspot_contact_credits AS c
                              WHERE c.id = v_contact_id),
        'total_bookings', v_total);
END
$$;

COMMENT ON FUNCTION mockbook_internal.cancel_locked_booking(uuid, text, boolean, text, text) IS
'Internal: cancels one booking, locking contact, booking, then exam (FORBIDDEN, ALREADY_CANCELLED,
NOT_CANCELLABLE, CANCELLATION_CLOSED for a student past the cancellation deadline), refunds to the
field token_used names, total_bookings - 1. Locks: the contact row, the booking row, then the exam
row (last statement).';
REVOKE ALL ON FUNCTION mockbook_internal.cancel_locked_booking(uuid, text, boolean, text, text)
    FROM PUBLIC, anon, authenticated, service_role;
