-- Undo db/functions/api/increment_exam_bookings.sql (moved).
-- Frozen copy of db/functions/increment_exam_bookings.sql (changed).
/**
 * hubspot_sync.increment_exam_bookings(p_exam_id text, p_delta integer) -> integer
 *
 * Compatibility: same name, parameters and return type as the production function, but it no
 * longer changes anything. The booking functions (create_booking, cancel_booking, rebook,
 * mark_attendance, ...) keep total_bookings equal to the exam's Active bookings in the same
 * transaction as the booking change, so an app-side increment would now double count.
 * p_delta is ignored; the result is the authoritative number of Active bookings of the exam
 * (counted, not read from total_bookings).
 * Errors: EXAM_NOT_FOUND (no exam with that HubSpot id). Locks: none (STABLE).
 */
CREATE OR REPLACE FUNCTION hubspot_sync.increment_exam_bookings(p_exam_id text, p_delta integer)
RETURNS integer
LANGUAGE plpgsql
STABLE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
-- p_delta is unused on purpose (kept for the production signature), so plpgsql_check's extra
-- warnings (unused parameter) are off for this function:
-- @plpgsql_check_options: extra_warnings = off
DECLARE
    v_count integer;
BEGIN
    PERFORM FROM hubspot_sync.hubspot_mock_exams AS e WHERE e.hubspot_id = p_exam_id;
    IF NOT FOUND THEN
        PERFORM mockbook_internal.raise_error('EXAM_NOT_FOUND', format('No exam %L.', p_exam_id));
    END IF;

    SELECT count(*)::integer INTO v_count
    FROM hubspot_sync.hubspot_bookings AS b
    WHERE b.associated_mock_exam = p_exam_id AND b.is_active = 'Active';
    RETURN v_count;
END
$$;

COMMENT ON FUNCTION hubspot_sync.increment_exam_bookings(text, integer) IS
'Compatibility: no longer increments anything (the booking functions maintain total_bookings); '
'p_delta is ignored and the exam''s authoritative Active booking count is returned. Errors: '
'EXAM_NOT_FOUND.';
REVOKE ALL ON FUNCTION hubspot_sync.increment_exam_bookings(text, integer)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.increment_exam_bookings(text, integer) TO service_role;
