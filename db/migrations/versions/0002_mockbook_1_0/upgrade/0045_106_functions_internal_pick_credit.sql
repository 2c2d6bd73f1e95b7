-- Frozen copy of db/functions/internal/pick_credit.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.pick_credit(
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
    v_rule record;
    v_balance integer;
BEGIN
    -- the type's rules in priority order: the first field with a credit wins
    FOR v_rule IN
        SELECT r.credit_field, r.token_used
        FROM hubspot_sync.credit_rules() AS r
        WHERE r.mock_type = p_mock_type
        ORDER BY r.priority
    LOOP
        v_fields := CASE WHEN v_fields IS NULL THEN v_rule.credit_field
                         ELSE v_fields || ' or ' || v_rule.credit_field END;
        IF credit_field IS NULL THEN
            v_balance := mockbook_internal.credit_balance(p_contact, v_rule.credit_field);
            IF v_balance > 0 THEN
                credit_field := v_rule.credit_field;
                token_used := v_rule.token_used;
                balance := v_balance;
            END IF;
        END IF;
    END LOOP;
    IF v_fields IS NULL THEN
        PERFORM mockbook_internal.raise_error('INVALID_EXAM_TYPE',
            format('Mock type %L has no credit rule.', p_mock_type));
    END IF;
    IF credit_field IS NULL THEN
        PERFORM mockbook_internal.raise_error('INSUFFICIENT_CREDITS',
            format('%s has no credit for a %s exam (needs %s).', p_contact.student_id,
                   p_mock_type, v_fields));
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.pick_credit(hubspot_sync.hubspot_contact_credits, text) IS
'Internal: the credit field and token_used a booking of this mock type spends (credit_rules order);
INVALID_EXAM_TYPE or INSUFFICIENT_CREDITS.';
REVOKE ALL ON FUNCTION mockbook_internal.pick_credit(hubspot_sync.hubspot_contact_credits, text)
    FROM PUBLIC, anon, authenticated, service_role;
