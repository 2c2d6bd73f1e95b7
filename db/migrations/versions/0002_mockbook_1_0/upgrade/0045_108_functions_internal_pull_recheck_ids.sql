-- Frozen copy of db/functions/internal/pull_recheck_ids.sql (new).
-- Why: a record with an open dead letter may become applicable without HubSpot changing it (a
-- capacity that fits once bookings are cancelled), so the pull reads such records again by id.
CREATE OR REPLACE FUNCTION mockbook_internal.pull_recheck_ids(p_entity_type text,
                                                        p_since timestamptz DEFAULT NULL)
RETURNS SETOF text
LANGUAGE sql
STABLE
SECURITY DEFINER
SET search_path = ''
AS $$
    SELECT DISTINCT e.entity_id
    FROM hubspot_sync.sync_errors AS e
    WHERE e.direction = 'pull' AND e.entity_type = p_entity_type AND e.entity_id IS NOT NULL
      AND (NOT e.resolved
           OR (e.resolution = 'retried' AND e.resolved_by IS DISTINCT FROM 'mockbook pull'
               AND e.resolved_at >= coalesce(p_since, '-infinity')))
    ORDER BY 1
$$;

COMMENT ON FUNCTION mockbook_internal.pull_recheck_ids(text, timestamptz) IS
'Glue (pull): HubSpot ids to read again on this pass: open pull dead letters, and those retried by a
person since p_since. Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.pull_recheck_ids(text, timestamptz)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.pull_recheck_ids(text, timestamptz) TO mockbook_glue;
