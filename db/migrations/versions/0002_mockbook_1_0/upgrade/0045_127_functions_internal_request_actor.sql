-- Frozen copy of db/functions/internal/request_actor.sql (new).
-- Why: who acted must come from the request when it names a user, so a caller cannot write someone
-- else's name into the ledger or the audit.
CREATE OR REPLACE FUNCTION mockbook_internal.request_actor(p_actor text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    -- PL/pgSQL, not SQL: a SQL function with a SET clause is planned again on every call
    v_claims jsonb := nullif(pg_catalog.current_setting('request.jwt.claims', true), '')::jsonb;
    -- the original platform's administrator roles (see the header); exact, case-sensitive values
    c_admin_roles CONSTANT text[] := ARRAY['admin', 'super_admin'];
    v_who text;
BEGIN
    IF jsonb_typeof(v_claims) IS DISTINCT FROM 'object' THEN
        RETURN p_actor;
    END IF;
    v_who := coalesce(nullif(btrim(v_claims ->> 'email'), ''),
                      nullif(btrim(v_claims ->> 'sub'), ''));
    IF v_who IS NULL THEN
        RETURN p_actor;
    END IF;
    RETURN left(CASE WHEN v_claims #>> '{app_metadata,role}' = ANY (c_admin_roles)
                       OR v_claims ->> 'user_role' = ANY (c_admin_roles)
                     THEN 'admin:' ELSE 'user:' END || v_who, 255);
END
$$;

COMMENT ON FUNCTION mockbook_internal.request_actor(text) IS
'Internal: the actor of the current request: the JWT user PostgREST''s request.jwt.claims names
(''admin:<email or sub>'' when app_metadata.role or user_role is an admin role: admin or super_admin,
else ''user:<email or sub>''), else p_actor (server jobs). Errors: none. Locks: none (STABLE: reads
one setting).';
REVOKE ALL ON FUNCTION mockbook_internal.request_actor(text) FROM PUBLIC, anon, authenticated, service_role;
