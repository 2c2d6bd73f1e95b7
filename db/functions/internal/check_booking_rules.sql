-- Why: the scheduling rules are checked in one place, after the booking's own checks, by every path
-- that binds students (create_booking, accept_offer, a student's rebook).
CREATE OR REPLACE FUNCTION mockbook_internal.check_booking_rules(
    p_exam hubspot_sync.hubspot_mock_exams,
    p_student_id text,
    p_ignore_booking_id uuid DEFAULT NULL
)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_start timestamptz := p_exam.exam_starts_at;
    v_end timestamptz := p_exam.exam_ends_at;
    v_now timestamptz := mockbook_internal.clock_now();
    -- the five rules in one statement (not one mockbook_internal.booking_rule call
    -- each); an absent rule reads as JSON null, as booking_rule answers, and a value stored
    -- above its maximum as the maximum (a raw 22003/22008 before)
    v_rules jsonb := mockbook_internal.booking_rules(
        ARRAY['booking_cutoff', 'min_notice_hours', 'time_conflict', 'max_active_per_type',
              'max_active_per_week']);
    v_notice numeric := coalesce((v_rules #>> '{min_notice_hours}')::numeric, 0);
    v_limit integer;
    v_count integer;
    v_other record;
BEGIN
    IF v_start IS NOT NULL THEN
        IF (coalesce(v_rules -> 'booking_cutoff' = 'true'::jsonb, false) AND v_now >= v_start)
           OR (v_notice > 0 AND v_now > v_start - make_interval(secs => v_notice * 3600)) THEN
            PERFORM mockbook_internal.raise_error('BOOKING_CLOSED',
                format('Exam %s starts at %s; booking closed %s.', p_exam.hubspot_id, v_start,
                       CASE WHEN v_notice > 0 THEN format('%s hour(s) before the start', v_notice)
                            ELSE 'at the start' END));
        END IF;
    END IF;

    IF coalesce(v_rules -> 'time_conflict' = 'true'::jsonb, false)
       AND v_start IS NOT NULL THEN
        -- the other exams' own instants (never the bookings' copies, which a reschedule in
        -- HubSpot may have left behind); an exam without a start time has no window
        SELECT b.booking_id, b.associated_mock_exam, b.mock_type, e.exam_date, e.start_time,
               e.end_time
        INTO v_other
        FROM hubspot_sync.hubspot_bookings AS b
        JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = b.associated_mock_exam
        WHERE b.student_id = p_student_id
          AND b.is_active = 'Active'
          AND b.id IS DISTINCT FROM p_ignore_booking_id
          AND e.exam_starts_at < v_end
          AND e.exam_ends_at > v_start
        ORDER BY b.booking_id
        LIMIT 1;
        IF FOUND THEN
            PERFORM mockbook_internal.raise_error('TIME_CONFLICT',
                format('%s already holds booking %s (%s, exam %s, %s %s-%s), which overlaps '
                       'exam %s (%s-%s).', p_student_id, v_other.booking_id, v_other.mock_type,
                       v_other.associated_mock_exam, v_other.exam_date, v_other.start_time,
                       v_other.end_time, p_exam.hubspot_id, p_exam.start_time, p_exam.end_time));
        END IF;
    END IF;

    v_limit := (v_rules #>> '{max_active_per_type}')::integer;
    IF v_limit IS NOT NULL THEN
        SELECT count(*)::integer INTO v_count FROM hubspot_sync.hubspot_bookings AS b
        WHERE b.student_id = p_student_id AND b.is_active = 'Active'
          AND b.mock_type = p_exam.mock_type AND b.id IS DISTINCT FROM p_ignore_booking_id;
        IF v_count >= v_limit THEN
            PERFORM mockbook_internal.raise_error('BOOKING_LIMIT_REACHED',
                format('%s already holds %s Active %s booking(s); the limit is %s per mock type.',
                       p_student_id, v_count, p_exam.mock_type, v_limit));
        END IF;
    END IF;
    v_limit := (v_rules #>> '{max_active_per_week}')::integer;
    IF v_limit IS NOT NULL THEN
        SELECT count(*)::integer INTO v_count FROM hubspot_sync.hubspot_bookings AS b
        WHERE b.student_id = p_student_id AND b.is_active = 'Active'
          AND date_trunc('week', b.exam_date) = date_trunc('week', p_exam.exam_date)
          AND b.id IS DISTINCT FROM p_ignore_booking_id;
        IF v_count >= v_limit THEN
            PERFORM mockbook_internal.raise_error('BOOKING_LIMIT_REACHED',
                format('%s already holds %s Active booking(s) in the week of %s; the limit is '
                       '%s per week.', p_student_id, v_count, p_exam.exam_date, v_limit));
        END IF;
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.check_booking_rules(hubspot_sync.hubspot_mock_exams, text, uuid) IS
'Internal: the scheduling rules for a student and exam: BOOKING_CLOSED (cut-off, minimum notice),
TIME_CONFLICT (names the overlapping booking), BOOKING_LIMIT_REACHED (per mock type, per week).
Errors: as listed. Locks: none (reads only; the callers run it under the contact''s lock).';
REVOKE ALL ON FUNCTION mockbook_internal.check_booking_rules(hubspot_sync.hubspot_mock_exams, text, uuid)
    FROM PUBLIC, anon, authenticated, service_role;
