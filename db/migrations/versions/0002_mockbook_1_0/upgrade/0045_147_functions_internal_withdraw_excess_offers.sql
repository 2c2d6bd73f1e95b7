-- Frozen copy of db/functions/internal/withdraw_excess_offers.sql (new).
-- Why: an offer is a seat, so a capacity cut (HubSpot's or an admin's) must not leave offers held
-- beyond the capacity.
CREATE OR REPLACE FUNCTION mockbook_internal.withdraw_excess_offers(p_exam_hubspot_id text)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_exam hubspot_sync.hubspot_mock_exams;
    v_withdrawn integer;
BEGIN
    SELECT e.* INTO v_exam FROM hubspot_sync.hubspot_mock_exams AS e
    WHERE e.hubspot_id = p_exam_hubspot_id;
    IF v_exam.id IS NULL THEN
        RETURN 0;
    END IF;
    -- the offers made last go back first: the oldest ones keep the seats that remain
    WITH held AS MATERIALIZED (
        SELECT w.id FROM hubspot_sync.waitlist_entries AS w
        WHERE w.mock_exam_id = p_exam_hubspot_id AND w.status = 'offered'
          AND w.offer_expires_at > mockbook_internal.clock_now()
        ORDER BY w.offered_at DESC, w.id DESC
        LIMIT greatest((SELECT count(*)::integer FROM hubspot_sync.waitlist_entries AS o
                        WHERE o.mock_exam_id = p_exam_hubspot_id AND o.status = 'offered'
                          AND o.offer_expires_at > mockbook_internal.clock_now())
                       - greatest(coalesce(v_exam.capacity, 0)
                                  - coalesce(v_exam.total_bookings, 0), 0), 0)
        FOR UPDATE SKIP LOCKED
    )
    UPDATE hubspot_sync.waitlist_entries AS w
    SET status = 'waiting', offered_at = NULL, offer_expires_at = NULL
    FROM held
    WHERE w.id = held.id AND w.status = 'offered';
    GET DIAGNOSTICS v_withdrawn = ROW_COUNT;
    RETURN v_withdrawn;
END
$$;

COMMENT ON FUNCTION mockbook_internal.withdraw_excess_offers(text) IS
'Internal: after a capacity cut (HubSpot''s or an admin''s), puts the exam''s held offers beyond
its free seats back to waiting, newest first, so no seat is held past the capacity; a withdrawn
place keeps its order. Returns how many. Errors: none. Locks: the places it withdraws (SKIP
LOCKED: after the exam''s lock nothing is waited for), under the caller''s exam lock.';
REVOKE ALL ON FUNCTION mockbook_internal.withdraw_excess_offers(text) FROM PUBLIC, anon, authenticated, service_role;
