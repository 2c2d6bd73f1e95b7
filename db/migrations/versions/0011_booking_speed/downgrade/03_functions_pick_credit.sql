-- Undo db/functions/pick_credit.sql (changed).
-- Frozen copy of db/functions/pick_credit.sql (new).
/**
 * hubspot_sync.pick_credit(p_contact, p_mock_type) -> (credit_field, token_used, balance)
 *
 * Step 9 of SPEC §4.1: which credit a booking of p_mock_type spends, from
 * hubspot_sync.credit_rules(): the lowest-priority field with a balance above zero in p_contact
 * (Situational Judgment and Clinical Skills fall back to shared_mock_credits; Mini-mock and
 * Mock Discussion never do). balance is that field's balance before spending.
 * Errors: INVALID_EXAM_TYPE (no rule for the mock type), INSUFFICIENT_CREDITS (no field of the
 * type has a credit). Locks: none (pass the locked contact row to decide for real).
 */
CREATE OR REPLACE FUNCTION hubspot_sync.pick_credit(
    p_contact hubspot_sync.hubspot_contact_credits,
    p_mock_type text,
    OUT credit_field text,
    OUT token_used text,
    OUT balance integer
)
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_fields text;
BEGIN
    SELECT string_agg(r.credit_field, ' or ' ORDER BY r.priority) INTO v_fields
    FROM hubspot_sync.credit_rules() AS r
    WHERE r.mock_type = p_mock_type;
    IF v_fields IS NULL THEN
        PERFORM hubspot_sync.raise_error('INVALID_EXAM_TYPE',
            format('Mock type %L has no credit rule.', p_mock_type));
    END IF;

    SELECT r.credit_field, r.token_used, hubspot_sync.credit_balance(p_contact, r.credit_field)
    INTO credit_field, token_used, balance
    FROM hubspot_sync.credit_rules() AS r
    WHERE r.mock_type = p_mock_type
      AND hubspot_sync.credit_balance(p_contact, r.credit_field) > 0
    ORDER BY r.priority
    LIMIT 1;
    IF NOT FOUND THEN
        PERFORM hubspot_sync.raise_error('INSUFFICIENT_CREDITS',
            format('%s has no credit for a %s exam (needs %s).', p_contact.student_id,
                   p_mock_type, v_fields));
    END IF;
END
$$;

COMMENT ON FUNCTION hubspot_sync.pick_credit(hubspot_sync.hubspot_contact_credits, text) IS
'Internal: the credit field and token_used a booking of this mock type spends (credit_rules order); INVALID_EXAM_TYPE or INSUFFICIENT_CREDITS.';
REVOKE ALL ON FUNCTION hubspot_sync.pick_credit(hubspot_sync.hubspot_contact_credits, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.pick_credit(hubspot_sync.hubspot_contact_credits, text)
    TO service_role;
