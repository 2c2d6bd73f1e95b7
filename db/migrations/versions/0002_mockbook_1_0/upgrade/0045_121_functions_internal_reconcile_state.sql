-- Frozen copy of db/functions/internal/reconcile_state.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.reconcile_state(p_table text)
RETURNS TABLE (record_id uuid, hubspot_id text, state jsonb)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    IF p_table IS NULL OR p_table NOT IN (
        'hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings') THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('table %L is not hubspot_contact_credits, hubspot_mock_exams or hubspot_bookings.',
                   p_table));
    END IF;
    IF p_table = 'hubspot_bookings' THEN
        RETURN QUERY
        SELECT b.id, b.hubspot_id,
               to_jsonb(b) || jsonb_build_object('contact_hubspot_id', c.hubspot_id)
        FROM hubspot_sync.hubspot_bookings AS b
        LEFT JOIN hubspot_sync.hubspot_contact_credits AS c ON c.student_id = b.student_id;
    ELSIF p_table = 'hubspot_contact_credits' THEN
        RETURN QUERY
        SELECT c.id, c.hubspot_id, to_jsonb(c) FROM hubspot_sync.hubspot_contact_credits AS c;
    ELSE
        RETURN QUERY
        SELECT e.id, e.hubspot_id, to_jsonb(e) FROM hubspot_sync.hubspot_mock_exams AS e;
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.reconcile_state(text) IS
'Glue (reconcile): every row of one synced table as jsonb with its id and HubSpot id (bookings with
their contact''s HubSpot id). Errors: INVALID_ARGUMENT.';
REVOKE ALL ON FUNCTION mockbook_internal.reconcile_state(text) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.reconcile_state(text) TO mockbook_glue;
