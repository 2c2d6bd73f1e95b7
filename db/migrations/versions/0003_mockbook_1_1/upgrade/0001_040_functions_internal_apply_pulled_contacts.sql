-- Frozen copy of db/functions/internal/apply_pulled_contacts.sql (changed).
-- Why: the glue's door to apply HubSpot's contacts (apply_pulled_contact, apply_pulled_records).
CREATE OR REPLACE FUNCTION mockbook_internal.apply_pulled_contacts(p_contacts jsonb,
                                                             p_actor text DEFAULT NULL,
                                                             p_merge_credits boolean DEFAULT true)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    RETURN mockbook_internal.apply_pulled_records('contacts', p_contacts, p_actor, '{
        "inserted": 0, "updated": 0, "unchanged": 0, "baselined": 0, "merged": 0, "queued": 0,
        "errors": [], "retry": [], "clamped": [], "recheck": [], "held": [], "blank": []}',
        p_merge_credits);
END
$$;

COMMENT ON FUNCTION mockbook_internal.apply_pulled_contacts(jsonb, text, boolean) IS
'Glue (pull, import, reconcile): applies HubSpot contacts, each record on its own. New ones are
inserted with their balances as import ledger rows; known ones take HubSpot''s profile (an empty
value the record''s unknown list names is kept, listed in blank); credits merge as
hubspot_adjustment deltas, never overwritten; a jump over mockbook.credit_jump_limit is held.
Returns {inserted, updated, unchanged, baselined, merged, queued, errors, retry, clamped, recheck,
held, blank}. Errors: INVALID_ARGUMENT. Locks: contacts by ascending id, never waited.';
REVOKE ALL ON FUNCTION mockbook_internal.apply_pulled_contacts(jsonb, text, boolean)
    FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.apply_pulled_contacts(jsonb, text, boolean) TO mockbook_glue;
