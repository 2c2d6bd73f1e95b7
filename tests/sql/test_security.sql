-- The security model of SPEC §3, read from the catalogs. Each check lists the offending objects,
-- so it keeps holding as tables and functions are added: a new table without RLS, a policy for a
-- request role, a function with a mutable search_path, SECURITY DEFINER, executable by PUBLIC /
-- anon / authenticated, overloaded, or building SQL at run time, fails here by name.
BEGIN;
SELECT plan(11);

-- Tables ------------------------------------------------------------------------------------------

SELECT isnt_empty(
    $$SELECT c.relname FROM pg_catalog.pg_class c
      WHERE c.relnamespace = 'hubspot_sync'::regnamespace AND c.relkind IN ('r', 'p')$$,
    'hubspot_sync has tables (the checks below are not vacuous)');

SELECT is_empty(
    $$SELECT c.relname FROM pg_catalog.pg_class c
      WHERE c.relnamespace = 'hubspot_sync'::regnamespace AND c.relkind IN ('r', 'p')
        AND NOT c.relrowsecurity
      ORDER BY 1$$,
    'every table in hubspot_sync has row level security enabled (offenders listed)');

SELECT is_empty(
    $$SELECT p.tablename || '.' || p.policyname || ' TO ' || array_to_string(p.roles, ',')
      FROM pg_catalog.pg_policies p
      WHERE p.schemaname = 'hubspot_sync'
        -- the production tables mockbook does not own keep their own policies (README)
        AND p.tablename NOT IN ('audit_log', 'groups', 'groups_instructors', 'groups_students', 'instructors', 'work_check_bookings', 'work_check_slots')
        AND p.roles && ARRAY['public', 'anon', 'authenticated']::name[]
      ORDER BY 1$$,
    'no policy in hubspot_sync applies to PUBLIC, anon or authenticated');

SELECT is_empty(
    $$SELECT p.tablename || '.' || p.policyname || ' TO ' || array_to_string(p.roles, ',')
      FROM pg_catalog.pg_policies p
      WHERE p.schemaname = 'hubspot_sync' AND p.roles <> ARRAY['service_role']::name[]
        AND p.tablename NOT IN ('audit_log', 'groups', 'groups_instructors', 'groups_students', 'instructors', 'work_check_bookings', 'work_check_slots')
      ORDER BY 1$$,
    'every policy in hubspot_sync is for service_role only');

-- Functions ---------------------------------------------------------------------------------------
-- SECURITY DEFINER allow-list: add a function name here only with a comment saying why it must
-- run with its owner's rights. It is empty: every function runs as the caller (SECURITY INVOKER).
CREATE TEMP TABLE security_definer_allowed (proname name PRIMARY KEY) ON COMMIT DROP;

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
      WHERE p.pronamespace = 'hubspot_sync'::regnamespace
        AND NOT coalesce('search_path=""' = ANY(p.proconfig), false)
      ORDER BY 1$$,
    'every function in hubspot_sync pins search_path = '''' (SET search_path = '''')');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
      WHERE p.pronamespace = 'hubspot_sync'::regnamespace AND p.prosecdef
        AND p.proname NOT IN (SELECT proname FROM security_definer_allowed)
      ORDER BY 1$$,
    'no function in hubspot_sync is SECURITY DEFINER (outside the allow-list)');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text || ' by ' || r.rolname FROM pg_catalog.pg_proc p
      CROSS JOIN (VALUES ('anon'), ('authenticated')) AS r (rolname)
      WHERE p.pronamespace = 'hubspot_sync'::regnamespace
        AND pg_catalog.has_function_privilege(r.rolname, p.oid, 'EXECUTE')
      ORDER BY 1$$,
    'no function in hubspot_sync is executable by anon or authenticated');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
      WHERE p.pronamespace = 'hubspot_sync'::regnamespace
        AND (p.proacl IS NULL  -- the default ACL: EXECUTE to PUBLIC
             OR EXISTS (SELECT FROM pg_catalog.aclexplode(p.proacl) AS a WHERE a.grantee = 0))
      ORDER BY 1$$,
    'no function in hubspot_sync is executable by PUBLIC (REVOKE ALL ... FROM PUBLIC beside it)');

SELECT is_empty(
    $$SELECT p.proname || ' x' || count(*) FROM pg_catalog.pg_proc p
      WHERE p.pronamespace = 'hubspot_sync'::regnamespace
      GROUP BY p.proname HAVING count(*) > 1
      ORDER BY 1$$,
    'no function name in hubspot_sync is overloaded (one pg_proc row per name)');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
      JOIN pg_catalog.pg_language l ON l.oid = p.prolang
      WHERE p.pronamespace = 'hubspot_sync'::regnamespace AND l.lanname = 'plpgsql'
        AND p.prosrc ~* '\mEXECUTE\M\s+(format\s*\(|''|[a-z_]+\s*(\|\||;|USING|INTO))'
      ORDER BY 1$$,
    'no function in hubspot_sync builds and EXECUTEs SQL at run time');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
      WHERE p.pronamespace = 'hubspot_sync'::regnamespace
        AND pg_catalog.obj_description(p.oid, 'pg_proc') IS NULL
        AND p.prorettype <> 'trigger'::regtype
      ORDER BY 1$$,
    'every callable function in hubspot_sync has a COMMENT (PostgREST publishes it)');

SELECT * FROM finish();
ROLLBACK;
