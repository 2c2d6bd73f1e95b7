-- Frozen copy of db/functions/api/set_booking_rule.sql (changed).
-- Why: the scheduling rules are data; each value is checked against its declaration
-- (declared_booking_rules), so every stored value is one the booking functions can apply.
CREATE OR REPLACE FUNCTION hubspot_sync.set_booking_rule(p_rule text, p_value jsonb,
                                                        p_actor text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_kind text;
    v_max numeric;
    v_number numeric;
    v_ok boolean;
    v_previous jsonb;
    v_actor text;
BEGIN
    PERFORM mockbook_internal.check_text_arg('p_rule', p_rule, true, 64);
    PERFORM mockbook_internal.check_text_arg('p_actor', p_actor, false, 255);
    SELECT r.kind, r.max INTO v_kind, v_max
    FROM mockbook_internal.declared_booking_rules() AS r
    WHERE r.rule = p_rule;
    IF v_kind = 'limit' AND p_value IS NULL THEN
        p_value := 'null'::jsonb;  -- {"p_value": null} through PostgREST arrives as SQL NULL
    END IF;
    IF v_kind IS NULL THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('p_rule %L is not a scheduling rule (%s).', p_rule,
                   (SELECT string_agg(d.rule, ', ')
                    FROM mockbook_internal.declared_booking_rules() AS d)));
    END IF;
    IF jsonb_typeof(p_value) = 'number' THEN
        v_number := (p_value #>> '{}')::numeric;
    END IF;
    v_ok := CASE v_kind
        WHEN 'boolean' THEN jsonb_typeof(p_value) = 'boolean'
        WHEN 'hours' THEN v_number BETWEEN 0 AND v_max
        WHEN 'action' THEN p_value IN ('"refuse"'::jsonb, '"no_refund"'::jsonb)
        WHEN 'policy' THEN p_value IN ('"refund"'::jsonb, '"keep"'::jsonb)
        WHEN 'limit' THEN jsonb_typeof(p_value) = 'null'
                          OR (v_number BETWEEN 1 AND v_max AND v_number % 1 = 0)
        WHEN 'positive' THEN v_number BETWEEN 1 AND v_max AND v_number % 1 = 0
    END;
    IF NOT coalesce(v_ok, false) THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('p_value %s does not fit rule %s (%s).', coalesce(p_value::text, 'NULL'),
                   p_rule,
                   CASE v_kind
                       WHEN 'boolean' THEN 'true or false'
                       WHEN 'hours' THEN format('a number of hours, 0 to %s', v_max)
                       WHEN 'action' THEN '"refuse" or "no_refund"'
                       WHEN 'policy' THEN '"refund" or "keep"'
                       WHEN 'limit' THEN format('a whole number, 1 to %s, or null for no limit',
                                                v_max)
                       ELSE format('a whole number, 1 to %s', v_max) END));
    END IF;
    PERFORM mockbook_internal.require_admin('Changing a scheduling rule');
    -- who: the JWT's user, else p_actor (a server job), never p_actor over the JWT
    v_actor := mockbook_internal.request_actor(p_actor);
    PERFORM set_config('mockbook.actor', v_actor, true);
    SELECT r.value INTO v_previous FROM hubspot_sync.booking_rules AS r
    WHERE r.rule = p_rule FOR UPDATE;
    INSERT INTO hubspot_sync.booking_rules AS r (rule, value, description, updated_by)
    VALUES (p_rule, p_value, p_rule, v_actor)
    ON CONFLICT (rule) DO UPDATE SET value = excluded.value, updated_at = now(),
                                     updated_by = excluded.updated_by;
    INSERT INTO hubspot_sync.booking_rule_changes (rule, old_value, new_value, changed_by)
    VALUES (p_rule, v_previous, p_value, v_actor);
    RETURN jsonb_build_object('success', true, 'rule', p_rule, 'value', p_value,
                              'previous_value', coalesce(v_previous, 'null'::jsonb));
EXCEPTION
    WHEN lock_not_available OR deadlock_detected THEN
        PERFORM mockbook_internal.raise_busy(SQLSTATE);
        RAISE;
    WHEN disk_full OR insufficient_resources OR out_of_memory OR configuration_limit_exceeded
         OR io_error OR read_only_sql_transaction THEN
        PERFORM mockbook_internal.raise_unavailable(SQLSTATE);
        RAISE;
END
$$;

COMMENT ON FUNCTION hubspot_sync.set_booking_rule(text, jsonb, text) IS
'Admin: sets one rule to a JSON value of its kind (the *Scheduling rules* table; where a rule takes
`null`, an SQL NULL means `null` too). `p_actor` (≤ 255, optional) is stored as `updated_by` and
is the audit actor. Returns `{success, rule, value, previous_value}`. A value above its kind''s
maximum (counts 10,000; hours 17,520; minutes 525,600) is refused, so every stored value is one the
booking functions can apply (one written to the table directly is read as the maximum).
Errors: `INVALID_ARGUMENT` (unknown rule, listing the rules; a value of the wrong kind or out of
its range, naming the range), `FORBIDDEN` (a JWT naming a user who is not an admin).';
REVOKE ALL ON FUNCTION hubspot_sync.set_booking_rule(text, jsonb, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.set_booking_rule(text, jsonb, text) TO service_role;
