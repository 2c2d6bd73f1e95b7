-- Frozen copy of db/functions/internal/credit_rule_set.sql (new).
-- Why: the credit rules as a constant a plan folds in (a booking reads them with no call).
CREATE OR REPLACE FUNCTION mockbook_internal.credit_rule_set()
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = ''
AS $$
BEGIN
    RETURN '[
        {"mock_type": "Situational Judgment", "credit_field": "sj_credits",
         "token_used": "Situational Judgment Token", "priority": 1},
        {"mock_type": "Situational Judgment", "credit_field": "shared_mock_credits",
         "token_used": "Shared Token", "priority": 2},
        {"mock_type": "Clinical Skills", "credit_field": "cs_credits",
         "token_used": "Clinical Skills Token", "priority": 1},
        {"mock_type": "Clinical Skills", "credit_field": "shared_mock_credits",
         "token_used": "Shared Token", "priority": 2},
        {"mock_type": "Mini-mock", "credit_field": "sjmini_credits",
         "token_used": "Mini-mock Token", "priority": 1},
        {"mock_type": "Mock Discussion", "credit_field": "mock_discussion_token",
         "token_used": "Mock Discussion Token", "priority": 1}
    ]'::jsonb;
END
$$;

COMMENT ON FUNCTION mockbook_internal.credit_rule_set() IS
'Internal: the rows of hubspot_sync.credit_rules(), in its order, as a jsonb array. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.credit_rule_set() FROM PUBLIC, anon, authenticated, service_role;
