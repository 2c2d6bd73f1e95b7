-- Undo db/functions/adjust_credits.sql (changed).
-- re-created below, in the same transaction
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS hubspot_sync.adjust_credits;
-- Frozen copy of db/functions/adjust_credits.sql (changed).
/**
 * hubspot_sync.adjust_credits(p_student_id text, p_credit_field text, p_delta integer,
 *                             p_reason text, p_actor text) -> jsonb
 *
 * An admin adds or removes credits of one field of one student: a relative change (balance +
 * p_delta) through hubspot_sync.apply_credit_delta, recorded in credit_ledger with reason
 * 'admin_adjustment', p_actor as actor and p_reason as the ledger note; the audit row names
 * p_actor too (mockbook.actor). A balance never goes below zero.
 * Args: p_student_id    the student's id
 *       p_credit_field  sj_credits | cs_credits | sjmini_credits | mock_discussion_token |
 *                       shared_mock_credits
 *       p_delta         non-zero, between -1000 and 1000
 *       p_reason        why (required, at most 1000 characters)
 *       p_actor         who (required, at most 255 characters)
 * Returns: {success: true, student_id, credit_field, delta, previous_balance, balance}
 * Errors: INVALID_ARGUMENT (unknown field, zero/NULL/too large delta, missing or too long
 *         reason, actor or student id),
 *         CONTACT_NOT_FOUND, INSUFFICIENT_CREDITS (the balance would go below zero), BUSY.
 * Locks: the contact row (hubspot_sync.lock_contact; no exam is locked).
 */
CREATE OR REPLACE FUNCTION hubspot_sync.adjust_credits(
    p_student_id text,
    p_credit_field text,
    p_delta integer,
    p_reason text,
    p_actor text
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_contact_id uuid;
    v_balance integer;
BEGIN
    IF p_credit_field IS NULL OR p_credit_field NOT IN (
        SELECT DISTINCT r.credit_field FROM hubspot_sync.credit_rules() AS r) THEN
        PERFORM hubspot_sync.raise_error('INVALID_ARGUMENT',
            format('p_credit_field %L is not one of sj_credits, cs_credits, sjmini_credits, '
                   'mock_discussion_token, shared_mock_credits.', p_credit_field));
    END IF;
    IF p_delta IS NULL OR p_delta = 0 OR p_delta NOT BETWEEN -1000 AND 1000 THEN
        PERFORM hubspot_sync.raise_error('INVALID_ARGUMENT',
            format('p_delta must be a non-zero integer between -1000 and 1000, not %s.',
                   coalesce(p_delta::text, 'NULL')));
    END IF;
    PERFORM hubspot_sync.check_text_arg('p_reason', p_reason, true, 1000);
    PERFORM hubspot_sync.check_text_arg('p_actor', p_actor, true, 255);
    PERFORM hubspot_sync.check_text_arg('p_student_id', p_student_id, true, 64);

    SELECT c.id INTO v_contact_id
    FROM hubspot_sync.hubspot_contact_credits AS c
    WHERE c.student_id = p_student_id;
    IF v_contact_id IS NULL THEN
        PERFORM hubspot_sync.raise_error('CONTACT_NOT_FOUND',
            format('No student %L.', p_student_id));
    END IF;

    PERFORM hubspot_sync.lock_contact(v_contact_id);
    PERFORM set_config('mockbook.actor', p_actor, true);
    v_balance := hubspot_sync.apply_credit_delta(v_contact_id, p_credit_field, p_delta,
                                                 'admin_adjustment', NULL, p_actor, p_reason);

    RETURN jsonb_build_object(
        'success', true,
        'student_id', p_student_id,
        'credit_field', p_credit_field,
        'delta', p_delta,
        'previous_balance', v_balance - p_delta,
        'balance', v_balance);
END
$$;

COMMENT ON FUNCTION hubspot_sync.adjust_credits(text, text, integer, text, text) IS
'Admin credit adjustment: adds p_delta (-1000..1000, non-zero) to one of the five credit fields, '
'never below zero, with a credit_ledger row (admin_adjustment, note = p_reason, actor = p_actor). '
'Returns {success, student_id, credit_field, delta, previous_balance, balance}. Errors: '
'INVALID_ARGUMENT, CONTACT_NOT_FOUND, INSUFFICIENT_CREDITS, BUSY. Locks the contact row.';
REVOKE ALL ON FUNCTION hubspot_sync.adjust_credits(text, text, integer, text, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.adjust_credits(text, text, integer, text, text)
    TO service_role;
