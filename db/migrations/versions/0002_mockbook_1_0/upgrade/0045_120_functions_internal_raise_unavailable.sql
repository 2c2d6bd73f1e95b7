-- Frozen copy of db/functions/internal/raise_unavailable.sql (new).
-- Why: a server that cannot take a call (disk full, read-only, out of memory or locks) answers one
-- documented code, UNAVAILABLE (PT503), naming the condition and no file path.
CREATE OR REPLACE FUNCTION mockbook_internal.raise_unavailable(p_sqlstate text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    IF p_sqlstate = '25006'
       AND pg_catalog.current_setting('request.method', true) IN ('GET', 'HEAD') THEN
        RETURN;
    END IF;
    PERFORM mockbook_internal.raise_error('UNAVAILABLE',
        format('The database cannot take this call now: %s. Nothing of the call was kept.',
               CASE p_sqlstate
                   WHEN '53100' THEN 'its disk is full'
                   WHEN '25006' THEN 'it is read-only (a standby, or writes switched off)'
                   WHEN '53200' THEN 'it is out of memory'
                   WHEN '58030' THEN 'an input/output error'
                   ELSE 'it is out of resources (' || p_sqlstate || ')'
               END));
END
$$;

COMMENT ON FUNCTION mockbook_internal.raise_unavailable(text) IS
'Internal: raises UNAVAILABLE (PT503) for a server condition (53xxx, 58030, 25006 outside a GET)
caught by an API function''s handler; returns for PostgREST''s read-only GET, whose 405 the handler
keeps. Errors: UNAVAILABLE. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.raise_unavailable(text) FROM PUBLIC, anon, authenticated, service_role;
