-- The security model of the data model and the sealed API, read from the catalogs. Each check lists the
-- offending objects, so it keeps holding as tables and functions are added: a new table without
-- RLS, a policy for a request role, a function with a mutable search_path, a SECURITY DEFINER
-- function outside the two doors (the API's contract, the glue's functions), anything in
-- mockbook_internal executable by a request role, overloaded, or building SQL at run time,
-- fails here by name.
BEGIN;
SELECT plan(18);

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
      WHERE p.schemaname = 'hubspot_sync'
        AND NOT (p.policyname = 'service_role_all' AND p.roles = ARRAY['service_role']::name[])
        -- the glue's role reads the tables it reads directly (SELECT only)
        AND NOT (p.policyname = 'mockbook_glue_read' AND p.roles = ARRAY['mockbook_glue']::name[]
                 AND p.cmd = 'SELECT')
        AND p.tablename NOT IN ('audit_log', 'groups', 'groups_instructors', 'groups_students', 'instructors', 'work_check_bookings', 'work_check_slots')
      ORDER BY 1$$,
    'every policy in hubspot_sync is service_role_all or the glue''s read-only mockbook_glue_read');

-- Functions ---------------------------------------------------------------------------------------
-- SECURITY DEFINER exactly where it is the door (README, Roles): the request roles and the glue's
-- role may not write the tables, so the functions they may call -- the contract in hubspot_sync
-- (executable by service_role) and the glue's functions in mockbook_internal (executable by
-- mockbook_glue) -- run with their owner's rights; everything else (internal helpers, trigger
-- functions, production's kept functions) runs as its caller. So: DEFINER <=> executable by
-- service_role or mockbook_glue.
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
      WHERE p.pronamespace IN ('hubspot_sync'::regnamespace, 'mockbook_internal'::regnamespace)
        AND NOT coalesce('search_path=""' = ANY(p.proconfig), false)
      ORDER BY 1$$,
    'every function in hubspot_sync and mockbook_internal pins search_path = '''' (SET search_path = '''')');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text || CASE WHEN p.prosecdef THEN ' is DEFINER' ELSE ' is INVOKER' END
      FROM pg_catalog.pg_proc p
      WHERE p.pronamespace IN ('hubspot_sync'::regnamespace, 'mockbook_internal'::regnamespace)
        -- production's functions mockbook keeps as they are (SECURITY INVOKER, README)
        AND p.oid NOT IN (
            'hubspot_sync.get_changed_fields(jsonb, jsonb)'::regprocedure)
        -- a deferred trigger fires at the commit, as the request's role (PostgREST's SET LOCAL
        -- ROLE still holds): its function runs as the owner (checked below)
        AND p.oid NOT IN (SELECT t.tgfoid FROM pg_catalog.pg_trigger AS t WHERE t.tginitdeferred)
        AND p.prosecdef IS DISTINCT FROM (
            pg_catalog.has_function_privilege('service_role', p.oid, 'EXECUTE')
            OR pg_catalog.has_function_privilege('mockbook_glue', p.oid, 'EXECUTE'))
      ORDER BY 1$$,
    'SECURITY DEFINER exactly on the functions service_role or mockbook_glue may execute');

SELECT is_empty(
    $$SELECT DISTINCT t.tgfoid::regprocedure::text FROM pg_catalog.pg_trigger AS t
      JOIN pg_catalog.pg_proc AS p ON p.oid = t.tgfoid
      WHERE t.tginitdeferred AND NOT p.prosecdef
      ORDER BY 1$$,
    'the functions of deferred triggers are SECURITY DEFINER (they fire as the request''s role)');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text || ' by ' || r.rolname FROM pg_catalog.pg_proc p
      CROSS JOIN (VALUES ('anon'), ('authenticated'), ('service_role')) AS r (rolname)
      WHERE p.pronamespace = 'mockbook_internal'::regnamespace
        AND pg_catalog.has_function_privilege(r.rolname, p.oid, 'EXECUTE')
      ORDER BY 1$$,
    'no function in mockbook_internal is executable by anon, authenticated or service_role');

