-- Frozen copy of db/functions/internal/claim_audit_notes.sql (changed).
/**
 * Why: a note needs the HubSpot ids of what it is attached to. This read hands the glue the rows
 * that can be noted now from a bounded window of the oldest pending rows, so its cost follows the
 * batch, not the backlog; a row waiting for an id is set aside (note_waits) until the id arrives.
 * The plan's shape is fixed whatever the statistics say: the window in the pending index's order,
 * every other table read per window row by key (LATERAL/EXISTS ... OFFSET 0), never hashed.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.claim_audit_notes(p_limit integer DEFAULT 100)
RETURNS TABLE (audit_id bigint, member_ids bigint[], kind text, detail jsonb,
               booking_hubspot_id text, contact_hubspot_id text)
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: mockbook_glue may not write the tables (README, Roles); its functions are the way in
SECURITY DEFINER
SET search_path = ''
SET enable_seqscan = off
SET enable_bitmapscan = off
-- (the disabled paths' cost would otherwise make a few-row query worth compiling: no JIT)
SET jit = off
SET enable_sort = off
AS $$
DECLARE
    v_fields constant text[] := ARRAY(SELECT DISTINCT r.credit_field
                                      FROM hubspot_sync.credit_rules() AS r);
    v_scan bigint[];  -- the oldest ready pending rows
    v_window bigint[];  -- those of them that can be noted or marked now
    v_ids bigint[];
    v_marked integer;
    v_no_id_bookings uuid[];
    v_no_id_contacts uuid[];
    v_parked integer;
    v_returned bigint;
    -- windows per call: an old backlog is set aside over several bounded calls
    v_windows integer := 0;
    -- the next window starts past the rows looked at (set-aside entries stay until a vacuum)
    v_after bigint := 0::bigint;
BEGIN
    IF p_limit IS NULL OR p_limit < 1 OR p_limit > 1000 THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'p_limit must be 1..1000.');
    END IF;

    -- a window of rows never noted or waiting only is marked or set aside, the next one looked at
    LOOP
        v_windows := v_windows + 1;
        -- The oldest pending rows not set aside: the head of the pending index's ready part.
        v_scan := ARRAY(
            SELECT p.id FROM hubspot_sync.supabase_audit_log AS p
            WHERE p.synced_to_hubspot_at IS NULL AND NOT p.note_waits AND p.id > v_after
            ORDER BY p.note_waits, p.id
            LIMIT 5 * p_limit);
        EXIT WHEN cardinality(v_scan) = 0;
        v_after := v_scan[cardinality(v_scan)];

        -- The bookings and contacts with no HubSpot id that rows of the scan wait for, share-locked
        -- (SKIP LOCKED: never waited for; a locked one's rows are only passed over, as below): the
        -- write-back giving one its id waits for this claim, then finds its rows set aside.
        v_no_id_bookings := ARRAY(
            WITH p AS MATERIALIZED (SELECT a.* FROM hubspot_sync.supabase_audit_log AS a
                                    WHERE a.id = ANY (v_scan))
            SELECT b.id FROM hubspot_sync.hubspot_bookings AS b
            WHERE b.id = ANY (ARRAY(
                      SELECT p.record_id FROM p
                      WHERE p.table_name = 'hubspot_bookings' AND p.record_hubspot_id IS NULL
                        AND p.performed_by NOT LIKE 'hubspot:%'
                      UNION
                      -- spent or refunded by a booking: the ledger rows of the same change
                      SELECT l.booking_id FROM p
                      CROSS JOIN LATERAL (
                          SELECT l.booking_id FROM hubspot_sync.credit_ledger AS l
                          WHERE l.contact_id = p.record_id AND l.created_at = p.performed_at
                            AND l.balance_after::text = p.new_values ->> l.credit_field
                          OFFSET 0) AS l
                      WHERE p.table_name = 'hubspot_contact_credits'
                        AND l.booking_id IS NOT NULL))
              AND b.hubspot_id IS NULL
            FOR SHARE OF b SKIP LOCKED);
        v_no_id_contacts := ARRAY(
            WITH p AS MATERIALIZED (SELECT a.* FROM hubspot_sync.supabase_audit_log AS a
                                    WHERE a.id = ANY (v_scan))
            SELECT k.id FROM hubspot_sync.hubspot_contact_credits AS k
            WHERE k.id = ANY (ARRAY(SELECT p.record_id FROM p
                                    WHERE p.table_name = 'hubspot_contact_credits'))
              AND k.hubspot_id IS NULL
            FOR SHARE OF k SKIP LOCKED);
        -- Set aside: the rows waiting for those ids (the same test as the window's below).
        v_ids := ARRAY(
            WITH p AS MATERIALIZED (SELECT a.* FROM hubspot_sync.supabase_audit_log AS a
                                    WHERE a.id = ANY (v_scan))
            SELECT p.id FROM p
            WHERE (p.table_name = 'hubspot_bookings' AND p.record_hubspot_id IS NULL
                   AND p.performed_by NOT LIKE 'hubspot:%'
                   AND p.record_id IN (SELECT unnest(v_no_id_bookings)))
               OR (p.table_name = 'hubspot_contact_credits'
                   AND (p.record_id IN (SELECT unnest(v_no_id_contacts))
                        OR EXISTS (SELECT FROM (SELECT l.booking_id
                                                FROM hubspot_sync.credit_ledger AS l
                                                WHERE l.contact_id = p.record_id
                                                  AND l.created_at = p.performed_at
                                                  AND l.balance_after::text
                                                      = p.new_values ->> l.credit_field
                                                OFFSET 0) AS l
                                   WHERE l.booking_id IN (SELECT unnest(v_no_id_bookings))))));
        v_ids := ARRAY(
            SELECT q.id FROM hubspot_sync.supabase_audit_log AS q
            WHERE q.id = ANY (v_ids) AND q.synced_to_hubspot_at IS NULL
            FOR UPDATE OF q SKIP LOCKED);
        UPDATE hubspot_sync.supabase_audit_log AS a
        SET note_waits = true
        WHERE a.id = ANY (v_ids);
        GET DIAGNOSTICS v_parked = ROW_COUNT;

        -- The window: the rest of the scan, passing over rows still waiting for a HubSpot id
        -- (those whose booking or contact another transaction held, not set aside above).
        v_window := ARRAY(
            WITH p AS MATERIALIZED (SELECT a.* FROM hubspot_sync.supabase_audit_log AS a
                                    WHERE a.id = ANY (v_scan))
            SELECT p.id FROM p
            WHERE p.synced_to_hubspot_at IS NULL AND NOT p.note_waits
              AND NOT (p.table_name = 'hubspot_bookings' AND p.record_hubspot_id IS NULL
                       AND p.performed_by NOT LIKE 'hubspot:%'
                       AND EXISTS (SELECT FROM hubspot_sync.hubspot_bookings AS b
                                   WHERE b.id = p.record_id AND b.hubspot_id IS NULL OFFSET 0))
              AND NOT (p.table_name = 'hubspot_contact_credits'
                       AND (EXISTS (SELECT FROM hubspot_sync.hubspot_contact_credits AS k
                                    WHERE k.id = p.record_id AND k.hubspot_id IS NULL OFFSET 0)
                            -- spent or refunded by a booking not in HubSpot yet: a member of its note
                            OR EXISTS (SELECT FROM hubspot_sync.credit_ledger AS l
                                       CROSS JOIN LATERAL (
                                           SELECT FROM hubspot_sync.hubspot_bookings AS b
                                           WHERE b.id = l.booking_id AND b.hubspot_id IS NULL
                                           OFFSET 0) AS b
                                       WHERE l.contact_id = p.record_id
                                         AND l.created_at = p.performed_at
                                         AND l.balance_after::text
                                             = p.new_values ->> l.credit_field
                                       OFFSET 0))));

        -- Rows of the window that never get a note.
        v_ids := ARRAY(
            WITH p AS MATERIALIZED (SELECT a.* FROM hubspot_sync.supabase_audit_log AS a
                                    WHERE a.id = ANY (v_window))
            SELECT p.id FROM p
            WHERE p.table_name = 'hubspot_mock_exams'
               OR (p.table_name = 'hubspot_contact_credits'
                   AND (p.operation <> 'UPDATE'
                        OR NOT coalesce(p.changed_fields ?| v_fields, false)
                        -- applied from HubSpot, other than a credit merge
                        OR (p.performed_by LIKE 'hubspot:%' AND NOT EXISTS (
                                SELECT FROM hubspot_sync.credit_ledger AS l
                                WHERE l.contact_id = p.record_id AND l.created_at = p.performed_at
                                  AND l.balance_after::text = p.new_values ->> l.credit_field
                                  AND l.reason = 'hubspot_adjustment'
                                OFFSET 0))
                        -- caused by a booking whose own row is not waiting for a note
                        OR EXISTS (
                                SELECT FROM (SELECT l.booking_id
                                             FROM hubspot_sync.credit_ledger AS l
                                             WHERE l.contact_id = p.record_id
                                               AND l.created_at = p.performed_at
                                               AND l.balance_after::text
                                                   = p.new_values ->> l.credit_field
                                             OFFSET 0) AS l
                                WHERE l.booking_id IS NOT NULL
                                  AND NOT EXISTS (
                                      SELECT FROM (SELECT b.synced_to_hubspot_at, b.performed_by
                                                   FROM hubspot_sync.supabase_audit_log AS b
                                                   WHERE b.table_name = 'hubspot_bookings'
                                                     AND b.record_id = l.booking_id
                                                     AND b.performed_at = p.performed_at
                                                   OFFSET 0) AS b
                                      WHERE b.synced_to_hubspot_at IS NULL
                                        AND b.performed_by NOT LIKE 'hubspot:%'))))
               OR (p.table_name = 'hubspot_bookings'
                   AND (p.performed_by LIKE 'hubspot:%'
                        OR (p.operation = 'UPDATE' AND p.changed_fields <@ '["hubspot_id"]'::jsonb)
                        -- deleted, never in HubSpot, and no contact to note it on
                        OR (NOT EXISTS (SELECT FROM hubspot_sync.hubspot_bookings AS b
                                        WHERE b.id = p.record_id OFFSET 0)
                            AND NOT EXISTS (SELECT FROM hubspot_sync.supabase_audit_log AS o
                                            WHERE o.table_name = 'hubspot_bookings'
                                              AND o.record_id = p.record_id
                                              AND o.record_hubspot_id IS NOT NULL
                                            OFFSET 0)
                            AND coalesce(p.new_values ->> 'associated_contact_id',
                                         p.old_values ->> 'associated_contact_id') IS NULL
                            AND NOT EXISTS (SELECT FROM hubspot_sync.hubspot_contact_credits AS k
                                            WHERE k.student_id = coalesce(
                                                p.new_values ->> 'student_id',
                                                p.old_values ->> 'student_id')
                                            OFFSET 0)))));
        UPDATE hubspot_sync.supabase_audit_log AS a
        SET synced_to_hubspot_at = now()
        WHERE a.id = ANY (v_ids) AND a.synced_to_hubspot_at IS NULL;
        GET DIAGNOSTICS v_marked = ROW_COUNT;

        RETURN QUERY
        WITH window_rows AS MATERIALIZED (  -- (marked above: no longer pending)
            SELECT a.* FROM hubspot_sync.supabase_audit_log AS a WHERE a.id = ANY (v_window)
        ), pending AS (
            SELECT a.* FROM window_rows AS a
            WHERE a.synced_to_hubspot_at IS NULL
              AND a.table_name IN ('hubspot_bookings', 'hubspot_contact_credits')
        ), credit_rows AS (  -- a balance change and the ledger rows that explain it
            SELECT a.*, l.id AS ledger_id, l.booking_id AS ledger_booking, l.credit_field,
                   l.delta, l.reason, l.balance_after, l.note
            FROM pending AS a
            LEFT JOIN LATERAL (
                SELECT l.* FROM hubspot_sync.credit_ledger AS l
                WHERE l.contact_id = a.record_id AND l.created_at = a.performed_at
                  AND l.balance_after::text = a.new_values ->> l.credit_field
                OFFSET 0) AS l ON true
            WHERE a.table_name = 'hubspot_contact_credits'
        ), bookings AS (
            SELECT a.id, a.performed_at, a.operation, a.changed_fields, a.old_values, a.new_values,
                   a.performed_by, a.record_id,
                   coalesce(b.booking_id, a.new_values ->> 'booking_id',
                            a.old_values ->> 'booking_id') AS code,
                   coalesce(b.student_id, a.new_values ->> 'student_id',
                            a.old_values ->> 'student_id') AS student_id,
                   coalesce(b.hubspot_id, a.record_hubspot_id,
                            -- a deleted booking: the id one of its audit rows recorded, if any
                            -- (aggregated, not ORDER BY id LIMIT 1: read by the record's key)
                            CASE WHEN b.id IS NULL THEN (
                                SELECT (array_agg(o.record_hubspot_id ORDER BY o.id DESC))[1]
                                FROM hubspot_sync.supabase_audit_log AS o
                                WHERE o.table_name = 'hubspot_bookings'
                                  AND o.record_id = a.record_id
                                  AND o.record_hubspot_id IS NOT NULL) END) AS booking_hs,
                   b.id IS NULL AS gone,
                   b.mock_type, b.exam_date, b.token_used, b.associated_mock_exam,
                   coalesce(b.associated_contact_id, a.new_values ->> 'associated_contact_id',
                            a.old_values ->> 'associated_contact_id') AS contact_link
            FROM pending AS a
            LEFT JOIN LATERAL (
                SELECT b.* FROM hubspot_sync.hubspot_bookings AS b
                WHERE b.id = a.record_id OFFSET 0) AS b ON true
            WHERE a.table_name = 'hubspot_bookings'
        ), booking_notes AS (
            SELECT bk.id AS audit_id,
                   ARRAY[bk.id] || coalesce(ARRAY(SELECT unnest(m.ids) ORDER BY 1), '{}')
                       AS member_ids,
                   'booking'::text AS kind,
                   jsonb_build_object(
                       'operation', bk.operation, 'changed_fields', bk.changed_fields,
                       'old_values', bk.old_values, 'new_values', bk.new_values,
                       'performed_by', bk.performed_by, 'performed_at', bk.performed_at,
                       'booking_code', bk.code, 'student_id', bk.student_id,
                       'mock_type', bk.mock_type, 'exam_date', bk.exam_date,
                       'token_used', bk.token_used, 'exam_hubspot_id', bk.associated_mock_exam,
                       'ledger', coalesce((
                           SELECT jsonb_agg(jsonb_build_object(
                                      'credit_field', l.credit_field, 'delta', l.delta,
                                      'reason', l.reason, 'balance_after', l.balance_after,
                                      'note', l.note) ORDER BY l.id)
                           FROM hubspot_sync.credit_ledger AS l
                           WHERE l.booking_id = bk.record_id AND l.created_at = bk.performed_at
                             -- a creation spends; later changes refund or move
                             AND (l.reason = 'booking') = (bk.operation = 'INSERT')),
                           '[]')) AS detail,
                   bk.booking_hs,
                   -- the booking's contact as contact_id_of_booking finds it: by student_id, else
                   -- (a row from before mockbook) the HubSpot contact the booking names
                   coalesce(k.hubspot_id, bk.contact_link) AS contact_hs
            FROM bookings AS bk
            -- the window's credit rows its ledger rows explain (members of its note), read by key:
            -- a pass over the window per booking grew with the rows sharing its timestamp
            LEFT JOIN LATERAL (
                SELECT array_agg(DISTINCT c.id) AS ids
                FROM (SELECT l.contact_id, l.credit_field, l.balance_after
                      FROM hubspot_sync.credit_ledger AS l
                      WHERE l.booking_id = bk.record_id AND l.created_at = bk.performed_at
                      OFFSET 0) AS l
                CROSS JOIN LATERAL (
                    SELECT c.id FROM hubspot_sync.supabase_audit_log AS c
                    WHERE c.table_name = 'hubspot_contact_credits' AND c.record_id = l.contact_id
                      AND c.performed_at = bk.performed_at AND c.id = ANY (v_window)
                      AND c.synced_to_hubspot_at IS NULL
                      AND l.balance_after::text = c.new_values ->> l.credit_field
                    OFFSET 0) AS c) AS m ON true
            LEFT JOIN LATERAL (
                SELECT k.hubspot_id FROM hubspot_sync.hubspot_contact_credits AS k
                WHERE k.student_id = bk.student_id OFFSET 0) AS k ON true
            -- a booking gone without ever reaching HubSpot: on its contact alone
            WHERE bk.booking_hs IS NOT NULL
               OR (bk.gone AND coalesce(k.hubspot_id, bk.contact_link) IS NOT NULL)
        ), credit_notes AS (
            SELECT c.id AS audit_id, ARRAY[c.id] AS member_ids, 'credit'::text AS kind,
                   jsonb_build_object(
                       'operation', min(c.operation), 'changed_fields', min(c.changed_fields::text)::jsonb,
                       'old_values', min(c.old_values::text)::jsonb,
                       'new_values', min(c.new_values::text)::jsonb,
                       'performed_by', min(c.performed_by), 'performed_at', min(c.performed_at),
                       'student_id', min(k.student_id),
                       'ledger', coalesce(jsonb_agg(jsonb_build_object(
                                      'credit_field', c.credit_field, 'delta', c.delta,
                                      'reason', c.reason, 'balance_after', c.balance_after,
                                      'note', c.note) ORDER BY c.ledger_id)
                                  FILTER (WHERE c.ledger_id IS NOT NULL), '[]')) AS detail,
                   NULL::text AS booking_hs,
                   min(k.hubspot_id) AS contact_hs
            FROM credit_rows AS c
            CROSS JOIN LATERAL (
                SELECT k.student_id, k.hubspot_id FROM hubspot_sync.hubspot_contact_credits AS k
                WHERE k.id = c.record_id AND k.hubspot_id IS NOT NULL OFFSET 0) AS k
            GROUP BY c.id
            HAVING bool_and(c.ledger_booking IS NULL)
        )
        SELECT n.audit_id, n.member_ids, n.kind, n.detail, n.booking_hs, n.contact_hs
        FROM (SELECT * FROM booking_notes UNION ALL SELECT * FROM credit_notes) AS n
        ORDER BY n.audit_id
        LIMIT p_limit;
        GET DIAGNOSTICS v_returned = ROW_COUNT;
        EXIT WHEN v_returned > 0 OR (v_marked = 0 AND v_parked = 0)
                  OR v_windows >= 10;
    END LOOP;
END
$$;

COMMENT ON FUNCTION mockbook_internal.claim_audit_notes(integer) IS
'Glue (audit notes): the pending supabase_audit_log rows of bookings and credits that become
HubSpot notes, oldest first, only those whose HubSpot ids are known, with their details and
ledger rows; marks the rows that never get a note, sets aside (note_waits) those waiting for a
HubSpot id. Errors: INVALID_ARGUMENT. Locks: the rows it marks or sets aside; a share lock
(SKIP LOCKED) on each booking and contact they wait for.';
REVOKE ALL ON FUNCTION mockbook_internal.claim_audit_notes(integer) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.claim_audit_notes(integer) TO mockbook_glue;
