-- Frozen copy of db/functions/api/list_contact_bookings.sql (changed).
-- Why: an app shows a student's bookings and waitlist places in one list, from one read.
CREATE OR REPLACE FUNCTION hubspot_sync.list_contact_bookings(p_student_id text,
                                                              p_status text DEFAULT NULL)
RETURNS TABLE (
    id uuid,
    booking_id text,
    hubspot_id text,
    mock_exam_id text,
    mock_exam_name text,
    student_id text,
    name text,
    student_email text,
    is_active text,
    attendance text,
    mock_type text,
    mock_set hubspot_sync.mock_set_letter,
    exam_date date,
    start_time text,
    end_time text,
    location text,
    attending_location text,
    dominant_hand text,
    token_used text,
    token_refunded boolean,
    token_refunded_at timestamptz,
    created_at timestamptz,
    updated_at timestamptz,
    waitlist_id bigint,
    waitlist_position integer,
    offer_expires_at timestamptz,
    starts_at timestamptz,
    ends_at timestamptz,
    time_zone text
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_status text;
    v_zone text := mockbook_internal.business_timezone();
BEGIN
    PERFORM mockbook_internal.check_text_arg('p_student_id', p_student_id, true, 64);
    PERFORM mockbook_internal.check_student_caller(p_student_id, 'list_contact_bookings');
    IF p_status IS NOT NULL THEN
        SELECT s.status INTO v_status
        FROM unnest(ARRAY['Active', 'Cancelled', 'Completed', 'Failed', 'Waitlisted',
                          'Offered']) AS s(status)
        WHERE lower(s.status) = lower(p_status);
        IF v_status IS NULL THEN
            PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                format('p_status %L is not one of Active, Cancelled, Completed, Failed, '
                       'Waitlisted, Offered.', p_status));
        END IF;
    END IF;

    RETURN QUERY
    SELECT r.* FROM (
        SELECT b.id, b.booking_id, b.hubspot_id, b.associated_mock_exam, e.mock_exam_name,
               b.student_id, b.name, b.student_email, b.is_active, b.attendance, b.mock_type,
               b.mock_set, b.exam_date, b.start_time, b.end_time, e.location,
               b.attending_location, b.dominant_hand, b.token_used, b.token_refunded,
               b.token_refunded_at, b.created_at, b.updated_at, NULL::bigint AS waitlist_id,
               NULL::integer AS waitlist_position, NULL::timestamptz AS offer_expires_at,
               mockbook_internal.exam_starts_at(b.exam_date, b.start_time) AS starts_at,
               coalesce(mockbook_internal.exam_starts_at(b.exam_date, b.end_time),
                        mockbook_internal.day_start(b.exam_date + 1, v_zone)) AS ends_at,
               v_zone AS time_zone
        FROM hubspot_sync.hubspot_bookings AS b
        LEFT JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = b.associated_mock_exam
        WHERE b.student_id = p_student_id
          AND (v_status IS NULL OR b.is_active = v_status)
        UNION ALL
        SELECT NULL::uuid, NULL::text, NULL::text, w.mock_exam_id, e.mock_exam_name,
               w.student_id, NULL::text, NULL::text,
               CASE w.status WHEN 'offered' THEN 'Offered' ELSE 'Waitlisted' END, NULL::text,
               e.mock_type, e.mock_set, e.exam_date, e.start_time, e.end_time, e.location,
               w.attending_location, w.dominant_hand, NULL::text, NULL::boolean,
               NULL::timestamptz, w.joined_at, coalesce(w.offered_at, w.joined_at), w.id,
               CASE WHEN w.status = 'waiting' THEN
                   (SELECT count(*)::integer FROM hubspot_sync.waitlist_entries AS q
                    WHERE q.mock_exam_id = w.mock_exam_id AND q.status = 'waiting'
                      AND q.id <= w.id) END,
               w.offer_expires_at, e.exam_starts_at, e.exam_ends_at, v_zone
        FROM hubspot_sync.waitlist_entries AS w
        LEFT JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = w.mock_exam_id
        WHERE w.student_id = p_student_id AND w.status IN ('waiting', 'offered')
          AND (v_status IS NULL
               OR v_status = CASE w.status WHEN 'offered' THEN 'Offered' ELSE 'Waitlisted' END)
    ) AS r
    ORDER BY r.exam_date DESC NULLS LAST, r.starts_at DESC NULLS LAST, r.created_at DESC, r.id;
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

COMMENT ON FUNCTION hubspot_sync.list_contact_bookings(text, text) IS
'A student''s bookings, newest exam first, optionally one status (`Active`, `Cancelled`,
`Completed`, `Failed`, `Waitlisted`, `Offered`, any case). Rows: `id, booking_id, hubspot_id,
mock_exam_id, mock_exam_name, student_id, name, student_email, is_active, attendance, mock_type,
mock_set, exam_date, start_time, end_time, location, attending_location, dominant_hand,
token_used, token_refunded, token_refunded_at, created_at, updated_at, waitlist_id,
waitlist_position, offer_expires_at, starts_at, ends_at, time_zone` (no idempotency key). Open
waitlist places are rows too, without a booking (`id`, `booking_id` null): `is_active`
`Waitlisted` (`waitlist_position` 1 = next) or `Offered` (held until `offer_expires_at`).
Null: any column but `student_id` and `time_zone` (a place has no booking columns, a booking no
place columns, and a booking or its exam may lack what HubSpot or the adopted data left empty).
Errors: `INVALID_ARGUMENT`.';
REVOKE ALL ON FUNCTION hubspot_sync.list_contact_bookings(text, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.list_contact_bookings(text, text) TO service_role;
