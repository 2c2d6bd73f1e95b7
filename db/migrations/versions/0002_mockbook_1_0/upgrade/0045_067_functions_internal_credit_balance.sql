-- Frozen copy of db/functions/internal/credit_balance.sql (new).
-- Why: the one place besides apply_credit_delta that maps a field name to its column (a CASE: no
-- SQL built from the name).
CREATE OR REPLACE FUNCTION mockbook_internal.credit_balance(p_contact hubspot_sync.hubspot_contact_credits,
                                                       p_credit_field text)
RETURNS integer
LANGUAGE plpgsql
IMMUTABLE
SET search_path = ''
AS $$
BEGIN
    -- PL/pgSQL, not SQL: a SQL function with a SET clause is planned again on every call
    RETURN CASE WHEN p_credit_field IS NOT NULL THEN coalesce(CASE p_credit_field
               WHEN 'sj_credits' THEN p_contact.sj_credits
               WHEN 'cs_credits' THEN p_contact.cs_credits
               WHEN 'sjmini_credits' THEN p_contact.sjmini_credits
               WHEN 'mock_discussion_token' THEN p_contact.mock_discussion_token
               WHEN 'shared_mock_credits' THEN p_contact.shared_mock_credits
           END, 0) END;
END
$$;

COMMENT ON FUNCTION mockbook_internal.credit_balance(hubspot_sync.hubspot_contact_credits, text) IS
'Internal: the one accessor of a contact row''s balance of one credit field (NULL counts as 0).';
REVOKE ALL ON FUNCTION mockbook_internal.credit_balance(hubspot_sync.hubspot_contact_credits, text)
    FROM PUBLIC, anon, authenticated, service_role;
