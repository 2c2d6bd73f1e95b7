-- Frozen: adopt the production tables. Hand-written (no db/ source): every statement here is
-- undone by downgrade/01_dual_id.sql, which returns the tables to the production dump's shape.
--  1. hubspot_sync.adoption_report: one row per change the upgrade makes (read it after upgrading);
--  2. the production audit triggers (which would write every change into audit_log twice, once
--     they sit beside mockbook's) are dropped with their functions; the production functions
--     mockbook does not replace are pinned (search_path '') and revoked from PUBLIC, anon and
--     authenticated (service_role keeps EXECUTE);
--  3. rows whose production column values do not convert exactly to mockbook's types are
--     listed and nothing changes (the dry run, `mockbook migrate --check`, lists the same rows);
--  4. production's column types become mockbook's, value for value: timestamp -> timestamptz
--     (production's timestamps are UTC, the Supabase server time zone), exam_date -> date
--     (midnight, as the original app writes it), token_refunded 'true'/'false' -> boolean,
--     bookings.ndecc_exam_date date -> text 'YYYY-MM-DD', sync_metadata.last_sync_timestamp epoch
--     milliseconds -> timestamptz; mock_set_enum is renamed mock_set_letter;
--  5. contacts get UNIQUE (id) beside production's PRIMARY KEY (id, student_id), so that ledger
--     rows can reference a contact by id; dual-id: hubspot_id is nullable (it already is in
--     production), hubspot_last_sync_at (already there) and the mockbook audit log table.
SET lock_timeout = '5s';

-- 1. the report ---------------------------------------------------------------------------------
CREATE TABLE hubspot_sync.adoption_report (
    id bigserial PRIMARY KEY,
    revision text NOT NULL,
    action text NOT NULL,
    object text NOT NULL,
    record_id text,
    old_value text,
    new_value text,
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE hubspot_sync.adoption_report ENABLE ROW LEVEL SECURITY;
CREATE POLICY service_role_all ON hubspot_sync.adoption_report
    FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON TABLE hubspot_sync.adoption_report FROM PUBLIC, anon, authenticated;
GRANT SELECT ON TABLE hubspot_sync.adoption_report TO service_role;
REVOKE ALL ON SEQUENCE hubspot_sync.adoption_report_id_seq FROM PUBLIC, anon, authenticated;

-- 2. legacy triggers and functions ---------------------------------------------------------------
DO $$
DECLARE
    r record;
    g record;
BEGIN
    FOR r IN
        SELECT t.tgname, t.tgrelid::regclass::text AS tab, t.tgfoid::regprocedure::text AS fn
        FROM pg_catalog.pg_trigger t
        WHERE t.tgrelid IN ('hubspot_sync.hubspot_bookings'::regclass,
                            'hubspot_sync.hubspot_contact_credits'::regclass,
                            'hubspot_sync.hubspot_mock_exams'::regclass)
          AND t.tgname IN ('bookings_audit_trigger', 'contact_credits_audit_trigger',
                           'exams_audit_trigger')
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.tab);
        INSERT INTO hubspot_sync.adoption_report (revision, action, object, old_value)
        VALUES ('0002_mockbook_1_0', 'dropped legacy audit trigger (duplicates mockbook''s audit)',
                r.tab || '.' || r.tgname, r.fn);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure::text AS fn FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'hubspot_sync'::regnamespace
          AND p.proname IN ('log_booking_changes', 'log_contact_credits_changes', 'log_exam_changes')
    LOOP
        EXECUTE format('DROP FUNCTION %s', r.fn);
        INSERT INTO hubspot_sync.adoption_report (revision, action, object)
        VALUES ('0002_mockbook_1_0', 'dropped legacy audit trigger function', r.fn);
    END LOOP;
    FOR r IN
        SELECT p.oid::regprocedure::text AS fn, p.proconfig::text AS config,
               p.proacl::text AS acl FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = 'hubspot_sync'::regnamespace
          AND p.proname IN ('get_booking_aggregates', 'get_booking_aggregates_count',
                            'get_changed_fields', 'update_exam_prerequisites')
    LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = ''''', r.fn);
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, anon, authenticated', r.fn);
        FOR g IN SELECT DISTINCT pg_get_userbyid(a.grantee) AS who
                 FROM pg_catalog.pg_proc p, aclexplode(p.proacl) AS a
                 WHERE p.oid = r.fn::regprocedure AND a.grantee NOT IN (0, p.proowner) LOOP
            EXECUTE format('REVOKE ALL ON FUNCTION %s FROM %I', r.fn, g.who);
        END LOOP;
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO service_role', r.fn);
        EXECUTE format('COMMENT ON FUNCTION %s IS %L', r.fn,
            'Production function kept as it is; since mockbook''s adoption its search_path is '
            'pinned and only service_role may execute it.');
        -- old_value: the function's ACL before (NULL: the default, PUBLIC EXECUTE), which the
        -- downgrade restores exactly
        INSERT INTO hubspot_sync.adoption_report (revision, action, object, old_value, new_value)
        VALUES ('0002_mockbook_1_0', 'pinned search_path and revoked EXECUTE from PUBLIC, anon, '
                'authenticated', r.fn, r.acl, 'search_path="" / EXECUTE: service_role');
    END LOOP;
END
$$;

-- 3. rows that would not convert exactly --------------------------------------------------------
DO $$
DECLARE
    v_problems text[] := '{}';
    v_rows text;
BEGIN
    SELECT string_agg(format('%s (%s)', hubspot_id, exam_date), ', ') INTO v_rows
    FROM (SELECT hubspot_id, exam_date FROM hubspot_sync.hubspot_mock_exams
          WHERE exam_date <> date_trunc('day', exam_date) ORDER BY hubspot_id LIMIT 20) AS d;
    IF v_rows IS NOT NULL THEN
        v_problems := v_problems || ('exams whose exam_date has a time of day: ' || v_rows);
    END IF;
    SELECT string_agg(format('%s (%s)', id, exam_date), ', ') INTO v_rows
    FROM (SELECT id, exam_date FROM hubspot_sync.hubspot_bookings
          WHERE (exam_date AT TIME ZONE 'UTC') <> date_trunc('day', exam_date AT TIME ZONE 'UTC')
          ORDER BY id LIMIT 20) AS d;
    IF v_rows IS NOT NULL THEN
        v_problems := v_problems || ('bookings whose exam_date is not a UTC midnight: ' || v_rows);
    END IF;
    SELECT string_agg(format('%s (%L)', id, token_refunded), ', ') INTO v_rows
    FROM (SELECT id, token_refunded FROM hubspot_sync.hubspot_bookings
          WHERE token_refunded NOT IN ('true', 'false') ORDER BY id LIMIT 20) AS d;
    IF v_rows IS NOT NULL THEN
        v_problems := v_problems || ('bookings whose token_refunded is not ''true''/''false'': '
                                     || v_rows);
    END IF;
    IF cardinality(v_problems) > 0 THEN
        RAISE EXCEPTION 'mockbook 0002_mockbook_1_0: existing rows do not convert exactly to mockbook''s column types; nothing was changed'
            USING DETAIL = array_to_string(v_problems, E'\n'),
                  HINT = 'Fix these rows (at most 20 are listed per problem; `mockbook migrate --check` lists all), then upgrade again.';
    END IF;
END
$$;

-- 4. column types --------------------------------------------------------------------------------
ALTER TYPE hubspot_sync.mock_set_enum RENAME TO mock_set_letter;
INSERT INTO hubspot_sync.adoption_report (revision, action, object, old_value, new_value)
VALUES ('0002_mockbook_1_0', 'renamed type', 'hubspot_sync.mock_set_enum', 'mock_set_enum',
        'mock_set_letter');

ALTER TABLE hubspot_sync.hubspot_contact_credits
    ALTER COLUMN created_at TYPE timestamptz USING created_at AT TIME ZONE 'UTC',
    ALTER COLUMN updated_at TYPE timestamptz USING updated_at AT TIME ZONE 'UTC',
    ALTER COLUMN synced_at TYPE timestamptz USING synced_at AT TIME ZONE 'UTC';
ALTER TABLE hubspot_sync.hubspot_mock_exams
    ALTER COLUMN exam_date TYPE date USING exam_date::date,
    ALTER COLUMN created_at TYPE timestamptz USING created_at AT TIME ZONE 'UTC',
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN updated_at TYPE timestamptz USING updated_at AT TIME ZONE 'UTC',
    ALTER COLUMN updated_at SET DEFAULT now(),
    ALTER COLUMN synced_at TYPE timestamptz USING synced_at AT TIME ZONE 'UTC';
ALTER TABLE hubspot_sync.hubspot_bookings
    ALTER COLUMN exam_date TYPE date USING (exam_date AT TIME ZONE 'UTC')::date,
    ALTER COLUMN token_refunded TYPE boolean USING token_refunded::boolean,
    ALTER COLUMN token_refunded SET DEFAULT false,
    ALTER COLUMN ndecc_exam_date TYPE text USING to_char(ndecc_exam_date, 'YYYY-MM-DD'),
    ALTER COLUMN created_at TYPE timestamptz USING created_at AT TIME ZONE 'UTC',
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN updated_at TYPE timestamptz USING updated_at AT TIME ZONE 'UTC',
    ALTER COLUMN updated_at SET DEFAULT now(),
    ALTER COLUMN synced_at TYPE timestamptz USING synced_at AT TIME ZONE 'UTC';
ALTER TABLE hubspot_sync.sync_metadata
    ALTER COLUMN last_sync_timestamp DROP NOT NULL,
    ALTER COLUMN last_sync_timestamp TYPE timestamptz
        USING to_timestamp(last_sync_timestamp / 1000.0),
    ALTER COLUMN created_at TYPE timestamptz USING created_at AT TIME ZONE 'UTC',
    ALTER COLUMN updated_at TYPE timestamptz USING updated_at AT TIME ZONE 'UTC',
    ADD COLUMN last_sync_status text,
    ADD COLUMN records_synced integer DEFAULT 0,
    ADD COLUMN error_message text;
INSERT INTO hubspot_sync.adoption_report (revision, action, object, old_value, new_value)
VALUES
    ('0002_mockbook_1_0', 'converted column type (same values)',
     'hubspot_contact_credits.created_at, updated_at, synced_at', 'timestamp (UTC)', 'timestamptz'),
    ('0002_mockbook_1_0', 'converted column type (same values)',
     'hubspot_mock_exams.created_at, updated_at, synced_at', 'timestamp (UTC)', 'timestamptz'),
    ('0002_mockbook_1_0', 'converted column type (same values)', 'hubspot_mock_exams.exam_date',
     'timestamp (midnight)', 'date'),
    ('0002_mockbook_1_0', 'converted column type (same values)',
     'hubspot_bookings.created_at, updated_at, synced_at', 'timestamp (UTC)', 'timestamptz'),
    ('0002_mockbook_1_0', 'converted column type (same values)', 'hubspot_bookings.exam_date',
     'timestamptz (UTC midnight)', 'date'),
    ('0002_mockbook_1_0', 'converted column type (same values)', 'hubspot_bookings.token_refunded',
     'text ''true''/''false''', 'boolean'),
    ('0002_mockbook_1_0', 'converted column type (same values)', 'hubspot_bookings.ndecc_exam_date',
     'date', 'text YYYY-MM-DD'),
    ('0002_mockbook_1_0', 'converted column type (same values)', 'sync_metadata.last_sync_timestamp',
     'bigint epoch milliseconds, NOT NULL', 'timestamptz'),
    ('0002_mockbook_1_0', 'added columns', 'sync_metadata', NULL,
     'last_sync_status, records_synced, error_message');

-- 5. keys and dual-id --------------------------------------------------------------------------
-- UNIQUE (id): index built CONCURRENTLY in 06_*.nontx.sql, attached in 07_contacts_id_key.sql
ALTER TABLE hubspot_sync.hubspot_contact_credits ALTER COLUMN hubspot_id DROP NOT NULL;
ALTER TABLE hubspot_sync.hubspot_bookings ALTER COLUMN hubspot_id DROP NOT NULL;
ALTER TABLE hubspot_sync.hubspot_contact_credits ADD COLUMN IF NOT EXISTS hubspot_last_sync_at timestamptz;
ALTER TABLE hubspot_sync.hubspot_mock_exams ADD COLUMN IF NOT EXISTS hubspot_last_sync_at timestamptz;
ALTER TABLE hubspot_sync.hubspot_bookings ADD COLUMN IF NOT EXISTS hubspot_last_sync_at timestamptz;
-- legacy booking codes: the code a repeat had before the upgrade gave it a unique one
ALTER TABLE hubspot_sync.hubspot_bookings ADD COLUMN legacy_booking_id text;

CREATE TABLE IF NOT EXISTS hubspot_sync.supabase_audit_log (
    id bigserial PRIMARY KEY,
    table_name text NOT NULL,
    record_id uuid NOT NULL,
    record_hubspot_id text,
    operation text NOT NULL,
    changed_fields jsonb,
    old_values jsonb,
    new_values jsonb,
    performed_by text,
    performed_at timestamptz DEFAULT now(),
    synced_to_hubspot_at timestamptz
);
CREATE INDEX IF NOT EXISTS idx_audit_log_table_record
    ON hubspot_sync.supabase_audit_log (table_name, record_id);
CREATE INDEX IF NOT EXISTS idx_audit_log_pending_sync
    ON hubspot_sync.supabase_audit_log (id) WHERE synced_to_hubspot_at IS NULL;
