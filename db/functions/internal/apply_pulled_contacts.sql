/**
 * Why: HubSpot and Postgres both change a contact's credits (admins in HubSpot, bookings here),
 * so a pulled balance is merged as a difference from the last synced value, never copied over a
 * local deduction the push has not sent yet. Each record is applied on its own, under its
 * contact's lock taken in ascending id, so one bad record or a busy contact never stops the pull
 * and a pull never deadlocks with a push's claim. What it does, record by record, is the COMMENT
 * ON FUNCTION below.
 */
CREATE OR REPLACE FUNCTION mockbook_internal.apply_pulled_contacts(p_contacts jsonb,
                                                             p_actor text DEFAULT NULL,
                                                             p_merge_credits boolean DEFAULT true)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
-- SECURITY DEFINER: mockbook_glue may not write the tables (README, Roles); its functions are the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_actor constant text := coalesce(nullif(p_actor, ''), 'hubspot:pull');
    v_item jsonb;
    v_id text;
    v_props jsonb;
    v_email text;
    v_student text;
    v_first text;
    v_last text;
    v_ndecc text;
    v_modified timestamptz;
    v_hub jsonb;
    v_known jsonb;
    v_blank jsonb := '[]'::jsonb;
    v_contact hubspot_sync.hubspot_contact_credits;
    v_sync hubspot_sync.contact_credit_sync;
    v_field text;
    v_hval integer;
    v_sval integer;
    v_lval integer;
    v_delta integer;
    v_lost integer;
    v_sent integer;
    v_history jsonb;
    v_landed boolean;
    v_settled boolean;
    v_recheck jsonb := '[]'::jsonb;
    v_apply integer;
    v_changed boolean;
    v_merged boolean;
    v_queue boolean;
    v_state text;
    v_message text;
    v_detail text;
    v_inserted integer := 0;
    v_updated integer := 0;
    v_unchanged integer := 0;
    v_baselined integer := 0;
    v_merged_count integer := 0;
    v_queued integer := 0;
    v_errors jsonb := '[]'::jsonb;
    v_retry jsonb := '[]'::jsonb;
    v_failed jsonb;
    v_clamped jsonb := '[]'::jsonb;
    -- a HubSpot credit change larger than this is held for an admin (0: no limit)
    v_jump_limit constant integer := coalesce(
        nullif(current_setting('mockbook.credit_jump_limit', true), '')::integer, 20);
    v_held jsonb;
    v_held_ids jsonb := '[]'::jsonb;
