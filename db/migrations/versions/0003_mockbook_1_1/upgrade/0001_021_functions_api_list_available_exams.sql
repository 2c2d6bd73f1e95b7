-- Frozen copy of db/functions/api/list_available_exams.sql (changed).
-- Why: a listed exam should be one create_booking accepts, so the listing asks the booking's own
-- functions (exam_unbookable_reason, exam_refusal).
CREATE OR REPLACE FUNCTION hubspot_sync.list_available_exams(
    p_mock_type text DEFAULT NULL,
    p_location text DEFAULT NULL,
    p_from date DEFAULT NULL,
    p_to date DEFAULT NULL,
    p_student_id text DEFAULT NULL,
    p_include_unbookable boolean DEFAULT false
)
RETURNS TABLE (
    id uuid,
    mock_exam_id text,
    mock_exam_name text,
    mock_type text,
    exam_date date,
    start_time text,
    end_time text,
    location text,
    mock_set hubspot_sync.mock_set_letter,
    prerequisite_exam_ids text[],
    capacity integer,
    total_bookings integer,
    remaining_seats integer,
    is_full boolean,
    held_seats integer,
    waiting integer,
    starts_at timestamptz,
    ends_at timestamptz,
    time_zone text,
    reason text
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_contact hubspot_sync.hubspot_contact_credits;
    v_zone text := mockbook_internal.business_timezone();
BEGIN
    IF p_from > p_to THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('p_from (%s) is after p_to (%s).', p_from, p_to));
    END IF;
    IF p_student_id IS NOT NULL THEN
        -- an anonymous listing is open to all; one judged for a student, to that student
        PERFORM mockbook_internal.check_student_caller(p_student_id, 'list_available_exams');
        SELECT c.* INTO v_contact FROM hubspot_sync.hubspot_contact_credits AS c
        WHERE c.student_id = p_student_id;
        IF v_contact.id IS NULL THEN
            PERFORM mockbook_internal.raise_error('CONTACT_NOT_FOUND',
                format('No contact with student_id %L.', p_student_id));
        END IF;
    END IF;

    RETURN QUERY
    SELECT e.id, e.hubspot_id, e.mock_exam_name, e.mock_type, e.exam_date, e.start_time,
           e.end_time, e.location, e.mock_set, coalesce(e.prerequisite_exam_ids, '{}'),
           coalesce(e.capacity, 0), coalesce(e.total_bookings, 0),
           greatest(coalesce(e.capacity, 0) - coalesce(e.total_bookings, 0) - w.held, 0),
           coalesce(e.total_bookings, 0) + w.held >= coalesce(e.capacity, 0),
           w.held, w.waiting, e.exam_starts_at, e.exam_ends_at, v_zone, r.reason
    FROM hubspot_sync.hubspot_mock_exams AS e
    CROSS JOIN LATERAL (
        SELECT CASE WHEN v_contact.id IS NULL THEN mockbook_internal.exam_unbookable_reason(e)
                    ELSE mockbook_internal.exam_refusal(e, v_contact) END AS reason) AS r
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE x.status = 'offered'
                                  AND x.offer_expires_at > mockbook_internal.clock_now())::integer AS held,
               count(*) FILTER (WHERE x.status = 'waiting')::integer AS waiting
        FROM hubspot_sync.waitlist_entries AS x
        WHERE x.mock_exam_id = e.hubspot_id AND x.status IN ('waiting', 'offered')) AS w
    WHERE (p_include_unbookable OR r.reason IS NULL)
      AND (p_mock_type IS NULL OR lower(e.mock_type) = lower(p_mock_type))
      AND (p_location IS NULL OR lower(e.location) = lower(p_location))
      AND (p_from IS NULL OR e.exam_date >= p_from)
      AND (p_to IS NULL OR e.exam_date <= p_to)
    ORDER BY e.exam_date, e.exam_starts_at NULLS LAST, e.start_time, e.hubspot_id;
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

COMMENT ON FUNCTION hubspot_sync.list_available_exams(text, text, date, date, text, boolean) IS
'Exams `create_booking` would accept now, by date, start, HubSpot id: open, not over and not
started (unless `allow_booking_after_start`), a time that cannot be read as every rule reads it
([Exam times](#exam-times)); with `p_student_id`, also that student''s checks
(`create_booking`''s own code). Full ones are included (`is_full true`) for their waitlist. With
`p_include_unbookable = true` the refused exams too, `reason` the error code `create_booking`
would answer. Filters combine with AND (type and location any case, dates inclusive).
Rows: `id, mock_exam_id, mock_exam_name, mock_type, exam_date, start_time, end_time, location,
mock_set, prerequisite_exam_ids, capacity, total_bookings, remaining_seats, is_full, held_seats,
waiting, starts_at, ends_at, time_zone, reason`: `remaining_seats` = capacity − total_bookings −
`held_seats` (unexpired offers), never below 0; `starts_at` null without a start time. Null:
`mock_exam_name`, `mock_type`, `exam_date`, `start_time`, `end_time`, `location`, `mock_set`
(as HubSpot left them), `starts_at`, `ends_at` (no instant), `reason` (bookable), no other
column. A snapshot: `create_booking` decides under the exam lock.
Errors: `INVALID_ARGUMENT` (`p_from` after `p_to`), `CONTACT_NOT_FOUND` (`p_student_id`).';
REVOKE ALL ON FUNCTION hubspot_sync.list_available_exams(text, text, date, date, text, boolean)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.list_available_exams(text, text, date, date, text, boolean) TO service_role, mockbook_glue;
