-- Undo db/functions/credit_balance.sql (changed).
-- Frozen copy of db/functions/credit_balance.sql (new).
/**
 * hubspot_sync.credit_balance(p_contact, p_credit_field) -> integer
 *
 * The balance of one credit field of a contact row (NULL counts as 0), read through the row's
 * jsonb form so the field name selects a value without any SQL built from it. NULL when
 * p_credit_field is NULL (nothing to read, e.g. an 'Admin Override' booking).
 * Errors: none. Locks: none.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.credit_balance(p_contact hubspot_sync.hubspot_contact_credits,
                                                       p_credit_field text)
RETURNS integer
LANGUAGE sql
IMMUTABLE
SET search_path = ''
AS $$
    SELECT CASE WHEN p_credit_field IS NOT NULL
                THEN coalesce((pg_catalog.to_jsonb(p_contact) ->> p_credit_field)::integer, 0)
           END
$$;

COMMENT ON FUNCTION hubspot_sync.credit_balance(hubspot_sync.hubspot_contact_credits, text) IS
'Internal: a contact row''s balance of one credit field (NULL counts as 0).';
REVOKE ALL ON FUNCTION hubspot_sync.credit_balance(hubspot_sync.hubspot_contact_credits, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.credit_balance(hubspot_sync.hubspot_contact_credits, text)
    TO service_role;
