-- Undo db/functions/complete_past_bookings.sql (changed).
-- Frozen copy of db/functions/complete_past_bookings.sql (changed).
/**
 * hubspot_sync.complete_past_bookings(p_actor text DEFAULT 'mockbook:auto-complete') -> jsonb
 *
 * Past bookings complete themselves (issue 16, as the original app's monthly cleanup did): every
 * Active booking whose exam day is before today (business time zone) and that has no attendance
 * becomes Completed. Ledger-neutral: no credit moves, no ledger row; the audit trail is the
 * bookings' audit rows (performed_by p_actor through mockbook.actor) and the outbox pushes the
 * status to HubSpot. The exams' total_bookings (SPEC §3: the Active count) are recounted.
 * The `complete` step of `mockbook run`; pg_cron-ready:
 * `SELECT cron.schedule('mockbook-complete', '15 0 * * *',
 *  $$SELECT hubspot_sync.complete_past_bookings()$$)`.
 * A booking another transaction holds is skipped (SKIP LOCKED) and completed by the next run.
 * Returns {success, completed, exams}.
 * Errors: INVALID_ARGUMENT, BUSY (an exam held longer than mockbook.lock_timeout: nothing done).
 * Locks: the bookings (ascending id), then their exams (ascending HubSpot id), last.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.complete_past_bookings(
    p_actor text DEFAULT 'mockbook:auto-complete')
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_completed integer;
    v_exams text[];
    v_exam_id text;
BEGIN
    PERFORM mockbook_internal.check_text_arg('p_actor', p_actor, false, 255);
    PERFORM set_config('mockbook.actor', coalesce(p_actor, 'mockbook:auto-complete'), true);

    WITH due AS (
        SELECT b.id FROM hubspot_sync.hubspot_bookings AS b
        WHERE b.is_active = 'Active'
          AND b.exam_date < hubspot_sync.business_today()
          AND nullif(btrim(b.attendance), '') IS NULL
        ORDER BY b.id
        FOR UPDATE SKIP LOCKED
    ), done AS (
        UPDATE hubspot_sync.hubspot_bookings AS b
        SET is_active = 'Completed', updated_at = now()
        FROM due WHERE b.id = due.id AND b.is_active = 'Active'
        RETURNING b.associated_mock_exam
    )
    SELECT count(*)::integer, array_agg(DISTINCT d.associated_mock_exam ORDER BY d.associated_mock_exam)
    INTO v_completed, v_exams FROM done AS d;

    FOREACH v_exam_id IN ARRAY coalesce(v_exams, '{}'::text[]) LOOP
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
END
$$;

COMMENT ON FUNCTION hubspot_sync.complete_past_bookings(text) IS
'Job (mockbook run step complete; pg_cron-ready): Active bookings without attendance whose exam day has passed become Completed, ledger-neutral, audited as p_actor; the exams'' total_bookings recounted. Returns {success, completed, exams}. Locks: bookings ascending, then exams ascending.';
REVOKE ALL ON FUNCTION hubspot_sync.complete_past_bookings(text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.complete_past_bookings(text) TO service_role, mockbook_glue;
