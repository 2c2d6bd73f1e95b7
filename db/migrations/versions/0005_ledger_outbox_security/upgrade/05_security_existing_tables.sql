-- Frozen: RLS, the service_role policy and table privileges on the pre-existing tables.
SET lock_timeout = '5s';
-- security
ALTER TABLE hubspot_sync.hubspot_contact_credits ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.hubspot_contact_credits
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.hubspot_contact_credits FROM PUBLIC, anon, authenticated;
GRANT SELECT, INSERT, UPDATE ON TABLE hubspot_sync.hubspot_contact_credits TO service_role;

-- security
ALTER TABLE hubspot_sync.hubspot_mock_exams ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.hubspot_mock_exams
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.hubspot_mock_exams FROM PUBLIC, anon, authenticated;
GRANT SELECT, INSERT, UPDATE ON TABLE hubspot_sync.hubspot_mock_exams TO service_role;

-- security
ALTER TABLE hubspot_sync.hubspot_bookings ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.hubspot_bookings
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.hubspot_bookings FROM PUBLIC, anon, authenticated;
GRANT SELECT, INSERT, UPDATE ON TABLE hubspot_sync.hubspot_bookings TO service_role;

-- security
ALTER TABLE hubspot_sync.sync_metadata ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.sync_metadata
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.sync_metadata FROM PUBLIC, anon, authenticated;
GRANT SELECT, INSERT, UPDATE ON TABLE hubspot_sync.sync_metadata TO service_role;

-- security
ALTER TABLE hubspot_sync.supabase_audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.supabase_audit_log
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.supabase_audit_log FROM PUBLIC, anon, authenticated;
GRANT SELECT, INSERT, UPDATE ON TABLE hubspot_sync.supabase_audit_log TO service_role;
REVOKE ALL ON SEQUENCE hubspot_sync.supabase_audit_log_id_seq FROM PUBLIC, anon, authenticated;
GRANT USAGE ON SEQUENCE hubspot_sync.supabase_audit_log_id_seq TO service_role;

