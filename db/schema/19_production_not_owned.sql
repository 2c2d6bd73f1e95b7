-- Tables and functions of the production hubspot_sync schema that mockbook does not own (the
-- admin app's audit log, groups, instructors and work checks): created by revision
-- 0001_baseline exactly as the production dump has them (tests/fixtures/production/), and left as
-- they are, except that the production functions mockbook does not replace are pinned
-- (search_path '') and executable by service_role only.
-- Privileges: service_role only (no grants to anon or authenticated, no policies TO public).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'zapier_sync_user') THEN
        CREATE ROLE zapier_sync_user NOLOGIN;
    END IF;
END
$$;

CREATE TABLE "hubspot_sync"."audit_log" (
  "id" uuid DEFAULT gen_random_uuid() NOT NULL,
  "table_name" text NOT NULL,
  "operation" text NOT NULL,
  "record_id" text,
  "performed_at" timestamp without time zone DEFAULT now(),
  "performed_by" text,
  "old_values" jsonb,
  "new_values" jsonb,
  "changed_fields" text[],
  PRIMARY KEY ("id")
);

CREATE TABLE "hubspot_sync"."groups" (
  "id" uuid DEFAULT gen_random_uuid() NOT NULL,
  "group_id" character varying(50) NOT NULL,
  "group_name" character varying(100) NOT NULL,
  "time_period" character varying(10) NOT NULL,
  "start_date" date NOT NULL,
  "end_date" date,
  "max_capacity" integer DEFAULT 20,
  "status" character varying(20) DEFAULT 'active'::character varying,
  "created_at" timestamp with time zone DEFAULT now(),
  "updated_at" timestamp with time zone DEFAULT now(),
  "location" text DEFAULT 'Mississauga'::text NOT NULL,
  "cycle" text,
  "phase" text DEFAULT 'Learning'::text,
  PRIMARY KEY ("id"),
  CONSTRAINT "groups_group_id_key" UNIQUE ("group_id")
);

CREATE TABLE "hubspot_sync"."instructors" (
  "id" uuid DEFAULT gen_random_uuid() NOT NULL,
  "instructor_name" character varying(100) NOT NULL,
  "email" character varying(255) NOT NULL,
  "is_active" boolean DEFAULT true,
  "auth_user_id" uuid,
  "created_at" timestamp with time zone DEFAULT now(),
  "updated_at" timestamp with time zone DEFAULT now(),
  PRIMARY KEY ("id"),
  CONSTRAINT "instructors_email_key" UNIQUE ("email")
);

CREATE TABLE "hubspot_sync"."groups_instructors" (
  "id" uuid DEFAULT gen_random_uuid() NOT NULL,
  "group_id" character varying(50) NOT NULL,
  "instructor_id" uuid NOT NULL,
  "status" text DEFAULT 'active'::text NOT NULL,
  "created_at" timestamp with time zone DEFAULT now() NOT NULL,
  "updated_at" timestamp with time zone DEFAULT now() NOT NULL,
  "assigned_date" date NOT NULL,
  PRIMARY KEY ("id"),
  CONSTRAINT "groups_instructors_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "hubspot_sync"."groups"("group_id"),
  CONSTRAINT "groups_instructors_instructor_id_fkey" FOREIGN KEY ("instructor_id") REFERENCES "hubspot_sync"."instructors"("id"),
  CONSTRAINT "unique_group_instructor_date" UNIQUE ("group_id", "instructor_id", "assigned_date")
);

CREATE TABLE "hubspot_sync"."groups_students" (
  "id" uuid DEFAULT gen_random_uuid() NOT NULL,
  "group_id" character varying(50) NOT NULL,
  "student_id" text NOT NULL,
  "status" character varying(20) DEFAULT 'active'::character varying,
  "enrolled_at" timestamp with time zone DEFAULT now(),
  "updated_at" timestamp with time zone DEFAULT now(),
  PRIMARY KEY ("id"),
  CONSTRAINT "groups_students_group_id_fkey" FOREIGN KEY ("group_id") REFERENCES "hubspot_sync"."groups"("group_id"),
  CONSTRAINT "groups_students_student_id_fkey" FOREIGN KEY ("student_id") REFERENCES "hubspot_sync"."hubspot_contact_credits"("student_id"),
  CONSTRAINT "unique_group_student" UNIQUE ("group_id", "student_id")
);

