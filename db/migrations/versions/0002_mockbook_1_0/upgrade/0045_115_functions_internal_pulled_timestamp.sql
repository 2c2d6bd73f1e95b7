-- Frozen copy of db/functions/internal/pulled_timestamp.sql (new).
CREATE OR REPLACE FUNCTION mockbook_internal.pulled_timestamp(p_properties jsonb, p_name text,
                                                        p_required boolean DEFAULT false)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_text text := mockbook_internal.pulled_text(p_properties, p_name, p_required);
BEGIN
    IF v_text IS NULL THEN
        RETURN NULL;
    END IF;
    BEGIN
        IF v_text ~ '^-?[0-9]{1,15}$' THEN
            RETURN to_timestamp(v_text::bigint / 1000.0);
        END IF;
        IF v_text ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
            RETURN (v_text || 'T00:00:00Z')::timestamptz;
        END IF;
        IF v_text ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}' THEN
            RETURN v_text::timestamptz;
        END IF;
    EXCEPTION WHEN data_exception THEN
        NULL;  -- an impossible date or time: reported below
    END;
    PERFORM mockbook_internal.raise_error('INVALID_ARGUMENT',
        format('property %s is not a date-time: %s', p_name, left(v_text, 80)));
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION mockbook_internal.pulled_timestamp(jsonb, text, boolean) IS
'Internal (pull): a HubSpot date-time property (epoch ms or ISO 8601), NULL when blank;
INVALID_ARGUMENT when missing (if required) or malformed.';
REVOKE ALL ON FUNCTION mockbook_internal.pulled_timestamp(jsonb, text, boolean)
    FROM PUBLIC, anon, authenticated, service_role;
