-- Frozen copy of db/functions/internal/time_of_day.sql (new).
-- Why: the one reading of a stored time of day (HH:MM[:SS], H:MM AM/PM), so exam_starts_at and
-- exam_time_problem read the same text the same way.
CREATE OR REPLACE FUNCTION mockbook_internal.time_of_day(p_text text)
RETURNS time
LANGUAGE plpgsql
IMMUTABLE
SET search_path = ''
AS $$
DECLARE
    v_text text := btrim(p_text);
BEGIN
    -- HH:MM[:SS] or H:MM[:SS] AM/PM (no date, no zone, nothing else)
    IF v_text !~* '^\d{1,2}:\d{2}(:\d{2}(\.\d{1,6})?)?(\s*[ap]\.?m\.?)?$' THEN
        RETURN NULL;
    END IF;
    RETURN replace(v_text, '.', '')::time;
EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
    RETURN NULL;  -- '25:00', '13:00 PM'
END
$$;

COMMENT ON FUNCTION mockbook_internal.time_of_day(text) IS
'Internal: a stored time of day (HH:MM[:SS], H:MM[:SS] AM/PM) as a time; NULL when the text is not
one. Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.time_of_day(text) FROM PUBLIC, anon, authenticated, service_role;
