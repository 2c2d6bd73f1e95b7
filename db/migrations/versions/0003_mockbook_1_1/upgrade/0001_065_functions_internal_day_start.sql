-- Frozen copy of db/functions/internal/day_start.sql (new).
-- Why: a day begins at its first instant; PostgreSQL reads a repeated midnight as the second.
CREATE OR REPLACE FUNCTION mockbook_internal.day_start(p_day date, p_zone text DEFAULT NULL)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_zone constant text := coalesce(p_zone, mockbook_internal.business_timezone());
    v_midnight constant timestamp := p_day::timestamp;
    v_at constant timestamptz := v_midnight AT TIME ZONE v_zone;
    v_probe constant timestamptz := v_at - interval '3 hours';
    v_first timestamptz;
    v_low timestamptz;
    v_high timestamptz;
    v_mid timestamptz;
BEGIN
    IF p_day IS NULL THEN
        RETURN NULL;
    END IF;
    -- a repeated midnight (set back by up to 3 hours): read with the offset 3 hours before
    v_first := (v_midnight - ((v_probe AT TIME ZONE v_zone) - (v_probe AT TIME ZONE 'UTC')))
               AT TIME ZONE 'UTC';
    IF v_first < v_at AND (v_first AT TIME ZONE v_zone) = v_midnight THEN
        RETURN v_first;
    END IF;
    -- midnight once, or a jump that starts at it
    IF ((v_at - interval '1 microsecond') AT TIME ZONE v_zone) < v_midnight THEN
        RETURN v_at;
    END IF;
    -- a jump from before midnight to after it (Toronto 1919-03-30 23:30 -> 00:30): bisected
    v_high := v_at;
    v_low := v_at - ((v_at AT TIME ZONE v_zone) - v_midnight) - interval '1 microsecond';
    WHILE v_high - v_low > interval '1 microsecond' LOOP
        v_mid := v_low + (v_high - v_low) / 2;
        IF (v_mid AT TIME ZONE v_zone) < v_midnight THEN
            v_low := v_mid;
        ELSE
            v_high := v_mid;
        END IF;
    END LOOP;
    RETURN v_high;
END
$$;

COMMENT ON FUNCTION mockbook_internal.day_start(date, text) IS
'Internal: the first instant of day p_day in zone p_zone (NULL: the business time zone): the
earliest instant whose local date is p_day or later (a repeated midnight: its first occurrence).
Errors: INVALID_ARGUMENT when the business time zone names no zone. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.day_start(date, text)
    FROM PUBLIC, anon, authenticated, service_role;
