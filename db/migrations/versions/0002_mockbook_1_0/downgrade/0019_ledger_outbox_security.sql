-- Frozen: drop the ledger, outbox and dead-letter tables and the security set-up of the upgrade; the
-- production tables get back the policies and privileges the upgrade removed (replayed from
-- hubspot_sync.adoption_report) and keep row-level security on, as in production.
SET lock_timeout = '5s';
DROP TABLE IF EXISTS hubspot_sync.sync_errors;
DROP TABLE IF EXISTS hubspot_sync.sync_queue;
DROP TABLE IF EXISTS hubspot_sync.credit_ledger;
ALTER TABLE hubspot_sync.sync_metadata DROP COLUMN IF EXISTS cursor;
DO $$
DECLARE
    t text;
    r record;
BEGIN
    FOREACH t IN ARRAY ARRAY['hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings',
                             'sync_metadata'] LOOP
        EXECUTE format('DROP POLICY IF EXISTS service_role_all ON hubspot_sync.%I', t);
        EXECUTE format('REVOKE ALL ON TABLE hubspot_sync.%I FROM service_role', t);
    END LOOP;
    EXECUTE 'DROP POLICY IF EXISTS service_role_all ON hubspot_sync.supabase_audit_log';
    EXECUTE 'REVOKE ALL ON TABLE hubspot_sync.supabase_audit_log FROM service_role';
    FOR r IN SELECT old_value FROM hubspot_sync.adoption_report
             WHERE revision = '0002_mockbook_1_0'
               AND action IN ('dropped policy', 'revoked table privilege') ORDER BY id LOOP
        EXECUTE r.old_value;
    END LOOP;
    DELETE FROM hubspot_sync.adoption_report WHERE revision = '0002_mockbook_1_0'
        AND action IN ('dropped policy', 'revoked table privilege');
END
$$;
REVOKE ALL ON SEQUENCE hubspot_sync.supabase_audit_log_id_seq FROM service_role;
