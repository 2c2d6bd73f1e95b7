-- Frozen copy of db/functions/internal/lock_day_places.sql (changed).
-- Why: the waitlist places a booking may close are locked in one ascending-id pass, after the
-- contact and before any exam (the lock order).
CREATE OR REPLACE FUNCTION mockbook_internal.lock_day_places(
    p_student_id text,
    p_exam hubspot_sync.hubspot_mock_exams,
    p_place_id bigint DEFAULT NULL
)
RETURNS bigint[]
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_id bigint;
    v_place hubspot_sync.waitlist_entries;
    v_locked bigint[] := '{}'::bigint[];
BEGIN
    FOR v_id IN
        SELECT w.id FROM hubspot_sync.waitlist_entries AS w
        LEFT JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = w.mock_exam_id
        WHERE w.id = p_place_id
           OR (w.student_id = p_student_id
               AND w.status IN ('waiting', 'offered')
               AND (w.mock_exam_id = p_exam.hubspot_id
                    OR (e.mock_type = p_exam.mock_type AND e.exam_date = p_exam.exam_date)))
        ORDER BY w.id
    LOOP
        v_place := mockbook_internal.lock_waitlist_entry(v_id);
        IF v_place.id IS NOT NULL THEN
            v_locked := v_locked || v_place.id;
        END IF;
    END LOOP;
    RETURN v_locked;
END
$$;

COMMENT ON FUNCTION mockbook_internal.lock_day_places(text, hubspot_sync.hubspot_mock_exams, bigint) IS
'Internal: locks, in one ascending-id pass (lock_waitlist_entry), the student''s open waitlist places
on the exam and on the other exams of its mock type and day, plus p_place_id when given
(accept_offer''s own place); returns their ids. Errors: BUSY. Locks: the places, ascending id.';
REVOKE ALL ON FUNCTION mockbook_internal.lock_day_places(text, hubspot_sync.hubspot_mock_exams, bigint)
    FROM PUBLIC, anon, authenticated, service_role;
