-- Frozen copy of db/functions/internal/exam_time_problem.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.exam_time_problem(p_exam_date date, p_start_time text,
                                                            p_end_time text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_start timestamptz := mockbook_internal.exam_starts_at(p_exam_date, p_start_time);
    v_end timestamptz := mockbook_internal.exam_starts_at(p_exam_date, p_end_time);
    v_zone text := mockbook_internal.business_timezone();
    v_field record;
    v_problem text;
BEGIN
    -- a time of day the clocks skip or repeat on the exam day, named as such
    FOR v_field IN SELECT * FROM (VALUES ('start_time', p_start_time), ('end_time', p_end_time))
                   AS f(name, value) LOOP
        v_problem := mockbook_internal.local_time_problem(
            p_exam_date + mockbook_internal.time_of_day(v_field.value), v_zone);
        IF v_problem IS NOT NULL THEN
            RETURN format('%s %L: %s', v_field.name, v_field.value, v_problem);
        END IF;
    END LOOP;
    IF nullif(btrim(p_start_time), '') IS NOT NULL AND v_start IS NULL THEN
        RETURN format('start_time %L is not a time mockbook can read', p_start_time);
    ELSIF nullif(btrim(p_end_time), '') IS NOT NULL AND v_end IS NULL THEN
        RETURN format('end_time %L is not a time mockbook can read', p_end_time);
    ELSIF v_start IS NOT NULL AND v_end IS NOT NULL AND v_end <= v_start THEN
        RETURN format('end_time %L is not after start_time %L', p_end_time, p_start_time);
    ELSIF v_start IS NOT NULL AND p_exam_date IS NOT NULL
          AND (v_start AT TIME ZONE v_zone)::date <> p_exam_date THEN
        RETURN format('start_time %L falls on %s in %s, not on exam_date %s', p_start_time,
                      (v_start AT TIME ZONE v_zone)::date, v_zone, p_exam_date);
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION mockbook_internal.exam_time_problem(date, text, text) IS
'Internal: what is wrong with an exam''s stored times (unreadable, a local time the clocks skip or
repeat that day, end not after start, an instant on another day than exam_date), NULL when nothing.';
REVOKE ALL ON FUNCTION mockbook_internal.exam_time_problem(date, text, text) FROM PUBLIC, anon, authenticated, service_role;
