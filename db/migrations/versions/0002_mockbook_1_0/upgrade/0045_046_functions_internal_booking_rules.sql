-- Frozen copy of db/functions/internal/booking_rules.sql (new).
-- Why: a number stored above its rule's maximum reads as the maximum, so a value written to the
-- table directly never turns into a raw error in a booking.
CREATE OR REPLACE FUNCTION mockbook_internal.booking_rules(p_rules text[])
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    -- the maxima as one constant (booking_rule_maxima is IMMUTABLE: computed when this
    -- statement is planned), not a read of declared_booking_rules on every read
    RETURN (
        SELECT coalesce(jsonb_object_agg(r.rule,
                   CASE WHEN jsonb_typeof(r.value) = 'number'
                             AND (r.value #>> '{}')::numeric
                                 > (mockbook_internal.booking_rule_maxima() ->> r.rule)::numeric
                        THEN mockbook_internal.booking_rule_maxima() -> r.rule
                        ELSE r.value END), '{}'::jsonb)
        FROM hubspot_sync.booking_rules AS r
        WHERE r.rule = ANY (p_rules));
END
$$;

COMMENT ON FUNCTION mockbook_internal.booking_rules(text[]) IS
'Internal: {rule: value} of the named scheduling rules in force; a number stored above its rule''s
maximum reads as the maximum. Errors: none. Locks: none (reads only).';
REVOKE ALL ON FUNCTION mockbook_internal.booking_rules(text[]) FROM PUBLIC, anon, authenticated, service_role;
