-- Frozen copy of db/functions/internal/apply_credit_delta.sql (changed).
-- Why: the only code that changes a credit balance, always by a delta with its ledger row, so the
-- ledger explains every balance and concurrent changes add up.
CREATE OR REPLACE FUNCTION mockbook_internal.apply_credit_delta(
    p_contact_id uuid,
    p_credit_field text,
    p_delta integer,
    p_reason text,
    p_booking_id uuid DEFAULT NULL,
    p_actor text DEFAULT NULL,
    p_note text DEFAULT NULL
)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_before integer;
    v_after integer;
    v_student_id text;
    v_setting text;  -- set_config's result, unread: an assignment starts no executor (PERFORM does)
BEGIN
    -- a known field and a non-zero delta pass (the list folded into the plan); else the checks
    IF NOT coalesce(p_credit_field = ANY (mockbook_internal.credit_field_names())
                    AND p_delta <> 0, false) THEN
        PERFORM mockbook_internal.check_credit_field('credit field', p_credit_field);
        IF p_delta IS NULL OR p_delta = 0 THEN
            PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                'delta must be a non-zero integer.');
        END IF;
    END IF;

    -- the booking the change belongs to, for the audit row's note_waits (record_row_change)
    v_setting := pg_catalog.set_config('mockbook.credit_booking',
                                       coalesce(p_booking_id::text, ''), true);
    -- one statement: the guarded relative update and the ledger row from what it returned
    WITH changed AS (
        UPDATE hubspot_sync.hubspot_contact_credits AS c SET
            sj_credits = CASE WHEN p_credit_field = 'sj_credits'
                              THEN coalesce(c.sj_credits, 0) + p_delta ELSE c.sj_credits END,
            cs_credits = CASE WHEN p_credit_field = 'cs_credits'
                              THEN coalesce(c.cs_credits, 0) + p_delta ELSE c.cs_credits END,
            sjmini_credits = CASE WHEN p_credit_field = 'sjmini_credits'
                                  THEN coalesce(c.sjmini_credits, 0) + p_delta
                                  ELSE c.sjmini_credits END,
            mock_discussion_token = CASE WHEN p_credit_field = 'mock_discussion_token'
                                         THEN coalesce(c.mock_discussion_token, 0) + p_delta
                                         ELSE c.mock_discussion_token END,
            shared_mock_credits = CASE WHEN p_credit_field = 'shared_mock_credits'
                                       THEN coalesce(c.shared_mock_credits, 0) + p_delta
                                       ELSE c.shared_mock_credits END,
            updated_at = now()
        WHERE c.id = p_contact_id
          AND coalesce(CASE p_credit_field
                           WHEN 'sj_credits' THEN c.sj_credits
                           WHEN 'cs_credits' THEN c.cs_credits
                           WHEN 'sjmini_credits' THEN c.sjmini_credits
                           WHEN 'mock_discussion_token' THEN c.mock_discussion_token
                           WHEN 'shared_mock_credits' THEN c.shared_mock_credits
                       END, 0) + p_delta >= 0
        RETURNING c.student_id,
                  CASE p_credit_field
                      WHEN 'sj_credits' THEN c.sj_credits
                      WHEN 'cs_credits' THEN c.cs_credits
                      WHEN 'sjmini_credits' THEN c.sjmini_credits
                      WHEN 'mock_discussion_token' THEN c.mock_discussion_token
                      WHEN 'shared_mock_credits' THEN c.shared_mock_credits
                  END AS balance_after)
    INSERT INTO hubspot_sync.credit_ledger (contact_id, student_id, credit_field, delta,
                                            balance_after, reason, booking_id, actor, note)
    SELECT p_contact_id, changed.student_id, p_credit_field, p_delta, changed.balance_after,
           p_reason, p_booking_id, mockbook_internal.request_actor(p_actor), p_note
    FROM changed
    RETURNING balance_after INTO v_after;
    IF FOUND THEN
        v_setting := pg_catalog.set_config('mockbook.credit_booking', '', true);
        RETURN v_after;
    END IF;

    -- nothing changed: no such contact, or the balance would go below zero
    SELECT c.student_id, mockbook_internal.credit_balance(c, p_credit_field)
    INTO v_student_id, v_before
    FROM hubspot_sync.hubspot_contact_credits AS c
    WHERE c.id = p_contact_id;
    IF NOT FOUND THEN
        PERFORM mockbook_internal.raise_error('CONTACT_NOT_FOUND',
            format('No contact with id %s.', p_contact_id));
    END IF;
    PERFORM mockbook_internal.raise_error('INSUFFICIENT_CREDITS',
        format('%s has %s %s; a change of %s would go below zero.',
               v_student_id, v_before, p_credit_field, p_delta));
    RETURN v_after;
END
$$;

COMMENT ON FUNCTION mockbook_internal.apply_credit_delta(uuid, text, integer, text, uuid, text, text) IS
'Internal: changes one credit balance relatively and writes its credit_ledger row. Locks: the contact
row (first in the lock order, docs/rpc.md).';
REVOKE ALL ON FUNCTION mockbook_internal.apply_credit_delta(uuid, text, integer, text, uuid, text, text)
    FROM PUBLIC, anon, authenticated, service_role;
