-- Frozen copy of db/functions/api/join_waitlist.sql (new).
/**
 * Why: a full exam's students wait in order for a seat. Fullness and size are first checked
 * without the exam's lock, in one statement, so the many refusals of a rush never queue on a hot
 * exam's row; a join that may succeed then takes the exam's lock and checks again, so joins and
 * freed seats are serialized and a freed seat is either seen or offered to the new place.
 * The contract is the COMMENT ON FUNCTION below.
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
EXCEPTION
    -- the server cannot take the call (disk full, read-only, out of resources): one documented
    -- code, never a raw SQLSTATE naming a file; nothing of the call remains
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
`EXAM_NOT_FULL` (book it instead), `WAITLIST_FULL`, `BUSY`. Locks: the student''s contact,
then the exam (last; the fullness and size checks run under it, so the waitlist never exceeds
`waitlist_size`). A refusal needs no lock: the two checks are made first on one snapshot
without it, so in a rush only the joins that may succeed take turns on the exam''s row (each
for its last statements and the commit) and the refused ones never wait behind them.';
REVOKE ALL ON FUNCTION hubspot_sync.join_waitlist(text, text, text, text, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.join_waitlist(text, text, text, text, text) TO service_role;
