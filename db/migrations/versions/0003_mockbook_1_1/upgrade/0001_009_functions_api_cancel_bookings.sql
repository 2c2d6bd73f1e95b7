-- Frozen copy of db/functions/api/cancel_bookings.sql (changed).
-- Why: an admin's batch is one transaction, every row locked up front in the lock order.
CREATE OR REPLACE FUNCTION hubspot_sync.cancel_bookings(
    p_booking_ids text[],
    p_refund boolean DEFAULT true,
    p_actor text DEFAULT NULL,
    p_idempotency_key text DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
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

    PERFORM set_config('mockbook.actor', v_actor, true);

    -- the booking each reference names (NULL where none), position by position
    SELECT array_agg(b.id ORDER BY t.pos) INTO v_ids
    FROM unnest(p_booking_ids) WITH ORDINALITY AS t(ref, pos)
    LEFT JOIN LATERAL mockbook_internal.booking_by_ref(t.ref) AS b ON true;

    -- lock order: contacts, bookings (ascending id), exams (ascending hubspot_id)
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

COMMENT ON FUNCTION hubspot_sync.cancel_bookings(text[], boolean, text, text) IS
'Admin batch: at most 100 references, one transaction, each cancelled as `cancel_booking` does.
Reported per item, not errors: already cancelled (or named twice) → `skipped` with reason
`ALREADY_CANCELLED`; Completed/Failed → `skipped`, `NOT_CANCELLABLE`; unknown → `not_found`.
Returns `{cancelled: [cancel_booking results], skipped: [{booking_id, reason}],
not_found: [ref, …]}`, items in the order given. `p_idempotency_key` (optional, 1–255): a retry
returns the first result (the same `cancelled` list).
Errors: `INVALID_ARGUMENT` (NULL list, more than 100, `p_refund` NULL, actor too long),
`IDEMPOTENCY_KEY_REUSED`, `BUSY`. Locks: the key (when given), every involved contact, every
named booking (ascending id), then the exams of the Active ones (ascending HubSpot id), all
before the first cancellation.';
REVOKE ALL ON FUNCTION hubspot_sync.cancel_bookings(text[], boolean, text, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.cancel_bookings(text[], boolean, text, text) TO service_role;
