-- Frozen copy of db/functions/internal/apply_pulled_records.sql (new).
-- Why: every kind of HubSpot record is applied the same way, written once here: one record at a
-- time in the lock order, so one bad or busy record never stops the others; what one record does
-- is its kind's (apply_pulled_exam, apply_pulled_contact, apply_pulled_booking).
CREATE OR REPLACE FUNCTION mockbook_internal.apply_pulled_records(p_kind text, p_records jsonb,
                                                                  p_actor text, p_result jsonb,
                                                                  p_merge_credits boolean
                                                                      DEFAULT true)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_table constant text := CASE p_kind WHEN 'exams' THEN 'hubspot_mock_exams'
                                         WHEN 'contacts' THEN 'hubspot_contact_credits'
                                         WHEN 'bookings' THEN 'hubspot_bookings' END;
    v_actor constant text := coalesce(nullif(p_actor, ''), CASE p_kind WHEN 'bookings'
                                      THEN 'hubspot:import' ELSE 'hubspot:pull' END);
    v_result jsonb := p_result;
    v_item jsonb;
    v_id text;
    v_out jsonb;
    v_state text;
    v_message text;
    v_detail text;
BEGIN
    IF jsonb_typeof(p_records) IS DISTINCT FROM 'array' THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('p_%s must be a JSON array of HubSpot records.', p_kind));
    END IF;
    PERFORM set_config('mockbook.origin', 'hubspot', true);
    PERFORM set_config('mockbook.actor', v_actor, true);
    IF p_kind = 'exams' THEN
        -- the contacts and bookings an exam's change will write, before any exam
        PERFORM mockbook_internal.prelock_exam_changes(p_records);
    END IF;

    -- the lock order: exams by HubSpot id, contacts by local id (new ones last), bookings as read
    FOR v_item IN
        SELECT e.value
        FROM jsonb_array_elements(p_records) WITH ORDINALITY AS e(value, pos)
        ORDER BY CASE WHEN p_kind = 'exams' AND jsonb_typeof(e.value) = 'object'
                      THEN e.value ->> 'id' END,
                 CASE WHEN p_kind = 'contacts' THEN mockbook_internal.pulled_contact_id(
                     nullif(e.value ->> 'id', ''),
                     nullif(btrim(e.value -> 'properties' ->> 'email'), ''),
                     nullif(btrim(e.value -> 'properties' ->> 'student_id'), '')) END,
                 e.pos
    LOOP
        v_id := CASE WHEN jsonb_typeof(v_item) = 'object' THEN nullif(v_item ->> 'id', '') END;
        BEGIN
            IF v_id IS NULL THEN
                PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'a record without an id');
            END IF;
            IF jsonb_typeof(coalesce(v_item -> 'unknown', '[]')) <> 'array' OR EXISTS (
                   SELECT FROM jsonb_array_elements(coalesce(v_item -> 'unknown', '[]')) AS u
                   WHERE jsonb_typeof(u.value) <> 'string') THEN
                PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                    'the record''s unknown list is not a list of column names');
            END IF;
            v_out := CASE p_kind
                WHEN 'exams' THEN mockbook_internal.apply_pulled_exam(v_item)
                WHEN 'contacts' THEN mockbook_internal.apply_pulled_contact(v_item, v_actor,
                                                                           p_merge_credits)
                ELSE mockbook_internal.apply_pulled_booking(v_item) END;
            -- applied: its dead letter closed, or opened with its "letter"; else left as it is
            IF (v_out ->> 'applied') IS DISTINCT FROM 'false' THEN
                PERFORM mockbook_internal.note_pull_outcome(v_table, v_id,
                    v_out -> 'letter' ->> 'error', v_out -> 'letter' -> 'payload');
            END IF;
            IF v_out ? 'letter' THEN
                v_out := v_out || jsonb_build_object('errors', jsonb_build_array(
                    jsonb_build_object('id', v_id, 'error', v_out -> 'letter' ->> 'error')));
            END IF;
            v_out := v_out - 'applied' - 'letter';
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
                                    v_detail = PG_EXCEPTION_DETAIL;
            v_out := mockbook_internal.pull_record_failed(v_table, v_id, v_item, v_state,
                                                          v_message, v_detail);
        END;
        v_result := v_result || coalesce((
            SELECT jsonb_object_agg(o.key, CASE WHEN jsonb_typeof(o.value) = 'array'
                THEN coalesce(v_result -> o.key, '[]'::jsonb) || o.value
                ELSE to_jsonb(coalesce((v_result ->> o.key)::integer, 0)
                              + (o.value #>> '{}')::integer) END)
            FROM jsonb_each(v_out) AS o), '{}'::jsonb);
    END LOOP;
    RETURN v_result;
END
$$;

COMMENT ON FUNCTION mockbook_internal.apply_pulled_records(text, jsonb, text, jsonb, boolean) IS
'Internal (apply_pulled_exams, _contacts, _bookings): applies p_records of p_kind one by one;
returns p_result with their counts summed and lists appended. Errors: INVALID_ARGUMENT.';
REVOKE ALL ON FUNCTION mockbook_internal.apply_pulled_records(text, jsonb, text, jsonb, boolean)
    FROM PUBLIC, anon, authenticated, service_role;
