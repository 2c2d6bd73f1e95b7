-- Frozen copy of db/functions/internal/exam_seats_message.sql (new).
-- Why: what a live booking page shows of an exam, counted as list_available_exams counts it.
CREATE OR REPLACE FUNCTION mockbook_internal.exam_seats_message(p_exam_hubspot_id text)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_now constant timestamptz := mockbook_internal.clock_now();
    v_message jsonb;
BEGIN
    SELECT jsonb_build_object(
               'mock_exam_id', e.hubspot_id,
               'capacity', coalesce(e.capacity, 0),
               'total_bookings', coalesce(e.total_bookings, 0),
               'held_seats', w.held,
               'remaining_seats', greatest(coalesce(e.capacity, 0)
                                           - coalesce(e.total_bookings, 0) - w.held, 0),
               'is_full', coalesce(e.total_bookings, 0) + w.held >= coalesce(e.capacity, 0),
               'waiting', w.waiting,
               'reason', mockbook_internal.exam_unbookable_reason(e, v_now),
               'next_offer_expires_at', w.next)
    INTO v_message
    FROM hubspot_sync.hubspot_mock_exams AS e
    CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE x.status = 'offered'
                                  AND x.offer_expires_at > v_now)::integer AS held,
               count(*) FILTER (WHERE x.status = 'waiting')::integer AS waiting,
               min(x.offer_expires_at) FILTER (WHERE x.status = 'offered'
                                                 AND x.offer_expires_at > v_now) AS next
        FROM hubspot_sync.waitlist_entries AS x
        WHERE x.mock_exam_id = e.hubspot_id AND x.status IN ('waiting', 'offered')) AS w
    WHERE e.hubspot_id = p_exam_hubspot_id;
    RETURN v_message;
END
$$;

COMMENT ON FUNCTION mockbook_internal.exam_seats_message(text) IS
'Internal: {mock_exam_id, capacity, total_bookings, held_seats, remaining_seats, is_full, waiting,
reason, next_offer_expires_at} of an exam (NULL: none). Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.exam_seats_message(text)
    FROM PUBLIC, anon, authenticated, service_role;
