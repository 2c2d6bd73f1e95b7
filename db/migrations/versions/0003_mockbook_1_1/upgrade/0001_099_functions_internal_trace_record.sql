-- Frozen copy of db/functions/internal/trace_record.sql (new).
-- Why: `mockbook trace` answers "why doesn't HubSpot show this booking?" from one consistent read
-- of everything one record left behind, part of which (the audit trail with its old and new
-- values, the ledger, the webhook deliveries, the adoption's report, the credit merge's base)
-- the glue's role may not read itself. Every lookup is one record's index range: a record's
-- trace costs the same at a million bookings as at a hundred.
CREATE OR REPLACE FUNCTION mockbook_internal.trace_record(p_table text, p_record_id uuid,
                                                    p_limit integer DEFAULT 200)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
-- SECURITY DEFINER: mockbook_glue may not read the audit trail, the ledger, the webhook events,
-- the adoption report or the credit merge's base (README, Roles); this reads one record's share
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_row jsonb;
    v_hubspot_id text;
    v_out jsonb;
    v_n constant integer := p_limit + 1;  -- one more than shown: the caller says "more"
BEGIN
    IF p_table IS NULL OR p_table NOT IN (
        'hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings') THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('table %L is not hubspot_contact_credits, hubspot_mock_exams or '
                   'hubspot_bookings.', p_table));
    END IF;
    IF p_record_id IS NULL THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'p_record_id is required.');
    END IF;
    IF p_limit IS NULL OR p_limit NOT BETWEEN 1 AND 10000 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('p_limit %s is outside 1..10000.', p_limit));
    END IF;

    IF p_table = 'hubspot_bookings' THEN
        SELECT to_jsonb(b), b.hubspot_id,
               jsonb_build_object(
                   'contact', (SELECT jsonb_build_object(
                                          'id', c.id, 'hubspot_id', c.hubspot_id,
                                          'student_id', c.student_id, 'email', c.email,
                                          'firstname', c.firstname, 'lastname', c.lastname)
                               FROM hubspot_sync.hubspot_contact_credits AS c
                               WHERE c.student_id = b.student_id),
                   'exam', (SELECT jsonb_build_object(
                                       'id', e.id, 'hubspot_id', e.hubspot_id,
                                       'mock_exam_name', e.mock_exam_name,
                                       'mock_type', e.mock_type, 'exam_date', e.exam_date,
                                       'start_time', e.start_time, 'end_time', e.end_time,
                                       'location', e.location, 'is_active', e.is_active)
                            FROM hubspot_sync.hubspot_mock_exams AS e
                            WHERE e.hubspot_id = b.associated_mock_exam),
                   'ledger', coalesce((
                       SELECT jsonb_agg(to_jsonb(l) ORDER BY l.id DESC)
                       FROM (SELECT * FROM hubspot_sync.credit_ledger AS l
                             WHERE l.booking_id = b.id ORDER BY l.id DESC LIMIT v_n) AS l),
                       '[]'),
                   'conflicts', coalesce((
                       SELECT jsonb_agg(to_jsonb(k) ORDER BY k.id DESC)
                       FROM (SELECT * FROM hubspot_sync.booking_conflicts AS k
                             WHERE k.booking_id = b.id ORDER BY k.id DESC LIMIT v_n) AS k),
                       '[]'))
        INTO v_row, v_hubspot_id, v_out
        FROM hubspot_sync.hubspot_bookings AS b
        WHERE b.id = p_record_id;
    ELSIF p_table = 'hubspot_contact_credits' THEN
        SELECT to_jsonb(c), c.hubspot_id,
               jsonb_build_object(
                   'ledger', coalesce((
                       SELECT jsonb_agg(to_jsonb(l) ORDER BY l.id DESC)
                       FROM (SELECT * FROM hubspot_sync.credit_ledger AS l
                             WHERE l.contact_id = c.id ORDER BY l.id DESC LIMIT v_n) AS l),
                       '[]'),
                   'bookings', coalesce((
                       SELECT jsonb_agg(to_jsonb(b) ORDER BY b.created_at DESC, b.id)
                       FROM (SELECT b.id, b.booking_id, b.hubspot_id, b.associated_mock_exam,
                                    b.mock_type, b.exam_date, b.is_active, b.created_at
                             FROM hubspot_sync.hubspot_bookings AS b
                             WHERE b.student_id = c.student_id
                             ORDER BY b.created_at DESC, b.id LIMIT v_n) AS b),
                       '[]'),
                   'credit_sync', (SELECT to_jsonb(s) FROM hubspot_sync.contact_credit_sync AS s
                                   WHERE s.contact_id = c.id),
                   'last_pull', (SELECT m.last_sync_timestamp FROM hubspot_sync.sync_metadata AS m
                                 WHERE m.sync_type = 'pull:contacts'))
        INTO v_row, v_hubspot_id, v_out
        FROM hubspot_sync.hubspot_contact_credits AS c
        WHERE c.id = p_record_id;
    ELSE
        SELECT to_jsonb(e), e.hubspot_id,
               jsonb_build_object(
                   'bookings_by_status', coalesce((
                       SELECT jsonb_object_agg(s.is_active, s.n)
                       FROM (SELECT coalesce(b.is_active, 'none') AS is_active, count(*) AS n
                             FROM hubspot_sync.hubspot_bookings AS b
                             WHERE b.associated_mock_exam = e.hubspot_id
                             GROUP BY 1) AS s), '{}'),
                   'conflicts', coalesce((
                       SELECT jsonb_agg(to_jsonb(k) ORDER BY k.id DESC)
                       FROM (SELECT k.*, b.booking_id AS booking_code
                             FROM hubspot_sync.booking_conflicts AS k
                             LEFT JOIN hubspot_sync.hubspot_bookings AS b ON b.id = k.booking_id
                             WHERE k.mock_exam_id = e.hubspot_id
                             ORDER BY k.id DESC LIMIT v_n) AS k),
                       '[]'),
                   'exam_sync', (SELECT to_jsonb(s) FROM hubspot_sync.exam_hubspot_sync AS s
                                 WHERE s.exam_id = e.id),
                   'last_pull', (SELECT m.last_sync_timestamp FROM hubspot_sync.sync_metadata AS m
                                 WHERE m.sync_type = 'pull:exams'))
        INTO v_row, v_hubspot_id, v_out
        FROM hubspot_sync.hubspot_mock_exams AS e
        WHERE e.id = p_record_id;
    END IF;
    IF v_row IS NULL THEN
        RETURN NULL;
    END IF;

    RETURN v_out || jsonb_build_object(
        'table', p_table,
        'read_at', now(),
        'record', v_row,
        'limit', p_limit,
        -- who changed what, newest first (performed_by: the user, the job or the glue)
        'audit', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', a.id, 'operation', a.operation, 'changed_fields', a.changed_fields,
                       'old_values', a.old_values, 'new_values', a.new_values,
                       'performed_by', a.performed_by, 'performed_at', a.performed_at,
                       'note_written_at', a.synced_to_hubspot_at) ORDER BY a.id DESC)
            FROM (SELECT * FROM hubspot_sync.supabase_audit_log AS a
                  WHERE a.table_name = p_table AND a.record_id = p_record_id
                  ORDER BY a.id DESC LIMIT v_n) AS a), '[]'),
        -- its outbox rows: the open ones (pending, leased, dead) and the done ones not purged
        -- yet, each from its own partial index
        'outbox', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', q.id, 'operation', q.operation, 'created_at', q.created_at,
                       'attempts', q.attempts, 'next_attempt_at', q.next_attempt_at,
                       'last_error', q.last_error, 'lease_owner', q.lease_owner,
                       'lease_expires_at', q.lease_expires_at, 'done_at', q.done_at,
                       'dead_at', q.dead_at) ORDER BY q.id DESC)
            FROM ((SELECT * FROM hubspot_sync.sync_queue AS q
                   WHERE q.table_name = p_table AND q.record_id = p_record_id
                     AND q.done_at IS NULL ORDER BY q.id DESC LIMIT v_n)
                  UNION ALL
                  (SELECT * FROM hubspot_sync.sync_queue AS q
                   WHERE q.table_name = p_table AND q.record_id = p_record_id
                     AND q.done_at IS NOT NULL ORDER BY q.id DESC LIMIT v_n)) AS q), '[]'),
        -- dead letters: the push's name the record's uuid, the pull's its HubSpot id
        'errors', coalesce((
            SELECT jsonb_agg(to_jsonb(x) ORDER BY x.id DESC)
            FROM (SELECT * FROM hubspot_sync.sync_errors AS x
                  WHERE x.entity_type = p_table
                    AND x.entity_id IN (p_record_id::text, v_hubspot_id)
                  ORDER BY x.id DESC LIMIT v_n) AS x), '[]'),
        -- HubSpot's deliveries about its HubSpot id (of any object type: the caller picks)
        'webhook_events', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', w.id, 'event_id', w.event_id,
                       'subscription_type', w.subscription_type,
                       'object_type_id', w.object_type_id, 'occurred_at', w.occurred_at,
                       'received_at', w.received_at, 'attempts', w.attempts,
                       'processed_at', w.processed_at, 'last_error', w.last_error,
                       'property_name', w.payload ->> 'propertyName',
                       'property_value', w.payload ->> 'propertyValue') ORDER BY w.id DESC)
            FROM (SELECT * FROM hubspot_sync.webhook_events AS w
                  WHERE w.object_id = v_hubspot_id ORDER BY w.id DESC LIMIT v_n) AS w), '[]'),
        -- the reads of it from HubSpot that apps asked for (request_refresh), and their outcome
        'refreshes', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'id', r.id, 'requested_by', r.requested_by,
                       'requested_at', r.requested_at, 'attempts', r.attempts,
                       'outcome', r.outcome, 'detail', r.detail, 'finished_at', r.finished_at)
                   ORDER BY r.id DESC)
            FROM (SELECT * FROM hubspot_sync.refresh_requests AS r
                  WHERE (r.record_type, r.record_key) = (
                      CASE p_table WHEN 'hubspot_mock_exams' THEN 'exam'
                                   WHEN 'hubspot_contact_credits' THEN 'student'
                                   ELSE 'booking' END,
                      CASE p_table WHEN 'hubspot_mock_exams' THEN v_hubspot_id
                                   WHEN 'hubspot_contact_credits' THEN v_row ->> 'student_id'
                                   ELSE p_record_id::text END)
                  ORDER BY r.id DESC LIMIT v_n) AS r), '[]'),
        -- what the adoption changed or flagged on this row
        'adoption', coalesce((
            SELECT jsonb_agg(to_jsonb(r) ORDER BY r.id DESC)
            FROM (SELECT * FROM hubspot_sync.adoption_report AS r
                  WHERE r.record_id = p_record_id::text ORDER BY r.id DESC LIMIT v_n) AS r),
            '[]'));
END
$$;

COMMENT ON FUNCTION mockbook_internal.trace_record(text, uuid, integer) IS
'Glue (mockbook trace): one record''s story as one jsonb from one snapshot: {table, read_at,
record, audit, outbox, errors, webhook_events, refreshes, adoption, limit}, plus {contact, exam, ledger,
conflicts} for a booking, {ledger, bookings, credit_sync, last_pull} for a contact,
{bookings_by_status, conflicts, exam_sync, last_pull} for an exam. Lists newest first, at most
p_limit + 1 rows. NULL when there is no such row. Reads only. Errors: INVALID_ARGUMENT.';
REVOKE ALL ON FUNCTION mockbook_internal.trace_record(text, uuid, integer)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.trace_record(text, uuid, integer) TO mockbook_glue;
