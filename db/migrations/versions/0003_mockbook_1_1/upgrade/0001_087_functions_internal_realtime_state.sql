-- Frozen copy of db/functions/internal/realtime_state.sql (new).
-- Why: Supabase's schema, the school's switch and the policies, read by status and the switch.
CREATE OR REPLACE FUNCTION mockbook_internal.realtime_state()
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_on integer;
    v_all integer;
BEGIN
    SELECT count(*) FILTER (WHERE t.tgenabled <> 'D'), count(*) INTO v_on, v_all
    FROM mockbook_internal.broadcast_triggers() AS b
    JOIN pg_catalog.pg_trigger AS t
      ON t.tgrelid = pg_catalog.to_regclass('hubspot_sync.' || b.table_name)
     AND t.tgname = b.trigger_name;
    RETURN jsonb_build_object(
        'realtime', mockbook_internal.realtime_available(),
        'broadcasts', CASE WHEN v_on = 0 THEN 'off' WHEN v_on = v_all THEN 'on' ELSE 'partial' END,
        'triggers_on', v_on,
        'triggers', v_all,
        'policies', coalesce((SELECT array_agg(p.polname::text ORDER BY p.polname)
                              FROM pg_catalog.pg_policy AS p
                              WHERE p.polrelid = pg_catalog.to_regclass('realtime.messages')
                                AND p.polname IN ('mockbook_listen', 'mockbook_send')),
                             '{}'));
END
$$;

COMMENT ON FUNCTION mockbook_internal.realtime_state() IS
'Internal: {realtime, broadcasts: on | off | partial (broadcast triggers enabled), triggers_on,
triggers, policies: mockbook''s on realtime.messages}. Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.realtime_state() FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.realtime_state() TO mockbook_glue;