BEGIN
    IF jsonb_typeof(p_contacts) IS DISTINCT FROM 'array' THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'p_contacts must be a JSON array of HubSpot records.');
    END IF;
    PERFORM set_config('mockbook.origin', 'hubspot', true);
    PERFORM set_config('mockbook.actor', v_actor, true);

    -- the records in the lock order: ascending local contact id, then those of no contact yet
    -- (new ones) in HubSpot's order (the header, "Locks")
    FOR v_item IN
        SELECT e.value
        FROM jsonb_array_elements(p_contacts) WITH ORDINALITY AS e(value, pos)
        ORDER BY mockbook_internal.pulled_contact_id(
                     nullif(e.value ->> 'id', ''),
                     nullif(btrim(e.value -> 'properties' ->> 'email'), ''),
                     nullif(btrim(e.value -> 'properties' ->> 'student_id'), '')) NULLS LAST,
                 e.pos
    LOOP
        v_id := CASE WHEN jsonb_typeof(v_item) = 'object' THEN nullif(v_item ->> 'id', '') END;
        v_contact := NULL;
        v_sync := NULL;
        v_held := '{}'::jsonb;
        BEGIN
            IF v_id IS NULL THEN
                PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'a record without an id');
            END IF;
            v_props := v_item -> 'properties';
            IF jsonb_typeof(v_props) IS DISTINCT FROM 'object' THEN
                PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'a record without properties');
            END IF;
            -- lower-cased: HubSpot matches emails case-insensitively, and the original apps
            -- store and look a contact up by its lower-cased email (create.js, supabase-data.js)
            v_email := lower(mockbook_internal.pulled_text(v_props, 'email', true));
            v_student := mockbook_internal.pulled_text(v_props, 'student_id');
            v_first := mockbook_internal.pulled_text(v_props, 'firstname');
            v_last := mockbook_internal.pulled_text(v_props, 'lastname');
            v_ndecc := mockbook_internal.pulled_text(v_props, 'ndecc_exam_date');
            v_modified := mockbook_internal.pulled_timestamp(v_props, 'lastmodifieddate');
            v_hub := '{}'::jsonb;
            v_known := '{}'::jsonb;
            FOR v_field IN SELECT DISTINCT r.credit_field FROM hubspot_sync.credit_rules() AS r LOOP
                v_hval := mockbook_internal.pulled_int(v_props, v_field);
                v_hub := v_hub || jsonb_build_object(v_field, coalesce(v_hval, 0));
                IF v_hval IS NOT NULL THEN
                    v_known := v_known || jsonb_build_object(v_field, v_hval);
                END IF;
            END LOOP;

            v_contact.id := mockbook_internal.pulled_contact_id(v_id, v_email, v_student);

            IF v_contact.id IS NULL THEN
                IF v_student IS NULL THEN
                    PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                        'missing property student_id (needed for a new contact)');
                END IF;
                -- balances: their default 0, then the ledger rows; created when HubSpot
                -- created the contact, not when it was first pulled
                BEGIN
                    INSERT INTO hubspot_sync.hubspot_contact_credits (
                        hubspot_id, student_id, email, firstname, lastname, ndecc_exam_date,
                        hubspot_last_sync_at, created_at)
                    VALUES (v_id, v_student, v_email, v_first, v_last, v_ndecc, now(),
                            mockbook_internal.pulled_created_at(v_item))
                    RETURNING * INTO v_contact;
                EXCEPTION WHEN unique_violation THEN
                    -- the same new contact inserted meanwhile by another transaction (the
                    -- webhook processor and a pull applying its creation at once): applied
                    -- again, as an update, by the caller's retry (BUSY -> retry); any other
                    -- clash (another contact holds the id, student id or email) is an error
                    IF mockbook_internal.pulled_contact_id(v_id, v_email, v_student) IS NOT NULL
                    THEN
                        PERFORM mockbook_internal.raise_error('BUSY',
                            format('Contact %s was created meanwhile by another transaction; '
                                   'it is applied again.', v_id));
                    END IF;
                    RAISE;
                END;
                FOR v_field, v_hval IN
                    SELECT h.key, h.value::integer FROM jsonb_each_text(v_hub) AS h ORDER BY h.key
                LOOP
                    IF v_hval > 0 THEN
                        PERFORM mockbook_internal.apply_credit_delta(
                            v_contact.id, v_field, v_hval, 'import', NULL, v_actor,
                            'balance read from HubSpot (first sync of this contact)');
                    END IF;
                END LOOP;
                INSERT INTO hubspot_sync.contact_credit_sync (contact_id, credits, source,
                                                              hubspot_modified_at)
                VALUES (v_contact.id, v_hub, 'pull', v_modified);
                v_inserted := v_inserted + 1;
            ELSE
                -- never wait for a contact row here: a contact in use (a booking in flight, a
                -- push claiming it) is retried by the next pull instead (BUSY -> retry)
                SELECT c.* INTO v_contact FROM hubspot_sync.hubspot_contact_credits AS c
                WHERE c.id = v_contact.id
                FOR NO KEY UPDATE SKIP LOCKED;
                IF v_contact.id IS NULL THEN
                    PERFORM mockbook_internal.raise_error('BUSY',
                        format('contact %s is in use; applied again by the next pull', v_id));
                END IF;
                -- A read older than the one the merge base came from (the header, "older
                -- reads"): HubSpot's state has moved on since, and a newer read was applied.
                -- Nothing of it is applied, and an open dead letter (perhaps of a newer read)
                -- stays open.
                IF v_modified IS NOT NULL AND EXISTS (
                       SELECT FROM hubspot_sync.contact_credit_sync AS s
                       WHERE s.contact_id = v_contact.id AND s.hubspot_modified_at > v_modified)
                THEN
                    v_unchanged := v_unchanged + 1;
                    CONTINUE;
                END IF;
                -- A push holding the contact's outbox row (a live lease) may be writing its
                -- credits to HubSpot right now: whether HubSpot's value is from before or after
                -- that write cannot be told, so the merge waits for the push's write-back (the
                -- header: "a push in flight"). The push's own merge runs under its lease.
                IF p_merge_credits
                   AND coalesce(current_setting('mockbook.credit_merge', true), '') <> 'push'
                   AND EXISTS (
                       SELECT FROM hubspot_sync.sync_queue AS q
                       WHERE q.table_name = 'hubspot_contact_credits'
                         AND q.record_id = v_contact.id
                         AND q.done_at IS NULL AND q.dead_at IS NULL
                         AND q.lease_owner IS NOT NULL AND q.lease_expires_at > now()) THEN
                    PERFORM mockbook_internal.raise_error('BUSY',
                        format('contact %s is being pushed; applied again by the next pull',
                               v_id));
                END IF;
                IF p_merge_credits AND NOT v_item ? 'propertiesWithHistory' AND EXISTS (
                       SELECT FROM hubspot_sync.contact_credit_sync AS s
                       WHERE s.contact_id = v_contact.id
                         AND (s.source = 'push'
                              OR (s.pushing IS NOT NULL AND NOT s.pushing <@ v_hub))
                         AND s.hubspot_modified_at IS NOT NULL) THEN
                    -- Written by the push since its last read, or perhaps written (a push of
                    -- unknown outcome, and HubSpot's values are not all it sent): an admin's
                    -- change may hide in the history, and only the history tells whether the
                    -- push's write landed; a search result lacks it. Read it again with it.
                    v_recheck := v_recheck || to_jsonb(v_id);
                    CONTINUE;
                END IF;
                -- An empty name or credit value in HubSpot is unknown, not a new value: the
                -- local one is kept (reported in "blank"; reconcile shows the drift).
                v_blank := v_blank || coalesce((
                    SELECT jsonb_agg(jsonb_build_object('id', v_id, 'field', b.field))
                    FROM (VALUES ('firstname', v_first IS NULL AND v_contact.firstname IS NOT NULL),
                                 ('lastname', v_last IS NULL AND v_contact.lastname IS NOT NULL))
                         AS b(field, blank)
                    WHERE b.blank), '[]'::jsonb) || coalesce((
                    SELECT jsonb_agg(jsonb_build_object('id', v_id, 'field', h.key) ORDER BY h.key)
                    FROM jsonb_each(v_hub) AS h WHERE NOT v_known ? h.key), '[]'::jsonb);
                v_changed := (v_contact.hubspot_id, v_contact.email, v_contact.student_id,
                              v_contact.firstname, v_contact.lastname, v_contact.ndecc_exam_date)
                             IS DISTINCT FROM
                             (v_id, v_email, coalesce(v_student, v_contact.student_id),
                              coalesce(v_first, v_contact.firstname),
                              coalesce(v_last, v_contact.lastname), v_ndecc);
                UPDATE hubspot_sync.hubspot_contact_credits AS c SET
                    hubspot_id = v_id,
                    email = v_email,
                    student_id = coalesce(v_student, c.student_id),
                    firstname = coalesce(v_first, c.firstname),
                    lastname = coalesce(v_last, c.lastname),
                    ndecc_exam_date = v_ndecc,
                    hubspot_last_sync_at = now()
                WHERE c.id = v_contact.id;

                v_merged := false;
                v_queue := false;
                IF p_merge_credits THEN
                    -- under the contact's row lock, which every writer of this row holds while
                    -- it writes (the header, "Locks"): free, never waited for (NOWAIT: a writer
                    -- that broke that rule makes this record 55P03 -> retry, never a wait)
                    SELECT s.* INTO v_sync FROM hubspot_sync.contact_credit_sync AS s
                    WHERE s.contact_id = v_contact.id
                    FOR UPDATE NOWAIT;
                    v_settled := false;
                    FOR v_field, v_hval IN
                        SELECT h.key, h.value::integer FROM jsonb_each_text(v_known) AS h
                        ORDER BY h.key
                    LOOP
                        v_lval := coalesce((to_jsonb(v_contact) ->> v_field)::integer, 0);
                        v_sval := (v_sync.credits ->> v_field)::integer;
                        v_sent := (v_sync.pushing ->> v_field)::integer;
                        v_history := v_item -> 'propertiesWithHistory' -> v_field;
                        -- A push of unknown outcome (its answer lost) whose value HubSpot's
                        -- history shows written after the base was read: HubSpot took that
                        -- write, so it is the base (the header).
                        v_landed := v_sent IS NOT NULL AND EXISTS (
                                        SELECT FROM jsonb_array_elements(
                                            CASE WHEN jsonb_typeof(v_history) = 'array'
                                                 THEN v_history ELSE '[]'::jsonb END) AS h(e)
                                        WHERE h.e ->> 'value' = v_sent::text
                                          AND (h.e ->> 'timestamp')::timestamptz
                                              > v_sync.hubspot_modified_at);
                        IF v_landed THEN
                            v_sval := v_sent;
                            v_settled := true;
                        END IF;
                        -- An admin's change the push's last write replaced (read back from
                        -- the property history; the base is then the value that push wrote).
                        v_lost := CASE WHEN v_sync.source = 'push' OR v_landed
                                       THEN mockbook_internal.overwritten_credit_change(
                                                v_history, v_sval, v_sync.hubspot_modified_at)
                                       ELSE 0 END;
                        IF NOT v_landed AND v_sent = v_hval THEN
                            NULL;  -- the push's own write coming back: not an admin change
                        ELSIF v_sval IS NOT NULL AND (v_sval <> v_hval OR v_lost <> 0) THEN
                            v_delta := v_hval - v_sval + v_lost;
                            -- A change larger than mockbook.credit_jump_limit is held for an
                            -- admin (a corrupted value must not become credits): not applied,
                            -- its base kept, the contact not pushed over it, a dead letter with
                            -- both values; `mockbook dlq retry` of that letter confirms it.
                            IF v_jump_limit > 0 AND abs(v_delta) > v_jump_limit AND NOT EXISTS (
                                   SELECT FROM hubspot_sync.sync_errors AS e
                                   WHERE e.direction = 'pull'
                                     AND e.entity_type = 'hubspot_contact_credits'
                                     AND e.entity_id = v_id AND e.resolved
                                     AND e.resolution = 'retried'
                                     AND e.resolved_by IS DISTINCT FROM 'mockbook pull'
                                     AND e.error LIKE 'CREDIT_JUMP:%'
                                     AND e.payload -> 'held' -> v_field ->> 'hubspot'
                                         = v_hval::text) THEN
                                v_held := v_held || jsonb_build_object(v_field, jsonb_build_object(
                                    'hubspot', v_hval, 'synced', v_sval, 'change', v_delta));
                                CONTINUE;
                            END IF;
                            v_apply := greatest(v_delta, -v_lval);
                            IF v_apply <> 0 THEN
                                v_lval := mockbook_internal.apply_credit_delta(
                                    v_contact.id, v_field, v_apply, 'hubspot_adjustment', NULL,
                                    v_actor,
                                    format('changed in HubSpot from %s to %s (%s%s)%s%s', v_sval,
                                           v_hval, CASE WHEN v_delta > 0 THEN '+' END, v_delta,
                                           CASE WHEN v_lost <> 0
                                                THEN format('; %s%s of it made in HubSpot just '
                                                            'before the push wrote %s over it',
                                                            CASE WHEN v_lost > 0 THEN '+' END,
                                                            v_lost, v_sval)
                                           END,
                                           CASE WHEN v_apply <> v_delta
                                                THEN format('; only %s applied: the balance '
                                                            'cannot go below zero', v_apply)
                                           END));
                                v_merged := true;
                            END IF;
                            IF v_apply <> v_delta THEN
                                v_clamped := v_clamped || jsonb_build_object(
                                    'id', v_id, 'field', v_field, 'hubspot_change', v_delta,
                                    'applied', v_apply);
                            END IF;
                        END IF;
                        IF v_lval <> v_hval THEN
                            v_queue := true;
                        END IF;
                    END LOOP;
                    IF v_sync.contact_id IS NULL THEN
                        v_baselined := v_baselined + 1;
                    END IF;
                    IF v_held <> '{}'::jsonb THEN
                        v_queue := false;  -- a push would write the local balance over it
                    END IF;
                    INSERT INTO hubspot_sync.contact_credit_sync AS s (
                        contact_id, credits, source, hubspot_modified_at)
                    VALUES (v_contact.id,
                            v_known || coalesce((SELECT jsonb_object_agg(h.key, h.value -> 'synced')
                                                 FROM jsonb_each(v_held) AS h), '{}'::jsonb),
                            'pull', v_modified)
                    ON CONFLICT (contact_id) DO UPDATE SET
                        -- a field empty in HubSpot keeps its last synced value as the base
                        credits = s.credits || excluded.credits,
                        source = excluded.source,
                        hubspot_modified_at = excluded.hubspot_modified_at,
                        pushing = CASE WHEN s.pushing <@ excluded.credits OR v_settled
                                       THEN NULL ELSE s.pushing END,
                        pushing_at = CASE WHEN s.pushing <@ excluded.credits OR v_settled
                                          THEN NULL ELSE s.pushing_at END,
                        updated_at = now();
                    -- The push merging just before its write (mockbook.credit_merge 'push')
                    -- sends the merged balances itself: queueing them again would push twice.
                    IF v_queue AND coalesce(current_setting('mockbook.credit_merge', true), '')
                                   <> 'push' THEN
                        INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation,
                                                             old_data, new_data)
                        SELECT 'hubspot_contact_credits', c.id, 'UPDATE', NULL, to_jsonb(c)
                        FROM hubspot_sync.hubspot_contact_credits AS c
                        WHERE c.id = v_contact.id
                          AND NOT EXISTS (
                              SELECT FROM hubspot_sync.sync_queue AS q
                              WHERE q.table_name = 'hubspot_contact_credits'
                                AND q.record_id = c.id
                                AND q.done_at IS NULL AND q.dead_at IS NULL
                                AND q.lease_owner IS NULL);
                        IF FOUND THEN
                            v_queued := v_queued + 1;
                        END IF;
                    END IF;
                END IF;
                IF v_merged THEN
                    v_merged_count := v_merged_count + 1;
                END IF;
                IF v_changed OR v_merged THEN
                    v_updated := v_updated + 1;
                ELSE
                    v_unchanged := v_unchanged + 1;
                END IF;
            END IF;
            IF v_held = '{}'::jsonb THEN
                PERFORM mockbook_internal.note_pull_outcome('hubspot_contact_credits', v_id, NULL);
            ELSE
                v_message := format('CREDIT_JUMP: %s held for an admin (more than '
                                    'mockbook.credit_jump_limit, %s): confirm with `mockbook dlq '
                                    'retry`, or correct the value in HubSpot',
                                    (SELECT string_agg(format('%s %s in HubSpot against %s synced '
                                                              '(%s%s)', h.key,
                                                              h.value ->> 'hubspot',
                                                              h.value ->> 'synced',
                                                              CASE WHEN (h.value ->> 'change')::int > 0
                                                                   THEN '+' END,
                                                              h.value ->> 'change'), ', '
                                                       ORDER BY h.key)
                                     FROM jsonb_each(v_held) AS h), v_jump_limit);
                PERFORM mockbook_internal.note_pull_outcome(
                    'hubspot_contact_credits', v_id, v_message,
                    jsonb_build_object('held', v_held, 'record', v_item));
                v_errors := v_errors || jsonb_build_array(jsonb_build_object(
                    'id', v_id, 'error', v_message));
                v_held_ids := v_held_ids || to_jsonb(v_id);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_message = MESSAGE_TEXT,
                                    v_detail = PG_EXCEPTION_DETAIL;
            v_failed := mockbook_internal.pull_record_failed('hubspot_contact_credits', v_id, v_item, v_state,
                                                        v_message, v_detail);
            v_retry := v_retry || coalesce(v_failed -> 'retry', '[]');
            v_errors := v_errors || coalesce(v_failed -> 'error', '[]');
        END;
    END LOOP;

    RETURN jsonb_build_object(
        'inserted', v_inserted, 'updated', v_updated, 'unchanged', v_unchanged,
        'baselined', v_baselined, 'merged', v_merged_count, 'queued', v_queued,
        'errors', v_errors, 'retry', v_retry, 'clamped', v_clamped, 'recheck', v_recheck,
        'held', v_held_ids, 'blank', v_blank);
END
$$;

COMMENT ON FUNCTION mockbook_internal.apply_pulled_contacts(jsonb, text, boolean) IS
'Glue (pull, import, reconcile): applies HubSpot contacts, each record on its own. New ones are
inserted with their balances as import ledger rows; known ones take HubSpot''s profile fields (an
empty value is unknown: kept, listed in blank); credits merge as hubspot_adjustment deltas against
the last synced values, never overwritten; a jump over mockbook.credit_jump_limit is held for an
admin. Returns {inserted, updated, unchanged, baselined, merged, queued, errors, retry, clamped,
recheck, held, blank}. Errors: INVALID_ARGUMENT. Locks: contacts by ascending id, never waited.';
REVOKE ALL ON FUNCTION mockbook_internal.apply_pulled_contacts(jsonb, text, boolean)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.apply_pulled_contacts(jsonb, text, boolean) TO mockbook_glue;
