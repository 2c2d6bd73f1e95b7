-- Frozen copy of db/functions/api/get_credit_summary.sql (changed).
-- Why: an app needs what each mock type can use without knowing the credit rules (credit_rules()).
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
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_contact hubspot_sync.hubspot_contact_credits;
    v_balances jsonb;
BEGIN
    PERFORM mockbook_internal.check_text_arg('p_student_id', p_student_id, true, 64);
    PERFORM mockbook_internal.check_text_arg('p_email', p_email, true, 254);
    PERFORM mockbook_internal.check_student_caller(p_student_id, 'get_credit_summary');
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
EXCEPTION
    WHEN lock_not_available OR deadlock_detected THEN
        PERFORM mockbook_internal.raise_busy(SQLSTATE);
        RAISE;
    WHEN disk_full OR insufficient_resources OR out_of_memory OR configuration_limit_exceeded
         OR io_error OR read_only_sql_transaction THEN
        PERFORM mockbook_internal.raise_unavailable(SQLSTATE);
        RAISE;
END
$$;

COMMENT ON FUNCTION hubspot_sync.get_credit_summary(text, text) IS
'A student''s balances and what each mock type can use now. Row: `contact_id, hubspot_id,
student_id, email, firstname, lastname, sj_credits, cs_credits, sjmini_credits,
mock_discussion_token, shared_mock_credits, available` where `available` is
`{"Situational Judgment": sj + shared, "Clinical Skills": cs + shared, "Mini-mock": sjmini,
"Mock Discussion": mock_discussion_token}` (shared credits count for SJ and CS: alternatives, not a
total). Use `.single()`. Null: `hubspot_id`, `firstname`, `lastname` (as HubSpot or the adopted
data left them), no other column.
Errors: `INVALID_ARGUMENT`, `CONTACT_NOT_FOUND`.';
REVOKE ALL ON FUNCTION hubspot_sync.get_credit_summary(text, text) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.get_credit_summary(text, text) TO service_role;
