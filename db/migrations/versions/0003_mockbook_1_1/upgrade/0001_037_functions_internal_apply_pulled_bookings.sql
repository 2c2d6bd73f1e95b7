-- Frozen copy of db/functions/internal/apply_pulled_bookings.sql (changed).
-- Why: the glue's door to import HubSpot's bookings (apply_pulled_booking, apply_pulled_records);
-- their exams are recounted last, in the lock order.
CREATE OR REPLACE FUNCTION mockbook_internal.apply_pulled_bookings(p_bookings jsonb,
                                                             p_actor text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_result jsonb;
    v_exam_id text;
    v_recounted integer := 0;
BEGIN
    v_result := mockbook_internal.apply_pulled_records('bookings', p_bookings, p_actor, '{
        "inserted": 0, "inserted_ids": [], "linked": 0, "matched": 0, "errors": [], "retry": [],
        "recount": []}');
    FOR v_exam_id IN SELECT DISTINCT x.id
                     FROM jsonb_array_elements_text(v_result -> 'recount') AS x(id)
                     ORDER BY x.id LOOP
        PERFORM mockbook_internal.lock_exam(v_exam_id);
        UPDATE hubspot_sync.hubspot_mock_exams AS e
        SET total_bookings = n.active
        FROM (SELECT count(*)::integer AS active FROM hubspot_sync.hubspot_bookings AS b
              WHERE b.associated_mock_exam = v_exam_id AND b.is_active = 'Active') AS n
        WHERE e.hubspot_id = v_exam_id AND e.total_bookings IS DISTINCT FROM n.active;
        IF FOUND THEN
            v_recounted := v_recounted + 1;
        END IF;
    END LOOP;
    RETURN v_result - 'recount' || jsonb_build_object('exams_recounted', v_recounted);
END
$$;

COMMENT ON FUNCTION mockbook_internal.apply_pulled_bookings(jsonb, text) IS
'Glue (import, reconcile): bring HubSpot bookings into Postgres, matched by HubSpot id, booking code
or idempotency key (never duplicated; a match only gets its HubSpot id), new ones inserted without
moving credits and with HubSpot''s createdAt as created_at (now() when missing or malformed),
malformed ones reported and dead-lettered; then the touched exams'' total_bookings are recounted.
Returns {inserted, inserted_ids, linked, matched, errors, retry, exams_recounted}. Errors:
INVALID_ARGUMENT.';
REVOKE ALL ON FUNCTION mockbook_internal.apply_pulled_bookings(jsonb, text)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.apply_pulled_bookings(jsonb, text) TO mockbook_glue;
