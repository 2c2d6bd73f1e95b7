-- Undo db/functions/internal/booking_rules.sql (moved).
-- Frozen copy of db/functions/booking_rules.sql (changed).
/**
 * mockbook_internal.booking_rules(p_rules text[]) -> jsonb
 *
 * The values in force of the named scheduling rules, as one jsonb object
 * {rule: value} read by one statement (check_booking_rules reads its five rules at once; issue
 * 13: not one query each). A rule without a row is left out (the caller reads it as JSON null:
 * off). A number stored above its rule's maximum (mockbook_internal.booking_rule_kinds) reads
 * as that maximum: set_booking_rule refuses such a value since revision 0035, but a database
 * from before may hold one (then min_notice_hours 10^12 made create_booking fail with a raw
 * 22008 'timestamp out of range', offer_hold_minutes 10^12 every cancellation of a
 * waitlisted exam with a raw 22003). Read as the maximum, such a value means what its
 * author meant: as long, or as many, as the rule allows.
 * Errors: none. Locks: none (reads only).
 */
CREATE OR REPLACE FUNCTION mockbook_internal.booking_rules(p_rules text[])
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = ''
AS $$
    SELECT coalesce(jsonb_object_agg(r.rule,
               CASE WHEN jsonb_typeof(r.value) = 'number'
                         AND (r.value #>> '{}')::numeric > k.max
                    THEN to_jsonb(k.max) ELSE r.value END), '{}'::jsonb)
    FROM hubspot_sync.booking_rules AS r
    LEFT JOIN mockbook_internal.booking_rule_kinds() AS k ON k.rule = r.rule
    WHERE r.rule = ANY (p_rules)
$$;

COMMENT ON FUNCTION mockbook_internal.booking_rules(text[]) IS
'Internal: {rule: value} of the named scheduling rules in force; a number stored above its rule''s maximum reads as the maximum.';
REVOKE ALL ON FUNCTION mockbook_internal.booking_rules(text[]) FROM PUBLIC, anon, authenticated, service_role;
