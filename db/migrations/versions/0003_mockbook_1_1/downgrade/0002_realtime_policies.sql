-- Hand-written: mockbook's policies on Supabase Realtime's realtime.messages, which 1.1 creates
-- where that schema exists (mockbook_internal.apply_realtime_policies), taken off again.
DO $$
BEGIN
    IF pg_catalog.to_regclass('realtime.messages') IS NOT NULL THEN
        DROP POLICY IF EXISTS mockbook_listen ON realtime.messages;
        DROP POLICY IF EXISTS mockbook_send ON realtime.messages;
    END IF;
END
$$;
