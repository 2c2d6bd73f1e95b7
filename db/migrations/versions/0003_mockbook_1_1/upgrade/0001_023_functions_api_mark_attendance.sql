-- Frozen copy of db/functions/api/mark_attendance.sql (changed).
-- Why: admins record attendance in batches; total_bookings stays the Active count.
CREATE OR REPLACE FUNCTION hubspot_sync.mark_attendance(p_updates jsonb,
                                                        p_actor text DEFAULT NULL,
                                                        p_idempotency_key text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_item jsonb;
    v_index bigint;
    v_ref text;
    v_attendance text;
    v_items jsonb := '[]'::jsonb;
    v_exam_id text;
    v_booking_id uuid;
    v_touched text[] := '{}'::text[];
    v_booking hubspot_sync.hubspot_bookings;
    v_status text;
    v_updated jsonb := '[]'::jsonb;
    v_skipped jsonb := '[]'::jsonb;
    v_rejected jsonb := '[]'::jsonb;
    v_not_found jsonb := '[]'::jsonb;
    v_exams jsonb;
    v_actor text;
    v_fingerprint text;
    v_replay jsonb;
BEGIN
    PERFORM mockbook_internal.require_admin('mark_attendance');
    -- 1. The whole batch must be well-formed before anything is read or locked.
    IF p_updates IS NULL OR jsonb_typeof(p_updates) <> 'array' THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'p_updates must be a JSON array of {booking_id, attendance} objects.');
    END IF;
    IF jsonb_array_length(p_updates) > 100 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('p_updates has %s items; at most 100 per call.', jsonb_array_length(p_updates)));
    END IF;
    PERFORM mockbook_internal.check_text_arg('p_actor', p_actor, false, 255);

    FOR v_item, v_index IN SELECT u.value, u.ordinality
                           FROM jsonb_array_elements(p_updates) WITH ORDINALITY AS u LOOP
        IF jsonb_typeof(v_item) <> 'object'
           OR coalesce(jsonb_typeof(v_item -> 'booking_id'), 'missing') NOT IN ('string', 'number')
           OR btrim(v_item ->> 'booking_id') = ''
           OR length(v_item ->> 'booking_id') > 255 THEN
            PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                format('p_updates item %s needs a booking_id (uuid, booking code or HubSpot id).',
                       v_index));
        END IF;
        IF NOT v_item ? 'attendance'
           OR jsonb_typeof(v_item -> 'attendance') NOT IN ('string', 'null')
           OR lower(btrim(coalesce(v_item ->> 'attendance', ''))) NOT IN ('yes', 'no', '') THEN
            PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                format('p_updates item %s: attendance must be "Yes", "No", "" or null.', v_index));
        END IF;
        v_attendance := CASE lower(btrim(coalesce(v_item ->> 'attendance', '')))
                            WHEN 'yes' THEN 'Yes' WHEN 'no' THEN 'No' END;
        v_items := v_items || jsonb_build_array(jsonb_build_object(
            'ref', v_item ->> 'booking_id', 'attendance', v_attendance));
    END LOOP;

    v_actor := mockbook_internal.request_actor(p_actor);
    v_fingerprint := mockbook_internal.booking_fingerprint('mark_attendance', p_updates::text, v_actor);
    v_replay := mockbook_internal.claim_idempotent_call('mark_attendance', p_idempotency_key,
                                                   v_fingerprint);
    IF v_replay IS NOT NULL THEN
        RETURN v_replay;
    END IF;
    PERFORM set_config('mockbook.actor', v_actor, true);

    -- 2. Lock the named bookings in ascending id order before changing any.
    FOR v_booking_id IN
        SELECT DISTINCT b.id
        FROM jsonb_array_elements(v_items) AS i,
             LATERAL mockbook_internal.booking_by_ref(i.value ->> 'ref') AS b
        WHERE b.id IS NOT NULL
        ORDER BY 1
    LOOP
        PERFORM mockbook_internal.lock_booking(v_booking_id);
    END LOOP;

    -- 3. Each item, on its booking row (locked above, read again).
    FOR v_item IN SELECT i.value FROM jsonb_array_elements(v_items) AS i LOOP
        v_ref := v_item ->> 'ref';
        v_attendance := v_item ->> 'attendance';
        v_booking := mockbook_internal.booking_by_ref(v_ref);
        IF v_booking.id IS NULL THEN
            v_not_found := v_not_found || to_jsonb(v_ref);
            CONTINUE;
        END IF;

        IF v_booking.is_active IN ('Cancelled', 'Failed') THEN
            v_rejected := v_rejected || jsonb_build_array(jsonb_build_object(
                'booking_id', v_ref, 'reason', 'BOOKING_' || upper(v_booking.is_active)));
            CONTINUE;
        END IF;

        v_status := CASE WHEN v_attendance IS NULL THEN 'Active' ELSE 'Completed' END;
        IF v_booking.is_active IS NOT DISTINCT FROM v_status
           AND v_booking.attendance IS NOT DISTINCT FROM v_attendance THEN
            v_skipped := v_skipped || jsonb_build_array(jsonb_build_object(
                'booking_id', v_ref, 'reason', 'UNCHANGED'));
            CONTINUE;
        END IF;

        UPDATE hubspot_sync.hubspot_bookings
        SET is_active = v_status, attendance = v_attendance
        WHERE id = v_booking.id;
        IF (v_status = 'Active') IS DISTINCT FROM (v_booking.is_active = 'Active')
           AND v_booking.associated_mock_exam IS NOT NULL
           AND v_booking.associated_mock_exam <> ALL (v_touched) THEN
            v_touched := v_touched || v_booking.associated_mock_exam;
        END IF;
        v_updated := v_updated || jsonb_build_array(jsonb_build_object(
            'booking_id', v_ref, 'id', v_booking.id,
            'mock_exam_id', v_booking.associated_mock_exam,
            'previous_status', v_booking.is_active, 'status', v_status,
            'previous_attendance', v_booking.attendance, 'attendance', v_attendance));
    END LOOP;

    -- 4. The exams whose Active count changed, last, ascending HubSpot id, recounted by a
    --    statement after the locks (its snapshot sees every committed booking change).
    FOR v_exam_id IN
        SELECT e.hubspot_id FROM hubspot_sync.hubspot_mock_exams AS e
        WHERE e.hubspot_id = ANY (v_touched)
        ORDER BY 1
    LOOP
        PERFORM mockbook_internal.lock_exam(v_exam_id);
    END LOOP;
    WITH counted AS (
        SELECT e.id, e.hubspot_id, e.capacity,
               (SELECT count(*)::integer FROM hubspot_sync.hubspot_bookings AS b
                WHERE b.associated_mock_exam = e.hubspot_id AND b.is_active = 'Active') AS active
        FROM hubspot_sync.hubspot_mock_exams AS e
        WHERE e.hubspot_id = ANY (v_touched)
    ), changed AS (
        UPDATE hubspot_sync.hubspot_mock_exams AS e SET total_bookings = c.active
        FROM counted AS c
        WHERE e.id = c.id AND e.total_bookings IS DISTINCT FROM c.active
    )
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'mock_exam_id', c.hubspot_id, 'capacity', c.capacity, 'total_bookings', c.active,
               'over_capacity', c.active > coalesce(c.capacity, 0))
               ORDER BY c.hubspot_id), '[]'::jsonb)
    INTO v_exams
    FROM counted AS c;

    RETURN mockbook_internal.store_idempotent_result(
        'mark_attendance', p_idempotency_key, v_fingerprint,
        jsonb_build_object('updated', v_updated, 'skipped', v_skipped, 'rejected', v_rejected,
                           'not_found', v_not_found, 'exams', v_exams));
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

