-- Frozen copy of db/functions/internal/credit_field_of_token.sql (new).
-- Why PL/pgSQL, not SQL: a SQL function's body is planned again on every call.
CREATE OR REPLACE FUNCTION mockbook_internal.credit_field_of_token(p_token_used text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = ''
AS $$
BEGIN
    RETURN (SELECT min(r.credit_field)
            FROM hubspot_sync.credit_rules() AS r
            WHERE r.token_used = p_token_used);
END
$$;

COMMENT ON FUNCTION mockbook_internal.credit_field_of_token(text) IS
'Internal: the credit field a token_used label names (refund target); NULL for Admin Override.';
REVOKE ALL ON FUNCTION mockbook_internal.credit_field_of_token(text) FROM PUBLIC, anon, authenticated, service_role;
