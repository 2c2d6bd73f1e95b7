-- Why: an admin's Refresh (or a dashboard opening) reads one record from HubSpot now instead of at
-- the next pull; a page left open must not spend the school's HubSpot budget, hence the limit.
CREATE OR REPLACE FUNCTION hubspot_sync.request_refresh(p_mock_exam_id text DEFAULT NULL,
                                                       p_student_id text DEFAULT NULL,
                                                       p_booking_id text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    c_per_minute constant integer := 10;
    v_type text;
    v_key text;
    v_hubspot_id text;
    v_email text;
    v_caller text;
    v_booking hubspot_sync.hubspot_bookings;
    v_request hubspot_sync.refresh_requests;
    v_waiting boolean := false;
BEGIN
    PERFORM mockbook_internal.check_text_arg('p_mock_exam_id', p_mock_exam_id, false, 255);
    PERFORM mockbook_internal.check_text_arg('p_student_id', p_student_id, false, 64);
    PERFORM mockbook_internal.check_text_arg('p_booking_id', p_booking_id, false, 255);
    IF num_nonnulls(nullif(btrim(p_mock_exam_id), ''), nullif(btrim(p_student_id), ''),
                    nullif(btrim(p_booking_id), '')) <> 1 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'Name one record: p_mock_exam_id, p_student_id or p_booking_id.');
    END IF;
    IF btrim(p_mock_exam_id) <> '' THEN
        -- any exam's HubSpot id: one HubSpot has and mockbook has not yet is read in
        v_type := 'exam';
        v_key := btrim(p_mock_exam_id);
        v_hubspot_id := v_key;
    ELSIF btrim(p_student_id) <> '' THEN
        PERFORM mockbook_internal.check_student_caller(p_student_id, 'request_refresh');
        SELECT 'student', c.student_id, c.hubspot_id, c.email INTO v_type, v_key, v_hubspot_id, v_email
        FROM hubspot_sync.hubspot_contact_credits AS c WHERE c.student_id = p_student_id;
        IF v_key IS NULL THEN
            PERFORM mockbook_internal.raise_error('CONTACT_NOT_FOUND',
                format('No contact with student_id %L.', p_student_id));
        END IF;
    ELSE
        v_booking := mockbook_internal.booking_by_ref(p_booking_id);
        IF v_booking.id IS NULL THEN
            PERFORM mockbook_internal.raise_error('BOOKING_NOT_FOUND',
                format('No booking %L.', p_booking_id));
        END IF;
        v_type := 'booking';
        v_key := v_booking.id::text;
        v_hubspot_id := v_booking.hubspot_id;
        SELECT c.email INTO v_email FROM hubspot_sync.hubspot_contact_credits AS c
        WHERE c.student_id = v_booking.student_id;
    END IF;
    v_caller := coalesce(mockbook_internal.request_actor(),
                         nullif(pg_catalog.current_setting('request.jwt.claims', true),
                                '')::jsonb ->> 'role',
                         current_user);

    -- the caller's requests one at a time, so the limit counts each of them
    PERFORM mockbook_internal.wait_for_lock('refresh_caller', v_caller);
    FOR v_try IN 1 .. 2 LOOP
        SELECT r.* INTO v_request FROM hubspot_sync.refresh_requests AS r
        WHERE r.record_type = v_type AND r.record_key = v_key AND r.outcome IS NULL;
        v_waiting := v_request.id IS NOT NULL;
        EXIT WHEN v_waiting;
        IF v_try = 1 AND (SELECT count(*) FROM hubspot_sync.refresh_requests AS r
                          WHERE r.requested_by = v_caller
                            AND r.requested_at > pg_catalog.statement_timestamp()
                                                 - interval '1 minute') >= c_per_minute THEN
            PERFORM mockbook_internal.raise_error('REFRESH_LIMIT_REACHED',
                format('%s asked for %s refreshes in the last minute, the most one caller may.',
                       v_caller, c_per_minute));
        END IF;
        INSERT INTO hubspot_sync.refresh_requests (record_type, record_key, hubspot_id,
                                                   requested_by, requested_at, outcome, detail,
                                                   finished_at)
        SELECT v_type, v_key, v_hubspot_id, v_caller, pg_catalog.statement_timestamp(),
               n.outcome, n.detail, CASE WHEN n.outcome IS NOT NULL THEN now() END
        FROM (SELECT CASE WHEN v_hubspot_id IS NULL THEN 'not_in_hubspot' END AS outcome,
                     CASE WHEN v_hubspot_id IS NULL
                          THEN 'Not in HubSpot yet: the push sends it there first.' END AS detail
             ) AS n
        -- another caller's request for the record, made meanwhile, is answered
        ON CONFLICT (record_type, record_key) WHERE outcome IS NULL DO NOTHING
        RETURNING * INTO v_request;
        EXIT WHEN v_request.id IS NOT NULL;
    END LOOP;
    RETURN jsonb_build_object(
        'success', true,
        'request_id', v_request.id,
        'record_type', v_type,
        'record_key', v_key,
        'hubspot_id', v_hubspot_id,
        'status', CASE WHEN v_request.outcome IS NULL THEN 'waiting' ELSE 'done' END,
        'outcome', v_request.outcome,
        'already_waiting', v_waiting,
        'topic', CASE WHEN v_type = 'exam' THEN mockbook_internal.realtime_topic('exam', v_key)
                      ELSE mockbook_internal.realtime_topic('student', v_email) END);
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

COMMENT ON FUNCTION hubspot_sync.request_refresh(text, text, text) IS
'Asks for one record to be read from HubSpot now: an exam (its HubSpot id, also one not pulled
yet), a student (`p_student_id`; a student''s JWT: their own) or a booking (uuid, code or HubSpot
id; a student''s JWT: their own). The worker reads it within a second, applies it as the pull
does and writes the outcome; live pages get it on `topic` (event `refresh`), admins on
`mockbook:admin` ([Refresh](#on-demand-refresh)). One waiting request per record: asking again
answers it (`already_waiting`). At most 10 new requests a minute per caller (the JWT''s user,
else the key''s role). Returns `{success, request_id, record_type, record_key, hubspot_id, status,
outcome, already_waiting, topic}` (`status` `waiting`, or `done` with `outcome` `not_in_hubspot`).
Errors: `INVALID_ARGUMENT` (none or two named; one too long: `p_student_id` ≤ 64, the others
≤ 255), `FORBIDDEN`, `CONTACT_NOT_FOUND`, `BOOKING_NOT_FOUND`, `AMBIGUOUS_REFERENCE`,
`REFRESH_LIMIT_REACHED`, `BUSY`. Locks: the caller''s refresh lock (advisory), no row.';
REVOKE ALL ON FUNCTION hubspot_sync.request_refresh(text, text, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.request_refresh(text, text, text) TO service_role;
