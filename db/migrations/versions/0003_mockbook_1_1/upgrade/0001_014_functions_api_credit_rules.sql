-- Frozen copy of db/functions/api/credit_rules.sql (changed).
-- Why: which credit pays for which mock type (credit_rule_set's rows), read by every function.
CREATE OR REPLACE FUNCTION hubspot_sync.credit_rules()
RETURNS TABLE (mock_type text, credit_field text, token_used text, priority integer)
LANGUAGE plpgsql
IMMUTABLE
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    -- PL/pgSQL, not SQL: a SQL function with a SET clause is planned again on every call
    RETURN QUERY
    SELECT r.mock_type, r.credit_field, r.token_used, r.priority
    FROM jsonb_to_recordset(mockbook_internal.credit_rule_set())
         AS r(mock_type text, credit_field text, token_used text, priority integer);
END
$$;

COMMENT ON FUNCTION hubspot_sync.credit_rules() IS
'The one table of which credit pays for which mock type, lowest priority first: rows `(mock_type, credit_field, token_used, priority)`. Null: none.';
REVOKE ALL ON FUNCTION hubspot_sync.credit_rules() FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.credit_rules() TO service_role;
