-- Frozen copy of db/functions/internal/apply_pulled_bookings.sql (new).
-- Why: import and reconcile --repair bring HubSpot-only bookings into Postgres without inserting
-- one twice and without moving credits (HubSpot's balances already paid for them).
CREATE OR REPLACE FUNCTION mockbook_internal.apply_pulled_bookings(p_bookings jsonb,
                                                             p_actor text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_item jsonb;
    v_id text;
    v_props jsonb;
    v_code text;
    v_key text;
    v_status text;
    v_attendance text;
    v_student text;
    v_email text;
    v_contact_hs text;
    v_booking hubspot_sync.hubspot_bookings;
    v_exam hubspot_sync.hubspot_mock_exams;
    v_exam_ids text[] := '{}'::text[];
    v_exam_id text;
    v_state text;
    v_message text;
    v_detail text;
    v_inserted integer := 0;
    v_linked integer := 0;
    v_matched integer := 0;
    v_recounted integer := 0;
    v_errors jsonb := '[]'::jsonb;
    v_retry jsonb := '[]'::jsonb;
    v_failed jsonb;
    v_new_ids jsonb := '[]'::jsonb;
    v_new_id uuid;
BEGIN
    IF jsonb_typeof(p_bookings) IS DISTINCT FROM 'array' THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'p_bookings must be a JSON array of HubSpot records.');
    END IF;
    PERFORM set_config('mockbook.origin', 'hubspot', true);
    PERFORM set_config('mockbook.actor', coalesce(nullif(p_actor, ''), 'hubspot:import'), true);

    FOR v_item IN SELECT e.value FROM jsonb_array_elements(p_bookings) AS e LOOP
        v_id := CASE WHEN jsonb_typeof(v_item) = 'object' THEN nullif(v_item ->> 'id', '') END;
        v_booking := NULL;
        v_exam := NULL;
        BEGIN
            IF v_id IS NULL THEN
                PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'a record without an id');
            END IF;
            v_props := v_item -> 'properties';
            IF jsonb_typeof(v_props) IS DISTINCT FROM 'object' THEN
                PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'a record without properties');
            END IF;
            v_code := mockbook_internal.pulled_text(v_props, 'booking_id', true);
            IF v_code LIKE 'WL-%' THEN
                CONTINUE;  -- a waitlist place the push shows as a booking object: not a booking
            END IF;
            v_key := mockbook_internal.pulled_text(v_props, 'idempotency_key');

            SELECT b.* INTO v_booking FROM hubspot_sync.hubspot_bookings AS b
            WHERE b.hubspot_id = v_id;
            IF v_booking.id IS NULL THEN
                SELECT b.* INTO v_booking FROM hubspot_sync.hubspot_bookings AS b
                WHERE b.booking_id = v_code;
            END IF;
            IF v_booking.id IS NULL AND v_key IS NOT NULL THEN
                SELECT b.* INTO v_booking FROM hubspot_sync.hubspot_bookings AS b
                WHERE b.idempotency_key = v_key;
            END IF;

            IF v_booking.id IS NOT NULL THEN
                IF v_booking.hubspot_id IS NULL THEN
                    -- records come in HubSpot's order, not the lock order: a row in use is
                    -- retried by the next pull (BUSY)
                    PERFORM FROM hubspot_sync.hubspot_bookings AS b
                    WHERE b.id = v_booking.id
                    FOR UPDATE SKIP LOCKED;
                    IF NOT FOUND THEN
                        PERFORM mockbook_internal.raise_error('BUSY',
                            format('booking %s is in use; applied again by the next pull',
                                   v_booking.id));
                    END IF;
                    UPDATE hubspot_sync.hubspot_bookings AS b
                    SET hubspot_id = v_id, hubspot_last_sync_at = now()
                    WHERE b.id = v_booking.id;
                    v_linked := v_linked + 1;
                ELSIF v_booking.hubspot_id <> v_id THEN
                    PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                        format('booking %s is already HubSpot booking %s: HubSpot holds a '
                               'duplicate', coalesce(v_booking.booking_id, v_code),
                               v_booking.hubspot_id));
                ELSE
                    v_matched := v_matched + 1;
                END IF;
            ELSE
                v_exam_id := mockbook_internal.pulled_text(v_props, 'associated_mock_exam', true);
                -- read, not locked: the exams are locked last, in order, for the recount below
                v_exam := mockbook_internal.find_exam(v_exam_id);
                v_status := initcap(mockbook_internal.pulled_text(v_props, 'is_active', true));
                IF v_status NOT IN ('Active', 'Cancelled', 'Completed', 'Failed') THEN
                    PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                        format('property is_active is not Active, Cancelled, Completed or Failed: %s',
                               left(v_status, 80)));
                END IF;
                v_attendance := initcap(mockbook_internal.pulled_text(v_props, 'attendance'));
                IF v_attendance NOT IN ('Yes', 'No') THEN
                    PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                        format('property attendance is not Yes or No: %s', left(v_attendance, 80)));
                END IF;
                v_student := mockbook_internal.pulled_text(v_props, 'student_id');
                v_email := mockbook_internal.pulled_text(v_props, 'email');
                v_contact_hs := mockbook_internal.pulled_text(v_props, 'associated_contact_id');
                IF (v_student IS NULL OR v_email IS NULL) AND v_contact_hs IS NOT NULL THEN
                    SELECT coalesce(v_student, c.student_id), coalesce(v_email, c.email)
                    INTO v_student, v_email
                    FROM hubspot_sync.hubspot_contact_credits AS c
                    WHERE c.hubspot_id = v_contact_hs;
                END IF;
                IF v_student IS NULL THEN
                    PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                        'missing property student_id (and no known associated contact)');
                END IF;
                INSERT INTO hubspot_sync.hubspot_bookings (
                    hubspot_id, booking_id, associated_mock_exam, associated_contact_id,
                    student_id, name, student_email, is_active, attendance, dominant_hand,
                    attending_location, token_used, start_time, end_time, exam_date, mock_type,
                    mock_set, idempotency_key, hubspot_last_sync_at, created_at)
                VALUES (
                    v_id, v_code, v_exam.hubspot_id, v_contact_hs, v_student,
                    mockbook_internal.pulled_text(v_props, 'name'), v_email, v_status, v_attendance,
                    mockbook_internal.pulled_text(v_props, 'dominant_hand'),
                    mockbook_internal.pulled_text(v_props, 'attending_location'),
                    mockbook_internal.pulled_text(v_props, 'token_used'),
                    coalesce(mockbook_internal.pulled_text(v_props, 'start_time'), v_exam.start_time),
                    coalesce(mockbook_internal.pulled_text(v_props, 'end_time'), v_exam.end_time),
                    coalesce(mockbook_internal.pulled_date(v_props, 'exam_date'), v_exam.exam_date),
                    coalesce(mockbook_internal.pulled_text(v_props, 'mock_type'), v_exam.mock_type),
                    v_exam.mock_set, v_key, now(),
                    -- made when HubSpot made it (daily_booking_trends), not when imported
                    mockbook_internal.pulled_created_at(v_item))
                RETURNING id INTO v_new_id;
                v_inserted := v_inserted + 1;
                v_new_ids := v_new_ids || to_jsonb(v_new_id);
                IF v_status = 'Active' AND NOT v_exam.hubspot_id = ANY (v_exam_ids) THEN
                    v_exam_ids := v_exam_ids || v_exam.hubspot_id;
                END IF;
            END IF;
            PERFORM mockbook_internal.note_pull_outcome('hubspot_bookings', v_id, NULL);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
                                    v_detail = PG_EXCEPTION_DETAIL;
            v_failed := mockbook_internal.pull_record_failed('hubspot_bookings', v_id, v_item, v_state,
                                                        v_message, v_detail);
            v_retry := v_retry || coalesce(v_failed -> 'retry', '[]');
            v_errors := v_errors || coalesce(v_failed -> 'error', '[]');
        END;
    END LOOP;

    FOR v_exam_id IN SELECT x.id FROM unnest(v_exam_ids) AS x(id) ORDER BY x.id LOOP
        PERFORM mockbook_internal.lock_exam(v_exam_id);
        UPDATE hubspot_sync.hubspot_mock_exams AS e
        SET total_bookings = n.active
        FROM (SELECT count(*)::integer AS active FROM hubspot_sync.hubspot_bookings AS b
              WHERE b.associated_mock_exam = v_exam_id AND b.is_active = 'Active') AS n
        WHERE e.hubspot_id = v_exam_id AND e.total_bookings IS DISTINCT FROM n.active;
        IF FOUND THEN
            v_recounted := v_recounted + 1;
        END IF;
    END LOOP;

    RETURN jsonb_build_object(
        'inserted', v_inserted, 'inserted_ids', v_new_ids, 'linked', v_linked, 'matched', v_matched, 'errors', v_errors,
        'retry', v_retry, 'exams_recounted', v_recounted);
END
$$;

COMMENT ON FUNCTION mockbook_internal.apply_pulled_bookings(jsonb, text) IS
'Glue (import, reconcile): bring HubSpot bookings into Postgres, matched by HubSpot id, booking code
or idempotency key (never duplicated; a match only gets its HubSpot id), new ones inserted without
moving credits and with HubSpot''s createdAt as created_at (now() when missing or malformed),
malformed ones reported and dead-lettered; then the touched exams'' total_bookings are recounted.
Returns {inserted, inserted_ids, linked, matched, errors, retry, exams_recounted}. Errors:
INVALID_ARGUMENT.';
REVOKE ALL ON FUNCTION mockbook_internal.apply_pulled_bookings(jsonb, text)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.apply_pulled_bookings(jsonb, text) TO mockbook_glue;
