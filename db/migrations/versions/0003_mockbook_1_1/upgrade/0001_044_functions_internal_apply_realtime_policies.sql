-- Frozen copy of db/functions/internal/apply_realtime_policies.sql (new).
-- Why: Realtime lets a client join a private topic only as the policies on realtime.messages allow.
CREATE OR REPLACE FUNCTION mockbook_internal.apply_realtime_policies()
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_done boolean := false;
BEGIN
    IF NOT mockbook_internal.realtime_available() THEN
        RETURN false;
    END IF;
    BEGIN
        IF pg_catalog.obj_description((SELECT p.oid FROM pg_catalog.pg_policy AS p
                                       WHERE p.polrelid = pg_catalog.to_regclass('realtime.messages')
                                         AND p.polname = 'mockbook_listen'), 'pg_policy')
           IS DISTINCT FROM 'mockbook 1.1' THEN
            DROP POLICY IF EXISTS mockbook_listen ON realtime.messages;
            DROP POLICY IF EXISTS mockbook_send ON realtime.messages;
            -- signed in: exams, their own topic; request_actor's admins: all; anon: nothing
            CREATE POLICY mockbook_listen ON realtime.messages FOR SELECT TO authenticated USING (
                realtime.messages.extension = 'broadcast'
                AND ((SELECT realtime.topic()) LIKE 'mockbook:exam:%'
                     OR (SELECT realtime.topic()) = 'mockbook:student:'
                        || lower(btrim((SELECT auth.jwt()) ->> 'email', E' \t\r\n'))
                     OR ((SELECT realtime.topic()) LIKE 'mockbook:%'
                         AND coalesce(nullif(btrim((SELECT auth.jwt()) ->> 'email'), ''),
                                      nullif(btrim((SELECT auth.jwt()) ->> 'sub'), '')) IS NOT NULL
                         AND ((SELECT auth.jwt()) #>> '{app_metadata,role}'
                                  = ANY (ARRAY['admin', 'super_admin'])
                              OR (SELECT auth.jwt()) ->> 'user_role'
                                  = ANY (ARRAY['admin', 'super_admin'])))));
            CREATE POLICY mockbook_send ON realtime.messages FOR INSERT TO CURRENT_USER
                WITH CHECK (realtime.messages.extension = 'broadcast'
                            AND realtime.messages.topic LIKE 'mockbook:%');
            COMMENT ON POLICY mockbook_listen ON realtime.messages IS 'mockbook 1.1';
        END IF;
        v_done := true;
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE WARNING 'mockbook: no policies on realtime.messages (%): clients cannot join mockbook''s topics until its owner runs SELECT mockbook_internal.apply_realtime_policies()', SQLERRM;
    END;
    RETURN v_done;
END
$$;

COMMENT ON FUNCTION mockbook_internal.apply_realtime_policies() IS
'Internal: puts mockbook_listen and mockbook_send (version: the first''s comment) on
realtime.messages; false without Realtime or when not allowed (a WARNING). Locks: that table.';
REVOKE ALL ON FUNCTION mockbook_internal.apply_realtime_policies()
    FROM PUBLIC, anon, authenticated, service_role;
