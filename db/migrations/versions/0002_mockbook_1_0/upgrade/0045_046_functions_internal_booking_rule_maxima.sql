-- Frozen copy of db/functions/internal/booking_rule_maxima.sql (new).
/**
 * Why: the readers of the rules clamp a number stored above its rule's maximum, and the maxima
 * are booking_rule_kinds'. As one IMMUTABLE jsonb value without arguments, the planner computes
 * it once per plan (a reader's plan, kept by PL/pgSQL for the session) instead of joining the
 * list on every read. The contract is the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.booking_rule_maxima()
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = ''
AS $$
BEGIN
    RETURN (SELECT coalesce(jsonb_object_agg(k.rule, k.max), '{}'::jsonb)
            FROM mockbook_internal.booking_rule_kinds() AS k
            WHERE k.max IS NOT NULL);
END
$$;

COMMENT ON FUNCTION mockbook_internal.booking_rule_maxima() IS
'Internal: {rule: maximum} of the scheduling rules that have one, from mockbook_internal.booking_rule_kinds.

IMMUTABLE and without arguments: a query that calls it is given the value when it is planned,
so mockbook_internal.booking_rules clamps with a constant. The list is booking_rule_kinds''
(the one place the maxima are spelled). Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.booking_rule_maxima() FROM PUBLIC, anon, authenticated, service_role;