SELECT is_empty(
    $$SELECT r.rolname FROM (VALUES ('PUBLIC'), ('anon'), ('authenticated'), ('service_role')) AS r (rolname)
      WHERE EXISTS (SELECT FROM pg_catalog.pg_namespace n
                    CROSS JOIN pg_catalog.aclexplode(n.nspacl) AS a
                    WHERE n.nspname = 'mockbook_internal'
                      AND a.grantee = CASE WHEN r.rolname = 'PUBLIC' THEN 0
                                           ELSE r.rolname::regrole::oid END)
      ORDER BY 1$$,
    'PUBLIC and the request roles have no privilege on schema mockbook_internal');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text || ' by ' || r.rolname FROM pg_catalog.pg_proc p
      CROSS JOIN (VALUES ('anon'), ('authenticated')) AS r (rolname)
      WHERE p.pronamespace = 'hubspot_sync'::regnamespace
        AND pg_catalog.has_function_privilege(r.rolname, p.oid, 'EXECUTE')
      ORDER BY 1$$,
    'no function in hubspot_sync is executable by anon or authenticated');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
      WHERE p.pronamespace IN ('hubspot_sync'::regnamespace, 'mockbook_internal'::regnamespace)
        AND (p.proacl IS NULL  -- the default ACL: EXECUTE to PUBLIC
             OR EXISTS (SELECT FROM pg_catalog.aclexplode(p.proacl) AS a WHERE a.grantee = 0))
      ORDER BY 1$$,
    'no function in hubspot_sync or mockbook_internal is executable by PUBLIC (REVOKE ALL ... FROM PUBLIC beside it)');

SELECT is_empty(
    $$SELECT p.proname || ' x' || count(*) FROM pg_catalog.pg_proc p
      WHERE p.pronamespace IN ('hubspot_sync'::regnamespace, 'mockbook_internal'::regnamespace)
      GROUP BY p.proname HAVING count(*) > 1
      ORDER BY 1$$,
    'no function name in hubspot_sync or mockbook_internal is overloaded (one pg_proc row per name)');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
      JOIN pg_catalog.pg_language l ON l.oid = p.prolang
      WHERE p.pronamespace IN ('hubspot_sync'::regnamespace, 'mockbook_internal'::regnamespace)
        AND l.lanname = 'plpgsql'
        AND p.prosrc ~* '\mEXECUTE\M\s+(format\s*\(|''|[a-z_]+\s*(\|\||;|USING|INTO))'
        -- the one exception: ALTER DATABASE takes no parameters, so set_business_timezone
        -- names current_database() (%I) and a zone name read from pg_timezone_names (%L)
        AND p.oid <> 'hubspot_sync.set_business_timezone(text, text)'::regprocedure
        -- and the zone's function rewritten: fixed text, the zone quoted (%L), a boolean (%s)
        AND p.oid <> 'mockbook_internal.stamp_business_timezone()'::regprocedure
      ORDER BY 1$$,
    'no function in hubspot_sync or mockbook_internal builds and EXECUTEs SQL at run time '
    '(but set_business_timezone''s ALTER DATABASE and the zone''s function rewritten)');
SELECT is((SELECT array_agg(m[1] ORDER BY m[1])
           FROM pg_catalog.pg_proc p,
                regexp_matches(p.prosrc, '\mEXECUTE\M\s+(\S+)', 'g') AS m
           WHERE p.oid = 'mockbook_internal.stamp_business_timezone()'::regprocedure),
          ARRAY['format($f$CREATE'],
          'stamp_business_timezone EXECUTEs one statement, built by format from fixed text');
SELECT is((SELECT array_agg(m[1])
           FROM pg_catalog.pg_proc p,
                regexp_matches(substring(p.prosrc FROM '\$f\$(.*)\$f\$'),
                               '(?<!%)%([A-Za-z])', 'g') AS m
           WHERE p.oid = 'mockbook_internal.stamp_business_timezone()'::regprocedure),
          ARRAY['s', 'L', 'L'],
          'the zone''s function is fixed text but a boolean (%s) and the zone, quoted twice (%L)');
SELECT alike((SELECT substring(p.prosrc FROM '\$f\$(.*)\$f\$') FROM pg_catalog.pg_proc p
             WHERE p.oid = 'mockbook_internal.stamp_business_timezone()'::regprocedure),
            'CREATE OR REPLACE FUNCTION mockbook_internal.business_timezone()%',
            'the statement rewrites mockbook_internal.business_timezone() and nothing else');
SELECT is((SELECT array_agg(m[1]) FROM pg_catalog.pg_proc p,
                regexp_matches(p.prosrc, '\mEXECUTE\M\s+format\(''([^'']*)''', 'g') AS m
           WHERE p.oid = 'hubspot_sync.set_business_timezone(text, text)'::regprocedure),
          ARRAY['ALTER DATABASE %I SET mockbook.business_timezone = %L'],
          'set_business_timezone EXECUTEs only ALTER DATABASE on its own database, both values quoted');

SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc p
      WHERE p.pronamespace = 'hubspot_sync'::regnamespace
        AND pg_catalog.obj_description(p.oid, 'pg_proc') IS NULL
        AND p.prorettype <> 'trigger'::regtype
      ORDER BY 1$$,
    'every callable function in hubspot_sync has a COMMENT (PostgREST publishes it)');

SELECT * FROM finish();
ROLLBACK;
