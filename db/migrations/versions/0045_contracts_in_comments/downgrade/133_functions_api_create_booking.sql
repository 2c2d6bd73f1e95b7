-- Undo db/functions/api/create_booking.sql (moved).
-- Frozen copy of db/functions/create_booking.sql (changed).
/**
 * hubspot_sync.create_booking(p_student_id, p_email, p_mock_exam_id, p_idempotency_key,
 *     p_attending_location DEFAULT NULL, p_dominant_hand DEFAULT NULL,
 *     p_student_name DEFAULT NULL, p_mock_set DEFAULT NULL, p_booking_id DEFAULT NULL) -> jsonb
 *
 * A student books a seat in a mock exam and pays one credit, in one transaction,
 * checking in this order:
 *   1. arguments (mockbook_internal.validate_booking_args; p_student_name and p_booking_id at most
 *      255 characters, p_mock_set one of A-H; a key starting with waitlist-offer-, reserved for
 *      accept_offer's bookings)                                        -> INVALID_ARGUMENT
 *   2. idempotency key (mockbook_internal.claim_idempotency_key): same key and same request
 *      (student, lower(email), exam, location, hand) returns the first call's booking with
 *      idempotent_replay true and changes nothing          -> else IDEMPOTENCY_KEY_REUSED
 *   3. contact by student id + email                                  -> CONTACT_NOT_FOUND
 *   4. exam by HubSpot id, open, not past          -> EXAM_NOT_FOUND, EXAM_NOT_ACTIVE, EXAM_IN_PAST
 *   5. location (SJ, Mini-mock) / dominant hand (CS) present            -> INVALID_ARGUMENT
 *   6. prerequisites booked (Active or Completed)                     -> PREREQUISITE_NOT_MET
 *   7. no other Active/Completed booking of that mock type that day      -> DUPLICATE_BOOKING
 *   8. a free seat (total_bookings + seats held by waitlist offers < capacity; the student's
 *      own offer on the exam, while held, does not count: the booking takes the seat it holds
 *      and the place becomes 'accepted', as accept_offer would make it)      -> EXAM_FULL
 *  8a. the scheduling rules (mockbook_internal.check_booking_rules; all off by default)
 *      -> BOOKING_CLOSED, TIME_CONFLICT, BOOKING_LIMIT_REACHED
 *   9. a credit (mockbook_internal.pick_credit: sj/cs else shared; Mini-mock, Mock Discussion
 *      only their own)                                   -> INVALID_EXAM_TYPE, INSUFFICIENT_CREDITS
 *  10. insert the booking (mockbook_internal.new_booking_row + insert_booking: Active, hubspot_id
 *      NULL, code p_booking_id or BK-YYYYMMDD-XXXXXX, exam date/type/times/mock_set copied from
 *      the exam unless p_mock_set is given, name defaults to the contact's first and last
 *      name; a caller's code already in use -> INVALID_ARGUMENT), spend the credit relatively
 *      (mockbook_internal.apply_credit_delta, reason 'booking', one ledger row), total_bookings + 1.
 * The contact is locked first (after it is found, before the exam's checks), then steps 4-9
 * run once in order, so the first failing check is the error (a full exam answers EXAM_FULL,
 * before the credit is looked at) and the student's bookings and balances cannot change between
 * the checks and the writes; the booking is inserted and paid; the seat is taken last (mockbook_internal.take_seat: a conditional
 * total_bookings + 1, so the exam's row is locked by that statement and the commit only). A seat
 * taken meanwhile by someone else makes that last statement answer EXAM_FULL and the booking and
 * payment roll back; an exam closed or edited meanwhile answers EXAM_NOT_ACTIVE/EXAM_IN_PAST or
 * BUSY. The result is built from the rows in hand (as booking_result would).
 * Returns {success, idempotent_replay, id, booking_id, status, mock_exam_id, mock_type,
 *          exam_date, student_id, token_used, credit_field, credits_remaining, total_bookings,
 *          capacity}.
 * Errors: as listed, and BUSY (a lock not granted within mockbook.lock_timeout, default 2s).
 * Steps 6-7 and 8a are decided again under the contact's lock.
 * The student's open waitlist places on the exam and on the other exams of its mock type and
 * day are closed ('left'; a held offer on the exam 'accepted', used by this booking), and the
 * seat a closed offer held on another exam goes to that exam's next student at once
 * (mockbook_internal.close_day_places, offer_free_seats).
 * Locks: the idempotency key's advisory lock, then the contact row, the student's open
 * waitlist places on exams of that type and day (ascending id), then by the last statements
 * the exam row and those of the exams whose closed offer is passed on (ascending HubSpot id).
 */
