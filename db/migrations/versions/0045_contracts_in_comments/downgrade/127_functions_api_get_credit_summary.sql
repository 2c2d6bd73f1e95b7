-- Undo db/functions/api/get_credit_summary.sql (moved).
-- Frozen copy of db/functions/get_credit_summary.sql (changed).
/**
 * hubspot_sync.get_credit_summary(p_student_id text, p_email text) -> SETOF (one row)
 *
 * A student's credit balances and, per mock type, how many bookings they can pay for now:
 * the sum of the fields hubspot_sync.credit_rules() lets that type use, e.g.
 *   Situational Judgment = sj_credits + shared_mock_credits
 *   Clinical Skills      = cs_credits + shared_mock_credits
 *   Mini-mock            = sjmini_credits
 *   Mock Discussion      = mock_discussion_token
 * (shared credits count for both SJ and CS: the two figures are alternatives, not a total).
 * The contact is found by student_id with an email that matches case-insensitively.
 * Returns a set of exactly one row (so PostgREST's select= works; use .single() in the app):
 *   contact_id, hubspot_id, student_id, email, firstname, lastname, the five balances (NULL
 *   read as 0), available jsonb ({"<mock type>": n, ...}, one key per type of credit_rules()).
 * Errors: INVALID_ARGUMENT (an argument missing or too long), CONTACT_NOT_FOUND (no such
 *         student with that email: mockbook_internal.find_contact, the lookup create_booking uses).
 * Locks: none (STABLE; runs in PostgREST's read-only GET).
 */
CREATE OR REPLACE FUNCTION hubspot_sync.get_credit_summary(p_student_id text, p_email text)
RETURNS TABLE (
    contact_id uuid,
    hubspot_id text,
    student_id text,
    email text,
    firstname text,
    lastname text,
    sj_credits integer,
    cs_credits integer,
    sjmini_credits integer,
    mock_discussion_token integer,
    shared_mock_credits integer,
    available jsonb
)
LANGUAGE plpgsql
STABLE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_contact hubspot_sync.hubspot_contact_credits;
    v_balances jsonb;
BEGIN
    PERFORM mockbook_internal.check_text_arg('p_student_id', p_student_id, true, 64);
    PERFORM mockbook_internal.check_text_arg('p_email', p_email, true, 254);
    v_contact := mockbook_internal.find_contact(p_student_id, p_email);
    v_balances := to_jsonb(v_contact);

    RETURN QUERY
    SELECT v_contact.id, v_contact.hubspot_id, v_contact.student_id, v_contact.email,
           v_contact.firstname, v_contact.lastname,
           coalesce(v_contact.sj_credits, 0), coalesce(v_contact.cs_credits, 0),
           coalesce(v_contact.sjmini_credits, 0), coalesce(v_contact.mock_discussion_token, 0),
           coalesce(v_contact.shared_mock_credits, 0),
           (SELECT jsonb_object_agg(t.mock_type, t.usable)
            FROM (SELECT r.mock_type,
                         sum(coalesce((v_balances ->> r.credit_field)::integer, 0))::integer
                             AS usable
                  FROM hubspot_sync.credit_rules() AS r
                  GROUP BY r.mock_type) AS t);
END
$$;

COMMENT ON FUNCTION hubspot_sync.get_credit_summary(text, text) IS
'A student''s five credit balances plus available = {mock type: credits usable for it} derived from '
'credit_rules() (SJ = sj + shared, CS = cs + shared, Mini-mock = sjmini, Mock Discussion = '
'mock_discussion_token). One row; email matched case-insensitively. Errors: INVALID_ARGUMENT, '
'CONTACT_NOT_FOUND.';
REVOKE ALL ON FUNCTION hubspot_sync.get_credit_summary(text, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.get_credit_summary(text, text) TO service_role;
