-- Why: HubSpot and Postgres both change a contact's credits (admins in HubSpot, bookings here),
-- so a pulled balance is merged as a difference from the last synced value, never copied over a
-- local deduction the push has not sent yet. Each field's decision is credit_merge's.
CREATE OR REPLACE FUNCTION mockbook_internal.merge_pulled_credits(
    p_contact hubspot_sync.hubspot_contact_credits,
    p_item jsonb,
    p_known jsonb,
    p_modified timestamptz,
    p_actor text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_id constant text := p_item ->> 'id';
    v_sync hubspot_sync.contact_credit_sync;
    v_field text;
    v_hval integer;
    v_lval integer;
    v_m record;
    v_settled boolean := false;
    v_merged boolean := false;
    v_queue boolean := false;
    v_held jsonb := '{}'::jsonb;
    v_clamped jsonb := '[]'::jsonb;
    -- a HubSpot credit change larger than this is held for an admin (0: no limit)
    v_jump_limit constant integer := coalesce(
        nullif(current_setting('mockbook.credit_jump_limit', true), '')::integer, 20);
BEGIN
    -- under the contact's row lock, which every writer of this row holds while it writes
    -- (apply_pulled_contacts' header, "Locks"): free, never waited for (NOWAIT: a writer that
    -- broke that rule makes this record 55P03 -> retry, never a wait)
    SELECT s.* INTO v_sync FROM hubspot_sync.contact_credit_sync AS s
    WHERE s.contact_id = p_contact.id
    FOR UPDATE NOWAIT;
    FOR v_field, v_hval IN
        SELECT h.key, h.value::integer FROM jsonb_each_text(p_known) AS h ORDER BY h.key
    LOOP
        v_lval := coalesce((to_jsonb(p_contact) ->> v_field)::integer, 0);
        v_m := mockbook_internal.credit_merge(
            v_hval, (v_sync.credits ->> v_field)::integer, v_lval,
            (v_sync.pushing ->> v_field)::integer, p_item -> 'propertiesWithHistory' -> v_field,
            v_sync.hubspot_modified_at, v_sync.source = 'push', v_jump_limit, false);
        -- a change held past the limit, unless `mockbook dlq retry` of its letter confirmed it
        IF v_m.held AND EXISTS (
               SELECT FROM hubspot_sync.sync_errors AS e
               WHERE e.direction = 'pull' AND e.entity_type = 'hubspot_contact_credits'
                 AND e.entity_id = v_id AND e.resolved AND e.resolution = 'retried'
                 AND e.resolved_by IS DISTINCT FROM 'mockbook pull'
                 AND e.error LIKE 'CREDIT_JUMP:%'
                 AND e.payload -> 'held' -> v_field ->> 'hubspot' = v_hval::text) THEN
            v_m := mockbook_internal.credit_merge(
                v_hval, (v_sync.credits ->> v_field)::integer, v_lval,
                (v_sync.pushing ->> v_field)::integer,
                p_item -> 'propertiesWithHistory' -> v_field, v_sync.hubspot_modified_at,
                v_sync.source = 'push', v_jump_limit, true);
        END IF;
        v_settled := v_settled OR v_m.landed;
        IF v_m.held THEN
            v_held := v_held || jsonb_build_object(v_field, jsonb_build_object(
                'hubspot', v_hval, 'synced', v_m.base, 'change', v_m.change));
            CONTINUE;
        END IF;
        IF v_m.applied <> 0 THEN
            PERFORM mockbook_internal.apply_credit_delta(
                p_contact.id, v_field, v_m.applied, 'hubspot_adjustment', NULL, p_actor,
                format('changed in HubSpot from %s to %s (%s%s)%s%s', v_m.base, v_hval,
                       CASE WHEN v_m.change > 0 THEN '+' END, v_m.change,
                       CASE WHEN v_m.lost <> 0
                            THEN format('; %s%s of it made in HubSpot just before the push '
                                        'wrote %s over it',
                                        CASE WHEN v_m.lost > 0 THEN '+' END, v_m.lost, v_m.base)
                       END,
                       CASE WHEN v_m.applied <> v_m.change
                            THEN format('; only %s applied: the balance cannot go below zero',
                                        v_m.applied)
                       END));
            v_merged := true;
        END IF;
        IF v_m.applied <> v_m.change THEN
            v_clamped := v_clamped || jsonb_build_object(
                'id', v_id, 'field', v_field, 'hubspot_change', v_m.change,
                'applied', v_m.applied);
        END IF;
        v_queue := v_queue OR v_m.queue;
    END LOOP;
    INSERT INTO hubspot_sync.contact_credit_sync AS s (
        contact_id, credits, source, hubspot_modified_at)
    VALUES (p_contact.id,
            p_known || coalesce((SELECT jsonb_object_agg(h.key, h.value -> 'synced')
                                 FROM jsonb_each(v_held) AS h), '{}'::jsonb),
            'pull', p_modified)
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
    RETURN jsonb_build_object(
        'merged', v_merged, 'baselined', v_sync.contact_id IS NULL, 'held', v_held,
        'clamped', v_clamped,
        -- a push would write the local balance over a held change
        'queue', v_queue AND v_held = '{}'::jsonb,
        'message', CASE WHEN v_held <> '{}'::jsonb THEN format(
            'CREDIT_JUMP: %s held for an admin (more than mockbook.credit_jump_limit, %s): '
            'confirm with `mockbook dlq retry`, or correct the value in HubSpot',
            (SELECT string_agg(format('%s %s in HubSpot against %s synced (%s%s)', h.key,
                                      h.value ->> 'hubspot', h.value ->> 'synced',
                                      CASE WHEN (h.value ->> 'change')::int > 0 THEN '+' END,
                                      h.value ->> 'change'), ', ' ORDER BY h.key)
             FROM jsonb_each(v_held) AS h), v_jump_limit) END);
END
$$;

COMMENT ON FUNCTION mockbook_internal.merge_pulled_credits(hubspot_sync.hubspot_contact_credits,
                                                           jsonb, jsonb, timestamptz, text) IS
'Internal (apply_pulled_contacts, under the contact''s lock): merges the credits HubSpot holds
(p_known) into the contact as hubspot_adjustment ledger rows (credit_merge decides each field) and
makes them the synced base. Returns {merged, baselined, held, clamped, queue, message (of a
held change: CREDIT_JUMP)}.';
REVOKE ALL ON FUNCTION mockbook_internal.merge_pulled_credits(hubspot_sync.hubspot_contact_credits,
                                                              jsonb, jsonb, timestamptz, text)
    FROM PUBLIC, anon, authenticated, service_role;
