-- Frozen copy of db/functions/internal/booking_rule.sql (moved).
/**
 * mockbook_internal.booking_rule(p_rule text) -> jsonb
 *
 * The value of one scheduling rule from hubspot_sync.booking_rules, as jsonb
 * ('false', '0', 'null', '"refuse"', ...). A rule without a row reads as JSON null (off); a
 * number stored above its rule's maximum reads as the maximum (mockbook_internal.booking_rules).
 * Errors: none. Locks: none (reads only).
 */
CREATE OR REPLACE FUNCTION mockbook_internal.booking_rule(p_rule text)
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = ''
AS $$
    SELECT coalesce(mockbook_internal.booking_rules(ARRAY[p_rule]) -> p_rule, 'null'::jsonb)
$$;

COMMENT ON FUNCTION mockbook_internal.booking_rule(text) IS
'Internal: the jsonb value of one scheduling rule (hubspot_sync.booking_rules); JSON null when absent; a number stored above the rule''s maximum reads as the maximum.';
REVOKE ALL ON FUNCTION mockbook_internal.booking_rule(text) FROM PUBLIC, anon, authenticated, service_role;
