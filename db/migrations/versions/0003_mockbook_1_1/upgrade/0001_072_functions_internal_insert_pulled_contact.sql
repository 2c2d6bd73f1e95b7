-- Frozen copy of db/functions/internal/insert_pulled_contact.sql (changed).
-- Why: a contact HubSpot has and Postgres not yet: its balances come in as import ledger rows
-- (the ledger explains every balance) and become the synced base of the credit merge.
CREATE OR REPLACE FUNCTION mockbook_internal.insert_pulled_contact(p_item jsonb, p_rec jsonb,
                                                                   p_actor text)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_id constant text := p_rec ->> 'id';
    v_email constant text := p_rec ->> 'email';
    v_student constant text := p_rec ->> 'student_id';
    v_hub constant jsonb := p_rec -> 'hub';
    v_contact hubspot_sync.hubspot_contact_credits;
    v_field text;
    v_hval integer;
BEGIN
    IF v_student IS NULL THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'missing property student_id (needed for a new contact)');
    END IF;
    -- balances: their default 0, then the ledger rows
    BEGIN
        INSERT INTO hubspot_sync.hubspot_contact_credits (
            hubspot_id, student_id, email, firstname, lastname, ndecc_exam_date,
            hubspot_last_sync_at, created_at)
        VALUES (v_id, v_student, v_email, p_rec ->> 'firstname', p_rec ->> 'lastname',
                p_rec ->> 'ndecc_exam_date', now(), mockbook_internal.pulled_created_at(p_item))
        RETURNING * INTO v_contact;
    EXCEPTION WHEN unique_violation THEN
        -- the same new contact inserted meanwhile (a webhook and a pull at once): applied again
        -- as an update (BUSY -> retry); another contact holding its keys is an error
        IF mockbook_internal.pulled_contact_id(v_id, v_email, v_student) IS NOT NULL THEN
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
                v_contact.id, v_field, v_hval, 'import', NULL, p_actor,
                'balance read from HubSpot (first sync of this contact)');
        END IF;
    END LOOP;
    INSERT INTO hubspot_sync.contact_credit_sync (contact_id, credits, source, hubspot_modified_at)
    VALUES (v_contact.id, v_hub, 'pull', (p_rec ->> 'modified')::timestamptz);
    RETURN v_contact.id;
END
$$;

COMMENT ON FUNCTION mockbook_internal.insert_pulled_contact(jsonb, jsonb, text) IS
'Internal (apply_pulled_contacts): inserts a pulled contact new to Postgres (p_rec: its screened
values, screen_pulled_contact), its balances as import ledger rows, its synced base. Returns its
id. Errors: INVALID_ARGUMENT (no student_id), BUSY (inserted meanwhile by another transaction).';
REVOKE ALL ON FUNCTION mockbook_internal.insert_pulled_contact(jsonb, jsonb, text)
    FROM PUBLIC, anon, authenticated, service_role;
