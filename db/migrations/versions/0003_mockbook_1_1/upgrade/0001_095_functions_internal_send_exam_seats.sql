-- Frozen copy of db/functions/internal/send_exam_seats.sql (new).
-- Why: one message per exam and transaction; the first deferred event reads the committed state.
CREATE OR REPLACE FUNCTION mockbook_internal.send_exam_seats(p_exam_hubspot_id text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_sent text := coalesce(pg_catalog.current_setting('mockbook.broadcast_exams', true), '');
BEGIN
    IF p_exam_hubspot_id IS NULL
       OR position(E'\n' || p_exam_hubspot_id || E'\n' IN E'\n' || v_sent) > 0 THEN
        RETURN;
    END IF;
    v_sent := pg_catalog.set_config('mockbook.broadcast_exams',
                                    v_sent || p_exam_hubspot_id || E'\n', true);
    IF coalesce(nullif(pg_catalog.current_setting('mockbook.realtime_here', true), ''),
                pg_catalog.set_config('mockbook.realtime_here',
                    CASE WHEN pg_catalog.to_regclass('realtime.messages') IS NULL
                         THEN 'no' ELSE 'yes' END, true)) <> 'yes' THEN
        RETURN;
    END IF;
    DECLARE
        -- realtime.messages exists only on Supabase; plpgsql_check runs on plain PostgreSQL
        v_pragma constant integer := mockbook_internal.plpgsql_check_pragma('disable:check');
    BEGIN
        -- send_message's row, in one statement; seats as list_available_exams counts them
        INSERT INTO realtime.messages (id, payload, event, topic, private, extension)
        SELECT m.id,
               jsonb_build_object(
                   'mock_exam_id', e.hubspot_id,
                   'capacity', coalesce(e.capacity, 0),
                   'total_bookings', coalesce(e.total_bookings, 0),
                   'held_seats', w.held,
                   'remaining_seats', greatest(coalesce(e.capacity, 0)
                                               - coalesce(e.total_bookings, 0) - w.held, 0),
                   'is_full', coalesce(e.total_bookings, 0) + w.held >= coalesce(e.capacity, 0),
                   'waiting', w.waiting,
                   'reason', mockbook_internal.exam_unbookable_reason(e, m.now),
                   'next_offer_expires_at', w.next,
                   'id', m.id),
               'seats', 'mockbook:exam:' || e.hubspot_id, true, 'broadcast'
        FROM (SELECT pg_catalog.gen_random_uuid() AS id,
                     mockbook_internal.clock_now() AS now) AS m
        JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = p_exam_hubspot_id
        CROSS JOIN LATERAL (
            SELECT count(*) FILTER (WHERE x.status = 'offered'
                                      AND x.offer_expires_at > m.now)::integer AS held,
                   count(*) FILTER (WHERE x.status = 'waiting')::integer AS waiting,
                   min(x.offer_expires_at) FILTER (WHERE x.status = 'offered'
                                                     AND x.offer_expires_at > m.now) AS next
            FROM hubspot_sync.waitlist_entries AS x
            WHERE x.mock_exam_id = e.hubspot_id AND x.status IN ('waiting', 'offered')) AS w;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'WarnSendingBroadcastMessage: %', SQLERRM;  -- as send_message
    END;
END
$$;

COMMENT ON FUNCTION mockbook_internal.send_exam_seats(text) IS
'Internal: sends an exam''s seats on its topic (event seats: {mock_exam_id, capacity,
total_bookings, held_seats, remaining_seats, is_full, waiting, reason, next_offer_expires_at}, as
a live booking page shows them), once per transaction (the setting mockbook.broadcast_exams);
the row send_message would store. Errors: none (a row that cannot be stored is a WARNING).
Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.send_exam_seats(text)
    FROM PUBLIC, anon, authenticated, service_role;
