-- Undo db/functions/lock_contact.sql (changed).
-- Frozen copy of db/functions/lock_contact.sql (new).
/**
 * hubspot_sync.lock_contact(p_contact_id) -> hubspot_contact_credits (the locked row)
 *
 * Takes the contact row lock after any exam lock (see hubspot_sync.lock_exam), waiting at most
 * mockbook.lock_timeout (default 2s). Errors: CONTACT_NOT_FOUND, BUSY.
 */
CREATE OR REPLACE FUNCTION hubspot_sync.lock_contact(p_contact_id uuid)
RETURNS hubspot_sync.hubspot_contact_credits
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_contact hubspot_sync.hubspot_contact_credits;
BEGIN
    PERFORM set_config('lock_timeout',
                       coalesce(nullif(current_setting('mockbook.lock_timeout', true), ''), '2s'),
                       true);
    BEGIN
        SELECT * INTO v_contact FROM hubspot_sync.hubspot_contact_credits
        WHERE id = p_contact_id
        FOR NO KEY UPDATE;
    EXCEPTION WHEN lock_not_available THEN
        PERFORM hubspot_sync.raise_error('BUSY',
            format('Contact %s is busy (lock wait exceeded).', p_contact_id));
    END;
    IF v_contact.id IS NULL THEN
        PERFORM hubspot_sync.raise_error('CONTACT_NOT_FOUND', format('No contact %s.', p_contact_id));
    END IF;
    RETURN v_contact;
END
$$;

COMMENT ON FUNCTION hubspot_sync.lock_contact(uuid) IS
'Internal: locks a contact row (after any exam lock; BUSY after mockbook.lock_timeout).';
REVOKE ALL ON FUNCTION hubspot_sync.lock_contact(uuid) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.lock_contact(uuid) TO service_role;
