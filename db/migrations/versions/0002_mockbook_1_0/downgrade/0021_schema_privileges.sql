-- Frozen: the Supabase roles and auth.* functions are kept on downgrade: they are shared by every
-- database of the cluster (and on Supabase they are Supabase's own). The schema privileges the
-- upgrade revoked are granted again (replayed from hubspot_sync.adoption_report).
SET lock_timeout = '5s';
REVOKE USAGE ON SCHEMA hubspot_sync FROM service_role;
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT old_value FROM hubspot_sync.adoption_report
             WHERE revision = '0002_mockbook_1_0'
               AND action IN ('kept schema privilege', 'revoked schema privilege') ORDER BY id LOOP
        EXECUTE r.old_value;
    END LOOP;
    DELETE FROM hubspot_sync.adoption_report WHERE revision = '0002_mockbook_1_0'
        AND action IN ('kept schema privilege', 'revoked schema privilege');
END
$$;
