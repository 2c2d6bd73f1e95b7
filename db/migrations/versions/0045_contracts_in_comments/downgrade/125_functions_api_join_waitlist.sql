-- Undo db/functions/api/join_waitlist.sql (moved).
-- Frozen copy of db/functions/join_waitlist.sql (changed).
/**
 * hubspot_sync.join_waitlist(p_student_id, p_email, p_mock_exam_id,
 *     p_attending_location DEFAULT NULL, p_dominant_hand DEFAULT NULL) -> jsonb
 *
 * A student takes a place on a full exam's waitlist. Idempotent: a student who
 * already has an open place (waiting or offered) on the exam gets it back with
 * already_waiting true and nothing changes; one open place per student and exam (unique index).
 * Checks, in order: arguments as create_booking's (INVALID_ARGUMENT); the contact
 * (CONTACT_NOT_FOUND); the exam and what the student would need to book it, create_booking's
 * steps 4-7 (EXAM_NOT_FOUND, EXAM_NOT_ACTIVE, EXAM_IN_PAST, INVALID_ARGUMENT for the location /
 * hand, PREREQUISITE_NOT_MET, DUPLICATE_BOOKING); the exam is full (total_bookings + held
 * offers >= capacity) -> else EXAM_NOT_FULL (book it instead); the waitlist has room (rule
 * waitlist_size) -> else WAITLIST_FULL. No credit is spent or reserved: accept_offer spends it.
 * The location and hand are kept for the booking accept_offer makes.
 * Returns {success, already_waiting, waitlist_id, mock_exam_id, student_id, status, position
 * (1 = next to be offered; NULL once offered), offer_expires_at}.
 * The fullness and size checks are made twice, the same way. First without the exam's lock, in
 * one statement (one snapshot: a state the exam was really in during this call), so a refusal
 * (EXAM_NOT_FULL, WAITLIST_FULL) never queues for a hot exam's row: in a rush most joins are
 * refused, and when all of them waited in one queue on the row, the last ones waited longer than
 * mockbook.lock_timeout (BUSY) once the box was loaded. A join that may succeed then takes the
 * exam's row lock (last, after the contact) and checks again on what is committed by then:
 * successful joins of one exam are serialized with each other and with the seat-freeing
 * functions, so the waitlist never grows past waitlist_size and a seat freed meanwhile is either
 * seen here (EXAM_NOT_FULL) or offered to this place at once.
 * Locks: the student's contact row, then the exam row (last; not for a refusal decided before).
 */
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
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
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
    -- create_booking's argument checks; the waitlist has no idempotency key (it is idempotent
    -- by student and exam), so a constant stands in for it
    PERFORM mockbook_internal.validate_booking_args(p_student_id, p_email, p_mock_exam_id,
                                               'waitlist', p_attending_location,
                                               p_dominant_hand);
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
        -- first pass unlocked (a refusal is decided on one snapshot), second under the exam's
        -- lock (the statement after the lock sees every committed booking, offer and place)
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
END
$$;

COMMENT ON FUNCTION hubspot_sync.join_waitlist(text, text, text, text, text) IS
'A student joins a full exam''s waitlist (idempotent: one open place per student and exam). Errors: INVALID_ARGUMENT, CONTACT_NOT_FOUND, EXAM_NOT_FOUND, EXAM_NOT_ACTIVE, EXAM_IN_PAST, PREREQUISITE_NOT_MET, DUPLICATE_BOOKING, EXAM_NOT_FULL, WAITLIST_FULL, BUSY. Returns {success, already_waiting, waitlist_id, mock_exam_id, student_id, status, position, offer_expires_at}. Locks the contact, then the exam (not for a refusal decided before: the fullness and size are checked once without the exam''s lock, then again under it).';
REVOKE ALL ON FUNCTION hubspot_sync.join_waitlist(text, text, text, text, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.join_waitlist(text, text, text, text, text) TO service_role;
