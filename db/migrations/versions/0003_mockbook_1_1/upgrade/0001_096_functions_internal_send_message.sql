-- Frozen copy of db/functions/internal/send_message.sql (new).
-- Why: every Realtime message mockbook sends goes out here, in the writing transaction.
CREATE OR REPLACE FUNCTION mockbook_internal.send_message(p_topic text, p_event text,
                                                         p_payload jsonb)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_here text := pg_catalog.current_setting('mockbook.realtime_here', true);
BEGIN
    IF v_here IS NULL OR v_here = '' THEN
        v_here := pg_catalog.set_config('mockbook.realtime_here',
            CASE WHEN pg_catalog.to_regnamespace('realtime') IS NULL THEN 'no' ELSE 'yes' END,
            true);
    END IF;
    IF v_here = 'yes' AND p_topic IS NOT NULL AND p_event IS NOT NULL
       AND p_payload IS NOT NULL THEN
        DECLARE
            -- realtime.send exists only on Supabase; plpgsql_check runs on plain PostgreSQL
            v_pragma constant integer := mockbook_internal.plpgsql_check_pragma('disable:check');
        BEGIN
            PERFORM realtime.send(p_payload, p_event, p_topic, true);
        END;
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.send_message(text, text, jsonb) IS
'Internal: realtime.send(p_payload, p_event, p_topic, private true) where the database has
Supabase Realtime (asked once per transaction), else nothing. Errors: none (realtime.send''s own
are WARNINGs). Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.send_message(text, text, jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
