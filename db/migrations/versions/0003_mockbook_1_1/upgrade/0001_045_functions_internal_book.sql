-- Frozen copy of db/functions/internal/book.sql (changed).
-- Why: create_booking, admin_create_booking, create_booking_atomic and rebook are one pipeline with
-- four modes, so the steps, their order and the lock order are written once. Its common case
-- (most of a rush) reads what steps 2-3 check in one statement, then joins the same steps.
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
    v_location text;
    v_hand text;
    v_balance integer;
    v_old_total integer;
    v_reason text;
    v_code text;
    v_repeat integer;
    v_result jsonb;
    v_offer_exams text[] := '{}'::text[];
    v_exam_id text;
    v_found record;
    v_common boolean := false;
    v_rules_on boolean;
    -- the credit that pays and its token_used label: {credit_field, token_used}
    v_credit text[];
    v_now timestamptz;
    v_zone text;
BEGIN
    -- the common case (mode credit, no code of the caller's): under the key's and contact's locks
    -- (pipeline order, never waited for: a held lock leaves the call to the full path), one
    -- statement reads what steps 2-3 check; the exam is read unlocked, its seat taken last.
    IF p_mode = 'credit' AND p_booking_code IS NULL
       AND pg_catalog.pg_try_advisory_xact_lock(
               pg_catalog.hashtextextended('mockbook:idem:' || p_idempotency_key, 0)) THEN
        SELECT c AS contact, e AS exam INTO v_found
        FROM hubspot_sync.hubspot_contact_credits AS c
        LEFT JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = p_mock_exam_id
        WHERE c.student_id = p_student_id AND mockbook_internal.same_email(c.email, p_email)
        FOR NO KEY UPDATE OF c SKIP LOCKED;
        IF FOUND THEN
            v_contact := v_found.contact;
            v_exam := v_found.exam;
            -- under the contact's lock: key unused, no open place, a checked rule on, the credit
            -- pick_credit picks (the type's first rule by priority with a balance), now, the zone
            SELECT v_exam.id IS NOT NULL
                AND NOT EXISTS (SELECT FROM hubspot_sync.hubspot_bookings AS b
                                WHERE b.idempotency_key = p_idempotency_key)
                AND NOT EXISTS (SELECT FROM hubspot_sync.idempotency_results AS r
                                WHERE r.idempotency_key = p_idempotency_key)
                AND NOT EXISTS (SELECT FROM hubspot_sync.waitlist_entries AS w
                                WHERE w.student_id = p_student_id
                                  AND w.status IN ('waiting', 'offered')),
                EXISTS (SELECT FROM hubspot_sync.booking_rules AS r
                        WHERE NOT coalesce((mockbook_internal.booking_rule_offs() -> r.rule)
                                           @> jsonb_build_array(r.value), true)),
                (SELECT ARRAY[t.r ->> 'credit_field', t.r ->> 'token_used']
                 -- credit_rules()'s rows folded into the plan; balances read in priority order
                 FROM (SELECT r
                       FROM jsonb_array_elements(mockbook_internal.credit_rule_set()) AS r
                       WHERE r ->> 'mock_type' = v_exam.mock_type
                       ORDER BY (r -> 'priority')::integer
                       OFFSET 0) AS t
                 WHERE mockbook_internal.credit_balance(v_contact, t.r ->> 'credit_field') > 0
                 LIMIT 1),
                mockbook_internal.clock_now(),
                -- (no exam: the full path answers EXAM_NOT_FOUND, whatever the zone)
                CASE WHEN v_exam.id IS NOT NULL THEN mockbook_internal.business_timezone() END
            INTO v_common, v_rules_on, v_credit, v_now, v_zone;
        END IF;
    END IF;

    IF v_common THEN
        -- the common case: 4.-8. and the rules on; 2.-3. and 9. read by the statement above
        PERFORM mockbook_internal.check_exam_for_student(v_exam, p_student_id, p_attending_location,
                                                         p_dominant_hand, p_now := v_now,
                                                         p_zone := v_zone);
        IF v_rules_on THEN
            PERFORM mockbook_internal.check_booking_rules(v_exam, v_contact.student_id);
        END IF;
        IF v_credit IS NULL THEN  -- nothing pays: pick_credit's error
            SELECT ARRAY[pc.credit_field, pc.token_used] INTO v_credit
            FROM mockbook_internal.pick_credit(v_contact, v_exam.mock_type) AS pc;
        END IF;
        v_booking := mockbook_internal.new_booking_row(
            v_contact, v_exam, p_attending_location, p_dominant_hand, p_student_name,
            p_mock_set::hubspot_sync.mock_set_letter, v_credit[2], NULL, p_idempotency_key,
            p_fingerprint);
    ELSE
        -- every other case: the full path, which reads the rules and the credit itself
        v_location := p_attending_location;
        v_hand := p_dominant_hand;
        v_code := p_booking_code;
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
            -- 3.-9. once, under the contact's (rebook: and the old booking's) lock; the exam is
            -- not locked: take_seat takes its seat last and checks it again
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
                v_credit := ARRAY[mockbook_internal.credit_field_of_token(v_old.token_used),
                                  v_old.token_used];
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
                SELECT ARRAY[pc.credit_field, pc.token_used] INTO v_credit
                FROM mockbook_internal.pick_credit(v_contact, v_exam.mock_type) AS pc;
            ELSIF p_mode IN ('admin', 'legacy') AND NOT EXISTS (
                    SELECT FROM hubspot_sync.credit_rules() AS r
                    WHERE r.mock_type = v_exam.mock_type) THEN
                PERFORM mockbook_internal.raise_error('INVALID_EXAM_TYPE',
                    format('Mock type %L has no credit rule.', v_exam.mock_type));
            ELSIF p_mode = 'admin' THEN
                v_credit := ARRAY[NULL, 'Admin Override'];
            END IF;
            IF p_mode = 'legacy' THEN
                SELECT ARRAY[p_credit_field, r.token_used] INTO v_credit
                FROM hubspot_sync.credit_rules() AS r
                WHERE r.mock_type = v_exam.mock_type AND r.credit_field = p_credit_field;
                IF NOT FOUND THEN
                    PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                        format('p_credit_field %s cannot pay for a %s exam.', p_credit_field,
                               v_exam.mock_type));
                ELSIF p_token_used IS NOT NULL AND p_token_used IS DISTINCT FROM v_credit[2] THEN
                    PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                        format('p_token_used must be %L for %s.', v_credit[2], p_credit_field));
                END IF;
                v_balance := mockbook_internal.credit_balance(v_contact, p_credit_field);
                IF v_balance < 1 THEN
                    PERFORM mockbook_internal.raise_error('INSUFFICIENT_CREDITS',
                        format('%s has no %s left.', v_contact.student_id, p_credit_field));
                ELSIF p_new_credit_value <> v_balance - 1 THEN
                    -- the app's value is from a balance another call changed meanwhile: one
                    -- credit is still spent relatively, the ledger row notes what it expected
                    v_note := format('the caller expected %s %s after this booking; it is %s '
                                     '(a concurrent change the caller did not see)',
                                     p_new_credit_value, p_credit_field, v_balance - 1);
                END IF;
                -- a repeated legacy code gets <code>-R<n>, the code kept in legacy_booking_id
                v_repeat := 1;
                WHILE v_code IS NOT NULL AND EXISTS (SELECT FROM hubspot_sync.hubspot_bookings AS b
                                                     WHERE b.booking_id = v_code) LOOP
                    v_repeat := v_repeat + 1;
                    v_code := p_booking_code || '-R' || v_repeat;
                END LOOP;
            END IF;

            -- the row (rebook: the old booking cancelled first)
            IF p_mode = 'rebook' THEN
                UPDATE hubspot_sync.hubspot_bookings AS b
                SET is_active = 'Cancelled', updated_at = now()
                WHERE b.id = v_old.id
                RETURNING * INTO v_old;
                v_booking := mockbook_internal.new_booking_row(
                    v_contact, v_exam, v_location, v_hand, v_old.name, NULL, v_credit[2], NULL,
                    p_idempotency_key, p_fingerprint);
                v_booking.student_id := v_old.student_id;
                v_booking.student_email := v_old.student_email;
                v_booking.associated_contact_id := coalesce(v_contact.hubspot_id,
                                                            v_old.associated_contact_id);
                v_booking.ndecc_exam_date := coalesce(v_contact.ndecc_exam_date,
                                                      v_old.ndecc_exam_date);
            ELSE
                v_booking := mockbook_internal.new_booking_row(
                    v_contact, v_exam, v_location, v_hand, p_student_name,
                    p_mock_set::hubspot_sync.mock_set_letter, v_credit[2], v_code,
                    p_idempotency_key, p_fingerprint);
                IF v_code IS DISTINCT FROM p_booking_code THEN
                    v_booking.legacy_booking_id := p_booking_code;
                END IF;
            END IF;
        END IF;
    END IF;

    IF v_replay IS NOT TRUE THEN
        -- 10. every mode writes a booking one way: insert, spend, and last the seat(s)
        v_booking := mockbook_internal.insert_booking(v_booking, (v_now AT TIME ZONE v_zone)::date);
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
        ELSE
            -- the common case read that it has no open place (the query's IF set up apart)
            IF NOT v_common THEN
                -- gate: one index probe replaces close_day_places (places open only under the
                -- contact's lock, and a closed place never reopens)
                IF EXISTS (SELECT FROM hubspot_sync.waitlist_entries AS w
                           WHERE w.student_id = v_booking.student_id
                             AND w.status IN ('waiting', 'offered')) THEN
                    -- the open places the booking leaves no use for (this exam's held offer is
                    -- used, the others' could never be accepted); v_offer_exams: the exams
                    -- whose offer was closed or used, offered onward once locked below.
                    v_offer_exams := mockbook_internal.close_day_places(v_exam, v_booking);
                END IF;
            END IF;
            IF p_mode IN ('credit', 'legacy') THEN
                v_balance := mockbook_internal.apply_credit_delta(v_contact.id, v_credit[1], -1,
                                                                  'booking', v_booking.id,
                                                                  v_contact.student_id, v_note);
            ELSIF p_mode = 'rebook' AND v_credit[1] IS NOT NULL AND v_contact.id IS NOT NULL THEN
                -- the credit moves with the booking: a +1/-1 pair of 'rebook' ledger rows (net
                -- zero); the exams below
                PERFORM mockbook_internal.apply_credit_delta(v_contact.id, v_credit[1], 1, 'rebook',
                                                             v_old.id, p_actor,
                                                             format('moved to %s',
                                                                    v_booking.booking_id));
                v_balance := mockbook_internal.apply_credit_delta(
                    v_contact.id, v_credit[1], -1, 'rebook', v_booking.id, p_actor,
                    format('moved from %s', v_old.booking_id));
            END IF;
            -- last, every exam the call changes, ascending hubspot_id (the lock order): the new
            -- seat (take_seat; EXAM_FULL rolls everything back), the old one given back (rebook),
            -- and each exam whose offer was closed or used, its free seats offered onward.
            IF v_offer_exams = '{}' AND v_old.id IS NULL THEN
                -- one exam: no order to keep
                v_exam := mockbook_internal.take_seat(v_exam, NOT p_override_capacity);
            ELSE
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
    END IF;

    IF p_mode = 'credit' AND v_replay IS NOT TRUE THEN
        -- a plain booking's result
        RETURN mockbook_internal.booking_json(v_booking, false, v_credit[1], v_balance,
                                              v_exam.total_bookings, v_exam.capacity, v_exam,
                                              v_zone);
    ELSIF v_replay THEN
        IF p_mode = 'rebook' THEN
            -- the first call's result, as stored under its key
            SELECT r.result INTO v_result FROM hubspot_sync.idempotency_results AS r
            WHERE r.idempotency_key = p_idempotency_key AND r.function_name = 'rebook';
            IF v_result IS NOT NULL THEN
                RETURN v_result || jsonb_build_object('idempotent_replay', true);
            END IF;
            v_old_total := (SELECT e.total_bookings FROM hubspot_sync.hubspot_mock_exams AS e
                            WHERE e.hubspot_id = v_old.associated_mock_exam);
        END IF;
        v_result := mockbook_internal.booking_result(v_booking, true);
    ELSE
        v_result := mockbook_internal.booking_json(v_booking, false, v_credit[1], v_balance,
                                                   v_exam.total_bookings, v_exam.capacity, v_exam,
                                                   v_zone);
    END IF;
    IF p_mode = 'credit' THEN
        RETURN v_result;  -- a replay
    END IF;
    v_result := v_result || CASE p_mode
        WHEN 'admin' THEN jsonb_build_object('over_capacity',
            (v_result ->> 'total_bookings')::integer
                > coalesce((v_result ->> 'capacity')::integer, 0))
        WHEN 'legacy' THEN jsonb_build_object(
            'booking_id', v_booking.id, 'booking_code', v_booking.booking_id,
            'contact_hubspot_id', v_booking.associated_contact_id,
            'mock_exam_hubspot_id', v_booking.associated_mock_exam)
        WHEN 'rebook' THEN jsonb_build_object(
            'rebooked_from', jsonb_build_object('id', v_old.id, 'booking_id', v_old.booking_id,
                                                'mock_exam_id', v_old.associated_mock_exam,
                                                'status', v_old.is_active),
            'previous_exam_total_bookings', v_old_total)
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
'Internal: the one booking pipeline of create_booking (mode credit; its common case read in one
statement, the declared rules skipped when all off), admin_create_booking (admin),
create_booking_atomic (legacy) and rebook: key, contact (locked), checks and rules once under the
contact''s lock, then insert, spend, the seat last. Locks: key, contact, (rebook) booking,
waitlist places (ascending id), then the exam(s) last, ascending HubSpot id.';
REVOKE ALL ON FUNCTION mockbook_internal.book(text, text, text, text, text, text, text, text, text, text, text, boolean, text, integer, text, text, text)
    FROM PUBLIC, anon, authenticated, service_role;
