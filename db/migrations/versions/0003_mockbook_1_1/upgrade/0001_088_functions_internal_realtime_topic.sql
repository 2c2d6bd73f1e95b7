-- Frozen copy of db/functions/internal/realtime_topic.sql (new).
-- Why: the topics apps join are a contract (docs/apps.md); each is spelled here once.
CREATE OR REPLACE FUNCTION mockbook_internal.realtime_topic(p_kind text, p_key text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = ''
AS $$
BEGIN
    RETURN CASE p_kind
        WHEN 'exam' THEN 'mockbook:exam:' || p_key
        WHEN 'student' THEN 'mockbook:student:' || lower(btrim(p_key, E' \t\r\n'))
        WHEN 'admin' THEN 'mockbook:admin'
    END;
END
$$;

COMMENT ON FUNCTION mockbook_internal.realtime_topic(text, text) IS
'Internal: the Realtime topic of an exam (p_key: its HubSpot id), a student (p_key: their email,
as same_email compares it) or the admins. Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.realtime_topic(text, text)
    FROM PUBLIC, anon, authenticated, service_role;
