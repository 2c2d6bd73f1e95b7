-- Frozen copy of db/functions/api/process_waitlist.sql (changed).
-- Why: offers expire and exams close without a call to react to them; SKIP LOCKED, so the job
-- never stalls a booking.
CREATE OR REPLACE FUNCTION hubspot_sync.process_waitlist(p_actor text DEFAULT 'mockbook:waitlist')
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_closed integer;
    v_left integer;
    v_left_exams text[];
    v_expired integer;
    v_offered integer := 0;
    v_busy integer := 0;
    v_exams text[];
    v_exam_id text;
BEGIN
    PERFORM mockbook_internal.require_admin('process_waitlist');
    PERFORM mockbook_internal.check_text_arg('p_actor', p_actor, false, 255);
    PERFORM set_config('mockbook.actor', coalesce(p_actor, 'mockbook:waitlist'), true);

    WITH past AS (
        SELECT w.id FROM hubspot_sync.waitlist_entries AS w
        JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = w.mock_exam_id
        WHERE w.status IN ('waiting', 'offered')
          AND e.exam_date < hubspot_sync.business_today()
        ORDER BY w.id
        FOR UPDATE OF w SKIP LOCKED
    ), closed AS (
        UPDATE hubspot_sync.waitlist_entries AS w
        SET status = 'closed', resolved_at = now()
        FROM past WHERE w.id = past.id AND w.status IN ('waiting', 'offered')
        RETURNING w.id
    )
    SELECT count(*)::integer INTO v_closed FROM closed;

    -- 1. places of students already booked that type and day (a pulled or adopted booking)
    WITH booked AS (
        SELECT w.id, w.status FROM hubspot_sync.waitlist_entries AS w
        JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = w.mock_exam_id
        WHERE w.status IN ('waiting', 'offered')
          AND EXISTS (SELECT FROM hubspot_sync.hubspot_bookings AS b
                      WHERE b.student_id = w.student_id
                        AND b.mock_type = e.mock_type
                        AND b.exam_date = e.exam_date
                        AND b.is_active IN ('Active', 'Completed'))
        ORDER BY w.id
        FOR UPDATE OF w SKIP LOCKED
    ), left_places AS (
        UPDATE hubspot_sync.waitlist_entries AS w
        SET status = 'left', resolved_at = now()
        FROM booked WHERE w.id = booked.id AND w.status IN ('waiting', 'offered')
        RETURNING w.mock_exam_id, booked.status AS was
    )
    SELECT count(*)::integer,
           array_agg(DISTINCT l.mock_exam_id) FILTER (WHERE l.was = 'offered')
    INTO v_left, v_left_exams FROM left_places AS l;

    WITH due AS (
        SELECT w.id FROM hubspot_sync.waitlist_entries AS w
        WHERE w.status = 'offered' AND w.offer_expires_at <= mockbook_internal.clock_now()
        ORDER BY w.id
        FOR UPDATE SKIP LOCKED
    ), expired AS (
        UPDATE hubspot_sync.waitlist_entries AS w
        SET status = 'expired', resolved_at = now()
        FROM due WHERE w.id = due.id AND w.status = 'offered'
        RETURNING w.mock_exam_id
    )
    SELECT count(*)::integer, array_agg(DISTINCT e.mock_exam_id)
    INTO v_expired, v_exams FROM expired AS e;

    SELECT array_agg(DISTINCT x.id ORDER BY x.id) INTO v_exams
    FROM (
        SELECT unnest(coalesce(v_exams, '{}'::text[]) || coalesce(v_left_exams, '{}'::text[]))
        UNION
        SELECT e.hubspot_id FROM hubspot_sync.hubspot_mock_exams AS e
        WHERE EXISTS (SELECT FROM hubspot_sync.waitlist_entries AS w
                      WHERE w.mock_exam_id = e.hubspot_id AND w.status = 'waiting')
          AND coalesce(e.capacity, 0) - coalesce(e.total_bookings, 0)
              > (SELECT count(*) FROM hubspot_sync.waitlist_entries AS w
                 WHERE w.mock_exam_id = e.hubspot_id AND w.status = 'offered'
                   AND w.offer_expires_at > mockbook_internal.clock_now())
    ) AS x(id);

    FOREACH v_exam_id IN ARRAY coalesce(v_exams, '{}'::text[]) LOOP
        BEGIN
            PERFORM mockbook_internal.lock_exam(v_exam_id);
            v_offered := v_offered + mockbook_internal.offer_free_seats(v_exam_id);
        EXCEPTION WHEN SQLSTATE 'PT503' OR SQLSTATE 'PT404' THEN
            v_busy := v_busy + 1;  -- locked too long (or deleted): the next run tries again
        END;
    END LOOP;
    RETURN jsonb_build_object('success', true, 'closed', v_closed, 'left', v_left,
                              'expired', v_expired,
                              'offered', v_offered,
                              'exams_busy', v_busy);
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

COMMENT ON FUNCTION hubspot_sync.process_waitlist(text) IS
'The waitlist''s job (`mockbook run` step `waitlist`, or pg_cron). Closes (`closed`) every open
place of an exam whose day has passed; closes (`left`) every open place whose student already
holds an Active or Completed booking of that type and day (pulled or adopted: its offer could
only be refused); expires every offer past `offer_expires_at`; then offers the free seats of
those exams and of any exam with waiting students and a free seat. A place in use is skipped
for the next run. `p_actor` defaults to `mockbook:waitlist`.
Returns `{success, closed, left, expired, offered, exams_busy}` (exams whose lock was not granted
within `mockbook.lock_timeout`, left for the next run).
Errors: `INVALID_ARGUMENT`. Locks: the closed, the left and the expired places (ascending id, SKIP
LOCKED; bookings only read), then the exams, ascending HubSpot id.';
REVOKE ALL ON FUNCTION hubspot_sync.process_waitlist(text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.process_waitlist(text) TO service_role, mockbook_glue;
