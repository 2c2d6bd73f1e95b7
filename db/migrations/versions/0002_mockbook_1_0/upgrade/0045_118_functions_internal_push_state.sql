-- Frozen copy of db/functions/internal/push_state.sql (new).
-- Why: the push sends a record's current state, read at push time, so many queued changes of one
-- record are sent once.
CREATE OR REPLACE FUNCTION mockbook_internal.push_state(p_table text, p_record_ids uuid[])
RETURNS TABLE (record_id uuid, state jsonb)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
    IF p_table IS NULL OR p_table NOT IN (
        'hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings',
        'waitlist_entries') THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('table %L is not hubspot_contact_credits, hubspot_mock_exams, '
                   'hubspot_bookings or waitlist_entries.', p_table));
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
    ELSIF p_table = 'waitlist_entries' THEN
        RETURN QUERY
        SELECT w.sync_id,
               jsonb_build_object(
                   'id', w.sync_id, 'waitlist_id', w.id, 'booking_id', w.booking_code,
                   'hubspot_id', w.hubspot_id,
                   'is_active', CASE w.status WHEN 'waiting' THEN 'Waitlisted'
                                              WHEN 'offered' THEN 'Offered'
                                              WHEN 'accepted' THEN 'Accepted'
                                              WHEN 'expired' THEN 'Expired'
                                              WHEN 'left' THEN 'Left'
                                              ELSE 'Closed' END,
                   'associated_mock_exam', w.mock_exam_id,
                   'associated_contact_id', c.hubspot_id,
                   'student_id', w.student_id,
                   'name', nullif(trim(concat_ws(' ', c.firstname, c.lastname)), ''),
                   'student_email', c.email,
                   'attending_location', w.attending_location,
                   'dominant_hand', w.dominant_hand,
                   'mock_type', e.mock_type, 'exam_date', e.exam_date,
                   'start_time', e.start_time, 'end_time', e.end_time,
                   'offer_expires_at', w.offer_expires_at,
                   'contact_record_id', c.id, 'contact_hubspot_id', c.hubspot_id,
                   'contact_email', c.email)
        FROM hubspot_sync.waitlist_entries AS w
        LEFT JOIN hubspot_sync.hubspot_contact_credits AS c ON c.id = w.contact_id
        LEFT JOIN hubspot_sync.hubspot_mock_exams AS e ON e.hubspot_id = w.mock_exam_id
        WHERE w.sync_id = ANY (p_record_ids);
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

COMMENT ON FUNCTION mockbook_internal.push_state(text, uuid[]) IS
'Glue (mockbook push): the current rows of the given records of one synced table as jsonb (bookings
with their contact''s id, HubSpot id and email; waitlist places shaped as bookings). Errors:
INVALID_ARGUMENT. Locks: none (STABLE).';
REVOKE ALL ON FUNCTION mockbook_internal.push_state(text, uuid[]) FROM PUBLIC, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION mockbook_internal.push_state(text, uuid[]) TO mockbook_glue;
