-- Frozen copy of db/functions/api/increment_exam_bookings.sql (changed).
-- Why: old callers still call it after a booking; it changes nothing (see its comment).
CREATE OR REPLACE FUNCTION hubspot_sync.increment_exam_bookings(p_exam_id text, p_delta integer)
RETURNS integer
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = ''
AS $$
-- p_delta is unused on purpose (the production signature):
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

COMMENT ON FUNCTION hubspot_sync.increment_exam_bookings(text, integer) IS
'Compatibility: production''s counter, kept for its callers.
Changes nothing (the booking functions keep `total_bookings` right; an increment would double
count); `p_delta` is ignored; returns the exam''s Active bookings, counted. Errors: `EXAM_NOT_FOUND`.';
REVOKE ALL ON FUNCTION hubspot_sync.increment_exam_bookings(text, integer)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.increment_exam_bookings(text, integer) TO service_role;
