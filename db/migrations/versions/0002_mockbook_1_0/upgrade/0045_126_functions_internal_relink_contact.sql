-- Frozen copy of db/functions/internal/relink_contact.sql (new).
-- Why: a contact merged or deleted in HubSpot would otherwise dead-letter every push of its
-- credits.
CREATE OR REPLACE FUNCTION mockbook_internal.relink_contact(p_contact_id uuid, p_hubspot_id text,
                                                      p_reason text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_contact hubspot_sync.hubspot_contact_credits;
    v_origin text := current_setting('mockbook.origin', true);
    v_bookings integer := 0;
BEGIN
    IF p_contact_id IS NULL THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT', 'p_contact_id is required.');
    END IF;
    IF p_hubspot_id IS NOT NULL AND btrim(p_hubspot_id) = '' THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'p_hubspot_id must be a HubSpot contact id, or NULL for a deleted contact.');
    END IF;
    v_contact := mockbook_internal.lock_contact(p_contact_id);
    IF v_contact.hubspot_id IS NOT DISTINCT FROM p_hubspot_id THEN
        RETURN jsonb_build_object('contact_id', p_contact_id, 'previous_hubspot_id',
                                  v_contact.hubspot_id, 'hubspot_id', p_hubspot_id,
                                  'bookings', 0);
    END IF;
    PERFORM set_config('mockbook.actor',
                       coalesce(nullif(p_reason, ''), 'hubspot:push (contact re-linked)'), true);
    PERFORM set_config('mockbook.origin', 'sync', true);
    UPDATE hubspot_sync.hubspot_contact_credits AS c
    SET hubspot_id = p_hubspot_id, hubspot_last_sync_at = NULL
    WHERE c.id = p_contact_id;
    DELETE FROM hubspot_sync.contact_credit_sync AS s WHERE s.contact_id = p_contact_id;
    PERFORM set_config('mockbook.origin', coalesce(v_origin, ''), true);
    IF v_contact.hubspot_id IS NOT NULL THEN
        -- the lock order: the contact, then its bookings in ascending id order
        PERFORM FROM hubspot_sync.hubspot_bookings AS b
        WHERE b.student_id = v_contact.student_id
          AND b.associated_contact_id = v_contact.hubspot_id
        ORDER BY b.id
        FOR NO KEY UPDATE;
        UPDATE hubspot_sync.hubspot_bookings AS b
        SET associated_contact_id = p_hubspot_id
        WHERE b.student_id = v_contact.student_id
          AND b.associated_contact_id = v_contact.hubspot_id;
        GET DIAGNOSTICS v_bookings = ROW_COUNT;
    END IF;
    RETURN jsonb_build_object('contact_id', p_contact_id,
                              'previous_hubspot_id', v_contact.hubspot_id,
                              'hubspot_id', p_hubspot_id, 'bookings', v_bookings);
END
$$;

COMMENT ON FUNCTION mockbook_internal.relink_contact(uuid, text, text) IS
'Glue (push): re-link a contact whose HubSpot record was merged (to the merged-into id) or deleted
(NULL: matched again by email); drops its credit merge base and re-associates its bookings. Returns
{contact_id, previous_hubspot_id, hubspot_id, bookings}. Errors: INVALID_ARGUMENT,
CONTACT_NOT_FOUND. Locks: the contact row (lock_contact), then its bookings in ascending id order.';
REVOKE ALL ON FUNCTION mockbook_internal.relink_contact(uuid, text, text)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.relink_contact(uuid, text, text) TO mockbook_glue;
