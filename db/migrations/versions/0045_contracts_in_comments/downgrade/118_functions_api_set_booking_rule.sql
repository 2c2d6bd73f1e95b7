-- Undo db/functions/api/set_booking_rule.sql (moved).
-- Frozen copy of db/functions/set_booking_rule.sql (changed).
/**
 * hubspot_sync.set_booking_rule(p_rule text, p_value jsonb, p_actor text DEFAULT NULL) -> jsonb
 *
 * Changes one scheduling rule (admins only: mockbook_internal.require_admin). The rules:
 *   time_conflict           true/false  overlapping Active sessions refused (TIME_CONFLICT)
 *   booking_cutoff          true/false  no booking after the exam's start (BOOKING_CLOSED)
 *   allow_booking_after_start  true/false  students may book an exam that has started (off:
 *                                       such an exam is EXAM_IN_PAST)
 *   min_notice_hours        number 0..17520 (two years)  booking closes this long before the
 *                                       start (0: off)
 *   cancel_deadline_hours   number 0..17520 (two years)  a student's late cancellation (0: off)
 *                                       is ...
 *   cancel_deadline_action  "refuse" (CANCELLATION_CLOSED) or "no_refund"
 *   exam_closed_policy      "refund" (default) or "keep": the Active bookings of an exam
 *                                       cancelled or deactivated in HubSpot
 *   max_active_per_type     integer 1..10000 or null (JSON or SQL: no limit)
 *                                       (BOOKING_LIMIT_REACHED)
 *   max_active_per_week     integer 1..10000 or null  (BOOKING_LIMIT_REACHED)
 *   offer_hold_minutes      integer 1..525600 (a year)  how long a waitlist offer holds its seat
 *   waitlist_size           integer 1..10000 or null  waiting places per exam (WAITLIST_FULL)
 * The maxima keep every stored value readable by the functions that apply it (an integer, an
 * interval added to a timestamp): a value above one is refused and nothing is stored (one
 * stored before the maxima reads as the maximum: mockbook_internal.booking_rules). The rules'
 * kinds and maxima are mockbook_internal.booking_rule_kinds() (the one place they are spelled).
 * Who changed it is the request's JWT user (mockbook_internal.request_actor), else p_actor (at
 * most 255 characters; a server job with the service-role key): stored as updated_by, and
 * every change is one hubspot_sync.booking_rule_changes row (old and new value, who, when).
 * Returns {success, rule, value, previous_value}.
 * Errors: INVALID_ARGUMENT (unknown rule, or a value of the wrong kind or out of its range,
 * naming the rule and the range), FORBIDDEN (a JWT naming a user who is not an admin).
 * Locks: the rule's row.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.set_booking_rule(p_rule text, p_value jsonb,
                                                        p_actor text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
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
    FROM mockbook_internal.booking_rule_kinds() AS r
    WHERE r.rule = p_rule;
    IF v_kind = 'limit' AND p_value IS NULL THEN
        p_value := 'null'::jsonb;  -- {"p_value": null} through PostgREST arrives as SQL NULL
    END IF;
    IF v_kind IS NULL THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('p_rule %L is not a scheduling rule (time_conflict, booking_cutoff, '
                   'min_notice_hours, cancel_deadline_hours, cancel_deadline_action, '
                   'max_active_per_type, max_active_per_week, offer_hold_minutes, '
                   'waitlist_size, allow_booking_after_start, exam_closed_policy).', p_rule));
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
    IF v_actor IS NOT NULL THEN
        PERFORM set_config('mockbook.actor', v_actor, true);
    END IF;
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
END
$$;

COMMENT ON FUNCTION hubspot_sync.set_booking_rule(text, jsonb, text) IS
'Admin: sets one scheduling rule (time_conflict, booking_cutoff, allow_booking_after_start, min_notice_hours and cancel_deadline_hours 0-17520, cancel_deadline_action, exam_closed_policy, max_active_per_type and max_active_per_week 1-10000 or null, offer_hold_minutes 1-525600, waitlist_size 1-10000 or null). The actor is the JWT''s user, else p_actor; every change is audited in booking_rule_changes. Returns {success, rule, value, previous_value}. Errors: INVALID_ARGUMENT (unknown rule, or a value of the wrong kind or above its maximum; nothing stored), FORBIDDEN (a JWT naming a non-admin user).';
REVOKE ALL ON FUNCTION hubspot_sync.set_booking_rule(text, jsonb, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.set_booking_rule(text, jsonb, text) TO service_role;
