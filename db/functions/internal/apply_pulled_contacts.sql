/**
 * Why: HubSpot and Postgres both change a contact's credits (admins in HubSpot, bookings here),
 * so a pulled balance is merged as a difference from the last synced value, never copied over a
 * local deduction the push has not sent yet. Each record is applied on its own, under its
 * contact's lock taken in ascending id, so one bad record or a busy contact never stops the pull
 * and a pull never deadlocks with a push's claim. Its parts, each its own function: the values
 * screened (screen_pulled_contact), a new contact inserted (insert_pulled_contact), the credits
 * merged (merge_pulled_credits, each field decided by credit_merge); here, the locks, the profile
 * and the report.
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
    v_rec jsonb;  -- the record's values, screened (screen_pulled_contact)
    v_email text;
    v_student text;
    v_first text;
    v_last text;
    v_ndecc text;
    v_modified timestamptz;
    v_hub jsonb;  -- every credit field, 0 when empty
    v_known jsonb;
    v_blank jsonb := '[]'::jsonb;
    v_contact hubspot_sync.hubspot_contact_credits;
    v_merge jsonb;
    v_recheck jsonb := '[]'::jsonb;
    v_changed boolean;
    v_merged boolean;
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
        v_held := '{}'::jsonb;
        BEGIN
            v_rec := mockbook_internal.screen_pulled_contact(v_item);
            v_email := v_rec ->> 'email';
            v_student := v_rec ->> 'student_id';
            v_first := v_rec ->> 'firstname';
            v_last := v_rec ->> 'lastname';
            v_ndecc := v_rec ->> 'ndecc_exam_date';
            v_modified := (v_rec ->> 'modified')::timestamptz;
            v_hub := v_rec -> 'hub';
            v_known := v_rec -> 'known';

            v_contact.id := mockbook_internal.pulled_contact_id(v_id, v_email, v_student);

            IF v_contact.id IS NULL THEN
                PERFORM mockbook_internal.insert_pulled_contact(v_item, v_rec, v_actor);
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
                IF p_merge_credits THEN
                    v_merge := mockbook_internal.merge_pulled_credits(v_contact, v_item, v_known,
                                                                      v_modified, v_actor);
                    v_merged := (v_merge ->> 'merged')::boolean;
                    v_held := v_merge -> 'held';
                    v_clamped := v_clamped || (v_merge -> 'clamped');
                    IF (v_merge ->> 'baselined')::boolean THEN
                        v_baselined := v_baselined + 1;
                    END IF;
                    -- The push merging just before its write (mockbook.credit_merge 'push')
                    -- sends the merged balances itself: queueing them again would push twice.
                    IF (v_merge ->> 'queue')::boolean
                       AND coalesce(current_setting('mockbook.credit_merge', true), '') <> 'push'
                    THEN
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
                v_message := v_merge ->> 'message';
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
