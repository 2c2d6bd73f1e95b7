-- Frozen copy of db/functions/internal/booking_rule.sql (new).
-- Why: one rule's value (no row: JSON null, off), read through booking_rules so the clamping to the
-- rule's maximum is written once.
CREATE OR REPLACE FUNCTION mockbook_internal.booking_rule(p_rule text)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    RETURN coalesce(mockbook_internal.booking_rules(ARRAY[p_rule]) -> p_rule, 'null'::jsonb);
END
$$;

COMMENT ON FUNCTION mockbook_internal.booking_rule(text) IS
'Internal: the jsonb value of one scheduling rule (hubspot_sync.booking_rules); JSON null when
absent; a number stored above the rule''s maximum reads as the maximum.';
REVOKE ALL ON FUNCTION mockbook_internal.booking_rule(text) FROM PUBLIC, anon, authenticated, service_role;
