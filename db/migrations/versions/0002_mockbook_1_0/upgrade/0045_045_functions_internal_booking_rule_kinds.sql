-- Frozen copy of db/functions/internal/booking_rule_kinds.sql (new).
-- Why: the scheduling rules' kinds and maxima are spelled once, so set_booking_rule's checks and
-- the readers' clamping cannot disagree.
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
'Internal: the one list of the scheduling rules with their kind (boolean, hours, action, limit,
positive) and maximum (NULL: none). Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.booking_rule_kinds() FROM PUBLIC, anon, authenticated, service_role;
