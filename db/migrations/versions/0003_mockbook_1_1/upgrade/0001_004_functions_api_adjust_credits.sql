-- Frozen copy of db/functions/api/adjust_credits.sql (changed).
-- Why: the only way an admin changes a balance, through apply_credit_delta like every credit
-- change: relative, with its ledger and outbox rows.
CREATE OR REPLACE FUNCTION hubspot_sync.adjust_credits(
    p_student_id text,
    p_credit_field text,
    p_delta integer,
    p_reason text,
    p_actor text,
    p_idempotency_key text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_contact_id uuid;
    v_balance integer;
    v_actor text := mockbook_internal.request_actor(p_actor);
    v_fingerprint text;
    v_replay jsonb;
BEGIN
    PERFORM mockbook_internal.require_admin('adjust_credits');
    PERFORM mockbook_internal.check_credit_field('p_credit_field', p_credit_field);
    IF p_delta IS NULL OR p_delta = 0 OR p_delta NOT BETWEEN -1000 AND 1000 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('p_delta must be a non-zero integer between -1000 and 1000, not %s.',
                   coalesce(p_delta::text, 'NULL')));
    END IF;
    PERFORM mockbook_internal.check_text_arg('p_reason', p_reason, true, 1000);
    PERFORM mockbook_internal.check_text_arg('p_actor', p_actor, mockbook_internal.request_actor() IS NULL,
                                        255);
    PERFORM mockbook_internal.check_text_arg('p_student_id', p_student_id, true, 64);

    v_fingerprint := mockbook_internal.booking_fingerprint('adjust_credits', p_student_id,
                                                      p_credit_field, p_delta::text, p_reason,
                                                      v_actor);
    v_replay := mockbook_internal.claim_idempotent_call('adjust_credits', p_idempotency_key,
                                                   v_fingerprint);
    IF v_replay IS NOT NULL THEN
        RETURN v_replay;
    END IF;

    SELECT c.id INTO v_contact_id
    FROM hubspot_sync.hubspot_contact_credits AS c
    WHERE c.student_id = p_student_id;
    IF v_contact_id IS NULL THEN
        PERFORM mockbook_internal.raise_error('CONTACT_NOT_FOUND',
            format('No student %L.', p_student_id));
    END IF;

    PERFORM mockbook_internal.lock_contact(v_contact_id);
    PERFORM set_config('mockbook.actor', v_actor, true);
    v_balance := mockbook_internal.apply_credit_delta(v_contact_id, p_credit_field, p_delta,
                                                 'admin_adjustment', NULL, v_actor, p_reason);

    RETURN mockbook_internal.store_idempotent_result('adjust_credits', p_idempotency_key,
                                                v_fingerprint, jsonb_build_object(
        'success', true,
        'student_id', p_student_id,
        'credit_field', p_credit_field,
        'delta', p_delta,
        'previous_balance', v_balance - p_delta,
        'balance', v_balance));
EXCEPTION
    WHEN lock_not_available OR deadlock_detected THEN
        PERFORM mockbook_internal.raise_busy(SQLSTATE);
        RAISE;
    WHEN disk_full OR insufficient_resources OR out_of_memory OR configuration_limit_exceeded
         OR io_error OR read_only_sql_transaction THEN
        PERFORM mockbook_internal.raise_unavailable(SQLSTATE);
        RAISE;
END
$$;

COMMENT ON FUNCTION hubspot_sync.adjust_credits(text, text, integer, text, text, text) IS
'An admin adds or removes credits of one field: `p_credit_field` one of `sj_credits`,
`cs_credits`, `sjmini_credits`, `mock_discussion_token`, `shared_mock_credits`; `p_delta`
non-zero, −1000…1000; `p_reason` (required, ≤ 1000) and `p_actor` (≤ 255; required unless the
request''s JWT names the user, who is then the actor). A relative change with an
`admin_adjustment` ledger row; never below zero. `p_idempotency_key` (optional, 1–255): **send
one** — without it a retry after a timeout adds the credits twice.
Returns `{success, student_id, credit_field, delta, previous_balance, balance}`.
Errors: `INVALID_ARGUMENT`, `IDEMPOTENCY_KEY_REUSED`, `CONTACT_NOT_FOUND`, `INSUFFICIENT_CREDITS`,
`BUSY`. Locks: the key (when given), then the contact.';
REVOKE ALL ON FUNCTION hubspot_sync.adjust_credits(text, text, integer, text, text, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.adjust_credits(text, text, integer, text, text, text)
    TO service_role;
