-- Frozen copy of db/functions/internal/exam_span.sql (new).
-- Why: an exam whose start or end cannot be read (a local time the clocks skip or repeat, 'TBD', no
-- time at all) still needs one answer to "has it started?" and "is it over?"; every rule and job
-- asks here, so an unknown time is never read as "not yet" by one of them.
CREATE OR REPLACE FUNCTION mockbook_internal.exam_span(p_exam_date date, p_starts_at timestamptz,
                                                       p_ends_at timestamptz)
RETURNS tstzrange
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_start timestamptz := p_starts_at;
    v_end timestamptz := p_ends_at;
    v_zone text;
BEGIN
    IF v_start IS NULL OR v_end IS NULL THEN
        -- an unknown start counts from the start of the exam day, an unknown end at its end
        v_zone := mockbook_internal.business_timezone();
        v_start := coalesce(v_start, p_exam_date::timestamp AT TIME ZONE v_zone);
        v_end := coalesce(v_end, (p_exam_date + 1)::timestamp AT TIME ZONE v_zone);
    END IF;
    -- nothing known (no date, no readable instant): started and over
    v_end := coalesce(v_end, v_start, '-infinity'::timestamptz);
    -- never started after its end
    RETURN tstzrange(least(coalesce(v_start, v_end), v_end), v_end, '[]');
END
$$;

COMMENT ON FUNCTION mockbook_internal.exam_span(date, timestamptz, timestamptz) IS
'Internal: [started, over] of an exam for every rule and job (docs/rpc.md, Exam times): its start
instant, else the start of its day (business time zone); its end instant, else the end of its day;
never started after its end; with no date and no instant, started and over (-infinity). Pass the
exam''s exam_date, exam_starts_at, exam_ends_at. Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.exam_span(date, timestamptz, timestamptz)
    FROM PUBLIC, anon, authenticated, service_role;
