-- Undo db/functions/push_state.sql (changed).
-- Frozen copy of db/functions/push_state.sql (new).
/**
 * hubspot_sync.push_state(p_table text, p_record_ids uuid[]) -> TABLE (record_id uuid, state jsonb)
 *
 * What `mockbook push` sends: the current row of each record, read at push time, so that many
 * queued changes of one record are pushed once, as its current state (SPEC §6). state is the
 * row as jsonb; a booking also carries the contact it belongs to (matched by student_id):
 * contact_record_id, contact_hubspot_id, contact_email (NULL when there is no such contact).
 * Records that no longer exist are absent from the result.
 * Args: p_table       hubspot_bookings | hubspot_contact_credits | hubspot_mock_exams
 *       p_record_ids  the records' uuids (sync_queue.record_id)
 * Errors: INVALID_ARGUMENT (unknown table).
 * Locks: none (STABLE).
 */
CREATE OR REPLACE FUNCTION hubspot_sync.push_state(p_table text, p_record_ids uuid[])
RETURNS TABLE (record_id uuid, state jsonb)
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    IF p_table IS NULL OR p_table NOT IN (
        'hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings') THEN
        PERFORM hubspot_sync.raise_error('INVALID_ARGUMENT',
            format('table %L is not hubspot_contact_credits, hubspot_mock_exams or hubspot_bookings.',
                   p_table));
    END IF;
    IF p_table = 'hubspot_bookings' THEN
        RETURN QUERY
        SELECT b.id,
               to_jsonb(b) || jsonb_build_object('contact_record_id', c.id,
                                                 'contact_hubspot_id', c.hubspot_id,
                                                 'contact_email', c.email)
        FROM hubspot_sync.hubspot_bookings AS b
        LEFT JOIN hubspot_sync.hubspot_contact_credits AS c ON c.student_id = b.student_id
        WHERE b.id = ANY (p_record_ids);
    ELSIF p_table = 'hubspot_contact_credits' THEN
        RETURN QUERY
        SELECT c.id, to_jsonb(c)
        FROM hubspot_sync.hubspot_contact_credits AS c
        WHERE c.id = ANY (p_record_ids);
    ELSE
        RETURN QUERY
        SELECT e.id, to_jsonb(e)
        FROM hubspot_sync.hubspot_mock_exams AS e
        WHERE e.id = ANY (p_record_ids);
    END IF;
END
$$;

COMMENT ON FUNCTION hubspot_sync.push_state(text, uuid[]) IS
'Glue (mockbook push): the current rows of the given records of one synced table as jsonb (bookings with their contact''s id, HubSpot id and email). Errors: INVALID_ARGUMENT.';
REVOKE ALL ON FUNCTION hubspot_sync.push_state(text, uuid[]) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.push_state(text, uuid[]) TO service_role;
