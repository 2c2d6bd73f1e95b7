-- Frozen (hand-written): seal the production tables mockbook owns. Every policy on them and every
-- table privilege of a role other than the owner is removed, each recorded in
-- hubspot_sync.adoption_report with the statement that recreates it (the downgrade replays them),
-- then RLS, the service_role policy and service_role's privileges are set as docs/rpc.md says.
-- (On production this removes e.g. the FOR ALL TO public policy on contacts, zapier_sync_user's
-- INSERT/UPDATE policies and grants on bookings and exams, and Supabase's default grants to
-- anon and authenticated.) Tables mockbook does not own are not touched.
SET lock_timeout = '5s';
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN
        SELECT p.tablename, p.policyname,
               format('CREATE POLICY %I ON hubspot_sync.%I AS %s FOR %s TO %s%s%s', p.policyname,
                      p.tablename, p.permissive, p.cmd,
                      (SELECT string_agg(CASE WHEN x = 'public' THEN 'public'
                                              ELSE quote_ident(x) END, ', ')
                       FROM unnest(p.roles) AS x),
                      CASE WHEN p.qual IS NOT NULL THEN ' USING (' || p.qual || ')' ELSE '' END,
                      CASE WHEN p.with_check IS NOT NULL
                           THEN ' WITH CHECK (' || p.with_check || ')' ELSE '' END) AS ddl
        FROM pg_catalog.pg_policies p
        WHERE p.schemaname = 'hubspot_sync'
          AND p.tablename IN ('hubspot_contact_credits', 'hubspot_mock_exams',
                              'hubspot_bookings', 'sync_metadata')
        ORDER BY p.tablename, p.policyname
    LOOP
        EXECUTE format('DROP POLICY %I ON hubspot_sync.%I', r.policyname, r.tablename);
        INSERT INTO hubspot_sync.adoption_report (revision, action, object, old_value)
        VALUES ('0002_mockbook_1_0', 'dropped policy', r.tablename || '.' || r.policyname,
                r.ddl);
    END LOOP;
    FOR r IN
        SELECT c.relname, a.grantee, a.privilege_type,
               CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END
                   AS who
        FROM pg_catalog.pg_class c, aclexplode(c.relacl) AS a
        WHERE c.relnamespace = 'hubspot_sync'::regnamespace
          AND c.relname IN ('hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings',
                            'sync_metadata')
          AND a.grantee <> c.relowner
        ORDER BY 1, 4, 3
    LOOP
        EXECUTE format('REVOKE %s ON hubspot_sync.%I FROM %s', r.privilege_type, r.relname, r.who);
        INSERT INTO hubspot_sync.adoption_report (revision, action, object, old_value)
        VALUES ('0002_mockbook_1_0', 'revoked table privilege',
                r.relname || ' ' || r.privilege_type || ' from ' || r.who,
                format('GRANT %s ON hubspot_sync.%I TO %s', r.privilege_type, r.relname, r.who));
    END LOOP;
END
$$;

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