CREATE OR REPLACE FUNCTION hubspot_sync.create_booking(
    p_student_id text,
    p_email text,
    p_mock_exam_id text,
    p_idempotency_key text,
    p_attending_location text DEFAULT NULL,
    p_dominant_hand text DEFAULT NULL,
    p_student_name text DEFAULT NULL,
    p_mock_set text DEFAULT NULL,
    p_booking_id text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    -- 1. arguments
    PERFORM mockbook_internal.validate_booking_args(p_student_id, p_email, p_mock_exam_id,
                                               p_idempotency_key, p_attending_location,
                                               p_dominant_hand);
    PERFORM mockbook_internal.check_text_arg('p_student_name', p_student_name, false, 255);
    PERFORM mockbook_internal.check_text_arg('p_booking_id', p_booking_id, false, 255);
    IF p_booking_id IS NOT NULL AND btrim(p_booking_id) = '' THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'p_booking_id must not be blank.');
    END IF;
    IF p_mock_set IS NOT NULL AND p_mock_set NOT IN ('A', 'B', 'C', 'D', 'E', 'F', 'G', 'H') THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'p_mock_set must be one of A-H.');
    END IF;

    -- 2.-10. the booking pipeline (mode 'credit')
    RETURN mockbook_internal.book(
        'credit', p_student_id, p_email, p_mock_exam_id, p_idempotency_key,
        mockbook_internal.booking_fingerprint('booking', p_student_id, lower(p_email),
                                         p_mock_exam_id, p_attending_location, p_dominant_hand),
        p_attending_location, p_dominant_hand, p_student_name, p_mock_set, p_booking_id);
END
$$;

COMMENT ON FUNCTION hubspot_sync.create_booking(text, text, text, text, text, text, text, text, text) IS
'Books a seat for a student and spends one credit, in one transaction. Checks in order: arguments (INVALID_ARGUMENT); idempotency key (same request -> the original booking with idempotent_replay true; other request -> IDEMPOTENCY_KEY_REUSED); contact (CONTACT_NOT_FOUND); exam (EXAM_NOT_FOUND, EXAM_NOT_ACTIVE, EXAM_IN_PAST); location for SJ/Mini-mock, dominant hand for CS (INVALID_ARGUMENT); prerequisites (PREREQUISITE_NOT_MET); one booking per mock type and day (DUPLICATE_BOOKING); capacity, waitlist offers'' held seats counted except the student''s own held offer, whose seat this booking takes (EXAM_FULL); scheduling rules (BOOKING_CLOSED, TIME_CONFLICT, BOOKING_LIMIT_REACHED); credit: sj/cs else shared, Mini-mock and Mock Discussion their own only (INVALID_EXAM_TYPE, INSUFFICIENT_CREDITS). Returns {success, idempotent_replay, id, booking_id, status, mock_exam_id, mock_type, exam_date, student_id, token_used, credit_field, credits_remaining, total_bookings, capacity}. BUSY when a row stays locked longer than mockbook.lock_timeout. The student''s open waitlist places on the exam and on the other exams of its type and day are closed (a held offer on the exam used), a closed offer''s seat offered onward. Locks: key, contact, those places (ascending id), then the exams by the last statements (ascending HubSpot id).';
REVOKE ALL ON FUNCTION hubspot_sync.create_booking(text, text, text, text, text, text, text, text, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.create_booking(text, text, text, text, text, text, text, text, text)
    TO service_role;
