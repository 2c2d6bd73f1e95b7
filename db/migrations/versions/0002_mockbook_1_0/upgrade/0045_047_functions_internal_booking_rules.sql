-- Frozen copy of db/functions/internal/booking_rules.sql (new).
/**
 * Why: the booking functions read the rules they need in one statement, and a stored value above
 * its maximum is read as the maximum, so a value written to the table directly never turns into a
 * raw error in a booking. PL/pgSQL, not SQL: every booking reads the rules, and a SQL
 * function's body is planned again on every call (about 140 µs a call, against 23 µs). The
 * contract is the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.booking_rules(p_rules text[])
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    -- the maxima as one constant (booking_rule_maxima is IMMUTABLE: computed when this
    -- statement is planned), not a join with booking_rule_kinds on every read
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
'Internal: {rule: value} of the named scheduling rules in force; a number stored above its rule''s maximum reads as the maximum.

The values in force of the named scheduling rules, as one jsonb object
{rule: value} read by one statement (check_booking_rules reads its five rules at once, not
one query each). A rule without a row is left out (the caller reads it as JSON null:
off). A number stored above its rule''s maximum (mockbook_internal.booking_rule_kinds) reads
as that maximum (the maxima read as one constant, mockbook_internal.booking_rule_maxima):
set_booking_rule refuses such a value, but one written to the table directly
would otherwise make the readers fail (min_notice_hours 10^12: a raw 22008 ''timestamp out of
range'' in create_booking; offer_hold_minutes 10^12: a raw 22003 in every cancellation of a
waitlisted exam). Read as the maximum, such a value means what its
author meant: as long, or as many, as the rule allows.
Errors: none. Locks: none (reads only).';
REVOKE ALL ON FUNCTION mockbook_internal.booking_rules(text[]) FROM PUBLIC, anon, authenticated, service_role;
