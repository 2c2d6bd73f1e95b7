-- Hand-written: nothing legacy stays open (db/schema/19_production_not_owned.sql). On every
-- table, view, sequence and function of hubspot_sync and mockbook_internal, owned by mockbook
-- or not, no privilege of PUBLIC, anon or authenticated; production's policies written
-- TO public ("Service role has full access") now name service_role; the default privileges
-- Supabase gives anon and authenticated in hubspot_sync are revoked, so a view or function
-- created later is not open either. Each action is one adoption_report row (the privileges or
-- policy roles it removed, which the downgrade grants again). A shop whose other app needs the
-- old grants opts out before the upgrade with the setting mockbook.keep_legacy_grants = on
-- (ALTER DATABASE ... SET, or PGOPTIONS='-c mockbook.keep_legacy_grants=on'): nothing is
-- changed and one report row says so.
DO $$
DECLARE
    v_rev constant text := '0002_mockbook_1_0';
    v_roles constant text[] := ARRAY['anon', 'authenticated'];
    v_object record;
    v_owner text;
BEGIN
    IF coalesce(current_setting('mockbook.keep_legacy_grants', true), '') IN ('on', 'true', '1') THEN
        INSERT INTO hubspot_sync.adoption_report (revision, action, object, old_value, new_value)
        VALUES (v_rev, 'legacy grants kept (mockbook.keep_legacy_grants = on)', 'hubspot_sync',
                NULL, NULL);
        RETURN;
    END IF;
    -- tables, views, materialized views, sequences
    FOR v_object IN
        SELECT c.oid::regclass::text AS name, c.relkind,
               string_agg(DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE r.rolname END
                          || ':' || a.privilege_type, ', ') AS had
        FROM pg_catalog.pg_class AS c
        CROSS JOIN LATERAL aclexplode(c.relacl) AS a
        LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
        WHERE c.relnamespace IN ('hubspot_sync'::regnamespace, 'mockbook_internal'::regnamespace)
          AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND (a.grantee = 0 OR r.rolname = ANY (v_roles))
        GROUP BY 1, 2 ORDER BY 1
    LOOP
        EXECUTE format('REVOKE ALL ON %s %s FROM PUBLIC, anon, authenticated',
                       CASE WHEN v_object.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                       v_object.name);
        INSERT INTO hubspot_sync.adoption_report (revision, action, object, old_value, new_value)
        VALUES (v_rev, 'revoked legacy privileges', v_object.name, v_object.had, NULL);
    END LOOP;
    -- functions
    FOR v_object IN
        SELECT p.oid::regprocedure::text AS name,
               string_agg(DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE r.rolname END, ', ')
                   AS had
        FROM pg_catalog.pg_proc AS p
        CROSS JOIN LATERAL aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) AS a
        LEFT JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
        WHERE p.pronamespace IN ('hubspot_sync'::regnamespace, 'mockbook_internal'::regnamespace)
          AND (a.grantee = 0 OR r.rolname = ANY (v_roles))
        GROUP BY 1 ORDER BY 1
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, anon, authenticated', v_object.name);
        INSERT INTO hubspot_sync.adoption_report (revision, action, object, old_value, new_value)
        VALUES (v_rev, 'revoked legacy EXECUTE', v_object.name, v_object.had, NULL);
    END LOOP;
    -- policies written TO public
    FOR v_object IN
        SELECT pol.polname AS policy, pol.polrelid::regclass::text AS tab
        FROM pg_catalog.pg_policy AS pol
        JOIN pg_catalog.pg_class AS c ON c.oid = pol.polrelid
        WHERE c.relnamespace = 'hubspot_sync'::regnamespace AND pol.polroles = '{0}'
        ORDER BY 2, 1
    LOOP
        EXECUTE format('ALTER POLICY %I ON %s TO service_role', v_object.policy, v_object.tab);
        INSERT INTO hubspot_sync.adoption_report (revision, action, object, old_value, new_value)
        VALUES (v_rev, 'policy narrowed to service_role', v_object.tab || ' ' || v_object.policy,
                'TO public', 'TO service_role');
    END LOOP;
    -- default privileges for anon / authenticated in hubspot_sync (Supabase's)
    FOR v_object IN
        SELECT pg_catalog.pg_get_userbyid(d.defaclrole) AS owner, d.defaclobjtype::text AS kind,
               string_agg(r.rolname || ':' || a.privilege_type
                          || CASE WHEN a.is_grantable THEN '*' ELSE '' END, ', '
                          ORDER BY array_position(v_roles, r.rolname::text), a.privilege_type)
                   AS had
        FROM pg_catalog.pg_default_acl AS d
        CROSS JOIN LATERAL aclexplode(d.defaclacl) AS a
        JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
        WHERE d.defaclnamespace = 'hubspot_sync'::regnamespace AND r.rolname = ANY (v_roles)
        GROUP BY 1, 2
    LOOP
        EXECUTE format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA hubspot_sync REVOKE ALL ON %s FROM anon, authenticated',
                       v_object.owner,
                       CASE v_object.kind WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES'
                                          WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES'
                                          ELSE 'SCHEMAS' END);
        INSERT INTO hubspot_sync.adoption_report (revision, action, object, old_value, new_value)
        VALUES (v_rev, 'default privileges revoked', 'hubspot_sync ' || v_object.kind,
                'for role ' || v_object.owner || ': ' || v_object.had, NULL);
    END LOOP;
END
$$;
