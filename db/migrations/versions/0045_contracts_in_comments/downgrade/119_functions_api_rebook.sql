-- Undo db/functions/api/rebook.sql (moved).
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
 * then the actor (mockbook_internal.request_actor). p_idempotency_key stays required.
 * Checks, in order:
 *   1. arguments                                                         -> INVALID_ARGUMENT
 *   2. idempotency key, fingerprint ('rebook', p_booking_id, p_new_mock_exam_id): a replay
 *      returns the first call's result, stored in hubspot_sync.idempotency_results, with
 *      idempotent_replay true and nothing else changed (after the store's retention,
 *      or for a rebook made before it, the result is rebuilt from the rows)
 *                                                                  -> IDEMPOTENCY_KEY_REUSED
 *   3. the booking exists                                               -> BOOKING_NOT_FOUND
 *   4. it is Active                                                    -> REBOOK_NOT_ALLOWED
 *   5. the new exam exists                                                 -> EXAM_NOT_FOUND
 *   6. it is another exam, of the same mock type, open and not past    -> REBOOK_NOT_ALLOWED
 *      (EXAM_NOT_ACTIVE / EXAM_IN_PAST are reported as REBOOK_NOT_ALLOWED with the reason)
 *   7. prerequisites, duplicate (the booking being moved does not count against itself),
 *      capacity of the new exam     -> PREREQUISITE_NOT_MET, DUPLICATE_BOOKING, EXAM_FULL
 * Checks 3-7 run once, under the contact and booking locks (capacity last: the new exam's seat
 * is taken by a conditional update at the end, mockbook_internal.take_seat).
 * Steps 2-7 and the move run in the booking pipeline, mockbook_internal.book (mode 'rebook').
 * Returns the create_booking result for the new booking, plus
 *   rebooked_from: {id, booking_id, mock_exam_id, status} of the old (now Cancelled) booking
 *   and previous_exam_total_bookings.
 * Errors: as listed, and BUSY.
 * Locks: the idempotency key's advisory lock, the contact row, the old booking row, the
 * student's open waitlist places on the new exam and the other exams of its type and day
 * (closed: 'left', a held offer on the new exam used; mockbook_internal.close_day_places),
 * ascending id, then by the last statements the two exam rows and those of the exams whose
 * closed offer is passed on, in ascending hubspot_id order.
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
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_actor text;
BEGIN
    -- 1. arguments
    PERFORM mockbook_internal.check_text_arg('p_booking_id', p_booking_id, true, 255);
    PERFORM mockbook_internal.check_text_arg('p_new_mock_exam_id', p_new_mock_exam_id, true, 255);
    PERFORM mockbook_internal.check_idempotency_key_arg(p_idempotency_key, true);
    PERFORM mockbook_internal.check_text_arg('p_actor', p_actor, false, 255);
    v_actor := mockbook_internal.request_actor(p_actor);
    IF v_actor IS NOT NULL THEN
        PERFORM set_config('mockbook.actor', v_actor, true);
    END IF;
    -- a student's JWT moves only the student's own booking (and book applies the scheduling
    -- rules to it, as to a new booking); an admin's JWT or the service-role key moves any
    IF v_actor LIKE 'user:%' THEN
        PERFORM mockbook_internal.check_student_caller(
            (mockbook_internal.booking_by_ref(p_booking_id)).student_id, 'rebook');
    END IF;

    -- 2.-7. and the move: the booking pipeline (mode 'rebook'; its result stored under the key)
    RETURN mockbook_internal.book(
        'rebook', NULL, NULL, p_new_mock_exam_id, p_idempotency_key,
        mockbook_internal.booking_fingerprint('rebook', p_booking_id, p_new_mock_exam_id),
        p_old_booking := p_booking_id, p_actor := v_actor);
END
$$;

COMMENT ON FUNCTION hubspot_sync.rebook(text, text, text, text) IS
'Moves an Active booking (uuid, booking code or HubSpot id) to another open exam of the same mock type, atomically: the old booking is cancelled and a new one (new booking code, same token_used) is created; the credit moves with it (no balance change; a +1/-1 pair of rebook ledger rows); total_bookings -1 on the old exam, +1 on the new. Idempotent per key (a replay returns the first result with idempotent_replay true and changes nothing). The actor is the request''s JWT user when there is one, else p_actor. Errors: INVALID_ARGUMENT, IDEMPOTENCY_KEY_REUSED, BOOKING_NOT_FOUND, EXAM_NOT_FOUND, REBOOK_NOT_ALLOWED (not Active, same exam, other mock type, exam not open or past), PREREQUISITE_NOT_MET, DUPLICATE_BOOKING, EXAM_FULL, BUSY. Returns the create_booking result of the new booking plus rebooked_from and previous_exam_total_bookings. Locks: key, contact, booking, the student''s open waitlist places on exams of the new exam''s type and day, then both exams (and those whose closed offer is passed on) in hubspot_id order by the last statements.';
REVOKE ALL ON FUNCTION hubspot_sync.rebook(text, text, text, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.rebook(text, text, text, text) TO service_role;
