-- Undo db/functions/api/create_booking_atomic.sql (moved).
-- Frozen copy of db/functions/create_booking_atomic.sql (changed).
/**
 * hubspot_sync.create_booking_atomic(p_booking_id text, p_student_id text, p_student_email text,
 *     p_mock_exam_id text, p_student_name text, p_token_used text, p_attending_location text,
 *     p_dominant_hand text, p_idempotency_key text, p_credit_field text,
 *     p_new_credit_value integer, p_mock_set text DEFAULT NULL) -> jsonb
 *
 * DEPRECATED: use hubspot_sync.create_booking. Kept for the original booking API, with the
 * production signature exactly (../shared/production dump; the app calls it with all twelve
 * named arguments): the app generated the booking code (p_booking_id, its format
 * `<mock type>-<student id>-<Month D, YYYY>`), chose the credit field and computed the new
 * absolute balance (p_new_credit_value) itself.
 * Now implemented on the create_booking logic, with the app's numbers verified, never written:
 *   - p_attending_location as the original app spells it ('Mississauga', 'Richmond Hill',
 *     'Mississauga - B9', 'TBD', 'Online', 'Virtual', ... or a code): mapped to mockbook's
 *     location code, or NULL where it names no campus, by legacy_attending_location before
 *     anything else (the fingerprint and the stored row hold the code); another value
 *                                                                    -> INVALID_ARGUMENT
 *   - p_dominant_hand stored as sent: the app sends JSON true (PostgREST passes 'true', the
 *     spelling production and HubSpot use for right-handed) or 'Right'
 *   - arguments as create_booking (email under the name p_student_email), plus p_credit_field
 *     required, one of the five credit fields, and able to pay for the exam's mock type
 *     (credit_rules; the app's choice is honoured, e.g. shared before sj), p_token_used when
 *     given must be that field's label, p_new_credit_value required, p_mock_set NULL or one of
 *     A-H                                                             -> INVALID_ARGUMENT
 *   - p_booking_id already used by another booking (the original app reuses its code when a
 *     student cancels and rebooks): the new booking gets <code>-R<n> (the smallest free n >= 2)
 *     and keeps p_booking_id in legacy_booking_id (README: legacy booking codes)
 *   - idempotency, contact, exam, per-type fields, prerequisites, duplicate, capacity: as
 *     create_booking (the fingerprint is create_booking's, so either function replays the other),
 *     except that a key whose booking is no longer Active or Completed (cancelled, failed)
 *     books again: the app's key repeats when a student rebooks within 5 minutes, so that is a
 *     new request; it is booked under the key's next rebook key (<key>~rebook-N, N = 1..20,
 *     the first not cancelled: a retry of the rebook replays it). A key of over 240
 *     characters, or a 21st rebook                                -> IDEMPOTENCY_KEY_REUSED
 *   - the field's true balance is 0                                  -> INSUFFICIENT_CREDITS
 *   - p_new_credit_value <> true balance - 1, read under the contact lock (a concurrent change
 *     the app did not see, e.g. two bookings of one student at once): the booking is made all
 *     the same, the credit spent relatively, and the ledger row's note records the value the
 *     app expected (the original wrote the absolute value and lost a deduction; refusing
 *     would show the student an error the original never gave)
 *   - then one credit is spent relatively (apply_credit_delta, reason 'booking'), the booking
 *     inserted (token_used of p_credit_field, mock_set p_mock_set), total_bookings + 1.
 * Returns the create_booking result with production's keys: success, booking_id (the booking's
 * uuid, as production returned it), booking_code (the code stored), contact_hubspot_id,
 * mock_exam_hubspot_id.
 * Errors: INVALID_ARGUMENT, IDEMPOTENCY_KEY_REUSED, CONTACT_NOT_FOUND, EXAM_NOT_FOUND,
 * EXAM_NOT_ACTIVE, EXAM_IN_PAST, PREREQUISITE_NOT_MET, DUPLICATE_BOOKING, EXAM_FULL,
 * INVALID_EXAM_TYPE, INSUFFICIENT_CREDITS, BUSY.
 * Locks: the idempotency key's advisory lock (on a rebook also those of the rebook keys it
 * tries, before any row), then the contact row, the student's open
 * waitlist places on the exam and the other exams of its type and day (closed: 'left', a held
 * offer on the exam used; mockbook_internal.close_day_places), ascending id, then by the last
 * statements the exam row (mockbook_internal.take_seat) and those of the exams whose closed
 * offer is passed on, ascending HubSpot id.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.create_booking_atomic(
    p_booking_id text,
    p_student_id text,
    p_student_email text,
    p_mock_exam_id text,
    p_student_name text,
    p_token_used text,
    p_attending_location text,
    p_dominant_hand text,
    p_idempotency_key text,
    p_credit_field text,
    p_new_credit_value integer,
    p_mock_set text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_location text;
    v_result jsonb;
    v_key text;
    v_rebook integer := 0;
BEGIN
    -- production's signature: a not-found error keeps the words the original apps match on
    PERFORM pg_catalog.set_config('mockbook.compat_messages', 'on', true);
    -- 1. arguments (the original app's location spellings mapped to codes first)
    v_location := mockbook_internal.legacy_attending_location(p_attending_location);
    PERFORM mockbook_internal.validate_booking_args(p_student_id, p_student_email, p_mock_exam_id,
                                               p_idempotency_key, v_location,
                                               p_dominant_hand, 'p_student_email');
    PERFORM mockbook_internal.check_text_arg('p_student_name', p_student_name, false, 255);
    PERFORM mockbook_internal.check_text_arg('p_booking_id', p_booking_id, false, 255);
    IF p_booking_id IS NOT NULL AND btrim(p_booking_id) = '' THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'p_booking_id must not be blank.');
    END IF;
    PERFORM mockbook_internal.check_text_arg('p_token_used', p_token_used, false, 255);
    PERFORM mockbook_internal.check_credit_field('p_credit_field', p_credit_field);
    IF p_new_credit_value IS NULL OR p_new_credit_value < 0 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'p_new_credit_value is required and not negative.');
    END IF;
    IF p_mock_set IS NOT NULL
       AND NOT p_mock_set = ANY (enum_range(NULL::hubspot_sync.mock_set_letter)::text[]) THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'p_mock_set must be one of A-H.');
    END IF;

    -- 2.-10. the booking pipeline (mode 'legacy'; create_booking's fingerprint)
    -- 11. the original app derives its key from (contact, exam, date, type, 5-minute bucket):
    -- a student who cancels and books the exam again within those minutes repeats it. The key's
    -- booking no longer Active/Completed means a new request, not a retry: it is booked under
    -- the key's next rebook key (<key>~rebook-1, -2, ...), so the student gets the booking the
    -- original gave (and a retry of that rebook replays it), never an error or a replay telling
    -- the student a cancelled booking was booked. Only the key's advisory locks are held between
    -- the attempts (a replay locks no row), each call's chain its own: no cycle.
    v_key := p_idempotency_key;
    LOOP
        v_result := mockbook_internal.book(
            'legacy', p_student_id, p_student_email, p_mock_exam_id, v_key,
            mockbook_internal.booking_fingerprint('booking', p_student_id, lower(p_student_email),
                                             p_mock_exam_id, v_location, p_dominant_hand),
            v_location, p_dominant_hand, p_student_name, p_mock_set, p_booking_id,
            p_credit_field := p_credit_field, p_new_credit_value := p_new_credit_value,
            p_token_used := p_token_used);
        EXIT WHEN NOT (v_result ->> 'idempotent_replay')::boolean
                  OR v_result ->> 'status' IN ('Active', 'Completed');
        v_rebook := v_rebook + 1;
        IF v_rebook > 20 OR length(p_idempotency_key) > 240 THEN
            PERFORM mockbook_internal.raise_error('IDEMPOTENCY_KEY_REUSED',
                format('The key''s booking %s is %s: a new booking needs a new idempotency key.',
                       v_result ->> 'booking_code', v_result ->> 'status'));
        END IF;
        v_key := p_idempotency_key || '~rebook-' || v_rebook;
    END LOOP;
    RETURN v_result;
END
$$;

COMMENT ON FUNCTION hubspot_sync.create_booking_atomic(text, text, text, text, text, text, text, text, text, text, integer, text) IS
'Deprecated: use create_booking. The production booking call (same signature and result keys): the caller''s p_credit_field must pay for the exam''s mock type and its absolute p_new_credit_value is compared with the true balance - 1 under the contact lock, never written: the credit is spent relatively, and a difference (two bookings of one student at once) is noted on the ledger row. p_attending_location may be spelled as the original app sends it (Richmond Hill, Mississauga - Lab D, TBD, Online, Virtual: legacy_attending_location). Otherwise exactly create_booking''s checks, errors and result, but a key whose booking is no longer Active/Completed books again under <key>~rebook-N (the original app repeats its key when a student rebooks within 5 minutes).';
REVOKE ALL ON FUNCTION hubspot_sync.create_booking_atomic(text, text, text, text, text, text, text, text, text, text, integer, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.create_booking_atomic(text, text, text, text, text, text, text, text, text, text, integer, text)
    TO service_role;
