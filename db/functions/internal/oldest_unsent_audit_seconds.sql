-- Why: `mockbook status` reads the age of the oldest unsent audit row without the glue's role
-- being granted the audit table (it holds every change's old and new values).
CREATE OR REPLACE FUNCTION mockbook_internal.oldest_unsent_audit_seconds()
RETURNS double precision
LANGUAGE sql
STABLE
-- SECURITY DEFINER: mockbook_glue may not read the audit table (README, Roles); this is its one figure
SECURITY DEFINER
SET search_path = ''
AS $$
    -- the oldest ready row and the oldest waiting one, each the head of its part of the
    -- pending index (note_waits, id)
    SELECT extract(epoch FROM now() - o.performed_at)::double precision
    FROM ((SELECT a.id, a.performed_at FROM hubspot_sync.supabase_audit_log AS a
           WHERE a.synced_to_hubspot_at IS NULL AND NOT a.note_waits ORDER BY a.id LIMIT 1)
          UNION ALL
          (SELECT a.id, a.performed_at FROM hubspot_sync.supabase_audit_log AS a
           WHERE a.synced_to_hubspot_at IS NULL AND a.note_waits ORDER BY a.id LIMIT 1)) AS o
    ORDER BY o.id LIMIT 1
$$;

COMMENT ON FUNCTION mockbook_internal.oldest_unsent_audit_seconds() IS
'Glue (status): seconds since the oldest audit row not yet written to HubSpot as a note was made; NULL when none is waiting.';
REVOKE ALL ON FUNCTION mockbook_internal.oldest_unsent_audit_seconds() FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.oldest_unsent_audit_seconds() TO mockbook_glue;
