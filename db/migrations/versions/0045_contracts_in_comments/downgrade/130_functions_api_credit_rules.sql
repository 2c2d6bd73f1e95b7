-- Undo db/functions/api/credit_rules.sql (moved).
-- Frozen copy of db/functions/credit_rules.sql (changed).
/**
 * hubspot_sync.credit_rules() -- the one table of which credit pays for which mock type.
 *
 * Returns (mock_type, credit_field, token_used, priority): a booking of mock_type spends one
 * credit from the lowest-priority field that has one, and records token_used; a refund goes back
 * to the field its token_used names. 'Admin Override' bookings spend and refund nothing.
 *   Situational Judgment  sj_credits, else shared_mock_credits
 *   Clinical Skills       cs_credits, else shared_mock_credits
 *   Mini-mock             sjmini_credits only
 *   Mock Discussion       mock_discussion_token only
 */
CREATE OR REPLACE FUNCTION hubspot_sync.credit_rules()
RETURNS TABLE (mock_type text, credit_field text, token_used text, priority integer)
LANGUAGE plpgsql
IMMUTABLE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    -- PL/pgSQL, not SQL: a SQL function with a SET clause is never inlined and is
    -- parsed and planned again at every call; PL/pgSQL keeps this query's plan for the session
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
'Which credit field (and token_used label) pays for each mock type, in order of preference.';
REVOKE ALL ON FUNCTION hubspot_sync.credit_rules() FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.credit_rules() TO service_role;
