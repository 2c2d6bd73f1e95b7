-- Frozen copy of db/functions/api/join_waitlist.sql (changed).
-- Why: a full exam's students wait in order for a seat. Checked first without the exam's lock, so
-- a rush's refusals never queue on a hot row, then again under it, so a freed seat is either seen
-- or offered to the new place.
CREATE OR REPLACE FUNCTION hubspot_sync.join_waitlist(
    p_student_id text,
    p_email text,
    p_mock_exam_id text,
    p_attending_location text DEFAULT NULL,
    p_dominant_hand text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_contact hubspot_sync.hubspot_contact_credits;
    v_exam hubspot_sync.hubspot_mock_exams;
    v_place hubspot_sync.waitlist_entries;
    v_existing boolean := true;
    v_locked boolean;
    v_booked integer;
    v_capacity integer;
    v_held integer;
    v_size integer;
    v_waiting integer;
BEGIN
    -- create_booking's argument checks; a constant stands in for the key (none: idempotent)
    PERFORM mockbook_internal.validate_booking_args(p_student_id, p_email, p_mock_exam_id,
                                               'waitlist', p_attending_location,
                                               p_dominant_hand);
    PERFORM mockbook_internal.check_student_caller(p_student_id, 'join_waitlist');
    v_contact := mockbook_internal.find_contact(p_student_id, p_email);
    v_exam := mockbook_internal.find_exam(p_mock_exam_id);
    v_contact := mockbook_internal.lock_contact(v_contact.id);

    SELECT w.* INTO v_place FROM hubspot_sync.waitlist_entries AS w
    WHERE w.mock_exam_id = v_exam.hubspot_id AND w.student_id = v_contact.student_id
      AND w.status IN ('waiting', 'offered');
    IF v_place.id IS NULL THEN
        v_existing := false;
        PERFORM mockbook_internal.check_exam_for_student(v_exam, v_contact.student_id,
                                                    p_attending_location, p_dominant_hand,
                                                    p_check_capacity := false);
        v_size := (mockbook_internal.booking_rule('waitlist_size') #>> '{}')::integer;
        -- first pass unlocked, second under the exam's lock
        FOREACH v_locked IN ARRAY ARRAY[false, true] LOOP
            IF v_locked THEN
                v_exam := mockbook_internal.lock_exam(v_exam.hubspot_id);
            END IF;
            SELECT coalesce(e.total_bookings, 0), coalesce(e.capacity, 0),
                   (SELECT count(*)::integer FROM hubspot_sync.waitlist_entries AS w
                    WHERE w.mock_exam_id = e.hubspot_id AND w.status = 'offered'
                      AND w.offer_expires_at > mockbook_internal.clock_now()),
                   (SELECT count(*)::integer FROM hubspot_sync.waitlist_entries AS w
                    WHERE w.mock_exam_id = e.hubspot_id AND w.status = 'waiting')
            INTO v_booked, v_capacity, v_held, v_waiting
            FROM hubspot_sync.hubspot_mock_exams AS e
            WHERE e.id = v_exam.id;
            IF v_booked + v_held < v_capacity THEN
                PERFORM mockbook_internal.raise_error('EXAM_NOT_FULL',
                    format('Exam %s has free seats (%s of %s booked, %s held for offers).',
                           v_exam.hubspot_id, v_booked, v_capacity, v_held));
            END IF;
            IF v_waiting >= v_size THEN
                PERFORM mockbook_internal.raise_error('WAITLIST_FULL',
                    format('Exam %s already has %s students waiting (the limit).',
                           v_exam.hubspot_id, v_waiting));
            END IF;
        END LOOP;
        INSERT INTO hubspot_sync.waitlist_entries AS w (
            mock_exam_id, student_id, contact_id, attending_location, dominant_hand)
        VALUES (v_exam.hubspot_id, v_contact.student_id, v_contact.id, p_attending_location,
                p_dominant_hand)
        RETURNING w.* INTO v_place;
    END IF;

    RETURN jsonb_build_object(
        'success', true,
        'already_waiting', v_existing,
        'waitlist_id', v_place.id,
        'mock_exam_id', v_place.mock_exam_id,
        'student_id', v_place.student_id,
        'status', v_place.status,
        'position', CASE WHEN v_place.status = 'waiting' THEN
            (SELECT count(*)::integer FROM hubspot_sync.waitlist_entries AS w
             WHERE w.mock_exam_id = v_place.mock_exam_id AND w.status = 'waiting'
               AND w.id <= v_place.id) END,
        'offer_expires_at', v_place.offer_expires_at);
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

COMMENT ON FUNCTION hubspot_sync.join_waitlist(text, text, text, text, text) IS
'A student takes a place on a full exam''s waitlist. Idempotent: one open place (waiting or
offered) per student and exam; joining again returns it with `already_waiting: true`. The
location / hand (as `create_booking` requires them) are kept for the booking. Returns
`{success, already_waiting, waitlist_id, mock_exam_id, student_id, status, position,
offer_expires_at}` (`position` 1 = next to be offered; null once offered).
Errors: `INVALID_ARGUMENT`, `CONTACT_NOT_FOUND`, `EXAM_NOT_FOUND`, `EXAM_NOT_ACTIVE`,
`EXAM_IN_PAST`, `PREREQUISITE_NOT_MET`, `DUPLICATE_BOOKING` (already booked on it),
`EXAM_NOT_FULL` (book it instead), `WAITLIST_FULL`, `BUSY`. Locks: the student''s contact, then
the exam, last (fullness and size checked under it); a refusal is decided without the lock.';
REVOKE ALL ON FUNCTION hubspot_sync.join_waitlist(text, text, text, text, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.join_waitlist(text, text, text, text, text) TO service_role;