CREATE TABLE "hubspot_sync"."work_check_slots" (
  "id" uuid DEFAULT gen_random_uuid() NOT NULL,
  "instructor_id" uuid NOT NULL,
  "group_id" varchar[] NOT NULL,
  "slot_date" date NOT NULL,
  "slot_time" time without time zone NOT NULL,
  "duration_minutes" integer DEFAULT 30 NOT NULL,
  "total_slots" integer DEFAULT 1 NOT NULL,
  "location" character varying(255),
  "is_active" boolean DEFAULT true,
  "available_from" timestamp with time zone,
  "created_at" timestamp with time zone DEFAULT now(),
  "updated_at" timestamp with time zone DEFAULT now(),
  "auto_approve" boolean DEFAULT true NOT NULL,
  PRIMARY KEY ("id"),
  CONSTRAINT "work_check_slots_instructor_id_fkey" FOREIGN KEY ("instructor_id") REFERENCES "hubspot_sync"."instructors"("id"),
  CONSTRAINT "unique_slot" UNIQUE ("instructor_id", "group_id", "slot_date", "slot_time")
);

CREATE TABLE "hubspot_sync"."work_check_bookings" (
  "id" uuid DEFAULT gen_random_uuid() NOT NULL,
  "slot_id" uuid NOT NULL,
  "student_id" text NOT NULL,
  "status" character varying(20) DEFAULT 'pending'::character varying NOT NULL,
  "created_at" timestamp with time zone DEFAULT now(),
  "confirmed_at" timestamp with time zone,
  "cancelled_at" timestamp with time zone,
  "type" text DEFAULT 'Work Check'::text,
  "marked_at" timestamp with time zone,
  "seat" smallint,
  "lab" text,
  PRIMARY KEY ("id"),
  CONSTRAINT "work_check_bookings_slot_id_fkey" FOREIGN KEY ("slot_id") REFERENCES "hubspot_sync"."work_check_slots"("id"),
  CONSTRAINT "work_check_bookings_student_id_fkey" FOREIGN KEY ("student_id") REFERENCES "hubspot_sync"."hubspot_contact_credits"("student_id")
);

-- indexes
CREATE INDEX idx_groups_start_date ON hubspot_sync.groups USING btree (start_date);
CREATE INDEX idx_groups_status ON hubspot_sync.groups USING btree (status);
CREATE INDEX idx_groups_instructors_group_id ON hubspot_sync.groups_instructors USING btree (group_id);
CREATE INDEX idx_groups_instructors_group_status ON hubspot_sync.groups_instructors USING btree (group_id, status);
CREATE INDEX idx_groups_instructors_instructor_id ON hubspot_sync.groups_instructors USING btree (instructor_id);
CREATE INDEX idx_groups_instructors_status ON hubspot_sync.groups_instructors USING btree (status);
CREATE INDEX idx_gs_group ON hubspot_sync.groups_students USING btree (group_id);
CREATE INDEX idx_gs_student ON hubspot_sync.groups_students USING btree (student_id);
CREATE INDEX idx_instructors_auth_user_id ON hubspot_sync.instructors USING btree (auth_user_id);
CREATE INDEX idx_instructors_email ON hubspot_sync.instructors USING btree (email);
CREATE INDEX idx_instructors_is_active ON hubspot_sync.instructors USING btree (is_active);
CREATE INDEX idx_wcb_slot ON hubspot_sync.work_check_bookings USING btree (slot_id);
CREATE INDEX idx_wcb_status ON hubspot_sync.work_check_bookings USING btree (status);
CREATE INDEX idx_wcb_student ON hubspot_sync.work_check_bookings USING btree (student_id);
CREATE UNIQUE INDEX unique_active_booking ON hubspot_sync.work_check_bookings USING btree (slot_id, student_id) WHERE ((status)::text = ANY ((ARRAY['pending'::character varying, 'confirmed'::character varying, 'marked'::character varying, 'completed'::character varying])::text[]));
CREATE INDEX idx_wcs_date ON hubspot_sync.work_check_slots USING btree (slot_date);
CREATE INDEX idx_wcs_group ON hubspot_sync.work_check_slots USING gin (group_id);
CREATE INDEX idx_wcs_instructor ON hubspot_sync.work_check_slots USING btree (instructor_id);

