-- Frozen copy of db/functions/internal/claim_idempotency_key.sql (new).
/**
 * Why: a booking's key is stored on the booking it made, so a retry finds it there; this step
 * takes the key's lock first, so concurrent calls with one key run one after the other and the
 * later ones replay. The contract is the COMMENT ON FUNCTION below.
 */
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
        PERFORM mockbook_internal.raise_error('IDEMPOTENCY_KEY_REUSED',
            format('The idempotency key was already used by booking %s for a different request.',
                   v_booking.booking_id));
    END IF;
    RETURN v_booking;
END
$$;

COMMENT ON FUNCTION mockbook_internal.claim_idempotency_key(text, text) IS
'Internal: serializes calls per idempotency key (advisory lock) and returns the booking a matching earlier call made, NULL if none; IDEMPOTENCY_KEY_REUSED if the key served a different request.

Step 2 of create_booking''s contract, shared by every function that makes a booking with an idempotency key.
First takes the key''s advisory lock (mockbook_internal.lock_idempotency_key), so concurrent calls
with one key run one after the other (each later one then sees the committed booking), then
looks the key up in hubspot_bookings.idempotency_key:
  - used by another keyed write (hubspot_sync.idempotency_results) -> IDEMPOTENCY_KEY_REUSED;
  - not used yet            -> returns NULL: the caller goes on and stores key + fingerprint
                               with its booking (a failed call stores nothing, so a retry with
                               the same key tries again);
  - used, same fingerprint  -> returns that booking: the caller answers it as a replay and
                               changes nothing;
  - used, other fingerprint -> IDEMPOTENCY_KEY_REUSED.
Rows written before mockbook have no stored fingerprint; theirs is derived from the row as a
create_booking fingerprint (student, lower(email), exam, location, hand), the stored location
read as a location code first (mockbook_internal.legacy_attending_location: production''s
create_booking_atomic stored the original app''s spelling, ''Mississauga'', ''TBD'', where
mockbook''s fingerprint holds the code; a value that names no known place is compared as
stored). So the original app''s retry of a booking production made, inside its key''s 5-minute
window, is the replay it was meant to be (production''s unique key answered it with 23505,
which the app took for "already booked"), not IDEMPOTENCY_KEY_REUSED.
Errors: IDEMPOTENCY_KEY_REUSED; BUSY when the key''s lock is not granted within
mockbook.lock_timeout (default 2s).
Locks: the key''s advisory lock until the transaction ends (taken before any row lock).';
REVOKE ALL ON FUNCTION mockbook_internal.claim_idempotency_key(text, text)
    FROM PUBLIC, anon, authenticated, service_role;
