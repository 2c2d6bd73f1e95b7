-- Frozen copy of db/functions/internal/booking_rule_offs.sql (new).
-- Why: the values that turn a checked rule off, derived from the declaration, so the common
-- case's skip condition and check_booking_rules cannot forget a rule; IMMUTABLE and without
-- arguments, a constant in their plans.
CREATE OR REPLACE FUNCTION mockbook_internal.booking_rule_offs()
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = ''
AS $$
BEGIN
    RETURN (SELECT coalesce(jsonb_object_agg(d.rule, CASE d.kind
                                WHEN 'boolean' THEN '[false, null]'::jsonb
                                WHEN 'hours' THEN '[0, null]'::jsonb
                                ELSE '[null]'::jsonb END), '{}'::jsonb)
            FROM mockbook_internal.declared_booking_rules() AS d
            WHERE d.checked);
END
$$;

COMMENT ON FUNCTION mockbook_internal.booking_rule_offs() IS
'Internal: {rule: [values that mean off]} of every rule the booking checks (declared_booking_rules
with checked): false or null (boolean), 0 or null (hours), null (limit); any other value is on.';
REVOKE ALL ON FUNCTION mockbook_internal.booking_rule_offs() FROM PUBLIC, anon, authenticated, service_role;
