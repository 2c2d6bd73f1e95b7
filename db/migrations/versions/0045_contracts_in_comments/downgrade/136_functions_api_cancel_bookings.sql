-- Undo db/functions/api/cancel_bookings.sql (moved).
-- Frozen copy of db/functions/cancel_bookings.sql (changed).
/**
 * hubspot_sync.cancel_bookings(p_booking_ids text[], p_refund DEFAULT true,
 *                              p_actor DEFAULT NULL, p_idempotency_key DEFAULT NULL) -> jsonb
 *
 * Admin batch cancellation: at most 100 references (uuid, booking code or HubSpot
 * id each), all in one transaction. Each Active booking is cancelled as cancel_booking does
 * (mockbook_internal.cancel_locked_booking: refund to the field token_used names unless p_refund is
 * false or it is an Admin Override, ledger reason 'cancellation', total_bookings - 1). Not an
 * error, reported per item instead:
 *   - already Cancelled -> skipped, reason ALREADY_CANCELLED (also a reference repeated in
 *     the batch);
 *   - Completed/Failed  -> skipped, reason NOT_CANCELLABLE;
 *   - unknown reference (or NULL) -> not_found.
 * Returns {cancelled: [cancel_booking result per cancelled booking], skipped: [{booking_id,
 * reason}], not_found: [reference, ...]}, items in the order given; booking_id in skipped is
 * the reference as given.
 * p_actor: who (the ledger, token_refund_admin, the audit rows), unless the request's JWT names a
 * user, who is then the actor (mockbook_internal.request_actor).
 * p_idempotency_key (optional, 1-255 characters): the same key with the same arguments returns
 * the first call's result unchanged and changes nothing; other arguments ->
 * IDEMPOTENCY_KEY_REUSED (mockbook_internal.claim_idempotent_call).
 * Errors: INVALID_ARGUMENT (NULL list, more than 100, p_refund NULL, p_actor too long, key
 * length), IDEMPOTENCY_KEY_REUSED, BUSY.
 * Locks: the idempotency key's advisory lock (when keyed), every involved contact row in ascending id order, then every named booking row in
 * ascending id order, then the exams of the Active ones in ascending hubspot_id order.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.cancel_bookings(
    p_booking_ids text[],
    p_refund boolean DEFAULT true,
    p_actor text DEFAULT NULL,
    p_idempotency_key text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_ids uuid[];
    v_lock_id text;
    v_contact_id uuid;
    v_booking_id uuid;
    v_status text;
    v_cancelled jsonb := '[]'::jsonb;
    v_skipped jsonb := '[]'::jsonb;
    v_not_found jsonb := '[]'::jsonb;
    v_actor text;
    v_fingerprint text;
    v_replay jsonb;
BEGIN
    -- admin powers: an admin's JWT or the service-role key, never a student's JWT
    PERFORM mockbook_internal.require_admin('cancel_bookings');
    IF p_booking_ids IS NULL THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'p_booking_ids is required.');
    ELSIF cardinality(p_booking_ids) > 100 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('p_booking_ids has %s items; at most 100 per call.',
                   cardinality(p_booking_ids)));
    END IF;
    IF p_refund IS NULL THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'p_refund must be true or false.');
    END IF;
    PERFORM mockbook_internal.check_text_arg('p_actor', p_actor, false, 255);
    v_actor := mockbook_internal.request_actor(p_actor);

    v_fingerprint := mockbook_internal.booking_fingerprint('cancel_bookings', p_booking_ids::text,
                                                      p_refund::text, v_actor);
    v_replay := mockbook_internal.claim_idempotent_call('cancel_bookings', p_idempotency_key,
                                                   v_fingerprint);
    IF v_replay IS NOT NULL THEN
        RETURN v_replay;
    END IF;

    IF v_actor IS NOT NULL THEN
        PERFORM set_config('mockbook.actor', v_actor, true);
    END IF;

    -- the booking each reference names (NULL where none), position by position
    SELECT array_agg(b.id ORDER BY t.pos) INTO v_ids
    FROM unnest(p_booking_ids) WITH ORDINALITY AS t(ref, pos)
    LEFT JOIN LATERAL mockbook_internal.booking_by_ref(t.ref) AS b ON true;

    -- lock order: contacts (ascending id), then bookings (ascending id), then exams
    -- (ascending hubspot_id); each cancellation below then finds its rows already locked
    FOR v_contact_id IN
        SELECT DISTINCT mockbook_internal.contact_id_of_booking(b) AS contact_id
        FROM hubspot_sync.hubspot_bookings AS b
        WHERE b.id = ANY (v_ids) AND mockbook_internal.contact_id_of_booking(b) IS NOT NULL
        ORDER BY contact_id
    LOOP
        PERFORM mockbook_internal.lock_contact(v_contact_id);
    END LOOP;
    FOR v_booking_id IN
        SELECT DISTINCT t.id FROM unnest(v_ids) AS t(id) WHERE t.id IS NOT NULL ORDER BY t.id
    LOOP
        PERFORM mockbook_internal.lock_booking(v_booking_id);
    END LOOP;
    FOR v_lock_id IN
        SELECT DISTINCT e.hubspot_id
        FROM hubspot_sync.hubspot_bookings AS b
        JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = b.associated_mock_exam
        WHERE b.id = ANY (v_ids) AND b.is_active = 'Active'
        ORDER BY e.hubspot_id
    LOOP
        PERFORM mockbook_internal.lock_exam(v_lock_id);
    END LOOP;

    FOR i IN 1..cardinality(p_booking_ids) LOOP
        IF v_ids[i] IS NULL THEN
            v_not_found := v_not_found || jsonb_build_array(p_booking_ids[i]);
            CONTINUE;
        END IF;
        SELECT b.is_active INTO v_status FROM hubspot_sync.hubspot_bookings AS b
        WHERE b.id = v_ids[i];
        IF v_status = 'Cancelled' THEN
            v_skipped := v_skipped || jsonb_build_object('booking_id', p_booking_ids[i],
                                                         'reason', 'ALREADY_CANCELLED');
        ELSIF v_status IS DISTINCT FROM 'Active' THEN
            v_skipped := v_skipped || jsonb_build_object('booking_id', p_booking_ids[i],
                                                         'reason', 'NOT_CANCELLABLE');
        ELSE
            v_cancelled := v_cancelled || mockbook_internal.cancel_locked_booking(
                v_ids[i], NULL, p_refund, NULL, v_actor);
        END IF;
    END LOOP;

    RETURN mockbook_internal.store_idempotent_result(
        'cancel_bookings', p_idempotency_key, v_fingerprint,
        jsonb_build_object('cancelled', v_cancelled, 'skipped', v_skipped,
                           'not_found', v_not_found));
END
$$;

COMMENT ON FUNCTION hubspot_sync.cancel_bookings(text[], boolean, text, text) IS
'Admin batch cancel of at most 100 bookings (uuid, booking code or HubSpot id each), one transaction, each as cancel_booking (refund to the token_used field unless p_refund false or Admin Override). Already cancelled -> skipped (ALREADY_CANCELLED), Completed -> skipped (NOT_CANCELLABLE), unknown -> not_found. Returns {cancelled: [...], skipped: [{booking_id, reason}], not_found: [...]}. Optional p_idempotency_key: the same key and arguments return the first result and change nothing, other arguments IDEMPOTENCY_KEY_REUSED. The actor is the request''s JWT user when there is one, else p_actor. Errors: INVALID_ARGUMENT (more than 100), IDEMPOTENCY_KEY_REUSED, BUSY. Locks: key, contacts in id order, bookings in id order, then exams in hubspot_id order.';
REVOKE ALL ON FUNCTION hubspot_sync.cancel_bookings(text[], boolean, text, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.cancel_bookings(text[], boolean, text, text) TO service_role;
