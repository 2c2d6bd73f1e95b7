-- Frozen copy of db/functions/internal/send_message.sql (new).
-- Why: every Realtime message, in the writing transaction: realtime.send's row, without its cost.
CREATE OR REPLACE FUNCTION mockbook_internal.send_message(p_topic text, p_event text,
                                                         p_payload jsonb)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
BEGIN
    IF p_topic IS NULL OR p_event IS NULL OR p_payload IS NULL
       OR coalesce(nullif(pg_catalog.current_setting('mockbook.realtime_here', true), ''),
                   pg_catalog.set_config('mockbook.realtime_here',
                       CASE WHEN pg_catalog.to_regclass('realtime.messages') IS NULL
                            THEN 'no' ELSE 'yes' END, true)) <> 'yes' THEN
        RETURN;
    END IF;
    DECLARE
        -- realtime.messages exists only on Supabase; plpgsql_check runs on plain PostgreSQL
        v_pragma constant integer := mockbook_internal.plpgsql_check_pragma('disable:check');
    BEGIN
        INSERT INTO realtime.messages (id, payload, event, topic, private, extension)
        SELECT m.id, CASE WHEN p_payload ? 'id' THEN p_payload
                          ELSE p_payload || pg_catalog.jsonb_build_object('id', m.id) END,
               p_event, p_topic, true, 'broadcast'
        FROM (SELECT pg_catalog.gen_random_uuid() AS id) AS m;
    EXCEPTION WHEN OTHERS THEN  -- as realtime.send's: no partition for the day, ...
        RAISE WARNING 'WarnSendingBroadcastMessage: %', SQLERRM;
    END;
END
$$;

COMMENT ON FUNCTION mockbook_internal.send_message(text, text, jsonb) IS
'Internal: stores the row realtime.send(p_payload, p_event, p_topic, private true) would (the
message''s id added to the payload, extension broadcast) where the database has Supabase
Realtime (asked once per transaction), else nothing. Errors: none (a row that cannot be stored
is a WARNING, as realtime.send''s). Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.send_message(text, text, jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
