-- Undo db/functions/booking_rule.sql (changed).
-- Frozen copy of db/functions/booking_rule.sql (changed).
-- moved by 00_schema_changes.sql (ALTER FUNCTION ... SET SCHEMA): nothing left to drop here
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS hubspot_sync.booking_rule;
/**
 * mockbook_internal.booking_rule(p_rule text) -> jsonb
 *
 * The value of one scheduling rule (issue 16) from hubspot_sync.booking_rules, as jsonb
 * ('false', '0', 'null', '"refuse"', ...). A rule without a row reads as JSON null (off).
 * Errors: none. Locks: none (reads only).
 */
CREATE OR REPLACE FUNCTION mockbook_internal.booking_rule(p_rule text)
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = ''
AS $$
    SELECT coalesce((SELECT r.value FROM hubspot_sync.booking_rules AS r WHERE r.rule = p_rule),
                    'null'::jsonb)
$$;

COMMENT ON FUNCTION mockbook_internal.booking_rule(text) IS
'Internal: the jsonb value of one scheduling rule (hubspot_sync.booking_rules); JSON null when absent.';
REVOKE ALL ON FUNCTION mockbook_internal.booking_rule(text) FROM PUBLIC, anon, authenticated, service_role;
