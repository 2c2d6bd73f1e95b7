-- Frozen copy of db/functions/api/process_waitlist.sql (new).
/**
 * Why: offers expire and exams close without any call to react to them. This job closes the
 * places of past exams and of students who booked otherwise, expires offers and offers the free
 * seats, skipping rows held by others (SKIP LOCKED) so it never stalls a booking.
 * The contract is the COMMENT ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.process_waitlist(p_actor text DEFAULT 'mockbook:waitlist')
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
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
    -- admin powers: an admin's JWT or the service-role key, never a student's JWT
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
    -- the server cannot take the call (disk full, read-only, out of resources): one documented
    -- code, never a raw SQLSTATE naming a file; nothing of the call remains
    WHEN disk_full OR insufficient_resources OR out_of_memory OR configuration_limit_exceeded
         OR io_error OR read_only_sql_transaction THEN
        PERFORM mockbook_internal.raise_unavailable(SQLSTATE);
        RAISE;
END
$$;

COMMENT ON FUNCTION hubspot_sync.process_waitlist(text) IS
'The waitlist''s job (`mockbook run` step `waitlist`; pg_cron-ready: `SELECT
cron.schedule(''mockbook-waitlist'', ''* * * * *'', $$SELECT hubspot_sync.process_waitlist()$$)`).
First closes every open place (waiting or offered) of an exam whose day has passed (`exam_date`
before `business_today()`): status `closed`, `resolved_at` set, each once (a place in use right
now is skipped and closed by the next run). Then closes (`left`, counted in `left`) every open
place whose student already holds an Active or Completed booking of the place exam''s mock type
on its day: a booking made outside the booking functions — pulled from HubSpot (the pull holds
no contact lock and never waits, so it closes no place) or adopted from production — leaves
such places open, though their offers could only be refused (`DUPLICATE_BOOKING`); until the
job closes them, no freed seat is offered to them (`offer_free_seats` passes them over). Then
expires every offer past `offer_expires_at`
(each exactly once: the place is locked; one being
accepted right now is skipped and seen by the next run) and offers the free seats of those exams
(the closed offers'' exams too) and of any exam with waiting students and a free seat (a
capacity raised in HubSpot). `p_actor`
defaults to `mockbook:waitlist`. Returns `{success, closed, left, expired, offered, exams_busy}` (exams
whose lock was not granted within `mockbook.lock_timeout`, left for the next run).
Errors: `INVALID_ARGUMENT`. Locks: the closed, the left and the expired places (ascending id, SKIP
LOCKED; bookings only read), then the exams, ascending HubSpot id.';
REVOKE ALL ON FUNCTION hubspot_sync.process_waitlist(text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.process_waitlist(text) TO service_role, mockbook_glue;
