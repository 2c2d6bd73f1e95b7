-- Frozen copy of db/functions/internal/request_actor.sql (new).
/**
 * Why: who acted must come from the request when it names a user, so a caller cannot write
 * someone else's name into the ledger or the audit; every write asks this one function. The rule
 * and the admin roles it recognises are the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.request_actor(p_actor text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    -- PL/pgSQL, not SQL: a SQL function that cannot be inlined (SET search_path) is parsed and
    -- planned again at every call from a trigger's statement; PL/pgSQL keeps its plans
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
'Internal: the actor of the current request: the JWT user PostgREST''s request.jwt.claims names (''admin:<email or sub>'' when app_metadata.role or user_role is an admin role: admin or super_admin, else ''user:<email or sub>''), else p_actor (server jobs).

Who acts: the one rule every write, the credit ledger
(mockbook_internal.apply_credit_delta), the audit trigger (mockbook_internal.record_row_change, hence
the HubSpot audit notes) and the keyed-write fingerprints use.

PostgREST puts the request''s verified JWT claims, as one JSON object, in the
transaction-scoped setting request.jwt.claims (PostgREST docs, "Transactions" -> "Request
Headers, Cookies and JWT claims", https://docs.postgrest.org/en/v12/references/transactions.html
: current_setting(''request.jwt.claims'', true)::json ->> ''email''); Supabase''s auth.jwt() reads
the same setting. When those claims name a user —
an `email` or a `sub` (Supabase Auth''s user id) — the actor is that user, whatever p_actor
says (a caller cannot write someone else''s name into the ledger):
    ''admin:<email>''  when the claims carry an administrator''s role claim: app_metadata.role or
                     a top-level user_role naming one of the original platform''s admin roles,
                     ''admin'' or ''super_admin'' (Supabase''s app_metadata is writable with the
                     service key only, and user_role is a custom access token hook''s claim:
                     the hook, not the user, sets it; a user cannot give either to
                     themselves — user_metadata is never read);
    ''user:<email>''   otherwise;
    <sub> instead of <email> when the claims have no email.
Otherwise (no claims, or claims without a user, e.g. the service-role key''s
{"role": "service_role"}: server jobs, the glue) the actor is p_actor (NULL when NULL).
At most 255 characters.

The admin roles, from the original apps (harmon-tuazon/PD_Mocks_Booking_ExpressVersion): the
admin API reads the custom claim user_role from the JWT, ''viewer'' when absent
(admin_root/api/_shared/supabase.js, verifyToken), and checks it against ''super_admin'' /
''admin'' (admin_root/api/admin/middleware/requireRole.js); the custom access token hook and the
app_role enum (''super_admin'', ''admin'') that put user_role there are in
PRDs/supabase/rbac-step-by-step-setup-guide.md (removed from the repository in f657668; last at
42ecd94). ''viewer'', the hook''s default for a user with no role, is not an admin.
Errors: none. Locks: none (STABLE: reads one setting).';
REVOKE ALL ON FUNCTION mockbook_internal.request_actor(text) FROM PUBLIC, anon, authenticated, service_role;
