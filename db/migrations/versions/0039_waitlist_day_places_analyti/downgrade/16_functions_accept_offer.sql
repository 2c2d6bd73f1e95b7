-- Undo db/functions/accept_offer.sql (changed).
-- Frozen copy of db/functions/accept_offer.sql (changed).
/**
 * hubspot_sync.accept_offer(p_student_id text, p_email text, p_mock_exam_id text) -> jsonb
 *
 * A student takes the seat a waitlist offer holds for them (issue 16): the booking is made and
 * its credit spent now, in one transaction, as create_booking's (mockbook_internal.new_booking_row /
 * insert_booking, apply_credit_delta reason 'booking', the seat by take_seat last), with the
 * place's attending location and dominant hand. The held seat cannot be taken by anyone else
 * meanwhile: take_seat counts held offers against the capacity.
 * Checks, in order: arguments (INVALID_ARGUMENT); contact (CONTACT_NOT_FOUND); exam
 * (EXAM_NOT_FOUND); the student's latest place on the exam: none, left, still waiting or
 * closed (its exam's day passed, process_waitlist) -> OFFER_NOT_FOUND; expired (or offered
 * with offer_expires_at passed) -> OFFER_EXPIRED; already accepted -> its booking again,
 * idempotent_replay true, nothing changes; then create_booking's
 * steps 4, 6, 7 (EXAM_NOT_ACTIVE, EXAM_IN_PAST, PREREQUISITE_NOT_MET, DUPLICATE_BOOKING), the
 * scheduling rules (BOOKING_CLOSED, TIME_CONFLICT, BOOKING_LIMIT_REACHED) and a credit
 * (INSUFFICIENT_CREDITS, INVALID_EXAM_TYPE). A refused acceptance leaves the offer as it was
 * (held until it expires). The booking's idempotency key is 'waitlist-offer-<place id>', a
 * prefix no caller may use (mockbook_internal.check_idempotency_key_arg). Should a booking made
 * before that prefix was reserved hold the key already, the booking gets
 * 'waitlist-offer-<place id>-<booking uuid>' instead, so the offer stays acceptable.
 * Returns create_booking's object (mockbook_internal.booking_json) plus waitlist_id.
 * Errors: as listed, and BUSY (the contact, the place or the exam held by another transaction
 * longer than mockbook.lock_timeout), EXAM_FULL (the capacity was lowered under held offers and
 * this offer is beyond it: the Active bookings, this one included, and the offers made before
 * this one, lower place id, exceed the capacity; the offers within it stay acceptable).
 * Locks: the contact (lock_contact), the place (lock_waitlist_entry), then the exam by the last
 * statement (take_seat without its own count of held offers; this place's rank is counted
 * after it, under the exam's lock).
 */
CREATE OR REPLACE FUNCTION hubspot_sync.accept_offer(p_student_id text, p_email text,
                                                    p_mock_exam_id text)
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
    v_booking hubspot_sync.hubspot_bookings;
    v_row hubspot_sync.hubspot_bookings;
    v_credit record;
    v_balance integer;
    v_key text;
    v_fingerprint text;
    v_held integer;
