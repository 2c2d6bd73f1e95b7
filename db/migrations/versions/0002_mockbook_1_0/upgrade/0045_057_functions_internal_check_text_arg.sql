-- Frozen copy of db/functions/internal/check_text_arg.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.check_text_arg(
    p_field text,
    p_value text,
    p_required boolean,
    p_max_length integer,
    p_pattern text DEFAULT NULL,
    p_expected text DEFAULT NULL
)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
BEGIN
    IF p_value IS NULL OR btrim(p_value) = '' THEN
        IF p_required THEN
            PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
                format('%s is required.', p_field));
        END IF;
        RETURN;
    END IF;
    IF length(p_value) > p_max_length THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('%s is longer than %s characters.', p_field, p_max_length));
    END IF;
    IF p_pattern IS NOT NULL AND p_value !~ p_pattern THEN
        PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
            format('%s must be %s.', p_field, coalesce(p_expected, 'well-formed')));
    END IF;
END
$$;

COMMENT ON FUNCTION mockbook_internal.check_text_arg(text, text, boolean, integer, text, text) IS
'Internal: INVALID_ARGUMENT naming the field unless a text argument is present (if required), short
enough and well-formed.';
REVOKE ALL ON FUNCTION mockbook_internal.check_text_arg(text, text, boolean, integer, text, text)
    FROM PUBLIC, anon, authenticated, service_role;