COMMENT ON FUNCTION hubspot_sync.mark_attendance(jsonb, text, text) IS
'Admin batch (≤ 100): `p_updates = [{"booking_id": ref, "attendance": "Yes" | "No" | "" | null}]`.
`Yes`/`No` (any case) → status Completed with that attendance; `""`/`null` → back to Active,
attendance cleared (the key must be present). Per item: unknown → `not_found`; Cancelled/Failed →
`rejected` (`BOOKING_CANCELLED` / `BOOKING_FAILED`); already so → `skipped` (`UNCHANGED`); else
`updated`. No credit effect. Active → Completed frees the seat; Completed → Active takes it back
even if the exam filled up since (then `over_capacity` in `exams`).
Returns `{updated: [{booking_id, id, mock_exam_id, previous_status, status, previous_attendance,
attendance}], skipped: [...], rejected: [...], not_found: [...], exams: [{mock_exam_id, capacity,
total_bookings, over_capacity}]}`. `p_idempotency_key` (optional, 1–255): a retry returns the
first result. Errors: `INVALID_ARGUMENT` (malformed input, > 100 items, actor too long),
`IDEMPOTENCY_KEY_REUSED`, `BUSY`. Locks: the key (when given), the named bookings (ascending id),
then the exams whose Active count changed (ascending HubSpot id).';
REVOKE ALL ON FUNCTION hubspot_sync.mark_attendance(jsonb, text, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.mark_attendance(jsonb, text, text) TO service_role;
