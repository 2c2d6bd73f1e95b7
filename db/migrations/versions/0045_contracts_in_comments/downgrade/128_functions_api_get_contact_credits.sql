-- Undo db/functions/api/get_contact_credits.sql (moved).
-- Frozen copy of db/functions/get_contact_credits.sql (changed).
/**
 * hubspot_sync.get_contact_credits(p_student_id text DEFAULT NULL, p_email text DEFAULT NULL,
 *                                  p_id uuid DEFAULT NULL, p_hubspot_id text DEFAULT NULL)
 *   -> hubspot_contact_credits
 *
 * Compatibility: the production read of one contact row, same name, parameters and return type
 * as before mockbook. Looks up, in this order of precedence: p_id, else p_hubspot_id, else
 * p_student_id together with p_email. Returns the whole row, or NULL when nothing matches (as
 * before). Changes from the original: the email now matches case-insensitively (as in
 * create_booking), and calling it without a usable key raises INVALID_ARGUMENT through
 * raise_error instead of a raw P0001 exception.
 * New code should call get_credit_summary (which also says what each mock type can use).
 * Errors: INVALID_ARGUMENT (neither p_id, p_hubspot_id nor p_student_id with p_email).
 * Locks: none (STABLE).
 */
CREATE OR REPLACE FUNCTION hubspot_sync.get_contact_credits(
    p_student_id text DEFAULT NULL,
    p_email text DEFAULT NULL,
    p_id uuid DEFAULT NULL,
    p_hubspot_id text DEFAULT NULL
)
RETURNS hubspot_sync.hubspot_contact_credits
LANGUAGE plpgsql
STABLE
-- SECURITY DEFINER: apps may not write the tables (README, Roles); the contract is the way in
SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
    v_contact hubspot_sync.hubspot_contact_credits;
BEGIN
    IF p_id IS NOT NULL THEN
        SELECT * INTO v_contact FROM hubspot_sync.hubspot_contact_credits AS c
        WHERE c.id = p_id;
    ELSIF p_hubspot_id IS NOT NULL THEN
        SELECT * INTO v_contact FROM hubspot_sync.hubspot_contact_credits AS c
        WHERE c.hubspot_id = p_hubspot_id;
    ELSIF p_student_id IS NOT NULL AND p_email IS NOT NULL THEN
        SELECT * INTO v_contact FROM hubspot_sync.hubspot_contact_credits AS c
        WHERE c.student_id = p_student_id AND lower(c.email) = lower(p_email);
    ELSE
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            'Provide p_id, p_hubspot_id, or p_student_id together with p_email.');
    END IF;
    IF v_contact.id IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN v_contact;
END
$$;

COMMENT ON FUNCTION hubspot_sync.get_contact_credits(text, text, uuid, text) IS
'Compatibility: the production contact lookup (by p_id, else p_hubspot_id, else p_student_id + '
'p_email, email case-insensitive); returns the hubspot_contact_credits row or NULL. Errors: '
'INVALID_ARGUMENT when no lookup key is given. New code: get_credit_summary.';
REVOKE ALL ON FUNCTION hubspot_sync.get_contact_credits(text, text, uuid, text)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.get_contact_credits(text, text, uuid, text) TO service_role;
