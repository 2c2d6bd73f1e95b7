-- Undo db/functions/complete_sync_batch.sql (changed).
-- Frozen copy of db/functions/complete_sync_batch.sql (changed).
-- moved by 00_schema_changes.sql (ALTER FUNCTION ... SET SCHEMA): nothing left to drop here
-- squawk-ignore ban-drop-function
DROP FUNCTION IF EXISTS hubspot_sync.complete_sync_batch;
/**
 * mockbook_internal.complete_sync_batch(p_worker, p_ids, p_hubspot_ids) -> integer (rows completed)
 *
 * After a successful push: marks the outbox rows p_ids done — only those still leased by
 * p_worker (a row whose lease expired and was taken by another worker is left to that worker) —
 * and, in the same transaction, writes back what HubSpot returned: p_hubspot_ids is
 * {"<table name>": {"<record uuid>": "<hubspot id>", ...}, ...}; every pushed record gets
 * hubspot_last_sync_at = now(), and hubspot_id where it was NULL — a booking always takes the id
 * HubSpot answered (the upsert by booking code re-creates a booking archived in HubSpot under a
 * new id, which replaces the stale one, so cancel_booking(<new id>) finds it); a waitlist place
 * ("waitlist_entries", keyed by its sync_id) takes the id of the HubSpot booking object showing
 * it. These write-backs run with
 * mockbook.origin = 'sync', so they queue nothing.
 * Locks: its outbox rows, then (the lock order of docs/rpc.md) the contacts, then the bookings,
 * then the waitlist places, each in ascending id order, then the exams in ascending hubspot_id
 * order.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.complete_sync_batch(p_worker text, p_ids bigint[],
                                                           p_hubspot_ids jsonb DEFAULT '{}')
RETURNS integer
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: mockbook_glue may not write the tables (README, Roles); its functions are the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_done integer;
    v_origin text := current_setting('mockbook.origin', true);
BEGIN
    WITH done AS (
        UPDATE hubspot_sync.sync_queue AS q
        SET done_at = now(), lease_owner = NULL, lease_expires_at = NULL, last_error = NULL
        WHERE q.id = ANY (p_ids) AND q.lease_owner = p_worker AND q.done_at IS NULL
        RETURNING q.id
    )
    SELECT count(*) INTO v_done FROM done;

    PERFORM set_config('mockbook.origin', 'sync', true);
    -- the lock order: contacts, then bookings, then exams, each in ascending id order, locked
    -- by a sorted SELECT first (an UPDATE locks its rows in whatever order its plan finds them)
    PERFORM FROM hubspot_sync.hubspot_contact_credits AS c
    WHERE c.id IN (SELECT m.key::uuid
                   FROM jsonb_each_text(coalesce(p_hubspot_ids -> 'hubspot_contact_credits',
                                                 '{}')) AS m)
    ORDER BY c.id
    FOR NO KEY UPDATE;
    UPDATE hubspot_sync.hubspot_contact_credits AS c
    SET hubspot_id = coalesce(c.hubspot_id, m.value), hubspot_last_sync_at = now()
    FROM jsonb_each_text(coalesce(p_hubspot_ids -> 'hubspot_contact_credits', '{}')) AS m
    WHERE c.id = m.key::uuid;
    PERFORM FROM hubspot_sync.hubspot_bookings AS b
    WHERE b.id IN (SELECT m.key::uuid
                   FROM jsonb_each_text(coalesce(p_hubspot_ids -> 'hubspot_bookings', '{}')) AS m)
    ORDER BY b.id
    FOR NO KEY UPDATE;
    UPDATE hubspot_sync.hubspot_bookings AS b
    SET hubspot_id = m.value, hubspot_last_sync_at = now()
    FROM jsonb_each_text(coalesce(p_hubspot_ids -> 'hubspot_bookings', '{}')) AS m
    WHERE b.id = m.key::uuid;
    -- waitlist places (pushed as HubSpot bookings, keyed by sync_id) rank with the bookings
    PERFORM FROM hubspot_sync.waitlist_entries AS w
    WHERE w.sync_id IN (SELECT m.key::uuid
                        FROM jsonb_each_text(coalesce(p_hubspot_ids -> 'waitlist_entries',
                                                      '{}')) AS m)
    ORDER BY w.id
    FOR NO KEY UPDATE;
    UPDATE hubspot_sync.waitlist_entries AS w
    SET hubspot_id = m.value, hubspot_last_sync_at = now()
    FROM jsonb_each_text(coalesce(p_hubspot_ids -> 'waitlist_entries', '{}')) AS m
    WHERE w.sync_id = m.key::uuid;
    PERFORM FROM hubspot_sync.hubspot_mock_exams AS e
    WHERE e.id IN (SELECT m.key::uuid
                   FROM jsonb_each_text(coalesce(p_hubspot_ids -> 'hubspot_mock_exams',
                                                 '{}')) AS m)
    ORDER BY e.hubspot_id
    FOR NO KEY UPDATE;
    UPDATE hubspot_sync.hubspot_mock_exams AS e
    SET hubspot_last_sync_at = now()
    FROM jsonb_each_text(coalesce(p_hubspot_ids -> 'hubspot_mock_exams', '{}')) AS m
    WHERE e.id = m.key::uuid;
    PERFORM set_config('mockbook.origin', coalesce(v_origin, ''), true);
    RETURN v_done;
END
$$;

COMMENT ON FUNCTION mockbook_internal.complete_sync_batch(text, bigint[], jsonb) IS
'Glue: mark pushed outbox rows done and write back HubSpot ids, in one transaction.';
REVOKE ALL ON FUNCTION mockbook_internal.complete_sync_batch(text, bigint[], jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.complete_sync_batch(text, bigint[], jsonb) TO mockbook_glue;
