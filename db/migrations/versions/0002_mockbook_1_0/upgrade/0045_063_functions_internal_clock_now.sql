-- Frozen copy of db/functions/internal/clock_now.sql (new).
-- Why: a test of a whole term moves time with the setting mockbook.clock_offset, and every
-- time-based rule and job reads the instant here.
CREATE OR REPLACE FUNCTION mockbook_internal.clock_now()
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_offset text := pg_catalog.current_setting('mockbook.clock_offset', true);
BEGIN
    IF v_offset IS NULL OR v_offset = '' THEN
        RETURN pg_catalog.now();
    END IF;
    RETURN pg_catalog.now() + v_offset::interval;
END
$$;

COMMENT ON FUNCTION mockbook_internal.clock_now() IS
'Internal: the instant time-based rules and jobs decide with: now() plus the setting
mockbook.clock_offset (an interval; unset in production, set by tests to move time).';
REVOKE ALL ON FUNCTION mockbook_internal.clock_now() FROM PUBLIC, anon, authenticated, service_role;
