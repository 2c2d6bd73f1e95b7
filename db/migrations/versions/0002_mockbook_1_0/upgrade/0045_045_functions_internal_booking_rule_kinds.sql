-- Frozen copy of db/functions/internal/booking_rule_kinds.sql (new).
/**
 * Why: the scheduling rules' kinds and maxima are spelled once, so set_booking_rule's checks and
 * the readers' clamping cannot disagree. PL/pgSQL, not SQL: every booking reads it, and a SQL
 * function's body is planned again on every call. The contract is the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.booking_rule_kinds()
RETURNS TABLE (rule text, kind text, max numeric)
LANGUAGE plpgsql
IMMUTABLE
SET search_path = ''
AS $$
BEGIN
    RETURN QUERY VALUES
        ('time_conflict', 'boolean', NULL::numeric),
        ('booking_cutoff', 'boolean', NULL),
        ('allow_booking_after_start', 'boolean', NULL),
        ('min_notice_hours', 'hours', 17520),         -- two years
        ('cancel_deadline_hours', 'hours', 17520),    -- two years
        ('cancel_deadline_action', 'action', NULL),
        ('exam_closed_policy', 'policy', NULL),
        ('max_active_per_type', 'limit', 10000),
        ('max_active_per_week', 'limit', 10000),
        ('offer_hold_minutes', 'positive', 525600),   -- a year
        ('waitlist_size', 'limit', 10000);
END
$$;

COMMENT ON FUNCTION mockbook_internal.booking_rule_kinds() IS
'Internal: the one list of the scheduling rules with their kind (boolean, hours, action, limit, positive) and maximum (NULL: none).

Returns (rule, kind, max), one row per rule of hubspot_sync.booking_rules: kind is ''boolean'',
''hours'' (a number 0..max), ''action'' ("refuse" / "no_refund"), ''limit'' (a whole number 1..max, or
null: no limit) or ''positive'' (a whole number 1..max); max is NULL for the kinds without one.
The maxima (counts 10,000; hours 17,520, two years; minutes 525,600, a year) keep every value
one the booking functions can apply (an integer, an interval added to a timestamp).
hubspot_sync.set_booking_rule refuses a value above its maximum; the readers
(mockbook_internal.booking_rules) read a value stored above it (written to the table
directly) as the maximum.
Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.booking_rule_kinds() FROM PUBLIC, anon, authenticated, service_role;
