-- Frozen copy of db/functions/internal/check_exam_for_student.sql (changed).
-- re-created below, in the same transaction
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS mockbook_internal.check_exam_for_student;
-- Why: every path that gives a student a seat (the booking functions, accept_offer, the listing's
-- refusal reasons) checks the same things in the same order.
CREATE OR REPLACE FUNCTION mockbook_internal.check_exam_for_student(
    p_exam hubspot_sync.hubspot_mock_exams,
    p_student_id text,
    p_attending_location text,
    p_dominant_hand text,
    p_check_fields boolean DEFAULT true,
    p_check_capacity boolean DEFAULT true,
    p_ignore_booking_id uuid DEFAULT NULL,
    p_now timestamptz DEFAULT NULL,
    p_zone text DEFAULT NULL
)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_reason text;
    v_missing text[];
    v_duplicate text;
    v_held integer;
    v_span tstzrange;
BEGIN
    -- 4. open for booking
    v_reason := mockbook_internal.exam_unbookable_reason(p_exam, p_now, p_zone);
    IF v_reason = 'EXAM_NOT_ACTIVE' THEN
        PERFORM mockbook_internal.raise_error('EXAM_NOT_ACTIVE',
            format('Exam %s is not open for booking (is_active %L%s).', p_exam.hubspot_id,
                   p_exam.is_active,
                   CASE WHEN p_exam.scheduled_activation_datetime IS NOT NULL
                        THEN format(', opens %s', p_exam.scheduled_activation_datetime)
                        ELSE '' END));
    ELSIF v_reason = 'EXAM_IN_PAST' THEN
        v_span := mockbook_internal.exam_span(p_exam.exam_date, p_exam.exam_starts_at,
                                              p_exam.exam_ends_at);
        IF upper(v_span) > mockbook_internal.clock_now()
           AND p_exam.exam_date >= hubspot_sync.business_today() THEN
            PERFORM mockbook_internal.raise_error('EXAM_IN_PAST',
                format('Exam %s started at %s%s.', p_exam.hubspot_id, lower(v_span),
                       CASE WHEN p_exam.exam_starts_at IS NULL
                            THEN ' (its start time is not known: it counts from the start of its day)'
                            ELSE '' END),
                'Students cannot book an exam that has started (an admin may allow it with the booking rule allow_booking_after_start).');
        END IF;
        PERFORM mockbook_internal.raise_error('EXAM_IN_PAST',
            format('Exam %s took place on %s (it ended at %s).', p_exam.hubspot_id,
                   coalesce(p_exam.exam_date::text, 'no date'), upper(v_span)));
    END IF;

    -- 5. fields each mock type requires
    IF p_check_fields THEN
        IF p_exam.mock_type IN ('Situational Judgment', 'Mini-mock')
           AND p_attending_location IS NULL THEN
            PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                format('p_attending_location is required for a %s exam.', p_exam.mock_type));
        ELSIF p_exam.mock_type = 'Clinical Skills'
              AND nullif(btrim(p_dominant_hand), '') IS NULL THEN
            PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                'p_dominant_hand is required for a Clinical Skills exam.');
        END IF;
    END IF;

    -- 6. prerequisites (no query when the exam has none: nothing can be missing)
    IF cardinality(p_exam.prerequisite_exam_ids) > 0 THEN
        SELECT array_agg(p.exam_id ORDER BY p.first_pos) INTO v_missing
        FROM (
            SELECT t.exam_id, min(t.pos) AS first_pos
            FROM unnest(coalesce(p_exam.prerequisite_exam_ids, '{}'::text[]))
                 WITH ORDINALITY AS t(exam_id, pos)
            GROUP BY t.exam_id
        ) AS p
        WHERE NOT EXISTS (
            SELECT FROM hubspot_sync.hubspot_bookings AS b
            WHERE b.student_id = p_student_id
              AND b.associated_mock_exam = p.exam_id
              AND b.is_active IN ('Active', 'Completed'));
        IF v_missing IS NOT NULL THEN
            PERFORM mockbook_internal.raise_error('PREREQUISITE_NOT_MET',
                format('Exam %s requires an Active or Completed booking of exam(s) %s first; '
                       'missing: %s.', p_exam.hubspot_id,
                       array_to_string(p_exam.prerequisite_exam_ids, ', '),
                       array_to_string(v_missing, ', ')));
        END IF;
    END IF;

    -- 7. and 8. read by one statement, raised in order: the student's booking of the type and
    -- day (one index each: the unique one; the flagged legacy duplicates'), and the seats
    -- held by other students' waitlist offers (the student's own held offer holds its seat
    -- for them: the booking takes it, mockbook_internal.close_day_places; an expired one
    -- holds it for nobody)
    SELECT coalesce(
               (SELECT coalesce(b.booking_id, '(no code)') FROM hubspot_sync.hubspot_bookings AS b
                WHERE b.student_id = p_student_id
                  AND b.mock_type = p_exam.mock_type
                  AND b.exam_date = p_exam.exam_date
                  AND b.is_active IN ('Active', 'Completed')
                  AND b.legacy_issue IS NULL
                  AND b.id IS DISTINCT FROM p_ignore_booking_id
                LIMIT 1),
               (SELECT coalesce(b.booking_id, '(no code)') FROM hubspot_sync.hubspot_bookings AS b
                WHERE b.student_id = p_student_id
                  AND b.mock_type = p_exam.mock_type
                  AND b.exam_date = p_exam.exam_date
                  AND b.is_active IN ('Active', 'Completed')
                  AND b.legacy_issue IS NOT NULL
                  AND b.id IS DISTINCT FROM p_ignore_booking_id
                LIMIT 1)),
           CASE WHEN p_check_capacity THEN
               (SELECT count(*)::integer FROM hubspot_sync.waitlist_entries AS w
                WHERE w.mock_exam_id = p_exam.hubspot_id AND w.status = 'offered'
                  AND w.offer_expires_at > mockbook_internal.clock_now()
                  AND NOT (w.student_id = p_student_id)) END
    INTO v_duplicate, v_held;
    IF v_duplicate IS NOT NULL THEN
        PERFORM mockbook_internal.raise_error('DUPLICATE_BOOKING',
            format('%s already has booking %s of type %s on %s.', p_student_id,
                   v_duplicate, p_exam.mock_type, p_exam.exam_date));
    END IF;
    IF p_check_capacity
       AND coalesce(p_exam.total_bookings, 0) + v_held >= coalesce(p_exam.capacity, 0) THEN
        PERFORM mockbook_internal.raise_error('EXAM_FULL',
            format('Exam %s is full (%s of %s seats booked).', p_exam.hubspot_id,
                   coalesce(p_exam.total_bookings, 0), coalesce(p_exam.capacity, 0)));
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.check_exam_for_student(hubspot_sync.hubspot_mock_exams, text, text, text, boolean, boolean, uuid, timestamptz, text) IS
'Internal: steps 4-8 of create_booking (exam open, per-type fields, prerequisites, duplicate,
capacity: seats held by other students'' waitlist offers count, the student''s own held offer does
not) for one student and exam row; p_now and p_zone as exam_unbookable_reason takes them.
Errors: as listed. Locks: none (reads only).';
REVOKE ALL ON FUNCTION mockbook_internal.check_exam_for_student(hubspot_sync.hubspot_mock_exams, text, text, text, boolean, boolean, uuid, timestamptz, text)
    FROM PUBLIC, anon, authenticated, service_role;
