-- Frozen copy of db/functions/internal/complete_sync_batch.sql (changed).
-- re-created below, in the same transaction
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS mockbook_internal.complete_sync_batch;
-- Why: marking rows pushed and writing HubSpot's ids back must be one transaction, and only for
-- rows the worker still leases. An exam's write carries HubSpot's time of it, recorded in the
-- same transaction: from then on no read HubSpot made before the write is applied (the order is
-- HubSpot's clock, whatever the glue hosts' clocks say).
CREATE OR REPLACE FUNCTION mockbook_internal.complete_sync_batch(p_worker text, p_ids bigint[],
                                                           p_hubspot_ids jsonb DEFAULT '{}',
                                                           p_hubspot_modified jsonb DEFAULT '{}')
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
    -- HubSpot's time of each exam's write (epoch ms from its answer), under the exam's lock
    -- taken above: apply_pulled_exams leaves alone a read older than it
    INSERT INTO hubspot_sync.exam_hubspot_sync AS s (exam_id, hubspot_modified_at)
    SELECT e.id, to_timestamp((m.value #>> '{}')::numeric / 1000)
    FROM jsonb_each(CASE WHEN jsonb_typeof(p_hubspot_modified) = 'object'
                         THEN p_hubspot_modified ELSE '{}' END) AS m
    JOIN hubspot_sync.hubspot_mock_exams AS e
      ON e.id = m.key::uuid
     AND e.id IN (SELECT x.key::uuid
                  FROM jsonb_each_text(coalesce(p_hubspot_ids -> 'hubspot_mock_exams', '{}'))
                       AS x)
    WHERE jsonb_typeof(m.value) = 'number'
    ON CONFLICT (exam_id) DO UPDATE
    SET hubspot_modified_at = EXCLUDED.hubspot_modified_at, updated_at = now()
    WHERE s.hubspot_modified_at < EXCLUDED.hubspot_modified_at;
    PERFORM set_config('mockbook.origin', coalesce(v_origin, ''), true);
    RETURN v_done;
END
$$;

COMMENT ON FUNCTION mockbook_internal.complete_sync_batch(text, bigint[], jsonb, jsonb) IS
'Glue: mark pushed outbox rows done and write back HubSpot ids, in one transaction;
p_hubspot_modified ({exam uuid: epoch ms}) records HubSpot''s time of each exam''s write
(exam_hubspot_sync), so a pulled read older than it is not applied. Locks the
contacts, bookings, waitlist places (ascending id) and exams (ascending HubSpot id) it writes, each
waited for at most mockbook.lock_timeout. Errors: BUSY (nothing done; the rows stay leased).';
REVOKE ALL ON FUNCTION mockbook_internal.complete_sync_batch(text, bigint[], jsonb, jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.complete_sync_batch(text, bigint[], jsonb, jsonb) TO mockbook_glue;
