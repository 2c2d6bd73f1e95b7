-- Frozen copy of db/functions/internal/credit_balances.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.credit_balances(
    p_contact hubspot_sync.hubspot_contact_credits)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = ''
AS $$
DECLARE
    v_balances jsonb := '{}'::jsonb;
    v_field text;
BEGIN
    FOREACH v_field IN ARRAY mockbook_internal.credit_field_names() LOOP
        v_balances := v_balances
                      || jsonb_build_object(v_field, mockbook_internal.credit_balance(p_contact, v_field));
    END LOOP;
    RETURN v_balances;
END
$$;

COMMENT ON FUNCTION mockbook_internal.credit_balances(hubspot_sync.hubspot_contact_credits) IS
'Internal: a contact row''s balances as {credit_field: balance}, every field of credit_fields().';
REVOKE ALL ON FUNCTION mockbook_internal.credit_balances(hubspot_sync.hubspot_contact_credits)
    FROM PUBLIC, anon, authenticated, service_role;
