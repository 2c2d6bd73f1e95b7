-- Frozen copy of db/functions/api/complete_past_bookings.sql (changed).
-- Why: bookings of exams that took place should not stay Active; rows in use are skipped, so the
-- job never stalls a booking.
CREATE OR REPLACE FUNCTION hubspot_sync.complete_past_bookings(
    p_actor text DEFAULT 'mockbook:auto-complete')
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_completed integer;
    v_exams text[];
    v_exam_id text;
BEGIN
    PERFORM mockbook_internal.require_admin('complete_past_bookings');
    PERFORM mockbook_internal.check_text_arg('p_actor', p_actor, false, 255);
    PERFORM set_config('mockbook.actor', coalesce(p_actor, 'mockbook:auto-complete'), true);

    WITH due AS (
        SELECT b.id FROM hubspot_sync.hubspot_bookings AS b
        LEFT JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = b.associated_mock_exam
        WHERE b.is_active = 'Active'
          AND nullif(btrim(b.attendance), '') IS NULL
          -- an exam moved into the past by HubSpot: an admin decides, never the job
          AND NOT EXISTS (SELECT FROM hubspot_sync.booking_conflicts AS c
                          WHERE c.booking_id = b.id AND c.rule = 'moved_into_past'
                            AND c.resolved_at IS NULL)
          AND CASE WHEN e.id IS NULL THEN b.exam_date < hubspot_sync.business_today()
                   -- over as every rule reads it (exam_span; a known end ahead needs no call)
                   ELSE coalesce(e.exam_ends_at <= mockbook_internal.clock_now(), true)
                        AND upper(mockbook_internal.exam_span(e.exam_date, e.exam_starts_at,
                                                              e.exam_ends_at))
                            <= mockbook_internal.clock_now()
                        AND lower(coalesce(e.is_active, '')) IN ('true', 'active', 'scheduled')
              END
        ORDER BY b.id
        FOR UPDATE OF b SKIP LOCKED
    ), done AS (
        UPDATE hubspot_sync.hubspot_bookings AS b
        SET is_active = 'Completed', updated_at = now()
        FROM due WHERE b.id = due.id AND b.is_active = 'Active'
        RETURNING b.associated_mock_exam
    )
    SELECT count(*)::integer, array_agg(DISTINCT d.associated_mock_exam ORDER BY d.associated_mock_exam)
                                  FILTER (WHERE d.associated_mock_exam IS NOT NULL)
    INTO v_completed, v_exams FROM done AS d;

    -- the exams there are: a booking of an unknown exam has no row to lock or recount
    FOR v_exam_id IN SELECT e.hubspot_id FROM hubspot_sync.hubspot_mock_exams AS e
                     WHERE e.hubspot_id = ANY (v_exams) ORDER BY e.hubspot_id LOOP
        PERFORM mockbook_internal.lock_exam(v_exam_id);
    END LOOP;
    -- a statement after the locks: its snapshot sees every committed booking of these exams
    UPDATE hubspot_sync.hubspot_mock_exams AS e
    SET total_bookings = c.active, updated_at = now()
    FROM (SELECT x.hubspot_id,
                 (SELECT count(*)::integer FROM hubspot_sync.hubspot_bookings AS b
                  WHERE b.associated_mock_exam = x.hubspot_id AND b.is_active = 'Active') AS active
          FROM hubspot_sync.hubspot_mock_exams AS x
          WHERE x.hubspot_id = ANY (coalesce(v_exams, '{}'::text[]))) AS c
    WHERE e.hubspot_id = c.hubspot_id AND e.total_bookings IS DISTINCT FROM c.active;

    RETURN jsonb_build_object('success', true, 'completed', v_completed,
                              'exams', to_jsonb(coalesce(v_exams, '{}'::text[])));
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

COMMENT ON FUNCTION hubspot_sync.complete_past_bookings(text) IS
'Every Active booking without attendance whose exam took place becomes `Completed`: its exam''s
end has passed (an end that cannot be read: the end of its day) and the exam is still open (a deactivated or archived exam did not take place; an
exam moved into the past by HubSpot waits in `booking_conflicts` for an admin); a booking of an
unknown exam completes once its `exam_date` is before today (`mockbook run` step `complete`, or
pg_cron). No credit moves, no ledger row; the audit rows carry `p_actor` (default
`mockbook:auto-complete`) and the outbox pushes the status. The exams'' `total_bookings` are
recounted. A booking in use is skipped for the next run. Returns `{success, completed, exams}`.
Errors: `INVALID_ARGUMENT`, `BUSY`.
Locks: the bookings (ascending id), then their exams (ascending HubSpot id).';
REVOKE ALL ON FUNCTION hubspot_sync.complete_past_bookings(text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.complete_past_bookings(text) TO service_role, mockbook_glue;