-- functions (production's, pinned and revoked)
SET check_function_bodies = off;

-- Production's get_booking_aggregates and get_booking_aggregates_count read
-- hubspot_sync.booking_details_view, which the production dump lacks: on a database without it
-- (a new one) every call would fail with 42P01, so the migrations drop them there (one
-- adoption_report row each) and keep them where the view exists.

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

CREATE OR REPLACE FUNCTION hubspot_sync.update_exam_prerequisites(p_exam_id text, p_add_ids text[] DEFAULT '{}'::text[], p_remove_ids text[] DEFAULT '{}'::text[])
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
  v_result TEXT[];
  v_previous TEXT[];
  v_added_count INTEGER := 0;
  v_removed_count INTEGER := 0;
BEGIN
  -- Get current prerequisites for logging
  SELECT COALESCE(prerequisite_exam_ids, '{}')
  INTO v_previous
  FROM hubspot_sync.hubspot_mock_exams
  WHERE hubspot_id = p_exam_id;

  IF NOT FOUND THEN
    RAISE EXCEPTION 'Exam % not found in Supabase', p_exam_id;
  END IF;

  -- Perform atomic update with add and remove operations
  UPDATE hubspot_sync.hubspot_mock_exams
  SET
    prerequisite_exam_ids = (
      SELECT COALESCE(array_agg(DISTINCT elem ORDER BY elem), '{}')
      FROM (
        -- Start with existing prerequisites
        SELECT unnest(COALESCE(prerequisite_exam_ids, '{}')) AS elem
        -- Exclude items being removed
        EXCEPT
        SELECT unnest(p_remove_ids)
        -- Union with items being added
        UNION
        SELECT unnest(p_add_ids)
      ) sub
      WHERE elem IS NOT NULL AND elem != ''
    ),
    updated_at = NOW()
  WHERE hubspot_id = p_exam_id
  RETURNING prerequisite_exam_ids INTO v_result;

  -- Calculate what was actually added/removed
  v_added_count := (
    SELECT COUNT(*) FROM unnest(v_result) AS elem
    WHERE elem = ANY(p_add_ids) AND NOT elem = ANY(v_previous)
  );

  v_removed_count := (
    SELECT COUNT(*) FROM unnest(v_previous) AS elem
    WHERE elem = ANY(p_remove_ids) AND NOT elem = ANY(v_result)
  );

  -- Return detailed result
  RETURN jsonb_build_object(
    'success', true,
    'exam_id', p_exam_id,
    'prerequisite_exam_ids', v_result,
    'previous_count', array_length(v_previous, 1),
    'current_count', array_length(v_result, 1),
    'added_count', v_added_count,
    'removed_count', v_removed_count,
    'requested_add', p_add_ids,
    'requested_remove', p_remove_ids
  );
END;
$function$
;

ALTER FUNCTION hubspot_sync.update_exam_prerequisites(text, text[], text[]) SET search_path = '';
REVOKE ALL ON FUNCTION hubspot_sync.update_exam_prerequisites(text, text[], text[]) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION hubspot_sync.update_exam_prerequisites(text, text[], text[]) TO service_role;
COMMENT ON FUNCTION hubspot_sync.update_exam_prerequisites(text, text[], text[]) IS
'Production function kept as it is; since mockbook''s adoption its search_path is pinned and only service_role may execute it.';

-- security
ALTER TABLE "hubspot_sync"."audit_log" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "hubspot_sync"."groups" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "hubspot_sync"."groups_instructors" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "hubspot_sync"."groups_students" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "hubspot_sync"."instructors" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "hubspot_sync"."work_check_bookings" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "hubspot_sync"."work_check_slots" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "Deny direct access to audit log" ON "hubspot_sync"."audit_log" AS PERMISSIVE FOR ALL TO anon USING (false);
CREATE POLICY "Deny anon access to groups" ON "hubspot_sync"."groups" AS PERMISSIVE FOR ALL TO anon USING (false) WITH CHECK (false);
CREATE POLICY "Deny authenticated access to groups" ON "hubspot_sync"."groups" AS PERMISSIVE FOR ALL TO authenticated USING (false) WITH CHECK (false);
CREATE POLICY "Service role has full access" ON "hubspot_sync"."groups" AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY "Deny anon access to groups_instructors" ON "hubspot_sync"."groups_instructors" AS PERMISSIVE FOR ALL TO anon USING (false) WITH CHECK (false);
CREATE POLICY "Deny authenticated access to groups_instructors" ON "hubspot_sync"."groups_instructors" AS PERMISSIVE FOR ALL TO authenticated USING (false) WITH CHECK (false);
CREATE POLICY "Service role has full access" ON "hubspot_sync"."groups_instructors" AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY "Service role has full access to groups_instructors" ON "hubspot_sync"."groups_instructors" AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY "Deny anon access to groups_students" ON "hubspot_sync"."groups_students" AS PERMISSIVE FOR ALL TO anon USING (false) WITH CHECK (false);
CREATE POLICY "Deny authenticated access to groups_students" ON "hubspot_sync"."groups_students" AS PERMISSIVE FOR ALL TO authenticated USING (false) WITH CHECK (false);
CREATE POLICY "Service role has full access" ON "hubspot_sync"."groups_students" AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY "Deny anon access to instructors" ON "hubspot_sync"."instructors" AS PERMISSIVE FOR ALL TO anon USING (false) WITH CHECK (false);
CREATE POLICY "Deny authenticated access to instructors" ON "hubspot_sync"."instructors" AS PERMISSIVE FOR ALL TO authenticated USING (false) WITH CHECK (false);
CREATE POLICY "Service role has full access" ON "hubspot_sync"."instructors" AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY "Deny anon access to work_check_bookings" ON "hubspot_sync"."work_check_bookings" AS PERMISSIVE FOR ALL TO anon USING (false) WITH CHECK (false);
CREATE POLICY "Deny authenticated access to work_check_bookings" ON "hubspot_sync"."work_check_bookings" AS PERMISSIVE FOR ALL TO authenticated USING (false) WITH CHECK (false);
CREATE POLICY "Service role has full access" ON "hubspot_sync"."work_check_bookings" AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);
CREATE POLICY "Deny anon access to work_check_slots" ON "hubspot_sync"."work_check_slots" AS PERMISSIVE FOR ALL TO anon USING (false) WITH CHECK (false);
CREATE POLICY "Deny authenticated access to work_check_slots" ON "hubspot_sync"."work_check_slots" AS PERMISSIVE FOR ALL TO authenticated USING (false) WITH CHECK (false);
CREATE POLICY "Service role has full access" ON "hubspot_sync"."work_check_slots" AS PERMISSIVE FOR ALL TO service_role USING (true) WITH CHECK (true);

-- service_role only: nothing of these tables is open to anon or authenticated (README,
-- adopting)
GRANT ALL ON TABLE hubspot_sync.audit_log, hubspot_sync.groups, hubspot_sync.instructors, hubspot_sync.groups_instructors, hubspot_sync.groups_students, hubspot_sync.work_check_slots, hubspot_sync.work_check_bookings
    TO service_role;
