-- Frozen copy of db/functions/api/credit_rules.sql (changed).
-- Why: which credit pays for which mock type is decided here only, read by every function.
CREATE OR REPLACE FUNCTION hubspot_sync.credit_rules()
RETURNS TABLE (mock_type text, credit_field text, token_used text, priority integer)
LANGUAGE plpgsql
IMMUTABLE
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    -- PL/pgSQL, not SQL: a SQL function with a SET clause is planned again on every call
    RETURN QUERY VALUES
        ('Situational Judgment', 'sj_credits', 'Situational Judgment Token', 1),
        ('Situational Judgment', 'shared_mock_credits', 'Shared Token', 2),
        ('Clinical Skills', 'cs_credits', 'Clinical Skills Token', 1),
        ('Clinical Skills', 'shared_mock_credits', 'Shared Token', 2),
        ('Mini-mock', 'sjmini_credits', 'Mini-mock Token', 1),
        ('Mock Discussion', 'mock_discussion_token', 'Mock Discussion Token', 1);
END
$$;

COMMENT ON FUNCTION hubspot_sync.credit_rules() IS
'The one table of which credit pays for which mock type, lowest priority first: rows `(mock_type, credit_field, token_used, priority)`. Null: none.';
REVOKE ALL ON FUNCTION hubspot_sync.credit_rules() FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.credit_rules() TO service_role;
