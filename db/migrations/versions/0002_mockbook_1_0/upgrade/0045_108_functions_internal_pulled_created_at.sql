-- Frozen copy of db/functions/internal/pulled_created_at.sql (new).
/**
 * Why: a row inserted from HubSpot keeps the day HubSpot created the record, so an imported
 * history keeps its days; one function reads that instant the same way for every apply function.
 * The contract is the COMMENT ON FUNCTION below.
 */
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
'Internal (pull, import, reconcile): when HubSpot created a record (its createdAt, ISO 8601 or epoch ms), for the created_at of a row inserted from it; now() when missing, malformed or in the future. Errors: none.

When HubSpot created a record read from it (the pull, the import, reconcile): the object''s
top-level "createdAt". HubSpot''s CRM objects API returns it on every object, contacts and
custom objects alike ("createdAt: the timestamp when the object was created, in ISO 8601
format", required in SimplePublicObject: https://developers.hubspot.com/docs/api-reference/crm-objects-v3/guide
and ../shared/hubspot-openapi/crm-objects-v3.json); it is the same instant as the property
createdate (contacts) / hs_createdate (custom objects), which a search returns only when
asked, so the field is the one read. Epoch milliseconds are accepted too (pulled_timestamp).
The apply_pulled_* functions give it to a row they INSERT, as its created_at (a local row
keeps its own: Postgres created it).
Returns now() when it is missing, not a date-time, or later than now (HubSpot cannot have
created it in the future: a clock or a client at fault): a record is never refused for it.
Errors: none. Locks: none.';
REVOKE ALL ON FUNCTION mockbook_internal.pulled_created_at(jsonb)
    FROM PUBLIC, anon, authenticated, service_role;
