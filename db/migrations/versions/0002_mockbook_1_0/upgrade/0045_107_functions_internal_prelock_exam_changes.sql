-- Frozen copy of db/functions/internal/prelock_exam_changes.sql (new).
-- Why: an exam change from HubSpot may cancel or move bookings, which are locked before exams in
-- the lock order.
CREATE OR REPLACE FUNCTION mockbook_internal.prelock_exam_changes(p_exams jsonb)
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_bookings uuid[];
    v_contacts uuid[];
    v_locked integer;
BEGIN
    IF jsonb_typeof(p_exams) IS DISTINCT FROM 'array' THEN
        RETURN 0;
    END IF;
    SELECT array_agg(DISTINCT b.id), array_agg(DISTINCT mockbook_internal.contact_id_of_booking(b))
    INTO v_bookings, v_contacts
    FROM jsonb_array_elements(p_exams) AS r(value)
    JOIN hubspot_sync.hubspot_mock_exams AS e
      ON jsonb_typeof(r.value) = 'object' AND e.hubspot_id = r.value ->> 'id'
    JOIN hubspot_sync.hubspot_bookings AS b
      ON b.associated_mock_exam = e.hubspot_id AND b.is_active = 'Active'
    CROSS JOIN LATERAL (
        SELECT CASE WHEN jsonb_typeof(r.value -> 'properties') = 'object'
                    THEN r.value -> 'properties' ELSE '{}'::jsonb END AS p) AS x
    WHERE CASE WHEN r.value ->> 'archived' = 'true'
               -- an archival closes an open exam (every pass re-reads archived records)
               THEN lower(e.is_active) IS DISTINCT FROM 'false'
               ELSE (lower(btrim(x.p ->> 'is_active')) = 'false'
                     AND lower(e.is_active) IS DISTINCT FROM 'false')
                    OR left(btrim(x.p ->> 'exam_date'), 10) IS DISTINCT FROM e.exam_date::text
                    OR nullif(btrim(x.p ->> 'start_time'), '') IS DISTINCT FROM e.start_time
                    OR nullif(btrim(x.p ->> 'end_time'), '') IS DISTINCT FROM e.end_time
                    OR nullif(btrim(x.p ->> 'mock_type'), '') IS DISTINCT FROM e.mock_type
          END;
    IF v_bookings IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM mockbook_internal.lock_contacts(v_contacts, true);
    SELECT count(*)::integer INTO v_locked FROM (
        SELECT b.id FROM hubspot_sync.hubspot_bookings AS b
        WHERE b.id = ANY (v_bookings)
        ORDER BY b.id
        FOR NO KEY UPDATE SKIP LOCKED) AS l;
    RETURN v_locked;
END
$$;

COMMENT ON FUNCTION mockbook_internal.prelock_exam_changes(jsonb) IS
'Internal: before apply_pulled_exams locks exams, the contacts and then the Active bookings of the
exams its records may close or move, in the lock order (a row still held after mockbook.lock_timeout
is left for apply_exam_change). Returns the bookings locked.';
REVOKE ALL ON FUNCTION mockbook_internal.prelock_exam_changes(jsonb) FROM PUBLIC, anon, authenticated, service_role;
