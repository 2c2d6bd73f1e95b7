-- Frozen copy of db/schema/02_mockbook_internal.sql (new).
-- The internal schema and the glue's role.
--
-- hubspot_sync is the API: PostgREST exposes it (Supabase: Settings -> API -> Exposed schemas),
-- and it holds exactly the documented contract (docs/rpc.md: the booking API and the production
-- compatibility functions). Everything else -- internal helpers (raise_error, lock_*,
-- take_seat, apply_credit_delta, insert_booking, ...), trigger functions and the glue's
-- functions (claim_sync_batch, apply_pulled_*, refresh_analytics, ...) -- lives in
-- mockbook_internal, which PostgREST must NOT expose: no app can call them, whatever its key.
--
-- mockbook_glue: the role the glue (`mockbook` command) runs as. NOLOGIN: a template the DBA
-- grants to a login role (`CREATE ROLE mockbook_sync LOGIN PASSWORD '...' IN ROLE
-- mockbook_glue`). It may use both schemas, EXECUTE the glue's functions (each grants it
-- beside itself) and SELECT the tables the glue reads (each table file grants it, with a
-- read-only policy); it writes nothing directly: its functions are SECURITY DEFINER.
-- Migrations run as the schema owner (the DBA), never as this role. Roles are cluster-wide:
-- created only when missing, like the Supabase roles.
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
