-- Frozen copy of db/functions/internal/pulled_created_at.sql (new).
-- Why: a row inserted from HubSpot keeps the day HubSpot created the record, so an imported history
-- keeps its days.
CREATE OR REPLACE FUNCTION mockbook_internal.pulled_created_at(p_record jsonb)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SET search_path = ''
AS $$
DECLARE
    v_at timestamptz;
BEGIN
    IF jsonb_typeof(p_record) = 'object'
       AND jsonb_typeof(p_record -> 'createdAt') IN ('string', 'number') THEN
        BEGIN
            v_at := mockbook_internal.pulled_timestamp(
                jsonb_build_object('createdAt', p_record ->> 'createdAt'), 'createdAt');
        EXCEPTION WHEN SQLSTATE 'PT400' THEN  -- INVALID_ARGUMENT: not a date-time
            v_at := NULL;
        END;
    END IF;
    RETURN CASE WHEN v_at <= now() THEN v_at ELSE now() END;
END
$$;

COMMENT ON FUNCTION mockbook_internal.pulled_created_at(jsonb) IS
'Internal (pull, import, reconcile): when HubSpot created a record (its createdAt, ISO 8601 or epoch
ms), for the created_at of a row inserted from it; now() when missing, malformed or in the future.
Errors: none.';
REVOKE ALL ON FUNCTION mockbook_internal.pulled_created_at(jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
