-- Frozen copy of db/functions/internal/wait_for_lock.sql (changed).
-- Why: every lock a call may wait for is taken here, so the bound (mockbook.lock_timeout) and the
-- answer past it (BUSY, also for a deadlock) are written once.
CREATE OR REPLACE FUNCTION mockbook_internal.wait_for_lock(p_target text, p_key text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_caller_timeout text;
    v_until timestamptz;
BEGIN
    IF p_target = 'broadcast_tables' THEN
        -- tables in the lock order, in one statement; each try waits 100 ms at most and is given
        -- up whole, so it never holds one table while a booking waits on it for long
        v_caller_timeout := pg_catalog.current_setting('lock_timeout');
        v_until := pg_catalog.clock_timestamp() + coalesce(nullif(pg_catalog.current_setting(
            'mockbook.lock_timeout', true), ''), '2s')::interval;
        LOOP
            BEGIN
                PERFORM pg_catalog.set_config('lock_timeout', '100ms', true);
                LOCK TABLE hubspot_sync.hubspot_contact_credits, hubspot_sync.hubspot_bookings,
                           hubspot_sync.waitlist_entries, hubspot_sync.hubspot_mock_exams,
                           hubspot_sync.refresh_requests
                    IN SHARE ROW EXCLUSIVE MODE;
                PERFORM pg_catalog.set_config('lock_timeout', v_caller_timeout, true);
                RETURN;
            EXCEPTION WHEN lock_not_available THEN
                IF pg_catalog.clock_timestamp() >= v_until THEN
                    PERFORM mockbook_internal.raise_error('BUSY',
                        'The bookings'' tables stayed in use past mockbook.lock_timeout.',
                        'Call again, ideally outside a booking rush.');
                END IF;
            END;
        END LOOP;
    END IF;
    -- a free row is locked outside a subtransaction: the caller's UPDATE needs no MultiXact
    CASE p_target
        WHEN 'contact' THEN
            PERFORM FROM hubspot_sync.hubspot_contact_credits AS c
            WHERE c.id = p_key::uuid FOR NO KEY UPDATE SKIP LOCKED;
        WHEN 'booking' THEN
            PERFORM FROM hubspot_sync.hubspot_bookings AS b
            WHERE b.id = p_key::uuid FOR UPDATE SKIP LOCKED;
        WHEN 'waitlist_entry' THEN
            PERFORM FROM hubspot_sync.waitlist_entries AS w
            WHERE w.id = p_key::bigint FOR UPDATE SKIP LOCKED;
        WHEN 'exam' THEN
            PERFORM FROM hubspot_sync.hubspot_mock_exams AS e
            WHERE e.hubspot_id = p_key FOR NO KEY UPDATE SKIP LOCKED;
        WHEN 'idempotency_key' THEN
            IF pg_catalog.pg_try_advisory_xact_lock(
                   pg_catalog.hashtextextended('mockbook:idem:' || p_key, 0)) THEN
                RETURN;
            END IF;
        WHEN 'refresh_caller' THEN
            IF pg_catalog.pg_try_advisory_xact_lock(
                   pg_catalog.hashtextextended('mockbook:refresh:' || p_key, 0)) THEN
                RETURN;
            END IF;
        ELSE
            NULL;  -- 'all_exams': always the bounded wait below
    END CASE;
    IF FOUND THEN
        RETURN;
    END IF;

    -- the bounded wait, the caller's timeout given back after (a SET clause costs every call)
    v_caller_timeout := pg_catalog.current_setting('lock_timeout');
    PERFORM pg_catalog.set_config('lock_timeout',
        coalesce(nullif(pg_catalog.current_setting('mockbook.lock_timeout', true), ''), '2s'),
        true);
    BEGIN
        CASE p_target
            WHEN 'contact' THEN
                PERFORM FROM hubspot_sync.hubspot_contact_credits AS c
                WHERE c.id = p_key::uuid FOR NO KEY UPDATE;
            WHEN 'booking' THEN
                PERFORM FROM hubspot_sync.hubspot_bookings AS b
                WHERE b.id = p_key::uuid FOR UPDATE;
            WHEN 'waitlist_entry' THEN
                PERFORM FROM hubspot_sync.waitlist_entries AS w
                WHERE w.id = p_key::bigint FOR UPDATE;
            WHEN 'exam' THEN
                PERFORM FROM hubspot_sync.hubspot_mock_exams AS e
                WHERE e.hubspot_id = p_key FOR NO KEY UPDATE;
            WHEN 'idempotency_key' THEN
                PERFORM pg_catalog.pg_advisory_xact_lock(
                    pg_catalog.hashtextextended('mockbook:idem:' || p_key, 0));
            WHEN 'refresh_caller' THEN
                PERFORM pg_catalog.pg_advisory_xact_lock(
                    pg_catalog.hashtextextended('mockbook:refresh:' || p_key, 0));
            WHEN 'all_exams' THEN  -- one pass in ascending HubSpot id, as every multi-exam lock
                PERFORM FROM hubspot_sync.hubspot_mock_exams AS e
                ORDER BY e.hubspot_id FOR NO KEY UPDATE;
        END CASE;
        PERFORM pg_catalog.set_config('lock_timeout', v_caller_timeout, true);
    EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
        CASE p_target
            WHEN 'contact' THEN
                PERFORM mockbook_internal.raise_error('BUSY',
                    format('Contact %s is busy (lock wait exceeded).', p_key));
            WHEN 'booking' THEN
                PERFORM mockbook_internal.raise_error('BUSY',
                    format('Booking %s is busy (lock wait exceeded).', p_key));
            WHEN 'waitlist_entry' THEN
                PERFORM mockbook_internal.raise_error('BUSY',
                    format('Waitlist place %s is busy (lock wait exceeded).', p_key));
            WHEN 'exam' THEN
                PERFORM mockbook_internal.raise_error('BUSY',
                    format('Exam %s is busy (lock wait exceeded).', p_key));
            WHEN 'idempotency_key' THEN
                PERFORM mockbook_internal.raise_error('BUSY',
                    'Another call with the same idempotency key is still running (lock wait exceeded).');
            WHEN 'refresh_caller' THEN
                PERFORM mockbook_internal.raise_error('BUSY',
                    'Another refresh request of the same caller is still running (lock wait exceeded).');
            ELSE
                PERFORM mockbook_internal.raise_error('BUSY',
                    'An exam row was held too long to move the exams to the new time zone; nothing changed.',
                    'Try again in a moment.');
        END CASE;
    END;
END
$$;

COMMENT ON FUNCTION mockbook_internal.wait_for_lock(text, text) IS
'Internal: locks one row (p_target contact, booking, waitlist_entry: id; exam: HubSpot id), an
advisory lock (idempotency_key, refresh_caller), every exam (all_exams) or the broadcast
triggers'' tables (broadcast_tables: tries of 100 ms) to the transaction''s end. A free one at
once, else a wait of at most mockbook.lock_timeout (default 2s). Errors: BUSY (the wait ran out,
or a deadlock). A row that does not exist is no error: nothing is locked.';
REVOKE ALL ON FUNCTION mockbook_internal.wait_for_lock(text, text)
    FROM PUBLIC, anon, authenticated, service_role;
