-- Frozen copy of db/functions/internal/book.sql (new).
/**
 * Why: create_booking, admin_create_booking, create_booking_atomic and rebook are one pipeline
 * with four modes, so the steps, their order and the lock order are written once. Everything is
 * checked once under the contact's lock (the exam read without one) and the seat is taken by the
 * last statements, so a hot exam's row is locked only for them and the commit. The modes and
 * steps are the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.book(
    p_mode text,
    p_student_id text,
    p_email text,
    p_mock_exam_id text,
    p_idempotency_key text,
    p_fingerprint text,
    p_attending_location text DEFAULT NULL,
    p_dominant_hand text DEFAULT NULL,
    p_student_name text DEFAULT NULL,
    p_mock_set text DEFAULT NULL,
    p_booking_code text DEFAULT NULL,
    p_override_capacity boolean DEFAULT false,
    p_credit_field text DEFAULT NULL,
    p_new_credit_value integer DEFAULT NULL,
    p_token_used text DEFAULT NULL,
    p_old_booking text DEFAULT NULL,
    p_actor text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_booking hubspot_sync.hubspot_bookings;
    v_note text;
    v_old hubspot_sync.hubspot_bookings;
    v_contact hubspot_sync.hubspot_contact_credits;
    v_exam hubspot_sync.hubspot_mock_exams;
    v_replay boolean;
    v_location text := p_attending_location;
    v_hand text := p_dominant_hand;
    v_field text;
    v_token text;
    v_balance integer;
    v_old_total integer;
    v_reason text;
    v_code text := p_booking_code;
    v_repeat integer := 1;
    v_result jsonb;
    v_offer_exams text[] := '{}';
    v_exam_id text;
BEGIN
    -- 2. idempotency
    v_booking := mockbook_internal.claim_idempotency_key(p_idempotency_key, p_fingerprint);
    v_replay := v_booking.id IS NOT NULL;
    IF p_mode = 'rebook' THEN
        v_old := mockbook_internal.booking_by_ref(p_old_booking);
        IF NOT v_replay AND v_old.id IS NULL THEN
            PERFORM mockbook_internal.raise_error('BOOKING_NOT_FOUND',
                format('No booking %L (uuid, booking code or HubSpot id).', p_old_booking));
        END IF;
    END IF;

    IF NOT v_replay THEN
        -- 3.-9. once, under the contact's (and, rebook, the old booking's) lock, so the
        -- student's bookings and balances cannot change between a check and the writes; the
        -- exam is not locked: its seat is taken by the last statement (take_seat, which checks
        -- the exam again). Checking once (not first without locks and again under them) is
        -- cheaper booking: the contact's lock is only ever contended by calls of the
        -- same student.
        IF p_mode = 'rebook' THEN
            SELECT * INTO v_contact FROM hubspot_sync.hubspot_contact_credits AS c
            WHERE c.student_id = v_old.student_id;
        ELSE
            v_contact := mockbook_internal.find_contact(p_student_id, p_email);
            v_exam := mockbook_internal.find_exam(p_mock_exam_id);
        END IF;
        IF v_contact.id IS NOT NULL THEN
            v_contact := mockbook_internal.lock_contact(v_contact.id);
        END IF;

        IF p_mode = 'rebook' THEN
            v_old := mockbook_internal.lock_booking(v_old.id);
            IF v_old.id IS NULL THEN
                PERFORM mockbook_internal.raise_error('BOOKING_NOT_FOUND',
                    format('No booking %L (uuid, booking code or HubSpot id).', p_old_booking));
            END IF;
            v_location := v_old.attending_location;
            v_hand := v_old.dominant_hand;
            v_token := v_old.token_used;
            v_field := mockbook_internal.credit_field_of_token(v_old.token_used);
            IF v_old.is_active IS DISTINCT FROM 'Active' THEN
                PERFORM mockbook_internal.raise_error('REBOOK_NOT_ALLOWED',
                    format('Booking %s is %s; only Active bookings can be rebooked.',
                           v_old.booking_id, coalesce(v_old.is_active, 'without status')));
            END IF;
            v_exam := mockbook_internal.find_exam(p_mock_exam_id);
            IF v_exam.hubspot_id = v_old.associated_mock_exam THEN
                PERFORM mockbook_internal.raise_error('REBOOK_NOT_ALLOWED',
                    format('Booking %s is already on exam %s.', v_old.booking_id,
                           v_exam.hubspot_id));
            ELSIF v_exam.mock_type IS DISTINCT FROM v_old.mock_type THEN
                PERFORM mockbook_internal.raise_error('REBOOK_NOT_ALLOWED',
                    format('Booking %s is a %s booking; exam %s is %s.', v_old.booking_id,
                           v_old.mock_type, v_exam.hubspot_id, v_exam.mock_type));
            END IF;
            v_reason := mockbook_internal.exam_unbookable_reason(v_exam);
            IF v_reason IS NOT NULL THEN
                PERFORM mockbook_internal.raise_error('REBOOK_NOT_ALLOWED',
                    format('Exam %s cannot be booked (%s).', v_exam.hubspot_id, v_reason));
            END IF;
        END IF;

        PERFORM mockbook_internal.check_exam_for_student(
            v_exam, coalesce(v_contact.student_id, v_old.student_id), v_location, v_hand,
            p_check_fields := p_mode <> 'rebook',
            p_check_capacity := NOT p_override_capacity,
            p_ignore_booking_id := v_old.id);
        -- the scheduling rules bind a student's own booking and a student's own rebook (a
        -- rebook by an admin's JWT or the service-role key is an admin move)
        IF p_mode = 'credit' THEN
            PERFORM mockbook_internal.check_booking_rules(v_exam, v_contact.student_id);
        ELSIF p_mode = 'rebook' AND mockbook_internal.request_actor() LIKE 'user:%' THEN
            PERFORM mockbook_internal.check_booking_rules(
                v_exam, coalesce(v_contact.student_id, v_old.student_id), v_old.id);
        END IF;

        -- 9. the credit
        IF p_mode = 'credit' THEN
            SELECT pc.credit_field, pc.token_used INTO v_field, v_token
            FROM mockbook_internal.pick_credit(v_contact, v_exam.mock_type) AS pc;
        ELSIF p_mode IN ('admin', 'legacy') AND NOT EXISTS (
                SELECT FROM hubspot_sync.credit_rules() AS r
                WHERE r.mock_type = v_exam.mock_type) THEN
            PERFORM mockbook_internal.raise_error('INVALID_EXAM_TYPE',
                format('Mock type %L has no credit rule.', v_exam.mock_type));
        END IF;
        IF p_mode = 'legacy' THEN
            v_field := p_credit_field;
            SELECT r.token_used INTO v_token FROM hubspot_sync.credit_rules() AS r
            WHERE r.mock_type = v_exam.mock_type AND r.credit_field = p_credit_field;
            IF NOT FOUND THEN
                PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                    format('p_credit_field %s cannot pay for a %s exam.', p_credit_field,
                           v_exam.mock_type));
            ELSIF p_token_used IS NOT NULL AND p_token_used IS DISTINCT FROM v_token THEN
                PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                    format('p_token_used must be %L for %s.', v_token, p_credit_field));
            END IF;
            v_balance := mockbook_internal.credit_balance(v_contact, p_credit_field);
            IF v_balance < 1 THEN
                PERFORM mockbook_internal.raise_error('INSUFFICIENT_CREDITS',
                    format('%s has no %s left.', v_contact.student_id, p_credit_field));
            ELSIF p_new_credit_value <> v_balance - 1 THEN
                -- the app computed its absolute value from a balance another call changed
                -- meanwhile (two bookings of one student at once): the booking still spends one
                -- credit relatively, and the ledger row notes what the app expected
                v_note := format('the caller expected %s %s after this booking; it is %s '
                                 '(a concurrent change the caller did not see)',
                                 p_new_credit_value, p_credit_field, v_balance - 1);
            END IF;
        END IF;
        IF p_mode = 'admin' THEN
            v_token := 'Admin Override';
        END IF;

        -- 10. (rebook: cancel the old booking first) insert, spend, and last the seat(s)
        IF p_mode = 'rebook' THEN
            UPDATE hubspot_sync.hubspot_bookings AS b
            SET is_active = 'Cancelled', updated_at = now()
            WHERE b.id = v_old.id
            RETURNING * INTO v_old;
            v_booking := mockbook_internal.new_booking_row(v_contact, v_exam, v_location, v_hand,
                                                      v_old.name, NULL, v_token, NULL,
                                                      p_idempotency_key, p_fingerprint);
            v_booking.student_id := v_old.student_id;
            v_booking.student_email := v_old.student_email;
            v_booking.associated_contact_id := coalesce(v_contact.hubspot_id,
                                                        v_old.associated_contact_id);
            v_booking.ndecc_exam_date := coalesce(v_contact.ndecc_exam_date,
                                                  v_old.ndecc_exam_date);
        ELSE
            IF p_mode = 'legacy' THEN
                -- a repeated legacy code gets <code>-R<n>
                WHILE v_code IS NOT NULL AND EXISTS (SELECT FROM hubspot_sync.hubspot_bookings AS b
                                                     WHERE b.booking_id = v_code) LOOP
                    v_repeat := v_repeat + 1;
                    v_code := p_booking_code || '-R' || v_repeat;
                END LOOP;
            END IF;
            v_booking := mockbook_internal.new_booking_row(
                v_contact, v_exam, v_location, v_hand, p_student_name,
                p_mock_set::hubspot_sync.mock_set_letter, v_token, v_code, p_idempotency_key,
                p_fingerprint);
        END IF;
        v_booking := mockbook_internal.insert_booking(v_booking);

        IF v_booking.id IS NOT NULL
           -- gate: most students booking have no open place at all; for them one index probe
           -- (idx_waitlist_student) replaces close_day_places' two calls and join query. Safe
           -- because the contact's lock is held (taken above, before this statement, whose
           -- snapshot therefore sees every place committed before it): join_waitlist inserts a
           -- place only under that lock, so no open place of the student can appear until the
           -- commit, and an open place never reopens once closed (a place turning from open to
           -- closed meanwhile is one close_day_places would skip anyway). A student without a
           -- contact row (rebook only) has no join_waitlist running either (it needs the row).
           AND EXISTS (SELECT FROM hubspot_sync.waitlist_entries AS w
                       WHERE w.student_id = v_booking.student_id
                         AND w.status IN ('waiting', 'offered')) THEN
            -- the student's open waitlist places the booking leaves them no use for: on this
            -- exam (a held offer there is used: the booking takes its seat) and on the other
            -- exams of its mock type and day (DUPLICATE_BOOKING: an offer there could never be
            -- accepted and held its seat for nobody while the next student waited). Locked
            -- after the contact (and the old booking), ascending id, before any exam, as
            -- places rank; v_offer_exams: the exams whose offer was closed or used, offered
            -- onward once locked below.
            v_offer_exams := mockbook_internal.close_day_places(v_exam, v_booking);
        END IF;

        IF v_booking.id IS NULL THEN
            -- the key was stored by a writer that bypassed the key lock
            IF p_mode = 'rebook' THEN
                -- undo nothing by hand, refuse (the whole call rolls back)
                PERFORM mockbook_internal.raise_error('IDEMPOTENCY_KEY_REUSED',
                    'The idempotency key was stored concurrently by another writer.');
            END IF;
            -- answer as its replay
            v_booking := mockbook_internal.claim_idempotency_key(p_idempotency_key, p_fingerprint);
            v_replay := true;
        ELSIF p_mode = 'rebook' THEN
            -- the credit moves with the booking: a +1/-1 pair of 'rebook' ledger rows (net
            -- zero); the exams below
            IF v_field IS NOT NULL AND v_contact.id IS NOT NULL THEN
                PERFORM mockbook_internal.apply_credit_delta(v_contact.id, v_field, 1, 'rebook',
                                                        v_old.id, p_actor,
                                                        format('moved to %s', v_booking.booking_id));
                v_balance := mockbook_internal.apply_credit_delta(
                    v_contact.id, v_field, -1, 'rebook', v_booking.id, p_actor,
                    format('moved from %s', v_old.booking_id));
            END IF;
        ELSE
            IF v_code IS DISTINCT FROM p_booking_code THEN
                UPDATE hubspot_sync.hubspot_bookings AS b SET legacy_booking_id = p_booking_code
                WHERE b.id = v_booking.id;
            END IF;
            IF p_mode <> 'admin' THEN
                v_balance := mockbook_internal.apply_credit_delta(v_contact.id, v_field, -1,
                                                             'booking', v_booking.id,
                                                             v_contact.student_id, v_note);
            END IF;
        END IF;

        IF NOT v_replay THEN
            -- last, every exam the call changes, ascending hubspot_id (the lock order; each
            -- after every contact, booking and place): the new seat (take_seat: EXAM_FULL
            -- when it was taken meanwhile, and everything above rolls back), the old one's
            -- seat given back (rebook; release_seat offers it), and each exam whose offer
            -- close_day_places closed or used, its free seats offered to the next students
            -- (another exam's: locked by lock_exam, BUSY after mockbook.lock_timeout). Once
            -- an exam is locked the call waits only for later exams of this order: the offers
            -- pick their places SKIP LOCKED.
            FOR v_exam_id IN
                SELECT DISTINCT x.id
                FROM unnest(v_offer_exams || ARRAY[v_exam.hubspot_id,
                                                   v_old.associated_mock_exam]) AS x(id)
                WHERE x.id IS NOT NULL
                ORDER BY x.id
            LOOP
                IF v_exam_id = v_exam.hubspot_id THEN
                    v_exam := mockbook_internal.take_seat(v_exam, NOT p_override_capacity);
                ELSIF v_exam_id = v_old.associated_mock_exam THEN
                    v_old_total := mockbook_internal.release_seat(v_exam_id);
                ELSE
                    PERFORM mockbook_internal.lock_exam(v_exam_id);
                END IF;
                IF v_exam_id = ANY (v_offer_exams)
                   AND v_exam_id IS DISTINCT FROM v_old.associated_mock_exam THEN
                    PERFORM mockbook_internal.offer_free_seats(v_exam_id);
                END IF;
            END LOOP;
        END IF;
    END IF;

    IF v_replay AND p_mode = 'rebook' THEN
        -- the first call's result, as stored under its key
        SELECT r.result INTO v_result FROM hubspot_sync.idempotency_results AS r
        WHERE r.idempotency_key = p_idempotency_key AND r.function_name = 'rebook';
        IF v_result IS NOT NULL THEN
            RETURN v_result || jsonb_build_object('idempotent_replay', true);
        END IF;
    END IF;
    IF v_replay THEN
        v_result := mockbook_internal.booking_result(v_booking, true);
        IF p_mode = 'rebook' THEN
            v_old_total := (SELECT e.total_bookings FROM hubspot_sync.hubspot_mock_exams AS e
                            WHERE e.hubspot_id = v_old.associated_mock_exam);
        END IF;
    ELSE
        v_result := mockbook_internal.booking_json(v_booking, false, v_field, v_balance,
                                              v_exam.total_bookings, v_exam.capacity, v_exam);
    END IF;
    v_result := v_result || CASE p_mode
        WHEN 'admin' THEN jsonb_build_object('over_capacity',
            (v_result ->> 'total_bookings')::integer > coalesce((v_result ->> 'capacity')::integer, 0))
        WHEN 'legacy' THEN jsonb_build_object(
            'booking_id', v_booking.id, 'booking_code', v_booking.booking_id,
            'contact_hubspot_id', v_booking.associated_contact_id,
            'mock_exam_hubspot_id', v_booking.associated_mock_exam)
        WHEN 'rebook' THEN jsonb_build_object(
            'rebooked_from', jsonb_build_object('id', v_old.id, 'booking_id', v_old.booking_id,
                                                'mock_exam_id', v_old.associated_mock_exam,
                                                'status', v_old.is_active),
            'previous_exam_total_bookings', v_old_total)
        ELSE '{}'::jsonb
    END;
    IF p_mode = 'rebook' AND NOT v_replay THEN
        -- a rebook's result is stored under its key (replayed as it was)
        RETURN mockbook_internal.store_idempotent_result('rebook', p_idempotency_key, p_fingerprint,
                                                    v_result);
    END IF;
    RETURN v_result;
END
$$;

COMMENT ON FUNCTION mockbook_internal.book(text, text, text, text, text, text, text, text, text, text, text, boolean, text, integer, text, text, text) IS
'Internal: the one booking pipeline of create_booking (mode credit), admin_create_booking (admin), create_booking_atomic (legacy) and rebook (rebook): idempotency key, contact (locked), exam and its checks, rules, credit, checked once under the contact''s lock, insert (closing the student''s open waitlist places on the exam and on the other exams of its mock type and day; a held offer on the exam is used: the booking takes its seat), spend, the seat taken by the last statements; the result built once. Locks: key, contact, (rebook) booking, the waitlist places (ascending id), then the exam(s) last, ascending HubSpot id (the booked one, the old one, those whose closed offer is passed on).

The one booking pipeline: the steps of create_booking''s contract after the argument checks, shared by the four
entry points, each of which checks its own arguments and names its mode:
  ''credit''  create_booking: the credit is chosen by mockbook_internal.pick_credit and spent; the
            scheduling rules apply (mockbook_internal.check_booking_rules)
  ''admin''   admin_create_booking: no credit (token_used ''Admin Override''); p_override_capacity
            skips the capacity check and takes the seat without it
  ''legacy''  create_booking_atomic: the caller''s p_credit_field must pay for the mock type
            (else INVALID_ARGUMENT; p_token_used, when given, must be its label) and its
            absolute p_new_credit_value is compared with the balance - 1, never written (a
            difference is noted on the ledger row: two bookings of one student at once); a
            repeated p_booking_code is stored as <code>-R<n> with legacy_booking_id = the code
  ''rebook''  rebook: the Active booking p_old_booking (uuid, code or HubSpot id) moves to the
            exam: it is cancelled, the new booking keeps its student, location, hand, name
            and token_used, and the credit moves with it (a +1/-1 pair of ''rebook'' ledger rows)
The steps, in this order (the first failing check is the error; a failed call changes nothing):
  2. the idempotency key (mockbook_internal.claim_idempotency_key with p_fingerprint): a stored
     booking is answered as a replay (idempotent_replay true), nothing changes
  3. the contact (mockbook_internal.find_contact; rebook: the old booking''s student, and the booking
     itself -> BOOKING_NOT_FOUND, REBOOK_NOT_ALLOWED when it is not Active)
  4.-8. the exam (mockbook_internal.find_exam; rebook: another exam of the booking''s mock type,
     open -> REBOOK_NOT_ALLOWED) and mockbook_internal.check_exam_for_student (open, not past,
     location/hand, prerequisites, one booking per type and day, capacity), then the
     scheduling rules (''credit'')
  9. the credit (see the modes)
all once, under the locks: the contact (first in the lock order; rebook: then the old booking),
so the student''s bookings and balances cannot change under us; the exam is read without a lock.
Then: the old booking is cancelled (rebook), the
booking inserted (mockbook_internal.new_booking_row + insert_booking), the student''s open
waitlist places (when they have any: one EXISTS probe first, the common case being none)
closed by mockbook_internal.close_day_places (ascending id, lock_waitlist_entry):
the one on the exam, its held offer used (''accepted'' with the booking: the student''s own held
offer never counts against them, check_exam_for_student, so the booking takes the seat it
holds) or ''left'', and those on the other exams of the mock type and day, ''left'' (the booking
makes them unusable: DUPLICATE_BOOKING), the credit spent relatively
(mockbook_internal.apply_credit_delta, reason ''booking'', actor the student; rebook: the pair, actor
p_actor), and last every exam the call changes, in ascending HubSpot id: the seat taken
(mockbook_internal.take_seat), (rebook) the old one''s seat given back (release_seat), and each
exam whose offer was closed or used, locked (lock_exam) and its free seats offered to the next
students (offer_free_seats), so an exam''s row is locked by those last statements and the
commit only. The result is built from the rows in hand by
mockbook_internal.booking_json (a replay: mockbook_internal.booking_result), plus per mode:
over_capacity (''admin''), booking_id = the uuid, booking_code, contact_hubspot_id,
mock_exam_hubspot_id (''legacy''), rebooked_from and previous_exam_total_bookings (''rebook'':
stored under the key by mockbook_internal.store_idempotent_result, and a replay returns the stored
result, as rebook does; rebuilt from the rows when none is stored).
Errors: those of the steps (see create_booking, admin_create_booking, create_booking_atomic,
rebook), BUSY. Locks: the idempotency key''s advisory lock, the contact row, (rebook) the old
booking row, the student''s open waitlist places on the exam and on the other exams of its
mock type and day (ascending id, lock_waitlist_entry), then the exam row(s) by the last
statement(s), ascending HubSpot id: the booked one, (rebook) the old one, and each exam
whose closed or used offer''s seat is offered onward (BUSY after mockbook.lock_timeout).';
REVOKE ALL ON FUNCTION mockbook_internal.book(text, text, text, text, text, text, text, text, text, text, text, boolean, text, integer, text, text, text)
    FROM PUBLIC, anon, authenticated, service_role;
