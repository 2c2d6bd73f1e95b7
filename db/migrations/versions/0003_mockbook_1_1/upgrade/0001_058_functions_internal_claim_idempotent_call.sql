-- Frozen copy of db/functions/internal/claim_idempotent_call.sql (changed).
-- Why: every keyed write that is not a booking gets its retry safety from this one step: the key's
-- lock, then the stored result of the first call, or a refusal when the arguments differ.
CREATE OR REPLACE FUNCTION mockbook_internal.claim_idempotent_call(p_function text,
                                                              p_idempotency_key text,
                                                              p_fingerprint text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_stored hubspot_sync.idempotency_results;
    v_booking record;
BEGIN
    IF p_idempotency_key IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM mockbook_internal.check_idempotency_key_arg(p_idempotency_key, false);

    PERFORM mockbook_internal.lock_idempotency_key(p_idempotency_key);

    SELECT * INTO v_stored FROM hubspot_sync.idempotency_results AS r
    WHERE r.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        IF v_stored.function_name IS DISTINCT FROM p_function
           OR v_stored.fingerprint IS DISTINCT FROM p_fingerprint THEN
            -- (naming neither the call nor its time: it may be another user's)
            PERFORM mockbook_internal.raise_error('IDEMPOTENCY_KEY_REUSED',
                'The idempotency key was already used, by another function or with other arguments.');
        END IF;
        RETURN v_stored.result;
    END IF;

    SELECT b.booking_id, b.student_id INTO v_booking
    FROM hubspot_sync.hubspot_bookings AS b
    WHERE b.idempotency_key = p_idempotency_key;
    IF FOUND THEN
        PERFORM mockbook_internal.raise_error('IDEMPOTENCY_KEY_REUSED',
            format('The idempotency key was already used by a booking%s.',
                   CASE WHEN mockbook_internal.caller_sees(v_booking.student_id)
                        THEN ' (' || v_booking.booking_id || ')' ELSE '' END));
    END IF;
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION mockbook_internal.claim_idempotent_call(text, text, text) IS
'Internal: for a keyed write, takes the key''s advisory lock and returns the stored result of an
earlier call with the same function and fingerprint (a replay), NULL when the key is unused or NULL;
IDEMPOTENCY_KEY_REUSED when another call or a booking used it.';
REVOKE ALL ON FUNCTION mockbook_internal.claim_idempotent_call(text, text, text)
    FROM PUBLIC, anon, authenticated, service_role;
