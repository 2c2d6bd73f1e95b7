-- Frozen copy of db/functions/internal/exam_span.sql (new).
-- Why: an unknown start or end (a local time the clocks skip or repeat, 'TBD', none) needs one
-- answer to "started?" and "over?" in every rule and job, never "not yet".
CREATE OR REPLACE FUNCTION mockbook_internal.exam_span(p_exam_date date, p_starts_at timestamptz,
                                                       p_ends_at timestamptz)
RETURNS tstzrange
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_start timestamptz;
    v_end timestamptz;
    v_zone text;
BEGIN
    IF p_starts_at IS NOT NULL AND p_ends_at IS NOT NULL THEN
        -- both known (the common case): never started after its end
        RETURN tstzrange(least(p_starts_at, p_ends_at), p_ends_at, '[]');
    END IF;
    v_start := p_starts_at;
    v_end := p_ends_at;
    IF v_start IS NULL OR v_end IS NULL THEN
        -- an unknown start counts from the start of the exam day, an unknown end at its end
        v_zone := mockbook_internal.business_timezone();
        v_start := coalesce(v_start, mockbook_internal.day_start(p_exam_date, v_zone));
        v_end := coalesce(v_end, mockbook_internal.day_start(p_exam_date + 1, v_zone));
    END IF;
    -- nothing known (no date, no readable instant): started and over
    v_end := coalesce(v_end, v_start, '-infinity'::timestamptz);
    -- never started after its end
    RETURN tstzrange(least(coalesce(v_start, v_end), v_end), v_end, '[]');
END
$$;

COMMENT ON FUNCTION mockbook_internal.exam_span(date, timestamptz, timestamptz) IS
'Internal: an exam''s [started, over] for every rule and job (docs/rpc.md, Unknown times): its
start, else the start of its day (day_start); its end, else the end of its day; never started
after its end; nothing known: -infinity. Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.exam_span(date, timestamptz, timestamptz)
    FROM PUBLIC, anon, authenticated, service_role;
