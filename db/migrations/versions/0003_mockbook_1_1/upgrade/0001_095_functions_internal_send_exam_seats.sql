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
    PERFORM mockbook_internal.send_message(
        mockbook_internal.realtime_topic('exam', p_exam_hubspot_id), 'seats',
        mockbook_internal.exam_seats_message(p_exam_hubspot_id));
END
$$;

COMMENT ON FUNCTION mockbook_internal.send_exam_seats(text) IS
'Internal: sends exam_seats_message on the exam''s topic (event seats), once per transaction (the
setting mockbook.broadcast_exams). Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.send_exam_seats(text)
    FROM PUBLIC, anon, authenticated, service_role;
