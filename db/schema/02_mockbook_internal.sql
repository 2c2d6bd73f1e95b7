-- The internal schema and the glue's role. hubspot_sync is the API PostgREST exposes, holding
-- exactly the documented contract (db/functions/api/); helpers, trigger functions and the glue's
-- functions (db/functions/internal/) live in mockbook_internal, which PostgREST must NOT expose,
-- so no app can call them whatever its key.
-- mockbook_glue is the role the glue runs as: NOLOGIN, granted by the DBA to a login role
-- (`CREATE ROLE mockbook_sync LOGIN PASSWORD '...' IN ROLE mockbook_glue`). It may use both
-- schemas, EXECUTE the glue's functions and SELECT the tables the glue reads; it writes nothing
-- directly (its functions are SECURITY DEFINER). Migrations run as the schema owner, never as
-- this role. Roles are cluster-wide: created only when missing, like the Supabase roles.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'mockbook_glue') THEN
        CREATE ROLE mockbook_glue NOLOGIN;
    END IF;
END
$$;

CREATE SCHEMA IF NOT EXISTS mockbook_internal;
REVOKE ALL ON SCHEMA mockbook_internal FROM PUBLIC, anon, authenticated, service_role;
GRANT USAGE ON SCHEMA mockbook_internal TO mockbook_glue;
GRANT USAGE ON SCHEMA hubspot_sync TO mockbook_glue;
