-- Privileges of the data model Security, from the catalogs: the request roles anon and authenticated
-- reach nothing in hubspot_sync (schema, tables, columns, sequences, functions), PUBLIC holds no
-- grant there, and service_role has what the RPCs and the glue need. Every check lists the
-- offending object and privilege, and covers objects added later without editing this file.
BEGIN;
SELECT plan(11);

CREATE TEMP TABLE request_roles (rolname name PRIMARY KEY) ON COMMIT DROP;
INSERT INTO request_roles VALUES ('anon'), ('authenticated');

-- The schema ----------------------------------------------------------------------------------------

SELECT is_empty(
    $$SELECT r.rolname || ' ' || p.priv FROM request_roles r
      CROSS JOIN (VALUES ('USAGE'), ('CREATE')) AS p (priv)
      WHERE pg_catalog.has_schema_privilege(r.rolname, 'hubspot_sync', p.priv)$$,
    'anon and authenticated have no USAGE or CREATE on schema hubspot_sync');

SELECT ok(pg_catalog.has_schema_privilege('service_role', 'hubspot_sync', 'USAGE')
          AND NOT pg_catalog.has_schema_privilege('service_role', 'hubspot_sync', 'CREATE'),
          'service_role has USAGE (and no CREATE) on schema hubspot_sync');

-- Tables and columns --------------------------------------------------------------------------------

SELECT is_empty(
    $$SELECT r.rolname || ' ' || p.priv || ' ON ' || c.relname
      FROM pg_catalog.pg_class c
      CROSS JOIN request_roles r
      CROSS JOIN (VALUES ('SELECT'), ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE'),
                         ('REFERENCES'), ('TRIGGER')) AS p (priv)
      WHERE c.relnamespace = 'hubspot_sync'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        AND c.relname NOT IN ('audit_log', 'groups', 'groups_instructors', 'groups_students', 'instructors', 'work_check_bookings', 'work_check_slots')  -- production's, not mockbook's
        AND pg_catalog.has_table_privilege(r.rolname, c.oid, p.priv)
      ORDER BY 1$$,
    'anon and authenticated have no privilege on any table or view of hubspot_sync');

SELECT is_empty(
    $$SELECT r.rolname || ' ' || p.priv || ' ON some column of ' || c.relname
      FROM pg_catalog.pg_class c
      CROSS JOIN request_roles r
      CROSS JOIN (VALUES ('SELECT'), ('INSERT'), ('UPDATE'), ('REFERENCES')) AS p (priv)
      WHERE c.relnamespace = 'hubspot_sync'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        AND c.relname NOT IN ('audit_log', 'groups', 'groups_instructors', 'groups_students', 'instructors', 'work_check_bookings', 'work_check_slots')
        AND pg_catalog.has_any_column_privilege(r.rolname, c.oid, p.priv)
      ORDER BY 1$$,
    'anon and authenticated have no column privilege in hubspot_sync');

SELECT is_empty(
    $$WITH seqs AS MATERIALIZED (
          SELECT c.oid, c.relname FROM pg_catalog.pg_class c
          WHERE c.relnamespace = 'hubspot_sync'::regnamespace AND c.relkind = 'S')
      SELECT r.rolname || ' ' || p.priv || ' ON ' || s.relname
      FROM seqs s
      CROSS JOIN request_roles r
      CROSS JOIN (VALUES ('USAGE'), ('SELECT'), ('UPDATE')) AS p (priv)
      WHERE pg_catalog.has_sequence_privilege(r.rolname, s.oid, p.priv)
      ORDER BY 1$$,
    'anon and authenticated have no privilege on any sequence of hubspot_sync');

SELECT is_empty(
    $$SELECT r.rolname || ' EXECUTE ' || p.oid::regprocedure::text
      FROM pg_catalog.pg_proc p CROSS JOIN request_roles r
      WHERE p.pronamespace = 'hubspot_sync'::regnamespace
        AND pg_catalog.has_function_privilege(r.rolname, p.oid, 'EXECUTE')
      ORDER BY 1$$,
    'anon and authenticated may execute no function of hubspot_sync');

SELECT is_empty(
    $$SELECT c.relname || ' ' || a.privilege_type
      FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) AS a
      WHERE c.relnamespace = 'hubspot_sync'::regnamespace AND a.grantee = 0
      UNION ALL
      SELECT 'schema ' || a.privilege_type
      FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) AS a
      WHERE n.nspname = 'hubspot_sync' AND a.grantee = 0
      ORDER BY 1$$,
    'PUBLIC holds no grant on hubspot_sync or on its tables and sequences');

-- service_role: what the RPCs and the glue need ------------------------------------------------------

SELECT is_empty(
    $$SELECT c.relname FROM pg_catalog.pg_class c
      WHERE c.relnamespace = 'hubspot_sync'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
        AND NOT pg_catalog.has_table_privilege('service_role', c.oid, 'SELECT')
      ORDER BY 1$$,
    'service_role may SELECT every table and view of hubspot_sync');

SELECT is_empty(
    $$WITH owned AS MATERIALIZED (
          SELECT c.oid AS table_oid, c.relname, s.oid AS seq_oid, s.relname AS seqname
          FROM pg_catalog.pg_depend d
          JOIN pg_catalog.pg_class s ON s.oid = d.objid
          JOIN pg_catalog.pg_class c ON c.oid = d.refobjid
          WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.deptype IN ('a', 'i')
            AND s.relkind = 'S' AND c.relnamespace = 'hubspot_sync'::regnamespace)
      SELECT o.relname || ' (sequence ' || o.seqname || ')' FROM owned o
      WHERE pg_catalog.has_table_privilege('service_role', o.table_oid, 'INSERT')
        AND NOT pg_catalog.has_sequence_privilege('service_role', o.seq_oid, 'USAGE')
      ORDER BY 1$$,
    'service_role has USAGE on the id sequence of every table it may INSERT into');

-- balance = starting balance + sum of ledger deltas holds only if rows never change.
SELECT is_empty(
    $$SELECT p.priv FROM (VALUES ('UPDATE'), ('DELETE'), ('TRUNCATE')) AS p (priv)
      WHERE pg_catalog.has_table_privilege('service_role', 'hubspot_sync.credit_ledger', p.priv)$$,
    'the credit ledger is append-only for service_role (no UPDATE, DELETE or TRUNCATE)');

-- Seen from the request roles: permission denied, not an empty result ------------------------------

SET LOCAL ROLE anon;
SELECT throws_ok($$SELECT count(*) FROM hubspot_sync.hubspot_bookings$$, '42501',
                 'permission denied for schema hubspot_sync', 'anon reading bookings: 42501');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
