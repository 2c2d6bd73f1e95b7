-- Frozen: the hubspot_sync schema is reachable by service_role only (production's other grants,
-- e.g. zapier_sync_user's, are revoked too). Hand-written: the schema
-- privileges found on an adopted database are recorded in
-- hubspot_sync.adoption_report (with the GRANT the downgrade replays) before they are revoked.
SET lock_timeout = '5s';
INSERT INTO hubspot_sync.adoption_report (revision, action, object, old_value)
SELECT '0002_mockbook_1_0', CASE WHEN w.who = 'service_role' THEN 'kept schema privilege'
            ELSE 'revoked schema privilege' END,
       'schema hubspot_sync ' || a.privilege_type || ' from ' || w.who,
       format('GRANT %s ON SCHEMA hubspot_sync TO %s', a.privilege_type, w.who)
FROM pg_catalog.pg_namespace n, aclexplode(n.nspacl) AS a,
     LATERAL (SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                          ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS who) AS w
WHERE n.nspname = 'hubspot_sync' AND a.grantee <> n.nspowner;
REVOKE ALL ON SCHEMA hubspot_sync FROM PUBLIC, anon, authenticated;
DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT DISTINCT pg_get_userbyid(a.grantee) AS who
             FROM pg_catalog.pg_namespace n, aclexplode(n.nspacl) AS a
             WHERE n.nspname = 'hubspot_sync' AND a.grantee NOT IN (0, n.nspowner)
               AND pg_get_userbyid(a.grantee) <> 'service_role' LOOP
        EXECUTE format('REVOKE ALL ON SCHEMA hubspot_sync FROM %I', r.who);
    END LOOP;
END
$$;
GRANT USAGE ON SCHEMA hubspot_sync TO service_role;
