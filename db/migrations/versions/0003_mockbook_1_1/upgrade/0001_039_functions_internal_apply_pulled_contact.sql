-- Frozen copy of db/functions/internal/apply_pulled_contact.sql (new).
-- Why: a pulled contact's credits are merged (merge_pulled_credits), never copied over a local
-- deduction the push has not sent yet; here, the contact's lock and its profile.
CREATE OR REPLACE FUNCTION mockbook_internal.apply_pulled_contact(p_item jsonb, p_actor text,
                                                                  p_merge_credits boolean)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_id constant text := p_item ->> 'id';
    v_push_merge constant boolean :=
        coalesce(current_setting('mockbook.credit_merge', true), '') = 'push';
    v_rec jsonb;
    v_modified timestamptz;
    v_contact hubspot_sync.hubspot_contact_credits;
    v_new hubspot_sync.hubspot_contact_credits;
    v_merge jsonb;
    v_merged boolean := false;
    v_out jsonb;
BEGIN
    v_rec := mockbook_internal.screen_pulled_contact(p_item);
    v_modified := (v_rec ->> 'modified')::timestamptz;
    v_contact.id := mockbook_internal.pulled_contact_id(v_id, v_rec ->> 'email',
                                                        v_rec ->> 'student_id');
    IF v_contact.id IS NULL THEN
        PERFORM mockbook_internal.insert_pulled_contact(p_item, v_rec, p_actor);
        RETURN '{"inserted": 1}'::jsonb;
    END IF;
    -- a contact in use (a booking in flight, a push's claim) is never waited for: BUSY -> retry
    SELECT c.* INTO v_contact FROM hubspot_sync.hubspot_contact_credits AS c
    WHERE c.id = v_contact.id
    FOR NO KEY UPDATE SKIP LOCKED;
    IF v_contact.id IS NULL THEN
        PERFORM mockbook_internal.raise_error('BUSY',
            format('contact %s is in use; applied again by the next pull', v_id));
    END IF;
    -- older than the read the merge base came from: nothing applied, a dead letter stays open
    IF v_modified IS NOT NULL AND EXISTS (
           SELECT FROM hubspot_sync.contact_credit_sync AS s
           WHERE s.contact_id = v_contact.id AND s.hubspot_modified_at > v_modified) THEN
        RETURN '{"unchanged": 1, "applied": false}'::jsonb;
    END IF;
    -- a push holding its outbox row (a live lease) may be writing its credits to HubSpot now:
    -- the merge waits for its write-back (the push's own merge runs under its lease)
    IF p_merge_credits AND NOT v_push_merge AND EXISTS (
           SELECT FROM hubspot_sync.sync_queue AS q
           WHERE q.table_name = 'hubspot_contact_credits' AND q.record_id = v_contact.id
             AND q.done_at IS NULL AND q.dead_at IS NULL
             AND q.lease_owner IS NOT NULL AND q.lease_expires_at > now()) THEN
        PERFORM mockbook_internal.raise_error('BUSY',
            format('contact %s is being pushed; applied again by the next pull', v_id));
    END IF;
    IF p_merge_credits AND NOT p_item ? 'propertiesWithHistory' AND EXISTS (
           SELECT FROM hubspot_sync.contact_credit_sync AS s
           WHERE s.contact_id = v_contact.id
             AND (s.source = 'push' OR (s.pushing IS NOT NULL AND NOT s.pushing <@ (v_rec -> 'hub')))
             AND s.hubspot_modified_at IS NOT NULL) THEN
        -- written by a push since its last read, or perhaps: only HubSpot's history tells
        -- whether that write landed and what an admin changed; read again with it
        RETURN jsonb_build_object('recheck', jsonb_build_array(v_id), 'applied', false);
    END IF;

    -- HubSpot's profile; a value the record names unknown keeps the local one, listed in blank
    v_new := v_contact;
    v_new.hubspot_id := v_id;
    v_new.email := v_rec ->> 'email';
    v_new.student_id := v_rec ->> 'student_id';
    v_new.firstname := v_rec ->> 'firstname';
    v_new.lastname := v_rec ->> 'lastname';
    v_new.ndecc_exam_date := v_rec ->> 'ndecc_exam_date';
    v_new := mockbook_internal.pulled_keep_unknown(v_new, v_contact, p_item);
    v_out := jsonb_build_object('blank', coalesce((
        SELECT jsonb_agg(jsonb_build_object('id', v_id, 'field', u.name))
        FROM jsonb_array_elements_text(coalesce(p_item -> 'unknown', '[]'::jsonb)) AS u(name)
        WHERE to_jsonb(v_contact) ->> u.name IS NOT NULL), '[]'::jsonb));
    UPDATE hubspot_sync.hubspot_contact_credits AS c SET
        hubspot_id = v_new.hubspot_id,
        email = v_new.email,
        student_id = v_new.student_id,
        firstname = v_new.firstname,
        lastname = v_new.lastname,
        ndecc_exam_date = v_new.ndecc_exam_date,
        hubspot_last_sync_at = now()
    WHERE c.id = v_contact.id;

    IF p_merge_credits THEN
        v_merge := mockbook_internal.merge_pulled_credits(v_contact, p_item, v_rec -> 'known',
                                                          v_modified, p_actor);
        v_merged := (v_merge ->> 'merged')::boolean;
        v_out := v_out || jsonb_build_object(
            'merged', CASE WHEN v_merged THEN 1 ELSE 0 END,
            'baselined', CASE WHEN (v_merge ->> 'baselined')::boolean THEN 1 ELSE 0 END,
            'clamped', v_merge -> 'clamped');
        -- the push's own merge sends the merged balances itself: not queued twice
        IF (v_merge ->> 'queue')::boolean AND NOT v_push_merge THEN
            INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, old_data,
                                                 new_data)
            SELECT 'hubspot_contact_credits', c.id, 'UPDATE', NULL, to_jsonb(c)
            FROM hubspot_sync.hubspot_contact_credits AS c
            WHERE c.id = v_contact.id
              AND NOT EXISTS (
                  SELECT FROM hubspot_sync.sync_queue AS q
                  WHERE q.table_name = 'hubspot_contact_credits' AND q.record_id = c.id
                    AND q.done_at IS NULL AND q.dead_at IS NULL AND q.lease_owner IS NULL);
            v_out := v_out || jsonb_build_object('queued', CASE WHEN FOUND THEN 1 ELSE 0 END);
        END IF;
        -- held for an admin (past the jump limit): its dead letter opened
        IF v_merge -> 'held' <> '{}'::jsonb THEN
            v_out := v_out || jsonb_build_object(
                'held', jsonb_build_array(v_id),
                'letter', jsonb_build_object('error', v_merge ->> 'message', 'payload',
                    jsonb_build_object('held', v_merge -> 'held', 'record', p_item)));
        END IF;
    END IF;
    RETURN v_out || jsonb_build_object(
        CASE WHEN v_merged OR (v_contact.hubspot_id, v_contact.email, v_contact.student_id,
                               v_contact.firstname, v_contact.lastname, v_contact.ndecc_exam_date)
                              IS DISTINCT FROM
                              (v_new.hubspot_id, v_new.email, v_new.student_id, v_new.firstname,
                               v_new.lastname, v_new.ndecc_exam_date)
             THEN 'updated' ELSE 'unchanged' END, 1);
END
$$;

COMMENT ON FUNCTION mockbook_internal.apply_pulled_contact(jsonb, text, boolean) IS
'Internal (apply_pulled_records): one HubSpot contact record, inserted or, under its lock
(BUSY), its profile and credits (p_merge_credits) applied. Returns its counts and lists.';
REVOKE ALL ON FUNCTION mockbook_internal.apply_pulled_contact(jsonb, text, boolean)
    FROM PUBLIC, anon, authenticated, service_role;
