-- Frozen copy of db/functions/internal/insert_booking.sql (changed).
-- re-created below, in the same transaction
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS mockbook_internal.insert_booking;
-- Why: the insert of a booking, shared by every booking path, turns each unique violation into the
-- documented answer (DUPLICATE_BOOKING, INVALID_ARGUMENT, or a replay) instead of a raw error.
CREATE OR REPLACE FUNCTION mockbook_internal.insert_booking(p_booking hubspot_sync.hubspot_bookings,
                                                     p_day date DEFAULT NULL)
RETURNS hubspot_sync.hubspot_bookings
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_row hubspot_sync.hubspot_bookings := p_booking;
    v_generated boolean := p_booking.booking_id IS NULL;
    v_constraint text;
BEGIN
    -- (the tests apart from the calls: an expression that calls a function which is not immutable
    -- takes a snapshot of its own in a VOLATILE function, whether or not the call is reached)
    IF v_row.id IS NULL THEN
        v_row.id := mockbook_internal.new_booking_uuid();
    END IF;
    -- a caller's code follows booking_code_problem's rule
    IF NOT v_generated THEN
        IF mockbook_internal.booking_code_problem(v_row.booking_id) IS NOT NULL THEN
            PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                format('p_booking_id %L is not a valid booking code: %s.', v_row.booking_id,
                       mockbook_internal.booking_code_problem(v_row.booking_id)),
                'A booking code is 3-100 characters: letters, digits, space, ".", ",", "_", "-", a letter or digit at both ends; not shaped like a uuid, not all digits, not starting with WL-. Or leave p_booking_id out: mockbook generates one.');
        END IF;
    END IF;
    FOR v_attempt IN 1..10 LOOP
        IF v_generated THEN
            v_row.booking_id := mockbook_internal.new_booking_code(p_day);
        END IF;
        BEGIN
            INSERT INTO hubspot_sync.hubspot_bookings AS b (
                id, hubspot_id, booking_id, associated_mock_exam, associated_contact_id,
                student_id, name, student_email, is_active, attendance, dominant_hand,
                attending_location, token_used, token_refunded, start_time, end_time, exam_date,
                mock_type, mock_set, ndecc_exam_date, idempotency_key, idempotency_fingerprint,
                legacy_booking_id, created_at, updated_at)
            VALUES (
                v_row.id, NULL, v_row.booking_id, v_row.associated_mock_exam,
                v_row.associated_contact_id, v_row.student_id, v_row.name, v_row.student_email,
                v_row.is_active, v_row.attendance, v_row.dominant_hand, v_row.attending_location,
                v_row.token_used, false, v_row.start_time, v_row.end_time, v_row.exam_date,
                v_row.mock_type, v_row.mock_set, v_row.ndecc_exam_date, v_row.idempotency_key,
                v_row.idempotency_fingerprint, v_row.legacy_booking_id, now(), now())
            RETURNING b.* INTO v_row;
            RETURN v_row;
        EXCEPTION WHEN unique_violation THEN
            GET STACKED DIAGNOSTICS v_constraint = CONSTRAINT_NAME;
            IF v_constraint = 'uq_bookings_one_per_student_type_day' THEN
                PERFORM mockbook_internal.raise_error('DUPLICATE_BOOKING',
                    format('%s already has a booking of type %s on %s.', v_row.student_id,
                           v_row.mock_type, v_row.exam_date));
            ELSIF v_constraint = 'hubspot_bookings_idempotency_key_key' THEN
                RETURN NULL;
            ELSIF v_constraint = 'hubspot_bookings_booking_id_key' AND NOT v_generated THEN
                PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                    format('p_booking_id %L is already used by another booking.',
                           v_row.booking_id));
            ELSIF v_constraint IS DISTINCT FROM 'hubspot_bookings_booking_id_key' THEN
                RAISE;
            END IF;
            -- a generated code collided: draw another
        END;
    END LOOP;
    RAISE EXCEPTION 'mockbook bug: 10 generated booking codes in a row were taken'
        USING ERRCODE = 'XX000';
END
$$;

COMMENT ON FUNCTION mockbook_internal.insert_booking(hubspot_sync.hubspot_bookings, date) IS
'Internal: inserts a booking row (generating its BK- code of business day p_day, NULL: today),
mapping unique violations to DUPLICATE_BOOKING / INVALID_ARGUMENT, or NULL for an idempotency-key
race. Errors: as listed. Locks: the new row (the caller holds the exam and contact locks).';
REVOKE ALL ON FUNCTION mockbook_internal.insert_booking(hubspot_sync.hubspot_bookings, date)
    FROM PUBLIC, anon, authenticated, service_role;
