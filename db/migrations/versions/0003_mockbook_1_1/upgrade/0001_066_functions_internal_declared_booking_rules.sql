-- Frozen copy of db/functions/internal/declared_booking_rules.sql (changed).
-- Why: each scheduling rule is declared here, once. The booking's checks (one function per checked
-- rule, mockbook_internal.rule_<rule>), the common case's skip condition, set_booking_rule's
-- validation, the settings table's rows and docs/rpc.md's rule table are derived from this list;
-- docs/development.md "Add a booking rule" says how to add one.
CREATE OR REPLACE FUNCTION mockbook_internal.declared_booking_rules()
RETURNS TABLE (rule text, kind text, max numeric, default_value jsonb, checked boolean,
               error text, effect text)
LANGUAGE plpgsql
IMMUTABLE
SET search_path = ''
AS $$
BEGIN
    -- checked: the booking calls mockbook_internal.rule_<rule> when the rule is on, in this
    -- order. Kinds: boolean, hours, limit (on: not false, 0 or null), action, policy, positive.
    RETURN QUERY VALUES
        ('min_notice_hours', 'hours', 17520::numeric, '0'::jsonb, true, 'BOOKING_CLOSED',
         'booking closes this many hours before the start'),
        ('booking_cutoff', 'boolean', NULL, 'false', true, 'BOOKING_CLOSED',
         'no booking once the exam has started (its start, or the start of its day when the start '
         'is not known: see [Exam times](#exam-times)), even when `allow_booking_after_start` is '
         'on'),
        ('time_conflict', 'boolean', NULL, 'false', true, 'TIME_CONFLICT',
         'a student cannot hold two Active bookings whose sessions (exam day + start/end time, '
         'any mock type; one without a known start spans its day up to its end) overlap; '
         'sessions that only touch (one ends when the other starts) do not; the error names the '
         'other booking'),
        ('max_active_per_type', 'limit', 10000, 'null', true, 'BOOKING_LIMIT_REACHED',
         'at most this many Active bookings per student and mock type'),
        ('max_active_per_week', 'limit', 10000, 'null', true, 'BOOKING_LIMIT_REACHED',
         'at most this many Active bookings per student in the ISO week (Monday–Sunday) of the '
         'exam day'),
        ('allow_booking_after_start', 'boolean', NULL, 'false', false, 'EXAM_IN_PAST',
         'off (the default): an exam that has started is not bookable (`EXAM_IN_PAST`, "started '
         'at …"); on: students may book it until it is over (its end, else the end of its day; '
         'the cut-off and notice rules still apply)'),
        ('cancel_deadline_hours', 'hours', 17520, '0', false, NULL,
         'a **student''s** cancellation (a call with `p_student_id`) less than this many hours '
         'before the start is handled by `cancel_deadline_action`'),
        ('cancel_deadline_action', 'action', NULL, '"refuse"', false, 'CANCELLATION_CLOSED',
         'refuse the late cancellation (the error), or cancel it without refunding the credit'),
        ('exam_closed_policy', 'policy', NULL, '"refund"', false, NULL,
         'an exam cancelled or deactivated in HubSpot: cancel its Active bookings and refund '
         'them (reason `exam_cancelled`), or keep them for an admin ([When an exam '
         'moves](#when-an-exam-moves-closes-or-is-cancelled))'),
        ('offer_hold_minutes', 'positive', 525600, '60', false, NULL,
         'how long a waitlist offer holds its seat'),
        ('waitlist_size', 'limit', 10000, 'null', false, 'WAITLIST_FULL',
         'waiting places per exam');
END
$$;

COMMENT ON FUNCTION mockbook_internal.declared_booking_rules() IS
'Internal: the scheduling rules, each declared once: kind, maximum (NULL: none), default, whether
the booking checks it (with mockbook_internal.rule_<rule>, in this order), its error and its line
in docs/rpc.md. Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.declared_booking_rules() FROM PUBLIC, anon, authenticated, service_role;

-- every declared rule has its row in the settings table, at its default until an admin sets it
INSERT INTO hubspot_sync.booking_rules (rule, value, description)
SELECT d.rule, d.default_value, d.effect FROM mockbook_internal.declared_booking_rules() AS d
ON CONFLICT (rule) DO NOTHING;
