-- Frozen copy of db/functions/internal/credit_field_of_token.sql (new).
/**
 * mockbook_internal.credit_field_of_token(p_token_used) -> text
 *
 * The credit field a booking's token_used names, from hubspot_sync.credit_rules() (e.g.
 * 'Shared Token' -> shared_mock_credits): where a cancellation refunds to. NULL for
 * 'Admin Override' and any label without a rule (nothing was spent, nothing is refunded).
 * Errors: none. Locks: none.
 * PL/pgSQL, not SQL: a SQL function's body is planned again on every call.
 */
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
