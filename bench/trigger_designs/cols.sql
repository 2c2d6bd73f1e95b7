-- bench only (bench/trigger_micro.py, bench/trigger_ab.py --sql cols=...): the trigger study's
-- "compare the columns directly" candidate for record_row_change. UPDATE: the changed columns are
-- found with NEW.col IS DISTINCT FROM OLD.col per table (no jsonb_each pass), the values taken
-- from to_jsonb(NEW)/to_jsonb(OLD), which the outbox row needs anyway, and a bookkeeping-only
-- update returns before any jsonb is built; INSERT: the non-NULL columns listed from NEW
-- directly; DELETE: as db/triggers/row_change.sql. Writes the same rows as row_change.sql.
-- Column lists: the tables' columns less synced_at, hubspot_last_sync_at, updated_at.
CREATE OR REPLACE FUNCTION hubspot_sync.bench_cols()
RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path = ''
AS $$
DECLARE
    v_queue constant boolean :=
        coalesce(current_setting('mockbook.origin', true), '') NOT IN ('hubspot', 'sync');
    v_old jsonb;
    v_new jsonb;
    v_fields text[];
    v_claims constant jsonb := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
    v_actor constant text := nullif(current_setting('mockbook.actor', true), '');
    v_who constant text := coalesce(
        CASE WHEN v_claims ?| ARRAY['sub', 'email'] THEN mockbook_internal.request_actor(v_actor) END,
        v_actor, nullif(v_claims ->> 'role', ''), current_user);
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF TG_TABLE_NAME = 'hubspot_contact_credits' THEN
            v_fields := ARRAY[
                CASE WHEN NEW.created_at IS DISTINCT FROM OLD.created_at THEN 'created_at' END,
                CASE WHEN NEW.cs_credits IS DISTINCT FROM OLD.cs_credits THEN 'cs_credits' END,
                CASE WHEN NEW.email IS DISTINCT FROM OLD.email THEN 'email' END,
                CASE WHEN NEW.firstname IS DISTINCT FROM OLD.firstname THEN 'firstname' END,
                CASE WHEN NEW.hubspot_id IS DISTINCT FROM OLD.hubspot_id THEN 'hubspot_id' END,
                CASE WHEN NEW.id IS DISTINCT FROM OLD.id THEN 'id' END,
                CASE WHEN NEW.lastname IS DISTINCT FROM OLD.lastname THEN 'lastname' END,
                CASE WHEN NEW.mock_discussion_token IS DISTINCT FROM OLD.mock_discussion_token THEN 'mock_discussion_token' END,
                CASE WHEN NEW.ndecc_exam_date IS DISTINCT FROM OLD.ndecc_exam_date THEN 'ndecc_exam_date' END,
                CASE WHEN NEW.shared_mock_credits IS DISTINCT FROM OLD.shared_mock_credits THEN 'shared_mock_credits' END,
                CASE WHEN NEW.sj_credits IS DISTINCT FROM OLD.sj_credits THEN 'sj_credits' END,
                CASE WHEN NEW.sjmini_credits IS DISTINCT FROM OLD.sjmini_credits THEN 'sjmini_credits' END,
                CASE WHEN NEW.student_id IS DISTINCT FROM OLD.student_id THEN 'student_id' END];
        ELSIF TG_TABLE_NAME = 'hubspot_mock_exams' THEN
            v_fields := ARRAY[
                CASE WHEN NEW.capacity IS DISTINCT FROM OLD.capacity THEN 'capacity' END,
                CASE WHEN NEW.created_at IS DISTINCT FROM OLD.created_at THEN 'created_at' END,
                CASE WHEN NEW.end_time IS DISTINCT FROM OLD.end_time THEN 'end_time' END,
                CASE WHEN NEW.exam_date IS DISTINCT FROM OLD.exam_date THEN 'exam_date' END,
                CASE WHEN NEW.hubspot_id IS DISTINCT FROM OLD.hubspot_id THEN 'hubspot_id' END,
                CASE WHEN NEW.id IS DISTINCT FROM OLD.id THEN 'id' END,
                CASE WHEN NEW.is_active IS DISTINCT FROM OLD.is_active THEN 'is_active' END,
                CASE WHEN NEW.location IS DISTINCT FROM OLD.location THEN 'location' END,
                CASE WHEN NEW.mock_exam_name IS DISTINCT FROM OLD.mock_exam_name THEN 'mock_exam_name' END,
                CASE WHEN NEW.mock_set IS DISTINCT FROM OLD.mock_set THEN 'mock_set' END,
                CASE WHEN NEW.mock_type IS DISTINCT FROM OLD.mock_type THEN 'mock_type' END,
                CASE WHEN NEW.prerequisite_exam_ids IS DISTINCT FROM OLD.prerequisite_exam_ids THEN 'prerequisite_exam_ids' END,
                CASE WHEN NEW.scheduled_activation_datetime IS DISTINCT FROM OLD.scheduled_activation_datetime THEN 'scheduled_activation_datetime' END,
                CASE WHEN NEW.start_time IS DISTINCT FROM OLD.start_time THEN 'start_time' END,
                CASE WHEN NEW.total_bookings IS DISTINCT FROM OLD.total_bookings THEN 'total_bookings' END];
        ELSIF TG_TABLE_NAME = 'hubspot_bookings' THEN
            v_fields := ARRAY[
                CASE WHEN NEW.associated_contact_id IS DISTINCT FROM OLD.associated_contact_id THEN 'associated_contact_id' END,
                CASE WHEN NEW.associated_mock_exam IS DISTINCT FROM OLD.associated_mock_exam THEN 'associated_mock_exam' END,
                CASE WHEN NEW.attendance IS DISTINCT FROM OLD.attendance THEN 'attendance' END,
                CASE WHEN NEW.attending_location IS DISTINCT FROM OLD.attending_location THEN 'attending_location' END,
                CASE WHEN NEW.booking_id IS DISTINCT FROM OLD.booking_id THEN 'booking_id' END,
                CASE WHEN NEW.created_at IS DISTINCT FROM OLD.created_at THEN 'created_at' END,
                CASE WHEN NEW.dominant_hand IS DISTINCT FROM OLD.dominant_hand THEN 'dominant_hand' END,
                CASE WHEN NEW.end_time IS DISTINCT FROM OLD.end_time THEN 'end_time' END,
                CASE WHEN NEW.exam_date IS DISTINCT FROM OLD.exam_date THEN 'exam_date' END,
                CASE WHEN NEW.hubspot_id IS DISTINCT FROM OLD.hubspot_id THEN 'hubspot_id' END,
                CASE WHEN NEW.id IS DISTINCT FROM OLD.id THEN 'id' END,
                CASE WHEN NEW.idempotency_fingerprint IS DISTINCT FROM OLD.idempotency_fingerprint THEN 'idempotency_fingerprint' END,
                CASE WHEN NEW.idempotency_key IS DISTINCT FROM OLD.idempotency_key THEN 'idempotency_key' END,
                CASE WHEN NEW.is_active IS DISTINCT FROM OLD.is_active THEN 'is_active' END,
                CASE WHEN NEW.legacy_booking_id IS DISTINCT FROM OLD.legacy_booking_id THEN 'legacy_booking_id' END,
                CASE WHEN NEW.mock_set IS DISTINCT FROM OLD.mock_set THEN 'mock_set' END,
                CASE WHEN NEW.mock_type IS DISTINCT FROM OLD.mock_type THEN 'mock_type' END,
                CASE WHEN NEW.name IS DISTINCT FROM OLD.name THEN 'name' END,
                CASE WHEN NEW.ndecc_exam_date IS DISTINCT FROM OLD.ndecc_exam_date THEN 'ndecc_exam_date' END,
                CASE WHEN NEW.start_time IS DISTINCT FROM OLD.start_time THEN 'start_time' END,
                CASE WHEN NEW.student_email IS DISTINCT FROM OLD.student_email THEN 'student_email' END,
                CASE WHEN NEW.student_id IS DISTINCT FROM OLD.student_id THEN 'student_id' END,
                CASE WHEN NEW.token_refund_admin IS DISTINCT FROM OLD.token_refund_admin THEN 'token_refund_admin' END,
                CASE WHEN NEW.token_refunded IS DISTINCT FROM OLD.token_refunded THEN 'token_refunded' END,
                CASE WHEN NEW.token_refunded_at IS DISTINCT FROM OLD.token_refunded_at THEN 'token_refunded_at' END,
                CASE WHEN NEW.token_used IS DISTINCT FROM OLD.token_used THEN 'token_used' END];
        ELSE
            RAISE EXCEPTION 'record_row_change: no column list for table %', TG_TABLE_NAME;
        END IF;
        v_fields := array_remove(v_fields, NULL);
        IF cardinality(v_fields) = 0 THEN
            RETURN NULL;
        END IF;
        v_new := to_jsonb(NEW);
        v_old := to_jsonb(OLD);
        WITH diff AS (
            SELECT jsonb_agg(k.key ORDER BY k.key) AS fields,
                   jsonb_object_agg(k.key, v_old -> k.key) AS old_values,
                   jsonb_object_agg(k.key, v_new -> k.key) AS new_values
            FROM unnest(v_fields) AS k(key)
        ), queued AS (
            INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, old_data,
                                                 new_data)
            SELECT TG_TABLE_NAME, NEW.id, TG_OP, v_old, v_new
            WHERE v_queue
        )
        INSERT INTO hubspot_sync.supabase_audit_log (
            table_name, record_id, record_hubspot_id, operation, changed_fields, old_values,
            new_values, performed_by, performed_at)
        SELECT TG_TABLE_NAME, NEW.id, NEW.hubspot_id, TG_OP, d.fields, d.old_values,
               d.new_values, v_who, now()
        FROM diff AS d;
    ELSIF TG_OP = 'INSERT' THEN
        IF TG_TABLE_NAME = 'hubspot_contact_credits' THEN
        v_fields := ARRAY[
        CASE WHEN NEW.created_at IS NOT NULL THEN 'created_at' END,
        CASE WHEN NEW.cs_credits IS NOT NULL THEN 'cs_credits' END,
        CASE WHEN NEW.email IS NOT NULL THEN 'email' END,
        CASE WHEN NEW.firstname IS NOT NULL THEN 'firstname' END,
        CASE WHEN NEW.hubspot_id IS NOT NULL THEN 'hubspot_id' END,
        CASE WHEN NEW.id IS NOT NULL THEN 'id' END,
        CASE WHEN NEW.lastname IS NOT NULL THEN 'lastname' END,
        CASE WHEN NEW.mock_discussion_token IS NOT NULL THEN 'mock_discussion_token' END,
        CASE WHEN NEW.ndecc_exam_date IS NOT NULL THEN 'ndecc_exam_date' END,
        CASE WHEN NEW.shared_mock_credits IS NOT NULL THEN 'shared_mock_credits' END,
        CASE WHEN NEW.sj_credits IS NOT NULL THEN 'sj_credits' END,
        CASE WHEN NEW.sjmini_credits IS NOT NULL THEN 'sjmini_credits' END,
        CASE WHEN NEW.student_id IS NOT NULL THEN 'student_id' END];
    ELSIF TG_TABLE_NAME = 'hubspot_mock_exams' THEN
        v_fields := ARRAY[
        CASE WHEN NEW.capacity IS NOT NULL THEN 'capacity' END,
        CASE WHEN NEW.created_at IS NOT NULL THEN 'created_at' END,
        CASE WHEN NEW.end_time IS NOT NULL THEN 'end_time' END,
        CASE WHEN NEW.exam_date IS NOT NULL THEN 'exam_date' END,
        CASE WHEN NEW.hubspot_id IS NOT NULL THEN 'hubspot_id' END,
        CASE WHEN NEW.id IS NOT NULL THEN 'id' END,
        CASE WHEN NEW.is_active IS NOT NULL THEN 'is_active' END,
        CASE WHEN NEW.location IS NOT NULL THEN 'location' END,
        CASE WHEN NEW.mock_exam_name IS NOT NULL THEN 'mock_exam_name' END,
        CASE WHEN NEW.mock_set IS NOT NULL THEN 'mock_set' END,
        CASE WHEN NEW.mock_type IS NOT NULL THEN 'mock_type' END,
        CASE WHEN NEW.prerequisite_exam_ids IS NOT NULL THEN 'prerequisite_exam_ids' END,
        CASE WHEN NEW.scheduled_activation_datetime IS NOT NULL THEN 'scheduled_activation_datetime' END,
        CASE WHEN NEW.start_time IS NOT NULL THEN 'start_time' END,
        CASE WHEN NEW.total_bookings IS NOT NULL THEN 'total_bookings' END];
    ELSIF TG_TABLE_NAME = 'hubspot_bookings' THEN
        v_fields := ARRAY[
        CASE WHEN NEW.associated_contact_id IS NOT NULL THEN 'associated_contact_id' END,
        CASE WHEN NEW.associated_mock_exam IS NOT NULL THEN 'associated_mock_exam' END,
        CASE WHEN NEW.attendance IS NOT NULL THEN 'attendance' END,
        CASE WHEN NEW.attending_location IS NOT NULL THEN 'attending_location' END,
        CASE WHEN NEW.booking_id IS NOT NULL THEN 'booking_id' END,
        CASE WHEN NEW.created_at IS NOT NULL THEN 'created_at' END,
        CASE WHEN NEW.dominant_hand IS NOT NULL THEN 'dominant_hand' END,
        CASE WHEN NEW.end_time IS NOT NULL THEN 'end_time' END,
        CASE WHEN NEW.exam_date IS NOT NULL THEN 'exam_date' END,
        CASE WHEN NEW.hubspot_id IS NOT NULL THEN 'hubspot_id' END,
        CASE WHEN NEW.id IS NOT NULL THEN 'id' END,
        CASE WHEN NEW.idempotency_fingerprint IS NOT NULL THEN 'idempotency_fingerprint' END,
        CASE WHEN NEW.idempotency_key IS NOT NULL THEN 'idempotency_key' END,
        CASE WHEN NEW.is_active IS NOT NULL THEN 'is_active' END,
        CASE WHEN NEW.legacy_booking_id IS NOT NULL THEN 'legacy_booking_id' END,
        CASE WHEN NEW.mock_set IS NOT NULL THEN 'mock_set' END,
        CASE WHEN NEW.mock_type IS NOT NULL THEN 'mock_type' END,
        CASE WHEN NEW.name IS NOT NULL THEN 'name' END,
        CASE WHEN NEW.ndecc_exam_date IS NOT NULL THEN 'ndecc_exam_date' END,
        CASE WHEN NEW.start_time IS NOT NULL THEN 'start_time' END,
        CASE WHEN NEW.student_email IS NOT NULL THEN 'student_email' END,
        CASE WHEN NEW.student_id IS NOT NULL THEN 'student_id' END,
        CASE WHEN NEW.token_refund_admin IS NOT NULL THEN 'token_refund_admin' END,
        CASE WHEN NEW.token_refunded IS NOT NULL THEN 'token_refunded' END,
        CASE WHEN NEW.token_refunded_at IS NOT NULL THEN 'token_refunded_at' END,
        CASE WHEN NEW.token_used IS NOT NULL THEN 'token_used' END];
    ELSE
        RAISE EXCEPTION 'record_row_change: no column list for table %', TG_TABLE_NAME;
    END IF;
        v_new := to_jsonb(NEW);
        WITH queued AS (
            INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, old_data,
                                                 new_data)
            SELECT TG_TABLE_NAME, NEW.id, TG_OP, NULL, v_new
            WHERE v_queue
        )
        INSERT INTO hubspot_sync.supabase_audit_log (
            table_name, record_id, record_hubspot_id, operation, changed_fields, old_values,
            new_values, performed_by, performed_at)
        SELECT TG_TABLE_NAME, NEW.id, NEW.hubspot_id, TG_OP,
               coalesce((SELECT jsonb_agg(k.key ORDER BY k.key)
                         FROM unnest(v_fields) AS k(key) WHERE k.key IS NOT NULL), '[]'::jsonb),
               NULL, v_new, v_who, now();
    ELSE
        v_old := to_jsonb(OLD);
        WITH queued AS (
            INSERT INTO hubspot_sync.sync_queue (table_name, record_id, operation, old_data,
                                                 new_data)
            SELECT TG_TABLE_NAME, OLD.id, TG_OP, v_old, NULL
            WHERE v_queue
        )
        INSERT INTO hubspot_sync.supabase_audit_log (
            table_name, record_id, record_hubspot_id, operation, changed_fields, old_values,
            new_values, performed_by, performed_at)
        SELECT TG_TABLE_NAME, OLD.id, OLD.hubspot_id, TG_OP,
               coalesce(jsonb_agg(k.key ORDER BY k.key), '[]'::jsonb), v_old, NULL, v_who, now()
        FROM jsonb_object_keys(jsonb_strip_nulls(v_old)
                               - ARRAY['synced_at', 'hubspot_last_sync_at', 'updated_at'])
             AS k(key);
    END IF;
    RETURN NULL;
END
$$;
