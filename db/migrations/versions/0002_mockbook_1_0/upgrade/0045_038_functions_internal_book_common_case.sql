-- Frozen copy of db/functions/internal/book_common_case.sql (new).
-- Why: almost every booking of a rush is the common case (a new key, a known student, an open exam
-- with a free seat, nothing else to check), so it is answered in few statements.
CREATE OR REPLACE FUNCTION mockbook_internal.book_common_case(
    p_student_id text,
    p_email text,
    p_mock_exam_id text,
    p_idempotency_key text,
    p_fingerprint text,
    p_attending_location text DEFAULT NULL,
    p_dominant_hand text DEFAULT NULL,
    p_student_name text DEFAULT NULL,
    p_mock_set text DEFAULT NULL,
    p_booking_code text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_contact hubspot_sync.hubspot_contact_credits;
    v_exam hubspot_sync.hubspot_mock_exams;
    v_booking hubspot_sync.hubspot_bookings;
    v_found record;
    v_common boolean;
    v_rules_on boolean;
    v_credit text[];
    v_field text;
    v_token text;
    v_balance integer;
BEGIN
    -- the same locks as the pipeline, in its order: the key, then the contact; a lock another
    -- call holds is never waited for here, but by the pipeline (its bounded wait, BUSY). The
    -- exam is read by the same statement, without a lock, as the pipeline reads it before
    -- the contact's lock (its seat is taken last, and checked again then)
    IF p_booking_code IS NULL
       AND pg_catalog.pg_try_advisory_xact_lock(
               pg_catalog.hashtextextended('mockbook:idem:' || p_idempotency_key, 0)) THEN
        SELECT c AS contact, e AS exam INTO v_found
        FROM hubspot_sync.hubspot_contact_credits AS c
        LEFT JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = p_mock_exam_id
        WHERE c.student_id = p_student_id AND lower(c.email) = lower(p_email)
        FOR NO KEY UPDATE OF c SKIP LOCKED;
        IF FOUND THEN
            v_contact := v_found.contact;
            v_exam := v_found.exam;
        END IF;
    END IF;
    IF v_contact.id IS NULL THEN
        v_common := false;
    ELSE
        -- under the contact's lock, one statement reads what the checks of the common case
        -- need: whether the key was ever used, the student's bookings and places that would
        -- make it another case, whether any scheduling rule is on (all are off by default,
        -- and mockbook_internal.check_booking_rules, which reads them, then has nothing to
        -- check) and the credit that pays
        SELECT v_exam.id IS NOT NULL
            AND coalesce(cardinality(v_exam.prerequisite_exam_ids), 0) = 0
            AND NOT EXISTS (SELECT FROM hubspot_sync.hubspot_bookings AS b
                            WHERE b.idempotency_key = p_idempotency_key)
            AND NOT EXISTS (SELECT FROM hubspot_sync.idempotency_results AS r
                            WHERE r.idempotency_key = p_idempotency_key)
            -- no booking of the type and day: two probes, each answered by one index without
            -- reading the student's other bookings (uq_bookings_one_per_student_type_day holds
            -- every such booking but the legacy duplicates the adoption flagged,
            -- idx_bookings_legacy_student holds those)
            AND NOT EXISTS (SELECT FROM hubspot_sync.hubspot_bookings AS b
                            WHERE b.student_id = p_student_id
                              AND b.mock_type = v_exam.mock_type
                              AND b.exam_date = v_exam.exam_date
                              AND b.is_active IN ('Active', 'Completed')
                              AND b.legacy_issue IS NULL)
            AND NOT EXISTS (SELECT FROM hubspot_sync.hubspot_bookings AS b
                            WHERE b.student_id = p_student_id
                              AND b.mock_type = v_exam.mock_type
                              AND b.exam_date = v_exam.exam_date
                              AND b.is_active IN ('Active', 'Completed')
                              AND b.legacy_issue IS NOT NULL)
            AND NOT EXISTS (SELECT FROM hubspot_sync.waitlist_entries AS w
                            WHERE w.student_id = p_student_id
                              AND w.status IN ('waiting', 'offered'))
            AND coalesce(v_exam.total_bookings, 0)
                + (SELECT count(*)::integer FROM hubspot_sync.waitlist_entries AS w
                   WHERE w.mock_exam_id = v_exam.hubspot_id AND w.status = 'offered'
                     AND w.offer_expires_at > mockbook_internal.clock_now())
                < coalesce(v_exam.capacity, 0)
            AND mockbook_internal.exam_unbookable_reason(v_exam) IS NULL
            AND NOT (v_exam.mock_type IN ('Situational Judgment', 'Mini-mock')
                     AND p_attending_location IS NULL)
            AND NOT (v_exam.mock_type = 'Clinical Skills'
                     AND nullif(btrim(p_dominant_hand), '') IS NULL),
            -- a rule is off when check_booking_rules reads it so: booking_cutoff and
            -- time_conflict other than true, min_notice_hours 0, the limits null (anything
            -- else counts as on, and check_booking_rules decides)
            EXISTS (SELECT FROM hubspot_sync.booking_rules AS r
                    WHERE (r.rule IN ('booking_cutoff', 'time_conflict')
                           AND r.value NOT IN ('false'::jsonb, 'null'::jsonb))
                       OR (r.rule = 'min_notice_hours'
                           AND r.value NOT IN ('0'::jsonb, 'null'::jsonb))
                       OR (r.rule IN ('max_active_per_type', 'max_active_per_week')
                           AND r.value <> 'null'::jsonb)),
            -- the credit that pays, as mockbook_internal.pick_credit picks it: the first of
            -- the type's rules, by priority, with a balance
            (SELECT ARRAY[r.credit_field, r.token_used]
             FROM hubspot_sync.credit_rules() AS r
             WHERE r.mock_type = v_exam.mock_type
               AND mockbook_internal.credit_balance(v_contact, r.credit_field) > 0
             ORDER BY r.priority
             LIMIT 1)
        INTO v_common, v_rules_on, v_credit;
    END IF;
    IF v_common THEN
        -- the checks of the pipeline that follow the exam's, the same functions in the same
        -- order (their errors are the pipeline's): the scheduling rules when one is on, then
        -- the credit
        IF v_rules_on THEN
            PERFORM mockbook_internal.check_booking_rules(v_exam, v_contact.student_id);
        END IF;
        IF v_credit IS NULL THEN
            -- no credit of the type: pick_credit's own error
            SELECT ARRAY[pc.credit_field, pc.token_used] INTO v_credit
            FROM mockbook_internal.pick_credit(v_contact, v_exam.mock_type) AS pc;
        END IF;
        v_field := v_credit[1];
        v_token := v_credit[2];

        -- the writes, as the pipeline makes them: the booking, the credit, the seat last
        v_booking := mockbook_internal.insert_booking(mockbook_internal.new_booking_row(
            v_contact, v_exam, p_attending_location, p_dominant_hand, p_student_name,
            p_mock_set::hubspot_sync.mock_set_letter, v_token, NULL, p_idempotency_key,
            p_fingerprint));
        -- no row: the key was stored by a writer that bypassed the key lock (nothing written);
        -- the pipeline answers with its replay
        IF v_booking.id IS NOT NULL THEN
            v_balance := mockbook_internal.apply_credit_delta(v_contact.id, v_field, -1,
                                                              'booking', v_booking.id,
                                                              v_contact.student_id);
            v_exam := mockbook_internal.take_seat(v_exam, true);
            RETURN mockbook_internal.booking_json(v_booking, false, v_field, v_balance,
                                                  v_exam.total_bookings, v_exam.capacity,
                                                  v_exam);
        END IF;
    END IF;

    -- every other case: the pipeline, from the start, with the same arguments
    RETURN mockbook_internal.book(
        'credit', p_student_id, p_email, p_mock_exam_id, p_idempotency_key, p_fingerprint,
        p_attending_location, p_dominant_hand, p_student_name, p_mock_set, p_booking_code);
END
$$;

COMMENT ON FUNCTION mockbook_internal.book_common_case(text, text, text, text, text, text, text, text, text, text) IS
'Internal: create_booking''s common case in few statements; every other case goes to
mockbook_internal.book (mode credit).';
REVOKE ALL ON FUNCTION mockbook_internal.book_common_case(text, text, text, text, text, text, text, text, text, text)
    FROM PUBLIC, anon, authenticated, service_role;
