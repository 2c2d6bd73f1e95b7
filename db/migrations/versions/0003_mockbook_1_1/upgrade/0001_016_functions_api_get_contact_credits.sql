-- Frozen copy of db/functions/api/get_contact_credits.sql (changed).
-- Why: production's read of one contact row, kept as it was for existing callers.
CREATE OR REPLACE FUNCTION hubspot_sync.get_contact_credits(
    p_student_id text DEFAULT NULL,
    p_email text DEFAULT NULL,
    p_id uuid DEFAULT NULL,
    p_hubspot_id text DEFAULT NULL
)
RETURNS hubspot_sync.hubspot_contact_credits
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_contact hubspot_sync.hubspot_contact_credits;
    v_students constant text[] := mockbook_internal.caller_students();
BEGIN
    IF v_students IS NOT NULL AND (p_id IS NOT NULL OR p_hubspot_id IS NOT NULL) THEN
        -- not yours = not there: only the student's own rows, read by student (OFFSET 0)
        SELECT * INTO v_contact
        FROM (SELECT * FROM hubspot_sync.hubspot_contact_credits AS o
              WHERE o.student_id = ANY (v_students) OFFSET 0) AS c
        WHERE CASE WHEN p_id IS NOT NULL THEN c.id = p_id ELSE c.hubspot_id = p_hubspot_id END;
    ELSIF p_id IS NOT NULL THEN
        SELECT * INTO v_contact FROM hubspot_sync.hubspot_contact_credits AS c
        WHERE c.id = p_id;
    ELSIF p_hubspot_id IS NOT NULL THEN
        SELECT * INTO v_contact FROM hubspot_sync.hubspot_contact_credits AS c
        WHERE c.hubspot_id = p_hubspot_id;
    ELSIF p_student_id IS NOT NULL AND p_email IS NOT NULL THEN
        SELECT * INTO v_contact FROM hubspot_sync.hubspot_contact_credits AS c
        WHERE c.student_id = p_student_id AND mockbook_internal.same_email(c.email, p_email);
    ELSE
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'Provide p_id, p_hubspot_id, or p_student_id together with p_email.');
    END IF;
    -- a student's JWT naming a student: theirs only; naming a contact by id: another's is not
    -- there (NULL, as for an id nobody has)
    IF p_id IS NULL AND p_hubspot_id IS NULL THEN
        PERFORM mockbook_internal.check_student_caller(p_student_id, 'get_contact_credits');
    END IF;
    IF v_contact.id IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN v_contact;
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

COMMENT ON FUNCTION hubspot_sync.get_contact_credits(text, text, uuid, text) IS
'Compatibility: production''s read of one contact row.
One contact row by `p_id`, else `p_hubspot_id`, else `p_student_id` + `p_email` (any case, spaces
at the ends ignored); NULL when nothing matches (with a student''s JWT, also another student''s
contact named by `p_id` or `p_hubspot_id`: not yours = not there); no usable key →
`INVALID_ARGUMENT`; a student''s JWT naming another `p_student_id` → `FORBIDDEN`. Prefer
`get_credit_summary`.';
REVOKE ALL ON FUNCTION hubspot_sync.get_contact_credits(text, text, uuid, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.get_contact_credits(text, text, uuid, text) TO service_role;
