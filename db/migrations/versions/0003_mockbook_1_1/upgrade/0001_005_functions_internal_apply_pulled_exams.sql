-- Frozen copy of db/functions/internal/apply_pulled_exams.sql (changed).
-- Why: HubSpot owns exams; the pull applies their changes record by record without undoing local
-- work: an unpushed local change wins, an older read never overwrites a newer one, and a moved or
-- closed exam carries its bookings and waitlist along. Field owners: docs/hubspot.md.
CREATE OR REPLACE FUNCTION mockbook_internal.apply_pulled_exams(p_exams jsonb, p_actor text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_item jsonb;
    v_id text;
    v_props jsonb;
    v_new hubspot_sync.hubspot_mock_exams;
    v_old hubspot_sync.hubspot_mock_exams;
    v_modified timestamptz;
    v_applied timestamptz;
    v_exam uuid;
    v_text text;
    v_problem text;
    v_state text;
    v_message text;
    v_detail text;
    v_active integer;
    v_inserted integer := 0;
    v_updated integer := 0;
    v_unchanged integer := 0;
    v_deactivated integer := 0;
    v_errors jsonb := '[]'::jsonb;
    v_retry jsonb := '[]'::jsonb;
    v_failed jsonb;
    v_refused jsonb := '[]'::jsonb;
    v_cut jsonb := '[]'::jsonb;
    v_change jsonb;
    v_cancelled integer := 0;
    v_moved integer := 0;
    v_conflicts integer := 0;
    v_time_problems jsonb := '[]'::jsonb;
BEGIN
    IF jsonb_typeof(p_exams) IS DISTINCT FROM 'array' THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'p_exams must be a JSON array of HubSpot records.');
    END IF;
    PERFORM set_config('mockbook.origin', 'hubspot', true);
    PERFORM set_config('mockbook.actor', coalesce(nullif(p_actor, ''), 'hubspot:pull'), true);
    -- the contacts and bookings an exam's change will write, before any exam: the lock order
    PERFORM mockbook_internal.prelock_exam_changes(p_exams);

    -- ascending HubSpot id: the lock order of exam rows
    FOR v_item IN SELECT e.value FROM jsonb_array_elements(p_exams) WITH ORDINALITY AS e
                  ORDER BY CASE WHEN jsonb_typeof(e.value) = 'object' THEN e.value ->> 'id' END,
                           e.ordinality LOOP
        v_id := CASE WHEN jsonb_typeof(v_item) = 'object' THEN nullif(v_item ->> 'id', '') END;
        v_problem := NULL;
        v_new := NULL;
        v_old := NULL;
        v_modified := NULL;
        v_exam := NULL;
        BEGIN
            IF v_id IS NULL THEN
                PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'a record without an id');
            END IF;
            IF v_item ->> 'archived' = 'true' THEN
                -- archivedAt missing or malformed: deactivated, no time stored
                IF nullif(v_item ->> 'archivedAt', '') IS NOT NULL THEN
                    BEGIN
                        v_modified := mockbook_internal.pulled_timestamp(v_item, 'archivedAt');
                    EXCEPTION WHEN OTHERS THEN
                        v_modified := NULL;
                    END;
                END IF;
                -- unknown, or already archived with its time: nothing to do, no lock
                SELECT e.* INTO v_old FROM hubspot_sync.hubspot_mock_exams AS e
                WHERE e.hubspot_id = v_id;
                v_applied := NULL;
                IF v_old.id IS NOT NULL THEN
                    SELECT s.hubspot_modified_at INTO v_applied
                    FROM hubspot_sync.exam_hubspot_sync AS s WHERE s.exam_id = v_old.id;
                END IF;
                IF v_old.id IS NOT NULL AND (lower(v_old.is_active) IS DISTINCT FROM 'false'
                                             OR v_modified > coalesce(v_applied, '-infinity')) THEN
                    v_old := mockbook_internal.lock_exam(v_id);
                    SELECT s.hubspot_modified_at INTO v_applied
                    FROM hubspot_sync.exam_hubspot_sync AS s WHERE s.exam_id = v_old.id;
                    -- a newer read (a restore in HubSpot) was applied: this one is older
                    IF v_modified < v_applied THEN
                        v_unchanged := v_unchanged + 1;
                        CONTINUE;
                    END IF;
                    IF lower(v_old.is_active) IS DISTINCT FROM 'false' THEN
                        UPDATE hubspot_sync.hubspot_mock_exams AS e
                        SET is_active = 'false', hubspot_last_sync_at = now()
                        WHERE e.id = v_old.id
                        RETURNING e.* INTO v_new;
                        v_deactivated := v_deactivated + 1;
                        -- cancelled in HubSpot: its bookings and waitlist follow
                        v_change := mockbook_internal.apply_exam_change(v_old, v_new);
                        v_cancelled := v_cancelled + coalesce((v_change ->> 'cancelled')::integer, 0);
                    ELSE
                        v_unchanged := v_unchanged + 1;
                    END IF;
                    -- the archival time, so a live read made before the deletion is older
                    IF v_modified IS NOT NULL THEN
                        INSERT INTO hubspot_sync.exam_hubspot_sync AS s (exam_id, hubspot_modified_at)
                        VALUES (v_old.id, v_modified)
                        ON CONFLICT (exam_id) DO UPDATE
                        SET hubspot_modified_at = EXCLUDED.hubspot_modified_at, updated_at = now()
                        WHERE s.hubspot_modified_at < EXCLUDED.hubspot_modified_at;
                    END IF;
                ELSE
                    v_unchanged := v_unchanged + 1;
                END IF;
            ELSE
                v_props := v_item -> 'properties';
                IF jsonb_typeof(v_props) IS DISTINCT FROM 'object' THEN
                    PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'a record without properties');
                END IF;
                v_modified := mockbook_internal.pulled_timestamp(v_props, 'hs_lastmodifieddate');
                v_new.mock_exam_name := mockbook_internal.pulled_text(v_props, 'mock_exam_name');
                v_new.mock_type := mockbook_internal.pulled_text(v_props, 'mock_type', true);
                IF NOT EXISTS (SELECT FROM hubspot_sync.credit_rules() AS r
                               WHERE r.mock_type = v_new.mock_type) THEN
                    PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                        format('unknown mock type %L', v_new.mock_type));
                END IF;
                v_new.exam_date := mockbook_internal.pulled_date(v_props, 'exam_date', true);
                v_new.start_time := mockbook_internal.pulled_text(v_props, 'start_time');
                v_new.end_time := mockbook_internal.pulled_text(v_props, 'end_time');
                v_new.location := mockbook_internal.pulled_text(v_props, 'location');
                v_new.capacity := mockbook_internal.pulled_int(v_props, 'capacity', true);
                v_new.scheduled_activation_datetime :=
                    mockbook_internal.pulled_timestamp(v_props, 'scheduled_activation_datetime');
                v_new.is_active := lower(mockbook_internal.pulled_text(v_props, 'is_active', true));
                IF v_new.is_active NOT IN ('true', 'false', 'scheduled', 'active') THEN
                    PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                        format('property is_active is not true, false, scheduled or active: %s',
                               left(v_new.is_active, 80)));
                END IF;
                IF v_new.is_active = 'scheduled' AND v_new.scheduled_activation_datetime <= now() THEN
                    v_new.is_active := 'true';
                END IF;
                v_text := upper(mockbook_internal.pulled_text(v_props, 'mock_set'));
                IF v_text IS NOT NULL
                   AND NOT v_text = ANY (enum_range(NULL::hubspot_sync.mock_set_letter)::text[]) THEN
                    PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                        format('property mock_set is not one of A-H: %s', left(v_text, 80)));
                END IF;
                v_new.mock_set := v_text::hubspot_sync.mock_set_letter;
                v_text := mockbook_internal.pulled_text(v_props, 'prerequisite_exam_ids');
                IF NOT v_props ? 'prerequisite_exam_ids' THEN
                    v_new.prerequisite_exam_ids := NULL;  -- not given: the list is kept
                ELSIF v_text IS NULL THEN
                    v_new.prerequisite_exam_ids := '{}'::text[];
                ELSIF left(v_text, 1) = '[' THEN  -- a JSON list
                    v_new.prerequisite_exam_ids := ARRAY(
                        SELECT btrim(x.value) FROM jsonb_array_elements_text(v_text::jsonb) AS x
                        WHERE btrim(x.value) <> '');
                ELSE  -- HubSpot's multiple-value format: "id1;id2" (commas accepted too)
                    v_new.prerequisite_exam_ids := ARRAY(
                        SELECT btrim(x.value) FROM regexp_split_to_table(v_text, '[;,]') AS x(value)
                        WHERE btrim(x.value) <> '');
                END IF;

                SELECT e.* INTO v_old FROM hubspot_sync.hubspot_mock_exams AS e
                WHERE e.hubspot_id = v_id;
                IF v_old.id IS NULL THEN
                    BEGIN
                        INSERT INTO hubspot_sync.hubspot_mock_exams (
                            hubspot_id, mock_exam_name, mock_type, exam_date, start_time,
                            end_time, location, capacity, total_bookings, is_active,
                            scheduled_activation_datetime, mock_set, prerequisite_exam_ids,
                            hubspot_last_sync_at, created_at)
                        VALUES (v_id, v_new.mock_exam_name, v_new.mock_type, v_new.exam_date,
                                v_new.start_time, v_new.end_time, v_new.location,
                                v_new.capacity, 0, v_new.is_active,
                                v_new.scheduled_activation_datetime, v_new.mock_set,
                                coalesce(v_new.prerequisite_exam_ids, '{}'), now(),
                                mockbook_internal.pulled_created_at(v_item))
                        RETURNING id INTO v_exam;
                    EXCEPTION WHEN unique_violation THEN
                        -- inserted meanwhile by another transaction: the retry updates it
                        IF EXISTS (SELECT FROM hubspot_sync.hubspot_mock_exams AS e
                                   WHERE e.hubspot_id = v_id) THEN
                            PERFORM mockbook_internal.raise_error('BUSY',
                                format('Exam %s was created meanwhile by another transaction; '
                                       'it is applied again.', v_id));
                        END IF;
                        RAISE;
                    END;
                    v_inserted := v_inserted + 1;
                ELSE
                    v_old := mockbook_internal.lock_exam(v_id);
                    v_exam := v_old.id;
                    -- an empty value the catalogue declares unknown (the record's "unknown"
                    -- list, glue.hubspot.catalogue Prop.empty): the stored value is kept
                    v_new := mockbook_internal.pulled_keep_unknown(v_new, v_old, v_item);
                    -- older than the read applied last: nothing applied, a dead letter stays
                    IF v_modified IS NOT NULL AND EXISTS (
                           SELECT FROM hubspot_sync.exam_hubspot_sync AS s
                           WHERE s.exam_id = v_exam AND s.hubspot_modified_at > v_modified)
                    THEN
                        v_unchanged := v_unchanged + 1;
                        CONTINUE;
                    END IF;
                    -- Two-way fields: a local change not pushed yet wins (the push writes it).
                    IF v_new.capacity IS DISTINCT FROM v_old.capacity
                       AND mockbook_internal.local_change_pending('hubspot_mock_exams', v_old.id,
                                                             'capacity') THEN
                        v_new.capacity := v_old.capacity;
                    END IF;
                    IF v_new.prerequisite_exam_ids IS NULL
                       OR mockbook_internal.local_change_pending('hubspot_mock_exams', v_old.id,
                                                            'prerequisite_exam_ids') THEN
                        v_new.prerequisite_exam_ids := v_old.prerequisite_exam_ids;
                    END IF;
                    IF v_new.capacity IS DISTINCT FROM v_old.capacity THEN
                        BEGIN
                            PERFORM hubspot_sync.set_exam_capacity(v_id, v_new.capacity);
                            -- seats again for every Active booking: a cut's listing is over
                            UPDATE hubspot_sync.booking_conflicts AS c SET resolved_at = now()
                            WHERE c.mock_exam_id = v_id AND c.rule = 'capacity_cut'
                              AND c.resolved_at IS NULL;
                        EXCEPTION WHEN SQLSTATE 'PT422' THEN  -- CAPACITY_BELOW_BOOKED
                            -- HubSpot owns the capacity: stored as it says; the Active
                            -- bookings are kept and listed, no seat sold or offered below it
                            UPDATE hubspot_sync.hubspot_mock_exams AS e
                            SET capacity = v_new.capacity
                            WHERE e.id = v_old.id;
                            PERFORM mockbook_internal.withdraw_excess_offers(v_id);
                            SELECT count(*)::integer INTO v_active
                            FROM hubspot_sync.hubspot_bookings AS b
                            WHERE b.associated_mock_exam = v_id AND b.is_active = 'Active';
                            INSERT INTO hubspot_sync.booking_conflicts
                                (booking_id, mock_exam_id, rule, detail)
                            SELECT b.id, v_id, 'capacity_cut',
                                   format('exam %s cut to %s seats in HubSpot with %s Active '
                                          'bookings: booking %s is kept; no seat is sold or '
                                          'offered until fewer than %s are Active',
                                          v_id, v_new.capacity, v_active, b.booking_id,
                                          v_new.capacity)
                            FROM hubspot_sync.hubspot_bookings AS b
                            WHERE b.associated_mock_exam = v_id AND b.is_active = 'Active'
                              AND NOT EXISTS (SELECT FROM hubspot_sync.booking_conflicts AS c
                                              WHERE c.booking_id = b.id
                                                AND c.rule = 'capacity_cut'
                                                AND c.resolved_at IS NULL)
                            ORDER BY b.id;
                            v_cut := v_cut || jsonb_build_object(
                                'id', v_id, 'capacity', v_new.capacity,
                                'previous_capacity', v_old.capacity, 'active_bookings', v_active);
                        END;
                    END IF;
                    IF (v_new.mock_exam_name, v_new.mock_type, v_new.exam_date, v_new.start_time,
                        v_new.end_time, v_new.location, v_new.capacity, v_new.is_active,
                        v_new.scheduled_activation_datetime, v_new.mock_set,
                        v_new.prerequisite_exam_ids)
                       IS DISTINCT FROM
                       (v_old.mock_exam_name, v_old.mock_type, v_old.exam_date, v_old.start_time,
                        v_old.end_time, v_old.location, v_old.capacity, v_old.is_active,
                        v_old.scheduled_activation_datetime, v_old.mock_set,
                        v_old.prerequisite_exam_ids) THEN
                        v_updated := v_updated + 1;
                    ELSE
                        v_unchanged := v_unchanged + 1;
                    END IF;
                    UPDATE hubspot_sync.hubspot_mock_exams AS e SET
                        mock_exam_name = v_new.mock_exam_name,
                        mock_type = v_new.mock_type,
                        exam_date = v_new.exam_date,
                        start_time = v_new.start_time,
                        end_time = v_new.end_time,
                        location = v_new.location,
                        is_active = v_new.is_active,
                        scheduled_activation_datetime = v_new.scheduled_activation_datetime,
                        mock_set = v_new.mock_set,
                        prerequisite_exam_ids = v_new.prerequisite_exam_ids,
                        hubspot_last_sync_at = now()
                    WHERE e.id = v_old.id
                    RETURNING e.* INTO v_new;
                    -- moved, closed or reopened in HubSpot: its bookings and waitlist follow
                    v_change := mockbook_internal.apply_exam_change(v_old, v_new);
                    v_cancelled := v_cancelled + coalesce((v_change ->> 'cancelled')::integer, 0);
                    v_moved := v_moved + coalesce((v_change ->> 'moved')::integer, 0);
                    v_conflicts := v_conflicts + coalesce((v_change ->> 'conflicts')::integer, 0);
                END IF;
                -- times the exam trigger could not read: applied as stored, and reported
                SELECT e.time_problem INTO v_text FROM hubspot_sync.hubspot_mock_exams AS e
                WHERE e.id = v_exam;
                IF v_text IS NOT NULL THEN
                    v_time_problems := v_time_problems
                        || jsonb_build_object('id', v_id, 'problem', v_text);
                END IF;
                -- the newest HubSpot time applied (under the exam's lock, or its insert)
                IF v_modified IS NOT NULL THEN
                    INSERT INTO hubspot_sync.exam_hubspot_sync AS s (exam_id, hubspot_modified_at)
                    VALUES (v_exam, v_modified)
                    ON CONFLICT (exam_id) DO UPDATE
                    SET hubspot_modified_at = EXCLUDED.hubspot_modified_at, updated_at = now()
                    WHERE s.hubspot_modified_at < EXCLUDED.hubspot_modified_at;
                END IF;
            END IF;
            PERFORM mockbook_internal.note_pull_outcome('hubspot_mock_exams', v_id, v_problem,
                                                   CASE WHEN v_problem IS NOT NULL THEN v_item END);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
                                    v_detail = PG_EXCEPTION_DETAIL;
            v_failed := mockbook_internal.pull_record_failed('hubspot_mock_exams', v_id, v_item, v_state,
                                                        v_message, v_detail);
            v_retry := v_retry || coalesce(v_failed -> 'retry', '[]');
            v_errors := v_errors || coalesce(v_failed -> 'error', '[]');
        END;
    END LOOP;

    RETURN jsonb_build_object(
        'inserted', v_inserted, 'updated', v_updated, 'unchanged', v_unchanged,
        'deactivated', v_deactivated, 'errors', v_errors, 'retry', v_retry,
        'capacity_refused', v_refused, 'capacity_cut', v_cut, 'bookings_cancelled', v_cancelled,
        'bookings_moved', v_moved, 'conflicts', v_conflicts,
        'time_problems', v_time_problems);
END
$$;

COMMENT ON FUNCTION mockbook_internal.apply_pulled_exams(jsonb, text) IS
'Glue (pull, import): apply exams read from HubSpot (p_exams: CRM v3 records), each in its own
subtransaction: insert, update, archived -> deactivated; a read older (hs_lastmodifieddate) than
the one applied last is left alone; a capacity cut is stored and listed (capacity_cut). Exams
locked in ascending HubSpot id after prelock_exam_changes; busy ones listed in retry. Rules:
docs/hubspot.md "Who owns what". Returns {inserted, updated, unchanged, deactivated, errors,
retry, capacity_refused, capacity_cut, bookings_cancelled, bookings_moved, conflicts, time_problems}.';
REVOKE ALL ON FUNCTION mockbook_internal.apply_pulled_exams(jsonb, text) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.apply_pulled_exams(jsonb, text) TO mockbook_glue;
