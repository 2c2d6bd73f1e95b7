-- Frozen copy of db/functions/internal/apply_pulled_booking.sql (new).
-- Why: import and reconcile --repair bring a HubSpot-only booking into Postgres without inserting
-- it twice and without moving credits (HubSpot's balances already paid for it).
CREATE OR REPLACE FUNCTION mockbook_internal.apply_pulled_booking(p_item jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_id constant text := p_item ->> 'id';
    v_props constant jsonb := mockbook_internal.pulled_properties(p_item);
    v_code text;
    v_key text;
    v_booking hubspot_sync.hubspot_bookings;
    v_held hubspot_sync.hubspot_bookings;
    v_exam hubspot_sync.hubspot_mock_exams;
BEGIN
    v_code := mockbook_internal.pulled_text(v_props, 'booking_id', true);
    IF v_code LIKE 'WL-%' THEN
        -- a waitlist place the push shows as a booking object: not a booking
        RETURN '{"applied": false}'::jsonb;
    END IF;
    v_key := mockbook_internal.pulled_text(v_props, 'idempotency_key');
    SELECT b.* INTO v_booking FROM hubspot_sync.hubspot_bookings AS b WHERE b.hubspot_id = v_id;
    IF v_booking.id IS NULL THEN
        SELECT b.* INTO v_booking FROM hubspot_sync.hubspot_bookings AS b
        WHERE b.booking_id = v_code;
    END IF;
    IF v_booking.id IS NULL AND v_key IS NOT NULL THEN
        SELECT b.* INTO v_booking FROM hubspot_sync.hubspot_bookings AS b
        WHERE b.idempotency_key = v_key;
    END IF;

    IF v_booking.hubspot_id = v_id THEN
        RETURN '{"matched": 1}'::jsonb;
    ELSIF v_booking.hubspot_id IS NOT NULL THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('booking %s is already HubSpot booking %s: HubSpot holds a duplicate',
                   coalesce(v_booking.booking_id, v_code), v_booking.hubspot_id));
    ELSIF v_booking.id IS NOT NULL THEN
        -- not in the lock order: a row in use is never waited for (BUSY)
        PERFORM FROM hubspot_sync.hubspot_bookings AS b WHERE b.id = v_booking.id
        FOR UPDATE SKIP LOCKED;
        IF NOT FOUND THEN
            PERFORM mockbook_internal.raise_error('BUSY',
                format('booking %s is in use; applied again by the next pull', v_booking.id));
        END IF;
        UPDATE hubspot_sync.hubspot_bookings AS b
        SET hubspot_id = v_id, hubspot_last_sync_at = now()
        WHERE b.id = v_booking.id;
        RETURN '{"linked": 1}'::jsonb;
    END IF;

    -- read, not locked: the exams are locked last, in order, for the recount
    v_exam := mockbook_internal.find_exam(
        mockbook_internal.pulled_text(v_props, 'associated_mock_exam', true));
    v_booking.is_active := initcap(mockbook_internal.pulled_text(v_props, 'is_active', true));
    IF v_booking.is_active NOT IN ('Active', 'Cancelled', 'Completed', 'Failed') THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('property is_active is not Active, Cancelled, Completed or Failed: %s',
                   left(v_booking.is_active, 80)));
    END IF;
    v_booking.attendance := initcap(mockbook_internal.pulled_text(v_props, 'attendance'));
    IF v_booking.attendance NOT IN ('Yes', 'No') THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('property attendance is not Yes or No: %s', left(v_booking.attendance, 80)));
    END IF;
    v_booking.student_id := mockbook_internal.pulled_text(v_props, 'student_id');
    v_booking.student_email := mockbook_internal.pulled_text(v_props, 'email');
    v_booking.associated_contact_id := mockbook_internal.pulled_text(v_props,
                                                                     'associated_contact_id');
    v_booking.start_time := mockbook_internal.pulled_text(v_props, 'start_time');
    v_booking.end_time := mockbook_internal.pulled_text(v_props, 'end_time');
    v_booking.exam_date := mockbook_internal.pulled_date(v_props, 'exam_date');
    v_booking.mock_type := mockbook_internal.pulled_text(v_props, 'mock_type');
    -- an unknown empty value: the copy Postgres holds, its exam's or contact's
    v_held.start_time := v_exam.start_time;
    v_held.end_time := v_exam.end_time;
    v_held.exam_date := v_exam.exam_date;
    v_held.mock_type := v_exam.mock_type;
    IF v_booking.student_id IS NULL OR v_booking.student_email IS NULL THEN
        SELECT c.student_id, c.email INTO v_held.student_id, v_held.student_email
        FROM hubspot_sync.hubspot_contact_credits AS c
        WHERE c.hubspot_id = v_booking.associated_contact_id;
    END IF;
    v_booking := mockbook_internal.pulled_keep_unknown(v_booking, v_held, p_item);
    IF v_booking.student_id IS NULL THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'missing property student_id (and no known associated contact)');
    END IF;
    INSERT INTO hubspot_sync.hubspot_bookings (
        hubspot_id, booking_id, associated_mock_exam, associated_contact_id, student_id, name,
        student_email, is_active, attendance, dominant_hand, attending_location, token_used,
        start_time, end_time, exam_date, mock_type, mock_set, idempotency_key,
        hubspot_last_sync_at, created_at)
    VALUES (
        v_id, v_code, v_exam.hubspot_id, v_booking.associated_contact_id, v_booking.student_id,
        mockbook_internal.pulled_text(v_props, 'name'), v_booking.student_email,
        v_booking.is_active, v_booking.attendance,
        mockbook_internal.pulled_text(v_props, 'dominant_hand'),
        mockbook_internal.pulled_text(v_props, 'attending_location'),
        mockbook_internal.pulled_text(v_props, 'token_used'),
        v_booking.start_time, v_booking.end_time, v_booking.exam_date, v_booking.mock_type,
        v_exam.mock_set, v_key, now(),
        -- made when HubSpot made it (daily_booking_trends), not when imported
        mockbook_internal.pulled_created_at(p_item))
    RETURNING id INTO v_booking.id;
    RETURN jsonb_build_object('inserted', 1, 'inserted_ids', jsonb_build_array(v_booking.id),
        'recount', CASE WHEN v_booking.is_active = 'Active'
                        THEN jsonb_build_array(v_exam.hubspot_id) ELSE '[]'::jsonb END);
END
$$;

COMMENT ON FUNCTION mockbook_internal.apply_pulled_booking(jsonb) IS
'Internal (apply_pulled_records): one HubSpot booking record, matched, linked (BUSY) or inserted
without moving credits. Returns its counts, inserted_ids and the exam to recount.';
REVOKE ALL ON FUNCTION mockbook_internal.apply_pulled_booking(jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
