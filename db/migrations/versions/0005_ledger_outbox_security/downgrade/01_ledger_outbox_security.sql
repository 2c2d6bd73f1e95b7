-- Frozen: drop the ledger, outbox and dead-letter tables and the RLS set-up of 0005.
SET lock_timeout = '5s';
DROP TABLE IF EXISTS hubspot_sync.sync_errors;
DROP TABLE IF EXISTS hubspot_sync.sync_queue;
DROP TABLE IF EXISTS hubspot_sync.credit_ledger;
ALTER TABLE hubspot_sync.sync_metadata DROP COLUMN IF EXISTS cursor;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings',
                             'sync_metadata', 'supabase_audit_log'] LOOP
        EXECUTE format('DROP POLICY IF EXISTS service_role_all ON hubspot_sync.%I', t);
        EXECUTE format('ALTER TABLE hubspot_sync.%I DISABLE ROW LEVEL SECURITY', t);
        EXECUTE format('REVOKE ALL ON TABLE hubspot_sync.%I FROM service_role', t);
    END LOOP;
END
$$;
REVOKE ALL ON SEQUENCE hubspot_sync.supabase_audit_log_id_seq FROM service_role;
