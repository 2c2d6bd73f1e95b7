-- Frozen copy of db/functions/internal/mark_audit_notes.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.mark_audit_notes(p_ids bigint[])
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_count integer;
BEGIN
    UPDATE hubspot_sync.supabase_audit_log AS a
    SET synced_to_hubspot_at = now()
    WHERE a.id = ANY (p_ids) AND a.synced_to_hubspot_at IS NULL;
    GET DIAGNOSTICS v_count = ROW_COUNT;
    RETURN v_count;
END
$$;

COMMENT ON FUNCTION mockbook_internal.mark_audit_notes(bigint[]) IS
'Glue (audit notes): mark audit rows whose HubSpot note exists (synced_to_hubspot_at); returns how
many were marked.';
REVOKE ALL ON FUNCTION mockbook_internal.mark_audit_notes(bigint[]) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.mark_audit_notes(bigint[]) TO mockbook_glue;
