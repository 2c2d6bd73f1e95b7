-- Frozen copy of db/functions/internal/new_booking_row.sql (changed).
-- Why: every booking path builds a new booking's row from the contact and the exam the same way
-- (which columns are copied, which defaults apply).
CREATE OR REPLACE FUNCTION mockbook_internal.new_booking_row(
    p_contact hubspot_sync.hubspot_contact_credits,
    p_exam hubspot_sync.hubspot_mock_exams,
    p_attending_location text,
    p_dominant_hand text,
    p_student_name text,
    p_mock_set hubspot_sync.mock_set_letter,
    p_token_used text,
    p_booking_code text,
    p_idempotency_key text,
    p_fingerprint text
)
RETURNS hubspot_sync.hubspot_bookings
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_row hubspot_sync.hubspot_bookings;
BEGIN
    -- one statement, not 22 assignments; the columns not named stay NULL
    SELECT mockbook_internal.new_booking_uuid(), p_booking_code, p_exam.hubspot_id,
           p_contact.hubspot_id, p_contact.student_id, p_contact.email,
           coalesce(nullif(btrim(p_student_name), ''),
                    nullif(concat_ws(' ', p_contact.firstname, p_contact.lastname), '')),
           'Active', p_attending_location, nullif(btrim(p_dominant_hand), ''), p_token_used, false,
           p_exam.start_time, p_exam.end_time, p_exam.exam_date, p_exam.mock_type,
           coalesce(p_mock_set, p_exam.mock_set), p_contact.ndecc_exam_date, p_idempotency_key,
           p_fingerprint
    INTO v_row.id, v_row.booking_id, v_row.associated_mock_exam, v_row.associated_contact_id,
         v_row.student_id, v_row.student_email, v_row.name, v_row.is_active,
         v_row.attending_location, v_row.dominant_hand, v_row.token_used, v_row.token_refunded,
         v_row.start_time, v_row.end_time, v_row.exam_date, v_row.mock_type, v_row.mock_set,
         v_row.ndecc_exam_date, v_row.idempotency_key, v_row.idempotency_fingerprint;
    RETURN v_row;
END
$$;

COMMENT ON FUNCTION mockbook_internal.new_booking_row(hubspot_sync.hubspot_contact_credits, hubspot_sync.hubspot_mock_exams, text, text, text, hubspot_sync.mock_set_letter, text, text, text, text) IS
'Internal: builds (does not insert) the Active booking row of a contact in an exam, exam details
copied. Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.new_booking_row(hubspot_sync.hubspot_contact_credits, hubspot_sync.hubspot_mock_exams, text, text, text, hubspot_sync.mock_set_letter, text, text, text, text)
    FROM PUBLIC, anon, authenticated, service_role;
