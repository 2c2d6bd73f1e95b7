-- Hand-written: db/schema/19_production_not_owned.sql.
-- Production's get_booking_aggregates and get_booking_aggregates_count read
-- hubspot_sync.booking_details_view, which the production dump (and so a new database) lacks:
-- there every call failed with 42P01. Where the view is missing they are dropped, one
-- adoption_report row each (`migrate --check` lists the same); where a database has the view,
-- they stay as they are.
DO $$
DECLARE
    v_fn regprocedure;
BEGIN
    IF to_regclass('hubspot_sync.booking_details_view') IS NULL THEN
        FOR v_fn IN
            SELECT p.oid::regprocedure FROM pg_catalog.pg_proc AS p
            WHERE p.pronamespace = 'hubspot_sync'::regnamespace
              AND p.proname IN ('get_booking_aggregates', 'get_booking_aggregates_count')
            ORDER BY p.proname
        LOOP
            INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id,
                                                      old_value, new_value)
            VALUES ('0002_mockbook_1_0',
                    'dropped production function (it reads booking_details_view, which this '
                    'database lacks: every call failed)', v_fn::text, NULL, NULL, NULL);
            EXECUTE format('DROP FUNCTION %s', v_fn);
        END LOOP;
    END IF;
END
$$;

-- get_changed_fields: a row that is not a JSON object is INVALID_ARGUMENT, not a raw 22023
CREATE OR REPLACE FUNCTION hubspot_sync.get_changed_fields(old_row jsonb, new_row jsonb)
 RETURNS text[]
 LANGUAGE plpgsql
 IMMUTABLE
 SET search_path = ''
AS $function$
-- Production's function (the names of the fields of new_row whose value differs in old_row,
-- synced_at and updated_at left out; NULL rows: none), answering a row that is not a JSON object
-- with INVALID_ARGUMENT instead of jsonb_object_keys' raw 22023.
DECLARE
  changed TEXT[] := ARRAY[]::TEXT[];
  field TEXT;
BEGIN
  IF old_row IS NULL OR new_row IS NULL THEN
    RETURN changed;
  END IF;
  IF jsonb_typeof(old_row) <> 'object' OR jsonb_typeof(new_row) <> 'object' THEN
    -- mockbook's error contract (docs/rpc.md, Errors), raised here: service_role, which runs
    -- this function, cannot call mockbook_internal.raise_error
    RAISE EXCEPTION USING ERRCODE = 'PT400', MESSAGE = 'INVALID_ARGUMENT',
      DETAIL = format('old_row and new_row must be JSON objects (rows as to_jsonb makes them), '
                      'not %s and %s.', jsonb_typeof(old_row), jsonb_typeof(new_row)),
      HINT = 'Correct the named argument and call again.';
  END IF;

  FOR field IN SELECT jsonb_object_keys(new_row)
  LOOP
    IF field NOT IN ('synced_at', 'updated_at') THEN
      IF old_row->field IS DISTINCT FROM new_row->field THEN
        changed := array_append(changed, field);
      END IF;
    END IF;
  END LOOP;

  RETURN changed;
END;
$function$
;

REVOKE ALL ON FUNCTION hubspot_sync.get_changed_fields(jsonb, jsonb) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.get_changed_fields(jsonb, jsonb) TO service_role;
COMMENT ON FUNCTION hubspot_sync.get_changed_fields(jsonb, jsonb) IS
'Production function: the fields of new_row whose value differs in old_row (synced_at, updated_at left out). Errors: INVALID_ARGUMENT (a row that is not a JSON object).';

