-- Why: a business day begins at its first instant. PostgreSQL reads a local midnight the clocks
-- repeat as its later instant (America/Havana 2027-11-07 00:00 is 05:00Z, though the day began
-- at 04:00Z), so every rule and job that needs the start or the end of a day asks here.
CREATE OR REPLACE FUNCTION mockbook_internal.day_start(p_day date, p_zone text DEFAULT NULL)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_zone constant text := coalesce(p_zone, mockbook_internal.business_timezone());
    v_midnight constant timestamp := p_day::timestamp;
    -- PostgreSQL's reading: a repeated local time as its later instant, a skipped one with the
    -- offset in force before the change
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
    -- midnight read with the offset in force three hours before: an earlier instant that shows
    -- midnight is its first occurrence (the clocks went back over it, by up to three hours)
    v_first := (v_midnight - ((v_probe AT TIME ZONE v_zone) - (v_probe AT TIME ZONE 'UTC')))
               AT TIME ZONE 'UTC';
    IF v_first < v_at AND (v_first AT TIME ZONE v_zone) = v_midnight THEN
        RETURN v_first;
    END IF;
    -- the instant before still shows the day before: midnight once, or a jump that starts at it
    IF ((v_at - interval '1 microsecond') AT TIME ZONE v_zone) < v_midnight THEN
        RETURN v_at;
    END IF;
    -- the clocks jumped over midnight from a time before it to one after it (Toronto
    -- 1919-03-30 23:30 -> 00:30): the day begins at the jump, found by bisection between an
    -- instant of the day before and v_at
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
earliest instant whose local date is p_day or later. A midnight the clocks repeat begins the day
at its first occurrence, one they skip at the jump; the end of a day is the start of the next.
NULL when p_day is NULL. Errors: INVALID_ARGUMENT when the business time zone names no zone.
Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.day_start(date, text)
    FROM PUBLIC, anon, authenticated, service_role;
