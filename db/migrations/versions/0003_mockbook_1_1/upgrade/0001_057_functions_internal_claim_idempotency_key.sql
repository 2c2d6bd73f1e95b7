-- Frozen copy of db/functions/internal/claim_idempotency_key.sql (changed).
-- Why: a booking's key is stored on the booking it made, so a retry finds it there.
CREATE OR REPLACE FUNCTION mockbook_internal.claim_idempotency_key(p_idempotency_key text,
                                                              p_fingerprint text)
RETURNS hubspot_sync.hubspot_bookings
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_booking hubspot_sync.hubspot_bookings;
    v_location text;
    v_fingerprint text;
BEGIN
    PERFORM mockbook_internal.lock_idempotency_key(p_idempotency_key);

    SELECT * INTO v_booking FROM hubspot_sync.hubspot_bookings AS b
    WHERE b.idempotency_key = p_idempotency_key;
    IF NOT FOUND THEN
        -- a key another keyed write (cancel_booking, adjust_credits, ...) was made with
        IF EXISTS (SELECT FROM hubspot_sync.idempotency_results AS r
                   WHERE r.idempotency_key = p_idempotency_key) THEN
            PERFORM mockbook_internal.raise_error('IDEMPOTENCY_KEY_REUSED',
                'The idempotency key was already used by another call for a different request.');
        END IF;
        RETURN NULL;
    END IF;

    v_fingerprint := v_booking.idempotency_fingerprint;
    IF v_fingerprint IS NULL THEN
        -- a row from before mockbook: its location as the code the fingerprint holds
        v_location := v_booking.attending_location;
        BEGIN
            v_location := mockbook_internal.legacy_attending_location(v_location);
        EXCEPTION WHEN SQLSTATE 'PT400' THEN
            NULL;  -- names no known place: compared as stored
        END;
        v_fingerprint := mockbook_internal.booking_fingerprint(
            'booking', v_booking.student_id, lower(v_booking.student_email),
            v_booking.associated_mock_exam, v_location, v_booking.dominant_hand);
    END IF;
    IF v_fingerprint IS DISTINCT FROM p_fingerprint THEN
        -- another student's booking is named to nobody but an admin (not yours = not there)
        PERFORM mockbook_internal.raise_error('IDEMPOTENCY_KEY_REUSED',
            format('The idempotency key was already used%s for a different request.',
                   CASE WHEN mockbook_internal.caller_sees(v_booking.student_id)
                        THEN ' by booking ' || v_booking.booking_id ELSE '' END));
    END IF;
    RETURN v_booking;
END
$$;

COMMENT ON FUNCTION mockbook_internal.claim_idempotency_key(text, text) IS
'Internal: serializes calls per idempotency key (advisory lock) and returns the booking a matching
earlier call made, NULL if none; IDEMPOTENCY_KEY_REUSED if the key served a different request.
Locks: the key''s advisory lock until the transaction ends (taken before any row lock).';
REVOKE ALL ON FUNCTION mockbook_internal.claim_idempotency_key(text, text)
    FROM PUBLIC, anon, authenticated, service_role;