BEGIN
    PERFORM mockbook_internal.validate_booking_args(p_student_id, p_email, p_mock_exam_id,
                                               'waitlist', NULL, NULL);
    v_contact := mockbook_internal.find_contact(p_student_id, p_email);
    v_exam := mockbook_internal.find_exam(p_mock_exam_id);
    v_contact := mockbook_internal.lock_contact(v_contact.id);

    -- the student's latest place (a new one is only made under the contact's lock, held now),
    -- then locked by lock_waitlist_entry: BUSY, not an unbounded wait, while another
    -- transaction holds it
    SELECT w.* INTO v_place FROM hubspot_sync.waitlist_entries AS w
    WHERE w.mock_exam_id = v_exam.hubspot_id AND w.student_id = v_contact.student_id
    ORDER BY w.id DESC LIMIT 1;
    IF v_place.id IS NOT NULL THEN
        v_place := mockbook_internal.lock_waitlist_entry(v_place.id);
    END IF;
    -- 'closed': process_waitlist closed it with its exam's day; the exam moved to a later day
    -- since does not reopen it (before, such a place went on to book: a raw 23514 for one
    -- never offered, a seat taken without an offer for one offered)
    IF v_place.id IS NULL OR v_place.status IN ('waiting', 'left', 'closed') THEN
        PERFORM mockbook_internal.raise_error('OFFER_NOT_FOUND',
            format('%s holds no offer for exam %s (%s).', v_contact.student_id,
                   v_exam.hubspot_id, coalesce('place ' || v_place.status, 'not on its waitlist')));
    ELSIF v_place.status = 'accepted' THEN
        SELECT b.* INTO v_booking FROM hubspot_sync.hubspot_bookings AS b
        WHERE b.id = v_place.booking_id;
        RETURN mockbook_internal.booking_result(v_booking, true)
               || jsonb_build_object('waitlist_id', v_place.id);
    ELSIF v_place.status = 'expired' OR v_place.offer_expires_at <= now() THEN
        PERFORM mockbook_internal.raise_error('OFFER_EXPIRED',
            format('The offer of exam %s to %s expired at %s.', v_exam.hubspot_id,
                   v_contact.student_id, v_place.offer_expires_at));
    END IF;

    PERFORM mockbook_internal.check_exam_for_student(v_exam, v_contact.student_id,
                                                v_place.attending_location, v_place.dominant_hand,
                                                p_check_fields := false,
                                                p_check_capacity := false);
    PERFORM mockbook_internal.check_booking_rules(v_exam, v_contact.student_id);
    SELECT * INTO v_credit FROM mockbook_internal.pick_credit(v_contact, v_exam.mock_type);

    v_key := 'waitlist-offer-' || v_place.id;
    v_fingerprint := mockbook_internal.booking_fingerprint('waitlist', v_contact.student_id,
                                                      lower(p_email), v_exam.hubspot_id,
                                                      v_place.attending_location,
                                                      v_place.dominant_hand);
    v_row := mockbook_internal.new_booking_row(
        v_contact, v_exam, v_place.attending_location, v_place.dominant_hand, NULL, NULL,
        v_credit.token_used, NULL, v_key, v_fingerprint);
    v_booking := mockbook_internal.insert_booking(v_row);
    IF v_booking.id IS NULL THEN
        -- the key is held by another booking (insert_booking answers NULL): one made before the
        -- prefix was reserved, as this place's own booking would have made it 'accepted'. The
        -- offer must stay acceptable, so this booking's key carries its own uuid too.
        v_row.idempotency_key := v_key || '-' || v_row.id;
        v_booking := mockbook_internal.insert_booking(v_row);
        IF v_booking.id IS NULL THEN
            RAISE EXCEPTION 'mockbook bug: idempotency key % is taken', v_row.idempotency_key
                USING ERRCODE = 'XX000';
        END IF;
    END IF;
    v_balance := mockbook_internal.apply_credit_delta(v_contact.id, v_credit.credit_field, -1,
                                                 'booking', v_booking.id, v_contact.student_id);
    UPDATE hubspot_sync.waitlist_entries AS w
    SET status = 'accepted', resolved_at = now(), booking_id = v_booking.id
    WHERE w.id = v_place.id;
    -- the seat: take_seat without its own count (it counts every other held offer against
    -- this one), then, under the exam's lock it now holds, this place's rank among the held
    -- offers: the seat is free for it when the Active bookings (this one included) and the
    -- offers made before it fit the capacity. Offers are made in place order (lowest id
    -- first), so a capacity lowered under held offers refuses the latest ones, "the offers
    -- beyond it", and the first ones can still be accepted (before, every held offer counted,
    -- and with one seat left for two offers neither could be accepted until one expired).
    v_exam := mockbook_internal.take_seat(v_exam, p_check_capacity := false);
    SELECT count(*)::integer INTO v_held FROM hubspot_sync.waitlist_entries AS w
    WHERE w.mock_exam_id = v_exam.hubspot_id AND w.status = 'offered' AND w.id < v_place.id;
    IF v_exam.total_bookings + v_held > coalesce(v_exam.capacity, 0) THEN
        PERFORM mockbook_internal.raise_error('EXAM_FULL',
            format('Exam %s has no seat left for this offer (%s of %s seats booked, %s held '
                   'for earlier offers): its capacity was lowered.', v_exam.hubspot_id,
                   v_exam.total_bookings - 1, v_exam.capacity, v_held));
    END IF;

    -- the result's shape is booking_json's (the one place it is written), plus waitlist_id
    RETURN mockbook_internal.booking_json(v_booking, false, v_credit.credit_field, v_balance,
                                          v_exam.total_bookings, v_exam.capacity)
           || jsonb_build_object('waitlist_id', v_place.id);
END
$$;

COMMENT ON FUNCTION hubspot_sync.accept_offer(text, text, text) IS
'A student accepts the waitlist offer holding a seat for them: the booking is made and one credit spent now (as create_booking). Errors: INVALID_ARGUMENT, CONTACT_NOT_FOUND, EXAM_NOT_FOUND, OFFER_NOT_FOUND, OFFER_EXPIRED, EXAM_NOT_ACTIVE, EXAM_IN_PAST, PREREQUISITE_NOT_MET, DUPLICATE_BOOKING, BOOKING_CLOSED, TIME_CONFLICT, BOOKING_LIMIT_REACHED, INVALID_EXAM_TYPE, INSUFFICIENT_CREDITS, EXAM_FULL (a capacity lowered under held offers: the offers beyond it), BUSY (a row held longer than mockbook.lock_timeout). An accepted offer answers again with idempotent_replay true. Returns create_booking''s object plus waitlist_id. Locks: contact, place, exam last.';
REVOKE ALL ON FUNCTION hubspot_sync.accept_offer(text, text, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.accept_offer(text, text, text) TO service_role;
