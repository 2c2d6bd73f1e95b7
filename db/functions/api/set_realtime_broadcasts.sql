-- Why: the switch is the broadcast triggers' enabled state: off, a booking runs none of their code.
CREATE OR REPLACE FUNCTION hubspot_sync.set_realtime_broadcasts(p_enabled boolean,
                                                               p_actor text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: ALTER TABLE … ENABLE / DISABLE TRIGGER needs the tables' owner
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_state jsonb := mockbook_internal.realtime_state();
    v_previous text := v_state ->> 'broadcasts';
    v_actor text;
BEGIN
    PERFORM mockbook_internal.check_text_arg('p_actor', p_actor, false, 255);
    IF p_enabled IS NULL THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'p_enabled must be true (broadcasts on) or false (off).');
    END IF;
    PERFORM mockbook_internal.require_admin('Turning Realtime broadcasts on or off');
    IF p_enabled AND NOT (v_state ->> 'realtime')::boolean THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'This database has no Supabase Realtime (realtime.send, realtime.messages): there is nothing to broadcast through.',
            'Broadcasts are sent on a Supabase database; here they stay off.');
    END IF;
    v_actor := mockbook_internal.request_actor(p_actor);

    PERFORM mockbook_internal.wait_for_lock('broadcast_tables', NULL);
    IF p_enabled THEN
        ALTER TABLE hubspot_sync.hubspot_contact_credits ENABLE TRIGGER broadcast_credit_change;
        ALTER TABLE hubspot_sync.hubspot_bookings ENABLE TRIGGER broadcast_booking_change;
        ALTER TABLE hubspot_sync.waitlist_entries ENABLE TRIGGER broadcast_waitlist_change;
        ALTER TABLE hubspot_sync.hubspot_mock_exams ENABLE TRIGGER broadcast_exam_seats;
        ALTER TABLE hubspot_sync.refresh_requests ENABLE TRIGGER broadcast_refresh_outcome;
    ELSE
        ALTER TABLE hubspot_sync.hubspot_contact_credits DISABLE TRIGGER broadcast_credit_change;
        ALTER TABLE hubspot_sync.hubspot_bookings DISABLE TRIGGER broadcast_booking_change;
        ALTER TABLE hubspot_sync.waitlist_entries DISABLE TRIGGER broadcast_waitlist_change;
        ALTER TABLE hubspot_sync.hubspot_mock_exams DISABLE TRIGGER broadcast_exam_seats;
        ALTER TABLE hubspot_sync.refresh_requests DISABLE TRIGGER broadcast_refresh_outcome;
    END IF;
    IF p_enabled THEN
        PERFORM mockbook_internal.apply_realtime_policies();
    END IF;
    v_state := mockbook_internal.realtime_state();
    INSERT INTO hubspot_sync.booking_rule_changes (rule, old_value, new_value, changed_by)
    VALUES ('realtime_broadcasts', to_jsonb(v_previous), to_jsonb(v_state ->> 'broadcasts'),
            v_actor);
    RETURN jsonb_build_object('success', true, 'broadcasts', v_state ->> 'broadcasts',
                              'previous_broadcasts', v_previous,
                              'realtime', (v_state ->> 'realtime')::boolean,
                              'policies', v_state -> 'policies');
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

COMMENT ON FUNCTION hubspot_sync.set_realtime_broadcasts(boolean, text) IS
'Admin: turns this database''s Realtime broadcasts on or off ([Live pages](#live-pages-supabase-realtime)):
on, every change of seats, bookings, waitlist places, balances and refresh requests is sent in
its transaction and mockbook''s policies on realtime.messages are put in place; off, a booking
runs none of it. Kept across upgrades; a new database starts on where it has Supabase Realtime.
One `booking_rule_changes` row (rule `realtime_broadcasts`; `p_actor`, ≤ 255, optional, its
actor unless the JWT names a user). Returns `{success, broadcasts, previous_broadcasts, realtime,
policies}` (`on` / `off`). Errors: `INVALID_ARGUMENT` (`p_enabled` NULL; on without Supabase
Realtime; `p_actor` too long), `FORBIDDEN` (a student''s JWT), `BUSY` (the tables stayed in use
past `mockbook.lock_timeout`). Locks: the contacts, bookings, waitlist, exams and refresh
requests tables (SHARE ROW EXCLUSIVE, each try waiting at most 100 ms), no row.';
REVOKE ALL ON FUNCTION hubspot_sync.set_realtime_broadcasts(boolean, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.set_realtime_broadcasts(boolean, text) TO service_role;
