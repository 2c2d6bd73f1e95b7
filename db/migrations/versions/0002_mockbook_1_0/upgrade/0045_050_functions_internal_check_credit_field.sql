-- Frozen copy of db/functions/internal/check_credit_field.sql (new).
-- Why: the list is folded into this function's cached plan (credit_field_names), so the check
-- costs no query.
CREATE OR REPLACE FUNCTION mockbook_internal.check_credit_field(p_name text, p_credit_field text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    IF p_credit_field IS NULL OR NOT p_credit_field = ANY (mockbook_internal.credit_field_names()) THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('%s %s is not one of %s.', p_name, coalesce(quote_literal(p_credit_field), 'NULL'),
                   array_to_string(mockbook_internal.credit_field_names(), ', ')));
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.check_credit_field(text, text) IS
'Internal: INVALID_ARGUMENT unless the value is one of credit_fields() (the message lists them).';
REVOKE ALL ON FUNCTION mockbook_internal.check_credit_field(text, text)
    FROM PUBLIC, anon, authenticated, service_role;
