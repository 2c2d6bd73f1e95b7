-- Frozen copy of db/functions/internal/booking_rule_maxima.sql (new).
-- Why: IMMUTABLE and without arguments, so a reader's plan gets the maxima as a constant instead
-- of reading mockbook_internal.declared_booking_rules on every read.
CREATE OR REPLACE FUNCTION mockbook_internal.booking_rule_maxima()
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = ''
AS $$
BEGIN
    RETURN (SELECT coalesce(jsonb_object_agg(d.rule, d.max), '{}'::jsonb)
            FROM mockbook_internal.declared_booking_rules() AS d
            WHERE d.max IS NOT NULL);
END
$$;

COMMENT ON FUNCTION mockbook_internal.booking_rule_maxima() IS
'Internal: {rule: maximum} of the scheduling rules that have one, from
mockbook_internal.declared_booking_rules.';
REVOKE ALL ON FUNCTION mockbook_internal.booking_rule_maxima() FROM PUBLIC, anon, authenticated, service_role;
