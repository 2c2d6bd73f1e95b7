-- Undo db/functions/list_available_exams.sql (changed).
-- re-created below, in the same transaction
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS hubspot_sync.list_available_exams;
-- Frozen copy of db/functions/list_available_exams.sql (changed).
/**
 * hubspot_sync.list_available_exams(p_mock_type text DEFAULT NULL, p_location text DEFAULT NULL,
 *                                   p_from date DEFAULT NULL, p_to date DEFAULT NULL) -> SETOF
 *
 * The exams open for booking now (mockbook_internal.exam_unbookable_reason() IS NULL: active, or
 * scheduled with the activation time reached, and not in the past), ordered by exam_date,
 * start_time, then HubSpot id. Full exams are included, with remaining_seats = 0 and
 * is_full = true, so a list can show them as full (and offer their waitlist, issue 16); filter
 * them out with PostgREST
 * (remaining_seats=gt.0). This is the source of the Redis key user:exams:available.
 * Args (all optional, combined with AND): p_mock_type (case-insensitive), p_location
 *   (case-insensitive), p_from / p_to (exam_date range, inclusive).
 * Returns rows: id, mock_exam_id (the exam's HubSpot id), mock_exam_name, mock_type, exam_date,
 *   start_time, end_time, location, mock_set, prerequisite_exam_ids, capacity, total_bookings,
 *   remaining_seats (capacity - total_bookings - held_seats, never below 0), is_full
 *   (remaining_seats = 0), held_seats (seats held by waitlist offers), waiting (students
 *   waiting for an offer).
 * Errors: INVALID_ARGUMENT (p_from after p_to).
 * Locks: none (STABLE; runs in PostgREST's read-only GET). The seat counts are a snapshot:
 *   create_booking decides under the exam lock.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.list_available_exams(
    p_mock_type text DEFAULT NULL,
    p_location text DEFAULT NULL,
    p_from date DEFAULT NULL,
    p_to date DEFAULT NULL
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
    waiting integer
)
LANGUAGE plpgsql
STABLE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    IF p_from > p_to THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('p_from (%s) is after p_to (%s).', p_from, p_to));
    END IF;

    RETURN QUERY
    SELECT e.id, e.hubspot_id, e.mock_exam_name, e.mock_type, e.exam_date, e.start_time,
           e.end_time, e.location, e.mock_set, coalesce(e.prerequisite_exam_ids, '{}'),
           coalesce(e.capacity, 0), coalesce(e.total_bookings, 0),
           greatest(coalesce(e.capacity, 0) - coalesce(e.total_bookings, 0) - w.held, 0),
           coalesce(e.total_bookings, 0) + w.held >= coalesce(e.capacity, 0),
           w.held, w.waiting
    FROM hubspot_sync.hubspot_mock_exams AS e
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE x.status = 'offered')::integer AS held,
               count(*) FILTER (WHERE x.status = 'waiting')::integer AS waiting
        FROM hubspot_sync.waitlist_entries AS x
        WHERE x.mock_exam_id = e.hubspot_id AND x.status IN ('waiting', 'offered')) AS w
    WHERE mockbook_internal.exam_unbookable_reason(e) IS NULL
      AND (p_mock_type IS NULL OR lower(e.mock_type) = lower(p_mock_type))
      AND (p_location IS NULL OR lower(e.location) = lower(p_location))
      AND (p_from IS NULL OR e.exam_date >= p_from)
      AND (p_to IS NULL OR e.exam_date <= p_to)
    ORDER BY e.exam_date, e.start_time, e.hubspot_id;
END
$$;

COMMENT ON FUNCTION hubspot_sync.list_available_exams(text, text, date, date) IS
'Exams open for booking now (active or activated, not past), optionally by mock type, location '
'and date range (inclusive), ordered by date and time, with remaining_seats = capacity - '
'total_bookings - held_seats (full exams included with 0 and is_full = true), held_seats and '
'waiting (the waitlist). Errors: INVALID_ARGUMENT.';
REVOKE ALL ON FUNCTION hubspot_sync.list_available_exams(text, text, date, date)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.list_available_exams(text, text, date, date) TO service_role, mockbook_glue;
