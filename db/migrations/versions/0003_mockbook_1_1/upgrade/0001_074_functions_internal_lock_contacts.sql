-- Frozen copy of db/functions/internal/lock_contacts.sql (changed).
-- Why: the functions that lock several contacts (batches, the push's claim and write-back) lock
-- them in ascending id, the lock order, each with lock_contact's bounded wait.
CREATE OR REPLACE FUNCTION mockbook_internal.lock_contacts(p_ids uuid[],
                                                       p_leave_busy boolean DEFAULT false)
RETURNS uuid[]
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_id uuid;
    v_left uuid[] := '{}'::uuid[];
BEGIN
    FOR v_id IN
        SELECT DISTINCT t.id FROM unnest(p_ids) AS t(id) WHERE t.id IS NOT NULL ORDER BY t.id
    LOOP
        PERFORM FROM hubspot_sync.hubspot_contact_credits AS c
        WHERE c.id = v_id
        FOR NO KEY UPDATE SKIP LOCKED;
        CONTINUE WHEN FOUND
                   OR NOT EXISTS (SELECT FROM hubspot_sync.hubspot_contact_credits AS c
                                  WHERE c.id = v_id);
        IF cardinality(v_left) > 0 THEN  -- one wait already ran out: no more waits
            v_left := v_left || v_id;
            CONTINUE;
        END IF;
        BEGIN
            PERFORM mockbook_internal.lock_contact(v_id);
        EXCEPTION
            WHEN SQLSTATE 'PT404' THEN  -- CONTACT_NOT_FOUND: deleted while waited for
                NULL;
            WHEN SQLSTATE 'PT503' THEN  -- BUSY
                IF NOT p_leave_busy THEN
                    RAISE;
                END IF;
                v_left := v_left || v_id;
        END;
    END LOOP;
    RETURN v_left;
END
$$;

COMMENT ON FUNCTION mockbook_internal.lock_contacts(uuid[], boolean) IS
'Internal: locks several contact rows in ascending id (the lock order), each waited for at most
mockbook.lock_timeout; a row still busy -> BUSY, or with p_leave_busy left unlocked and returned
(later busy rows then too, without a wait). Unknown ids are passed over. Errors: BUSY (p_leave_busy
false). Locks: the contact rows, FOR NO KEY UPDATE, ascending id.';
REVOKE ALL ON FUNCTION mockbook_internal.lock_contacts(uuid[], boolean) FROM PUBLIC, anon, authenticated, service_role;
