-- Undo db/functions/rebook.sql (changed).
-- Frozen copy of db/functions/rebook.sql (changed).
/**
 * hubspot_sync.rebook(p_booking_id, p_new_mock_exam_id, p_idempotency_key,
 *                     p_actor DEFAULT NULL) -> jsonb
 *
 * Moves an Active booking to another bookable exam of the same mock type, atomically.
 * How: the old booking is cancelled and a new booking is created on the new exam (a new
 * booking code; same student, name, location, dominant hand and token_used). Not an in-place
 * update, because the booking code is the HubSpot upsert key and HubSpot associations are only
 * ever added: a moved row would stay associated with its old exam in HubSpot. The credit moves
 * with the booking: the balance does not change, and two 'rebook' ledger rows say so — +1 on
 * the old booking, -1 on the new one, on the field token_used names — so every Active booking
 * has a ledger row showing which credit paid for it (cancelling the new booking later refunds
 * that field). Admin Override bookings move without ledger rows.
 * The old booking keeps token_refunded false. total_bookings: old exam - 1, new exam + 1.
 * p_booking_id: the booking's uuid, booking code or HubSpot id. p_actor (optional) names the
 * audit rows (mockbook.actor) and the ledger rows, unless the request's JWT names a user, who is
 * then the actor (hubspot_sync.request_actor). p_idempotency_key stays required (SPEC §4.2: a
 * rebook makes a booking, and every booking carries its key).
 * Checks, in order:
 *   1. arguments                                                         -> INVALID_ARGUMENT
 *   2. idempotency key, fingerprint ('rebook', p_booking_id, p_new_mock_exam_id): a replay
 *      returns the first call's result, stored in hubspot_sync.idempotency_results, with
 *      idempotent_replay true and nothing else changed (issue 14; after the store's retention,
 *      or for a rebook made before it, the result is rebuilt from the rows)
 *                                                                  -> IDEMPOTENCY_KEY_REUSED
 *   3. the booking exists                                               -> BOOKING_NOT_FOUND
 *   4. it is Active                                                    -> REBOOK_NOT_ALLOWED
 *   5. the new exam exists                                                 -> EXAM_NOT_FOUND
 *   6. it is another exam, of the same mock type, open and not past    -> REBOOK_NOT_ALLOWED
 *      (EXAM_NOT_ACTIVE / EXAM_IN_PAST are reported as REBOOK_NOT_ALLOWED with the reason)
 *   7. prerequisites, duplicate (the booking being moved does not count against itself),
 *      capacity of the new exam     -> PREREQUISITE_NOT_MET, DUPLICATE_BOOKING, EXAM_FULL
 * Checks 3-7 run without locks, then 3-7 again under the contact and booking locks (capacity
 * last: the new exam's seat is taken by a conditional update at the end, hubspot_sync.take_seat).
 * Returns the create_booking result for the new booking, plus
 *   rebooked_from: {id, booking_id, mock_exam_id, status} of the old (now Cancelled) booking
 *   and previous_exam_total_bookings.
 * Errors: as listed, and BUSY.
 * Locks: the idempotency key's advisory lock, the contact row, the old booking row, then the
 * two exam rows in ascending hubspot_id order by the last two statements.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.rebook(
    p_booking_id text,
    p_new_mock_exam_id text,
    p_idempotency_key text,
    p_actor text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_fingerprint text;
    v_old hubspot_sync.hubspot_bookings;
    v_new hubspot_sync.hubspot_bookings;
    v_exam hubspot_sync.hubspot_mock_exams;
    v_contact hubspot_sync.hubspot_contact_credits;
    v_reason text;
    v_old_total integer;
    v_field text;
    v_actor text;
    v_stored jsonb;
BEGIN
    -- 1. arguments
    PERFORM hubspot_sync.check_text_arg('p_booking_id', p_booking_id, true, 255);
    PERFORM hubspot_sync.check_text_arg('p_new_mock_exam_id', p_new_mock_exam_id, true, 255);
    IF p_idempotency_key IS NULL OR length(p_idempotency_key) NOT BETWEEN 1 AND 255 THEN
        PERFORM hubspot_sync.raise_error('INVALID_ARGUMENT',
            'p_idempotency_key is required, 1 to 255 characters.');
    END IF;
    PERFORM hubspot_sync.check_text_arg('p_actor', p_actor, false, 255);
    v_actor := hubspot_sync.request_actor(p_actor);
    IF v_actor IS NOT NULL THEN
        PERFORM set_config('mockbook.actor', v_actor, true);
    END IF;

    -- 2. idempotency
    v_fingerprint := hubspot_sync.booking_fingerprint('rebook', p_booking_id, p_new_mock_exam_id);
    v_new := hubspot_sync.claim_idempotency_key(p_idempotency_key, v_fingerprint);
    IF v_new.id IS NOT NULL THEN
        SELECT r.result INTO v_stored FROM hubspot_sync.idempotency_results AS r
        WHERE r.idempotency_key = p_idempotency_key AND r.function_name = 'rebook';
        IF v_stored IS NOT NULL THEN
            RETURN v_stored || jsonb_build_object('idempotent_replay', true);
        END IF;
        v_old := hubspot_sync.booking_by_ref(p_booking_id);
        RETURN hubspot_sync.booking_result(v_new, true) || jsonb_build_object(
            'rebooked_from', jsonb_build_object('id', v_old.id, 'booking_id', v_old.booking_id,
                                                'mock_exam_id', v_old.associated_mock_exam,
                                                'status', v_old.is_active),
            'previous_exam_total_bookings', (
                SELECT e.total_bookings FROM hubspot_sync.hubspot_mock_exams AS e
                WHERE e.hubspot_id = v_old.associated_mock_exam));
    END IF;

    -- 3.-7. without locks, then again under the locks
    v_old := hubspot_sync.booking_by_ref(p_booking_id);
    IF v_old.id IS NULL THEN
        PERFORM hubspot_sync.raise_error('BOOKING_NOT_FOUND',
            format('No booking %L (uuid, booking code or HubSpot id).', p_booking_id));
    END IF;
    FOR i IN 1..2 LOOP
        IF i = 2 THEN
            -- the contact, then the booking; the exams come last (take_seat/release_seat)
            SELECT * INTO v_contact FROM hubspot_sync.hubspot_contact_credits AS c
            WHERE c.student_id = v_old.student_id;
            IF FOUND THEN
                v_contact := hubspot_sync.lock_contact(v_contact.id);
            END IF;
            v_old := hubspot_sync.lock_booking(v_old.id);
            IF v_old.id IS NULL THEN
                PERFORM hubspot_sync.raise_error('BOOKING_NOT_FOUND',
                    format('No booking %L (uuid, booking code or HubSpot id).', p_booking_id));
            END IF;
        END IF;

        IF v_old.is_active IS DISTINCT FROM 'Active' THEN
            PERFORM hubspot_sync.raise_error('REBOOK_NOT_ALLOWED',
                format('Booking %s is %s; only Active bookings can be rebooked.',
                       v_old.booking_id, coalesce(v_old.is_active, 'without status')));
        END IF;
        IF i = 1 THEN
            v_exam := hubspot_sync.find_exam(p_new_mock_exam_id);
        END IF;
        IF v_exam.hubspot_id = v_old.associated_mock_exam THEN
            PERFORM hubspot_sync.raise_error('REBOOK_NOT_ALLOWED',
                format('Booking %s is already on exam %s.', v_old.booking_id, v_exam.hubspot_id));
        ELSIF v_exam.mock_type IS DISTINCT FROM v_old.mock_type THEN
            PERFORM hubspot_sync.raise_error('REBOOK_NOT_ALLOWED',
                format('Booking %s is a %s booking; exam %s is %s.', v_old.booking_id,
                       v_old.mock_type, v_exam.hubspot_id, v_exam.mock_type));
        END IF;
        v_reason := hubspot_sync.exam_unbookable_reason(v_exam);
        IF v_reason IS NOT NULL THEN
            PERFORM hubspot_sync.raise_error('REBOOK_NOT_ALLOWED',
                format('Exam %s cannot be booked (%s).', v_exam.hubspot_id, v_reason));
        END IF;
        PERFORM hubspot_sync.check_exam_for_student(
            v_exam, v_old.student_id, v_old.attending_location, v_old.dominant_hand,
            p_check_fields := false, p_check_capacity := i = 1, p_ignore_booking_id := v_old.id);
    END LOOP;

    -- move: cancel the old booking, create the new one, count both exams
    UPDATE hubspot_sync.hubspot_bookings AS b
    SET is_active = 'Cancelled', updated_at = now()
    WHERE b.id = v_old.id
    RETURNING * INTO v_old;

    v_new := hubspot_sync.new_booking_row(v_contact, v_exam, v_old.attending_location,
                                          v_old.dominant_hand, v_old.name, NULL,
                                          v_old.token_used, NULL, p_idempotency_key,
                                          v_fingerprint);
    v_new.student_id := v_old.student_id;
    v_new.student_email := v_old.student_email;
    v_new.associated_contact_id := coalesce(v_contact.hubspot_id, v_old.associated_contact_id);
    v_new.ndecc_exam_date := coalesce(v_contact.ndecc_exam_date, v_old.ndecc_exam_date);
    v_new := hubspot_sync.insert_booking(v_new);
    IF v_new.id IS NULL THEN
        -- the key was stored by a writer that bypassed the key lock: undo nothing by hand,
        -- refuse (the whole call rolls back)
        PERFORM hubspot_sync.raise_error('IDEMPOTENCY_KEY_REUSED',
            'The idempotency key was stored concurrently by another writer.');
    END IF;
    -- the credit moves with the booking: a +1/-1 pair of 'rebook' ledger rows (net zero)
    v_field := hubspot_sync.credit_field_of_token(v_old.token_used);
    IF v_field IS NOT NULL AND v_contact.id IS NOT NULL THEN
        PERFORM hubspot_sync.apply_credit_delta(v_contact.id, v_field, 1, 'rebook', v_old.id,
                                                v_actor, format('moved to %s', v_new.booking_id));
        PERFORM hubspot_sync.apply_credit_delta(v_contact.id, v_field, -1, 'rebook', v_new.id,
                                                v_actor, format('moved from %s', v_old.booking_id));
    END IF;

    -- last, the two exams in ascending hubspot_id order: the new one's seat (EXAM_FULL when it
    -- was taken meanwhile: everything above rolls back), the old one's seat given back
    IF v_exam.hubspot_id < v_old.associated_mock_exam THEN
        PERFORM hubspot_sync.take_seat(v_exam);
        v_old_total := hubspot_sync.release_seat(v_old.associated_mock_exam);
    ELSE
        v_old_total := hubspot_sync.release_seat(v_old.associated_mock_exam);
        PERFORM hubspot_sync.take_seat(v_exam);
    END IF;

    RETURN hubspot_sync.store_idempotent_result('rebook', p_idempotency_key, v_fingerprint,
        hubspot_sync.booking_result(v_new, false) || jsonb_build_object(
            'rebooked_from', jsonb_build_object('id', v_old.id, 'booking_id', v_old.booking_id,
                                                'mock_exam_id', v_old.associated_mock_exam,
                                                'status', v_old.is_active),
            'previous_exam_total_bookings', v_old_total));
END
$$;

COMMENT ON FUNCTION hubspot_sync.rebook(text, text, text, text) IS
'Moves an Active booking (uuid, booking code or HubSpot id) to another open exam of the same mock type, atomically: the old booking is cancelled and a new one (new booking code, same token_used) is created; the credit moves with it (no balance change; a +1/-1 pair of rebook ledger rows); total_bookings -1 on the old exam, +1 on the new. Idempotent per key (a replay returns the first result with idempotent_replay true and changes nothing). The actor is the request''s JWT user when there is one, else p_actor. Errors: INVALID_ARGUMENT, IDEMPOTENCY_KEY_REUSED, BOOKING_NOT_FOUND, EXAM_NOT_FOUND, REBOOK_NOT_ALLOWED (not Active, same exam, other mock type, exam not open or past), PREREQUISITE_NOT_MET, DUPLICATE_BOOKING, EXAM_FULL, BUSY. Returns the create_booking result of the new booking plus rebooked_from and previous_exam_total_bookings. Locks: key, both exams in hubspot_id order, contact, booking.';
REVOKE ALL ON FUNCTION hubspot_sync.rebook(text, text, text, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.rebook(text, text, text, text) TO service_role;
