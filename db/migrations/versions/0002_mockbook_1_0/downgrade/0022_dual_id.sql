-- Frozen: back to the production tables (hand-written; the reverse of upgrade/01_dual_id.sql).
-- Column types return to production's, value for value; the dropped production audit triggers and
-- their functions are recreated from the production dump; the pinned production functions get
-- their search_path and PUBLIC EXECUTE back. The adoption report goes with the rest of mockbook.
SET lock_timeout = '5s';
SET check_function_bodies = off;
DROP TABLE IF EXISTS hubspot_sync.supabase_audit_log;
ALTER TABLE hubspot_sync.hubspot_bookings DROP COLUMN IF EXISTS legacy_booking_id;
ALTER TABLE hubspot_sync.hubspot_contact_credits DROP CONSTRAINT IF EXISTS hubspot_contact_credits_id_key;

ALTER TABLE hubspot_sync.sync_metadata
    DROP COLUMN IF EXISTS last_sync_status,
    DROP COLUMN IF EXISTS records_synced,
    DROP COLUMN IF EXISTS error_message,
    ALTER COLUMN last_sync_timestamp TYPE bigint
        USING coalesce(round(extract(epoch FROM last_sync_timestamp) * 1000), 0)::bigint,
    ALTER COLUMN last_sync_timestamp SET NOT NULL,
    ALTER COLUMN created_at TYPE timestamp USING created_at AT TIME ZONE 'UTC',
    ALTER COLUMN updated_at TYPE timestamp USING updated_at AT TIME ZONE 'UTC';
ALTER TABLE hubspot_sync.hubspot_bookings
    ALTER COLUMN exam_date TYPE timestamptz USING exam_date::timestamp AT TIME ZONE 'UTC',
    ALTER COLUMN token_refunded DROP DEFAULT,
    ALTER COLUMN token_refunded TYPE text USING token_refunded::text,
    ALTER COLUMN ndecc_exam_date TYPE date USING nullif(btrim(ndecc_exam_date), '')::date,
    ALTER COLUMN created_at DROP DEFAULT,
    ALTER COLUMN created_at TYPE timestamp USING created_at AT TIME ZONE 'UTC',
    ALTER COLUMN updated_at DROP DEFAULT,
    ALTER COLUMN updated_at TYPE timestamp USING updated_at AT TIME ZONE 'UTC',
    ALTER COLUMN synced_at TYPE timestamp USING synced_at AT TIME ZONE 'UTC';
ALTER TABLE hubspot_sync.hubspot_mock_exams
    ALTER COLUMN exam_date TYPE timestamp USING exam_date::timestamp,
    ALTER COLUMN created_at DROP DEFAULT,
    ALTER COLUMN created_at TYPE timestamp USING created_at AT TIME ZONE 'UTC',
    ALTER COLUMN updated_at DROP DEFAULT,
    ALTER COLUMN updated_at TYPE timestamp USING updated_at AT TIME ZONE 'UTC',
    ALTER COLUMN synced_at TYPE timestamp USING synced_at AT TIME ZONE 'UTC';
ALTER TABLE hubspot_sync.hubspot_contact_credits
    ALTER COLUMN created_at TYPE timestamp USING created_at AT TIME ZONE 'UTC',
    ALTER COLUMN updated_at TYPE timestamp USING updated_at AT TIME ZONE 'UTC',
    ALTER COLUMN synced_at TYPE timestamp USING synced_at AT TIME ZONE 'UTC';
ALTER TYPE hubspot_sync.mock_set_letter RENAME TO mock_set_enum;

DO $$
DECLARE
    r record;
    g record;
BEGIN
    FOR r IN
        SELECT p.oid::regprocedure::text AS fn, a.old_value AS acl
        FROM pg_catalog.pg_proc p
        JOIN hubspot_sync.adoption_report a
          ON a.revision = '0002_mockbook_1_0' AND a.object = p.oid::regprocedure::text
         AND a.action LIKE 'pinned search_path%'
        WHERE p.pronamespace = 'hubspot_sync'::regnamespace
    LOOP
        EXECUTE format('ALTER FUNCTION %s RESET search_path', r.fn);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM service_role', r.fn);
        IF r.acl IS NULL THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO PUBLIC', r.fn);
        ELSE
            FOR g IN SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                                 ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS who
                     FROM aclexplode(r.acl::aclitem[]) AS a
                     WHERE a.grantee <> a.grantor LOOP
                EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %s', r.fn, g.who);
            END LOOP;
        END IF;
        EXECUTE format('COMMENT ON FUNCTION %s IS NULL', r.fn);
    END LOOP;
