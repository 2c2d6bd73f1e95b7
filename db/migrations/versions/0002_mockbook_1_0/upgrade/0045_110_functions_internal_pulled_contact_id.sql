-- Frozen copy of db/functions/internal/pulled_contact_id.sql (new).
-- Why PL/pgSQL, not SQL: a SQL function's body is planned again on every call.
CREATE OR REPLACE FUNCTION mockbook_internal.pulled_contact_id(p_hubspot_id text, p_email text,
                                                          p_student_id text)
RETURNS uuid
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    RETURN coalesce(
        (SELECT c.id FROM hubspot_sync.hubspot_contact_credits AS c
         WHERE c.hubspot_id = p_hubspot_id),
        (SELECT c.id FROM hubspot_sync.hubspot_contact_credits AS c
         WHERE c.hubspot_id IS NULL AND lower(c.email) = lower(p_email)
         ORDER BY c.created_at, c.id
         LIMIT 1),
        (SELECT c.id FROM hubspot_sync.hubspot_contact_credits AS c
         WHERE c.hubspot_id IS NULL AND c.student_id = p_student_id));
END
$$;

COMMENT ON FUNCTION mockbook_internal.pulled_contact_id(text, text, text) IS
'Internal (pull): the local contact a HubSpot contact record applies to -- by HubSpot id, else (one
without a HubSpot id) by email, else by student_id; NULL for a new contact.';
REVOKE ALL ON FUNCTION mockbook_internal.pulled_contact_id(text, text, text) FROM PUBLIC, anon, authenticated, service_role;
