-- Frozen copy of db/functions/internal/local_time_problem.sql (new).
-- Why: a local time of day is read as an instant only when the business time zone has exactly one
-- such instant.
CREATE OR REPLACE FUNCTION mockbook_internal.local_time_problem(p_local timestamp, p_zone text)
RETURNS text
LANGUAGE plpgsql
STABLE
STRICT  -- no local time (not a time of day), no problem of this kind
SET search_path = ''
AS $$
DECLARE
    v_at timestamptz := p_local AT TIME ZONE p_zone;
    v_offset interval;
    v_candidate timestamptz;
    v_found timestamptz;
    v_count integer := 0;
BEGIN
    -- the zone's offsets three hours either side: the local time is read once with each, and
    -- counted when that instant shows it again
    FOREACH v_offset IN ARRAY ARRAY[
            ((v_at - interval '3 hours') AT TIME ZONE p_zone)
                - ((v_at - interval '3 hours') AT TIME ZONE 'UTC'),
            ((v_at + interval '3 hours') AT TIME ZONE p_zone)
                - ((v_at + interval '3 hours') AT TIME ZONE 'UTC')] LOOP
        v_candidate := (p_local - v_offset) AT TIME ZONE 'UTC';
        IF (v_candidate AT TIME ZONE p_zone) = p_local
           AND v_candidate IS DISTINCT FROM v_found THEN
            v_count := v_count + 1;
            v_found := v_candidate;
        END IF;
    END LOOP;
    RETURN CASE v_count
        WHEN 1 THEN NULL
        WHEN 0 THEN format('%s does not exist in %s: the clocks move forward over it', p_local,
                           p_zone)
        ELSE format('%s happens twice in %s: the clocks move back over it', p_local, p_zone)
    END;
END
$$;

COMMENT ON FUNCTION mockbook_internal.local_time_problem(timestamp, text) IS
'Internal: NULL when the local date and time exists exactly once in the zone, else why not (skipped
by a spring-forward, or repeated by a fall-back transition). Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.local_time_problem(timestamp, text) FROM PUBLIC, anon, authenticated, service_role;
