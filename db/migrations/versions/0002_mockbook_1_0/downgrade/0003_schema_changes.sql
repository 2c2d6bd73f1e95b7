-- Hand-written: the reverse of upgrade/00_schema_changes.sql (db/schema/19_production_not_owned.sql
-- as it was): production's aggregate functions back where the upgrade dropped them, and
-- production's get_changed_fields.
DELETE FROM hubspot_sync.adoption_report WHERE revision = '0002_mockbook_1_0'
    AND action LIKE 'dropped production function (it reads booking\_details\_view%';
CREATE OR REPLACE FUNCTION hubspot_sync.get_booking_aggregates(p_location text DEFAULT NULL::text, p_date_from date DEFAULT NULL::date, p_date_to date DEFAULT NULL::date, p_status text DEFAULT NULL::text, p_type text DEFAULT NULL::text, p_instructor_id uuid DEFAULT NULL::uuid, p_limit integer DEFAULT 20, p_offset integer DEFAULT 0)
 RETURNS TABLE(aggregate_key text, slot_date date, slot_time time without time zone, location text, total_bookings bigint, pending_count bigint, confirmed_count bigint, marked_count bigint, completed_count bigint, rejected_count bigint, cancelled_count bigint, work_check_count bigint, demo_count bigint, supervised_count bigint, instructor_names text[], groups text[], bookings json)
 LANGUAGE plpgsql
AS $function$
    BEGIN
      RETURN QUERY
      WITH filtered_bookings AS (
        SELECT *
        FROM hubspot_sync.booking_details_view v
        WHERE (p_location IS NULL OR v.location = p_location)
          AND (p_date_from IS NULL OR v.slot_date >= p_date_from)
          AND (p_date_to IS NULL OR v.slot_date <= p_date_to)
          AND (p_status IS NULL OR v.status = p_status)
          AND (p_type IS NULL OR v.type = p_type)
          AND (p_instructor_id IS NULL OR v.instructor_id = p_instructor_id)
      ),
      unnested_groups AS (
        SELECT
          fb.booking_id,
          unnest(fb.group_id)::TEXT as single_group
        FROM filtered_bookings fb
        WHERE fb.group_id IS NOT NULL
      )
      SELECT
        fb.aggregate_key::TEXT,
        fb.slot_date,
        fb.slot_time::TIME,
        fb.location::TEXT,
        COUNT(DISTINCT fb.booking_id)::BIGINT as total_bookings,
        COUNT(DISTINCT fb.booking_id) FILTER (WHERE fb.status = 'pending')::BIGINT as pending_count,
        COUNT(DISTINCT fb.booking_id) FILTER (WHERE fb.status = 'confirmed')::BIGINT as confirmed_count,
        COUNT(DISTINCT fb.booking_id) FILTER (WHERE fb.status = 'marked')::BIGINT as marked_count,
        COUNT(DISTINCT fb.booking_id) FILTER (WHERE fb.status = 'completed')::BIGINT as completed_count,
        COUNT(DISTINCT fb.booking_id) FILTER (WHERE fb.status = 'rejected')::BIGINT as rejected_count,
        COUNT(DISTINCT fb.booking_id) FILTER (WHERE fb.status = 'cancelled')::BIGINT as cancelled_count,
        COUNT(DISTINCT fb.booking_id) FILTER (WHERE fb.type = 'Work Check')::BIGINT as work_check_count,
        COUNT(DISTINCT fb.booking_id) FILTER (WHERE fb.type = 'Demo')::BIGINT as demo_count,
        COUNT(DISTINCT fb.booking_id) FILTER (WHERE fb.type = 'Supervised Session')::BIGINT as supervised_count,
        ARRAY_AGG(DISTINCT fb.instructor_name::TEXT)::TEXT[] as instructor_names,
        COALESCE(ARRAY_AGG(DISTINCT ug.single_group) FILTER (WHERE ug.single_group IS NOT NULL), ARRAY[]::TEXT[]) as groups,
        JSON_AGG(
          DISTINCT JSONB_BUILD_OBJECT(
            'id', fb.booking_id,
            'slot_id', fb.slot_id,
            'student_id', fb.student_id,
            'student_name', CONCAT(COALESCE(fb.student_firstname, ''), ' ', COALESCE(fb.student_lastname, '')),
            'student_email', fb.student_email,
            'status', fb.status,
            'type', fb.type,
            'instructor_id', fb.instructor_id,
            'instructor_name', fb.instructor_name,
            'group_id', fb.group_id,
            'created_at', fb.created_at,
            'confirmed_at', fb.confirmed_at,
            'cancelled_at', fb.cancelled_at,
            'marked_at', fb.marked_at
          )
        )::JSON as bookings
      FROM filtered_bookings fb
      LEFT JOIN unnested_groups ug ON fb.booking_id = ug.booking_id
      GROUP BY fb.aggregate_key, fb.slot_date, fb.slot_time, fb.location
      ORDER BY fb.slot_date DESC, fb.slot_time ASC
      LIMIT p_limit OFFSET p_offset;
    END;
    $function$