END
$$;

-- the production audit trigger functions and triggers, verbatim from the dump
CREATE OR REPLACE FUNCTION hubspot_sync.log_booking_changes()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
  old_json JSONB;
  new_json JSONB;
  changed_fields TEXT[];
BEGIN
  -- Convert rows to JSONB
  IF TG_OP = 'DELETE' THEN
    old_json := to_jsonb(OLD);
    new_json := NULL;
  ELSIF TG_OP = 'INSERT' THEN
    old_json := NULL;
    new_json := to_jsonb(NEW);
  ELSE -- UPDATE
    old_json := to_jsonb(OLD);
    new_json := to_jsonb(NEW);
    changed_fields := hubspot_sync.get_changed_fields(old_json, new_json);
  END IF;

  -- Insert audit record with new columns
  INSERT INTO hubspot_sync.audit_log (
    table_name,
    operation,
    record_id,
    performed_by,
    old_values,
    new_values,
    changed_fields
  ) VALUES (
    'hubspot_bookings',
    TG_OP,
    COALESCE(NEW.hubspot_id, OLD.hubspot_id),
    current_user,
    old_json,
    new_json,
    changed_fields
  );

  RETURN COALESCE(NEW, OLD);
END;
$function$
;

CREATE OR REPLACE FUNCTION hubspot_sync.log_contact_credits_changes()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
  old_json JSONB;
  new_json JSONB;
  changed_fields TEXT[];
BEGIN
  IF TG_OP = 'DELETE' THEN
    old_json := to_jsonb(OLD);
    new_json := NULL;
  ELSIF TG_OP = 'INSERT' THEN
    old_json := NULL;
    new_json := to_jsonb(NEW);
  ELSE -- UPDATE
    old_json := to_jsonb(OLD);
    new_json := to_jsonb(NEW);
    changed_fields := hubspot_sync.get_changed_fields(old_json, new_json);
  END IF;

  INSERT INTO hubspot_sync.audit_log (
    table_name,
    operation,
    record_id,
    performed_by,
    old_values,
    new_values,
    changed_fields
  ) VALUES (
    'hubspot_contact_credits',
    TG_OP,
    COALESCE(NEW.hubspot_id, OLD.hubspot_id),
    current_user,
    old_json,
    new_json,
    changed_fields
  );

  RETURN COALESCE(NEW, OLD);
END;
$function$
;

CREATE OR REPLACE FUNCTION hubspot_sync.log_exam_changes()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
  old_json JSONB;
  new_json JSONB;
  changed_fields TEXT[];
BEGIN
  IF TG_OP = 'DELETE' THEN
    old_json := to_jsonb(OLD);
    new_json := NULL;
  ELSIF TG_OP = 'INSERT' THEN
    old_json := NULL;
    new_json := to_jsonb(NEW);
  ELSE -- UPDATE
    old_json := to_jsonb(OLD);
    new_json := to_jsonb(NEW);
    changed_fields := hubspot_sync.get_changed_fields(old_json, new_json);
  END IF;

  INSERT INTO hubspot_sync.audit_log (
    table_name,
    operation,
    record_id,
    performed_by,
    old_values,
    new_values,
    changed_fields
  ) VALUES (
    'hubspot_mock_exams',
    TG_OP,
    COALESCE(NEW.hubspot_id, OLD.hubspot_id),
    current_user,
    old_json,
    new_json,
    changed_fields
  );

  RETURN COALESCE(NEW, OLD);
END;
$function$
;

CREATE TRIGGER bookings_audit_trigger AFTER INSERT OR DELETE OR UPDATE ON hubspot_sync.hubspot_bookings FOR EACH ROW EXECUTE FUNCTION hubspot_sync.log_booking_changes();

CREATE TRIGGER contact_credits_audit_trigger AFTER INSERT OR DELETE OR UPDATE ON hubspot_sync.hubspot_contact_credits FOR EACH ROW EXECUTE FUNCTION hubspot_sync.log_contact_credits_changes();

CREATE TRIGGER exams_audit_trigger AFTER INSERT OR DELETE OR UPDATE ON hubspot_sync.hubspot_mock_exams FOR EACH ROW EXECUTE FUNCTION hubspot_sync.log_exam_changes();

DROP TABLE hubspot_sync.adoption_report;
