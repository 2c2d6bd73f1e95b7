-- Frozen copy of db/functions/internal/realtime_available.sql (new).
-- Why: asked where mockbook decides (the migration, the switch, status), never per message.
CREATE OR REPLACE FUNCTION mockbook_internal.realtime_available()
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    RETURN pg_catalog.to_regprocedure('realtime.send(jsonb,text,text,boolean)') IS NOT NULL
           AND pg_catalog.to_regclass('realtime.messages') IS NOT NULL;
END
$$;

COMMENT ON FUNCTION mockbook_internal.realtime_available() IS
'Internal: whether the database has Supabase Realtime''s realtime.send and realtime.messages.
Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.realtime_available()
    FROM PUBLIC, anon, authenticated, service_role;