;

ALTER FUNCTION hubspot_sync.get_booking_aggregates(text, date, date, text, text, uuid, integer, integer) SET search_path = '';
REVOKE ALL ON FUNCTION hubspot_sync.get_booking_aggregates(text, date, date, text, text, uuid, integer, integer) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.get_booking_aggregates(text, date, date, text, text, uuid, integer, integer) TO service_role;
COMMENT ON FUNCTION hubspot_sync.get_booking_aggregates(text, date, date, text, text, uuid, integer, integer) IS
'Production function kept as it is; since mockbook''s adoption its search_path is pinned and only service_role may execute it.';

CREATE OR REPLACE FUNCTION hubspot_sync.get_booking_aggregates_count(p_location text DEFAULT NULL::text, p_date_from date DEFAULT NULL::date, p_date_to date DEFAULT NULL::date, p_status text DEFAULT NULL::text, p_type text DEFAULT NULL::text, p_instructor_id uuid DEFAULT NULL::uuid)
 RETURNS integer
 LANGUAGE plpgsql
AS $function$
  DECLARE
    result INT;
  BEGIN
    SELECT COUNT(DISTINCT aggregate_key) INTO result
    FROM hubspot_sync.booking_details_view v
    WHERE (p_location IS NULL OR v.location = p_location)
      AND (p_date_from IS NULL OR v.slot_date >= p_date_from)
      AND (p_date_to IS NULL OR v.slot_date <= p_date_to)
      AND (p_status IS NULL OR v.status = p_status)
      AND (p_type IS NULL OR v.type = p_type)
      AND (p_instructor_id IS NULL OR v.instructor_id = p_instructor_id);

    RETURN COALESCE(result, 0);
  END;
  $function$
;

ALTER FUNCTION hubspot_sync.get_booking_aggregates_count(text, date, date, text, text, uuid) SET search_path = '';
REVOKE ALL ON FUNCTION hubspot_sync.get_booking_aggregates_count(text, date, date, text, text, uuid) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.get_booking_aggregates_count(text, date, date, text, text, uuid) TO service_role;
COMMENT ON FUNCTION hubspot_sync.get_booking_aggregates_count(text, date, date, text, text, uuid) IS
'Production function kept as it is; since mockbook''s adoption its search_path is pinned and only service_role may execute it.';

CREATE OR REPLACE FUNCTION hubspot_sync.get_changed_fields(old_row jsonb, new_row jsonb)
 RETURNS text[]
 LANGUAGE plpgsql
 IMMUTABLE
AS $function$
DECLARE
  changed TEXT[] := ARRAY[]::TEXT[];
  field TEXT;
BEGIN
  IF old_row IS NULL OR new_row IS NULL THEN
    RETURN changed;
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

ALTER FUNCTION hubspot_sync.get_changed_fields(jsonb, jsonb) SET search_path = '';
REVOKE ALL ON FUNCTION hubspot_sync.get_changed_fields(jsonb, jsonb) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.get_changed_fields(jsonb, jsonb) TO service_role;
COMMENT ON FUNCTION hubspot_sync.get_changed_fields(jsonb, jsonb) IS
'Production function kept as it is; since mockbook''s adoption its search_path is pinned and only service_role may execute it.';

