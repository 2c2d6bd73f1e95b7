-- Frozen copy of db/functions/internal/complete_sync_batch.sql (new).
-- Why: marking rows pushed and writing HubSpot's ids back must be one transaction, and only for
-- rows the worker still leases.
CREATE OR REPLACE FUNCTION mockbook_internal.complete_sync_batch(p_worker text, p_ids bigint[],
                                                           p_hubspot_ids jsonb DEFAULT '{}')
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_done integer;
    v_origin text := current_setting('mockbook.origin', true);
    v_uuid uuid;
    v_id bigint;
    v_hubspot_id text;
BEGIN
    WITH done AS (
        UPDATE hubspot_sync.sync_queue AS q
        SET done_at = now(), lease_owner = NULL, lease_expires_at = NULL, last_error = NULL
        WHERE q.id = ANY (p_ids) AND q.lease_owner = p_worker AND q.done_at IS NULL
        RETURNING q.id
    )
    SELECT count(*) INTO v_done FROM done;

    PERFORM set_config('mockbook.origin', 'sync', true);
    -- the lock order, one row at a time through the lock helpers (bounded waits); an UPDATE
    -- alone would lock in its plan's order and wait without a bound
    PERFORM mockbook_internal.lock_contacts(ARRAY(
        SELECT m.key::uuid
        FROM jsonb_each_text(coalesce(p_hubspot_ids -> 'hubspot_contact_credits', '{}')) AS m));
    UPDATE hubspot_sync.hubspot_contact_credits AS c
    SET hubspot_id = coalesce(c.hubspot_id, m.value), hubspot_last_sync_at = now()
    FROM jsonb_each_text(coalesce(p_hubspot_ids -> 'hubspot_contact_credits', '{}')) AS m
    WHERE c.id = m.key::uuid;
    FOR v_uuid IN
        SELECT DISTINCT m.key::uuid
        FROM jsonb_each_text(coalesce(p_hubspot_ids -> 'hubspot_bookings', '{}')) AS m
        ORDER BY 1
    LOOP
        -- a free row inline; only a held one goes through lock_booking (NULL when deleted)
        PERFORM FROM hubspot_sync.hubspot_bookings AS b
        WHERE b.id = v_uuid
        FOR NO KEY UPDATE SKIP LOCKED;
        CONTINUE WHEN FOUND;
        PERFORM mockbook_internal.lock_booking(v_uuid);
    END LOOP;
    UPDATE hubspot_sync.hubspot_bookings AS b
    SET hubspot_id = m.value, hubspot_last_sync_at = now()
    FROM jsonb_each_text(coalesce(p_hubspot_ids -> 'hubspot_bookings', '{}')) AS m
    WHERE b.id = m.key::uuid;
    -- waitlist places (pushed as HubSpot bookings, keyed by sync_id) rank with the bookings
    FOR v_id IN
        SELECT w.id FROM hubspot_sync.waitlist_entries AS w
        WHERE w.sync_id IN (SELECT m.key::uuid
                            FROM jsonb_each_text(coalesce(p_hubspot_ids -> 'waitlist_entries',
                                                          '{}')) AS m)
        ORDER BY w.id
    LOOP
        PERFORM FROM hubspot_sync.waitlist_entries AS w
        WHERE w.id = v_id
        FOR NO KEY UPDATE SKIP LOCKED;
        CONTINUE WHEN FOUND;
        PERFORM mockbook_internal.lock_waitlist_entry(v_id);
    END LOOP;
    UPDATE hubspot_sync.waitlist_entries AS w
    SET hubspot_id = m.value, hubspot_last_sync_at = now()
    FROM jsonb_each_text(coalesce(p_hubspot_ids -> 'waitlist_entries', '{}')) AS m
    WHERE w.sync_id = m.key::uuid;
    FOR v_hubspot_id IN
        SELECT e.hubspot_id FROM hubspot_sync.hubspot_mock_exams AS e
        WHERE e.id IN (SELECT m.key::uuid
                       FROM jsonb_each_text(coalesce(p_hubspot_ids -> 'hubspot_mock_exams',
                                                     '{}')) AS m)
        ORDER BY e.hubspot_id
    LOOP
        -- the same for an exam (lock_exam's EXAM_NOT_FOUND: deleted while waited for)
        PERFORM FROM hubspot_sync.hubspot_mock_exams AS e
        WHERE e.hubspot_id = v_hubspot_id
        FOR NO KEY UPDATE SKIP LOCKED;
        CONTINUE WHEN FOUND;
        BEGIN
            PERFORM mockbook_internal.lock_exam(v_hubspot_id);
        EXCEPTION WHEN SQLSTATE 'PT404' THEN  -- EXAM_NOT_FOUND: deleted while waited for
            NULL;
        END;
    END LOOP;
    UPDATE hubspot_sync.hubspot_mock_exams AS e
    SET hubspot_last_sync_at = now()
    FROM jsonb_each_text(coalesce(p_hubspot_ids -> 'hubspot_mock_exams', '{}')) AS m
    WHERE e.id = m.key::uuid;
    PERFORM set_config('mockbook.origin', coalesce(v_origin, ''), true);
    RETURN v_done;
END
$$;

COMMENT ON FUNCTION mockbook_internal.complete_sync_batch(text, bigint[], jsonb) IS
'Glue: mark pushed outbox rows done and write back HubSpot ids, in one transaction. Locks the
contacts, bookings, waitlist places (ascending id) and exams (ascending HubSpot id) it writes, each
waited for at most mockbook.lock_timeout. Errors: BUSY (nothing done; the rows stay leased).';
REVOKE ALL ON FUNCTION mockbook_internal.complete_sync_batch(text, bigint[], jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.complete_sync_batch(text, bigint[], jsonb) TO mockbook_glue;
