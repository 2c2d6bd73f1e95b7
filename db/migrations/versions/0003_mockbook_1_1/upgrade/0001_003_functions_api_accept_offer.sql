-- Frozen copy of db/functions/api/accept_offer.sql (changed).
-- Why a separate entry point: an offer is a seat already held for one student, so accepting it
-- must not compete for capacity; it runs the booking pipeline's parts with the place's location,
-- hand and a key derived from the place, so a retry is a replay.
CREATE OR REPLACE FUNCTION hubspot_sync.accept_offer(p_student_id text, p_email text,
                                                    p_mock_exam_id text)
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
    v_booking hubspot_sync.hubspot_bookings;
    v_row hubspot_sync.hubspot_bookings;
    v_credit record;
    v_balance integer;
    v_key text;
    v_fingerprint text;
    v_held integer;
    v_place_id bigint;
    v_places bigint[];
    v_offer_exams text[];
    v_exam_id text;
BEGIN
    PERFORM mockbook_internal.validate_booking_args(p_student_id, p_email, p_mock_exam_id,
                                               'waitlist', NULL, NULL);
    PERFORM mockbook_internal.check_student_caller(p_student_id, 'accept_offer');
    v_contact := mockbook_internal.find_contact(p_student_id, p_email);
    v_exam := mockbook_internal.find_exam(p_mock_exam_id);
    v_contact := mockbook_internal.lock_contact(v_contact.id);

    -- the student's latest place, locked in one ascending-id pass with their open places of the
    -- same type and day (closed below): no place is waited for after a higher one
    SELECT w.id INTO v_place_id FROM hubspot_sync.waitlist_entries AS w
    WHERE w.mock_exam_id = v_exam.hubspot_id AND w.student_id = v_contact.student_id
    ORDER BY w.id DESC LIMIT 1;
    IF v_place_id IS NOT NULL THEN
        v_places := mockbook_internal.lock_day_places(v_contact.student_id, v_exam, v_place_id);
        SELECT w.* INTO v_place FROM hubspot_sync.waitlist_entries AS w
        WHERE w.id = v_place_id AND w.id = ANY (v_places);
    END IF;
    -- 'closed' (with its exam's day) stays closed when the exam moves to a later day
    IF v_place.id IS NULL OR v_place.status IN ('waiting', 'left', 'closed') THEN
        PERFORM mockbook_internal.raise_error('OFFER_NOT_FOUND',
            format('%s holds no offer for exam %s (%s).', v_contact.student_id,
                   v_exam.hubspot_id, coalesce('place ' || v_place.status, 'not on its waitlist')));
    ELSIF v_place.status = 'accepted' THEN
        SELECT b.* INTO v_booking FROM hubspot_sync.hubspot_bookings AS b
        WHERE b.id = v_place.booking_id;
        RETURN mockbook_internal.booking_result(v_booking, true)
               || jsonb_build_object('waitlist_id', v_place.id);
    ELSIF v_place.status = 'expired' OR v_place.offer_expires_at <= mockbook_internal.clock_now() THEN
        PERFORM mockbook_internal.raise_error('OFFER_EXPIRED',
            format('The offer of exam %s to %s expired at %s; since then its seat is no longer '
                   'held for them%s.', v_exam.hubspot_id, v_contact.student_id,
                   v_place.offer_expires_at,
                   CASE WHEN v_place.status = 'expired'
                        THEN ' and the waitlist job has offered free seats to the next students'
                        ELSE ' (it is free for anyone to book until the waitlist job offers it '
                             'to the next student in line)' END),
            'Book the exam with create_booking if a seat is free, or join the waitlist again.');
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
        -- an adopted booking holds the key: the offer stays acceptable with the uuid appended
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
    -- the student's other open places of the day could only be refused DUPLICATE_BOOKING now
    v_offer_exams := mockbook_internal.close_day_places(v_exam, v_booking, v_places);
    -- last, the exams, ascending hubspot_id (the lock order). This exam's seat: take_seat
    -- without its count, then this place's rank among the held offers: offers are made lowest
    -- id first, so a capacity lowered under held offers refuses the latest ones only
    FOR v_exam_id IN
        SELECT DISTINCT x.id FROM unnest(v_offer_exams || v_exam.hubspot_id) AS x(id)
        ORDER BY x.id
    LOOP
        IF v_exam_id = v_exam.hubspot_id THEN
            v_exam := mockbook_internal.take_seat(v_exam, p_check_capacity := false);
            -- expiry again by the clock, under the exam's lock: one who took the seat after the
            -- instant committed before this lock was granted
            IF v_place.offer_expires_at <= pg_catalog.clock_timestamp()
                                           + (mockbook_internal.clock_now() - pg_catalog.now())
            THEN
                PERFORM mockbook_internal.raise_error('OFFER_EXPIRED',
                    format('The offer of exam %s to %s expired at %s, while it was being '
                           'accepted; its seat is no longer held for them (it is free for '
                           'anyone to book until the waitlist job offers it to the next '
                           'student in line).', v_exam.hubspot_id, v_contact.student_id,
                           v_place.offer_expires_at),
                    'Book the exam with create_booking if a seat is free, or join the waitlist again.');
            END IF;
            SELECT count(*)::integer INTO v_held FROM hubspot_sync.waitlist_entries AS w
            WHERE w.mock_exam_id = v_exam.hubspot_id AND w.status = 'offered'
              AND w.offer_expires_at > mockbook_internal.clock_now()
              AND w.id < v_place.id;
            IF v_exam.total_bookings + v_held > coalesce(v_exam.capacity, 0) THEN
                PERFORM mockbook_internal.raise_error('EXAM_FULL',
                    format('Exam %s has no seat left for this offer (%s of %s seats booked, %s '
                           'held for earlier offers): its capacity was lowered.',
                           v_exam.hubspot_id, v_exam.total_bookings - 1, v_exam.capacity,
                           v_held));
            END IF;
        ELSE
            PERFORM mockbook_internal.lock_exam(v_exam_id);
        END IF;
        IF v_exam_id = ANY (v_offer_exams) THEN
            PERFORM mockbook_internal.offer_free_seats(v_exam_id);
        END IF;
    END LOOP;

    RETURN mockbook_internal.booking_json(v_booking, false, v_credit.credit_field, v_balance,
                                          v_exam.total_bookings, v_exam.capacity)
           || jsonb_build_object('waitlist_id', v_place.id);
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

COMMENT ON FUNCTION hubspot_sync.accept_offer(text, text, text) IS
'The student books the seat their offer holds, as `create_booking` (ledger reason `booking`,
idempotency key `waitlist-offer-<waitlist_id>`, a prefix reserved for it); accepting again returns
the booking with `idempotent_replay: true`. A refused acceptance leaves the offer held until it
expires. Like any booking, it closes (`left`) the student''s other open places of the same mock
type and day, and their held seats go to the next students in the same transaction.
Returns `create_booking`''s object plus `waitlist_id`.
Errors: `INVALID_ARGUMENT`, `CONTACT_NOT_FOUND`, `EXAM_NOT_FOUND`, `OFFER_NOT_FOUND` (not on the
waitlist, still waiting, left, or closed with its exam''s day), `OFFER_EXPIRED`, `EXAM_NOT_ACTIVE`,
`EXAM_IN_PAST`, `PREREQUISITE_NOT_MET`, `DUPLICATE_BOOKING`, `BOOKING_CLOSED`, `TIME_CONFLICT`,
`BOOKING_LIMIT_REACHED`, `INVALID_EXAM_TYPE`, `INSUFFICIENT_CREDITS`, `EXAM_FULL` (a capacity
lowered under held offers: the offers made earlier stay acceptable), `BUSY`. Locks: the contact;
the place and the student''s open places of its type and day, one ascending-id pass; the exams
last, ascending HubSpot id: its own seat and each exam whose offer was closed.';
REVOKE ALL ON FUNCTION hubspot_sync.accept_offer(text, text, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.accept_offer(text, text, text) TO service_role;
