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
-- The bookings table is rewritten once, and the row repairs ride on that rewrite instead of
-- an UPDATE each (an UPDATE costs every index a new entry per row, all while the tables are
-- locked): statuses and attendance spelled in another case become 'Active', 'Yes', ...; an
-- empty attendance becomes NULL (unmarked); a legacy booking code that repeats because a student
-- cancelled and rebooked stays with the oldest row, each later one gets <code>-R<n> (n = 2, 3,
-- ... in creation order) and keeps the old code in legacy_booking_id. Each change is one report
-- row, written before the rewrite from the same expressions.
ALTER TABLE hubspot_sync.hubspot_bookings ADD COLUMN legacy_booking_id text;
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value, new_value)
SELECT '0002_mockbook_1_0', 'normalised spelling', 'hubspot_bookings.is_active', b.id::text,
       b.is_active, initcap(btrim(b.is_active))
FROM hubspot_sync.hubspot_bookings AS b
WHERE b.is_active NOT IN ('Active', 'Cancelled', 'Completed', 'Failed')
  AND lower(btrim(b.is_active)) IN ('active', 'cancelled', 'completed', 'failed');
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value, new_value)
SELECT '0002_mockbook_1_0', 'normalised spelling', 'hubspot_bookings.attendance', b.id::text,
       b.attendance, initcap(btrim(b.attendance))
FROM hubspot_sync.hubspot_bookings AS b
WHERE b.attendance NOT IN ('Yes', 'No') AND lower(btrim(b.attendance)) IN ('yes', 'no');
INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value, new_value)
SELECT '0002_mockbook_1_0', 'unmarked attendance (empty) set to NULL',
       'hubspot_bookings.attendance', b.id::text, b.attendance, NULL
FROM hubspot_sync.hubspot_bookings AS b
WHERE btrim(b.attendance) = '';
-- The repeats as one constant of the rewrite (a transform expression may not hold a subquery):
-- booking id -> [its code, its new code], looked up per row. Where an object outside mockbook
-- (a view, a rule, a trigger, a policy) names is_active, attendance or booking_id, PostgreSQL
-- refuses to rewrite the column: the repairs are then one UPDATE after the rewrite instead.
DO $$
DECLARE
    v_repeats jsonb;
    v_repairs text[] := ARRAY[
        $r$CASE WHEN is_active NOT IN ('Active', 'Cancelled', 'Completed', 'Failed')
                 AND lower(btrim(is_active)) IN ('active', 'cancelled', 'completed', 'failed')
            THEN initcap(btrim(is_active)) ELSE is_active END$r$,
        $r$CASE WHEN btrim(attendance) = '' THEN NULL
            WHEN attendance NOT IN ('Yes', 'No') AND lower(btrim(attendance)) IN ('yes', 'no')
            THEN initcap(btrim(attendance)) ELSE attendance END$r$,
        $r$coalesce(%1$L::jsonb -> id::text ->> 1, booking_id)$r$,
        $r$%1$L::jsonb -> id::text ->> 0$r$];
    v_in_rewrite boolean;
BEGIN
    SELECT coalesce(jsonb_object_agg(r.id::text,
                                     jsonb_build_array(r.booking_id, r.booking_id || '-R' || r.n)),
                    '{}')
    INTO v_repeats
    FROM (SELECT id, booking_id, count(*) OVER (PARTITION BY booking_id) AS copies,
                 row_number() OVER (PARTITION BY booking_id
                                    ORDER BY created_at NULLS FIRST, id) AS n
          FROM hubspot_sync.hubspot_bookings WHERE booking_id IS NOT NULL) AS r
    WHERE r.copies > 1 AND r.n > 1;
    INSERT INTO hubspot_sync.adoption_report (revision, action, object, record_id, old_value,
                                              new_value)
    SELECT '0002_mockbook_1_0', 'gave a repeated legacy booking code a unique one',
           'hubspot_bookings.booking_id', r.key, r.value ->> 0, r.value ->> 1
    FROM jsonb_each(v_repeats) AS r;
    SELECT NOT EXISTS (
        SELECT FROM pg_catalog.pg_depend AS d
        JOIN pg_catalog.pg_attribute AS a
          ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.refclassid = 'pg_catalog.pg_class'::regclass
          AND d.refobjid = 'hubspot_sync.hubspot_bookings'::regclass
          AND a.attname IN ('is_active', 'attendance', 'booking_id') AND d.deptype = 'n'
          AND d.classid IN ('pg_catalog.pg_rewrite'::regclass, 'pg_catalog.pg_trigger'::regclass,
                            'pg_catalog.pg_policy'::regclass, 'pg_catalog.pg_proc'::regclass))
    INTO v_in_rewrite;
    EXECUTE format($sql$
ALTER TABLE hubspot_sync.hubspot_bookings
    ALTER COLUMN exam_date TYPE date USING (exam_date AT TIME ZONE 'UTC')::date,
    ALTER COLUMN token_refunded TYPE boolean USING token_refunded::boolean,
    ALTER COLUMN token_refunded SET DEFAULT false,
    ALTER COLUMN ndecc_exam_date TYPE text USING to_char(ndecc_exam_date, 'YYYY-MM-DD'),
    ALTER COLUMN created_at TYPE timestamptz USING created_at AT TIME ZONE 'UTC',
    ALTER COLUMN created_at SET DEFAULT now(),
    ALTER COLUMN updated_at TYPE timestamptz USING updated_at AT TIME ZONE 'UTC',
    ALTER COLUMN updated_at SET DEFAULT now(),
    ALTER COLUMN synced_at TYPE timestamptz USING synced_at AT TIME ZONE 'UTC'
$sql$ || CASE WHEN v_in_rewrite THEN format($sql$,
    ALTER COLUMN is_active TYPE text USING %s,
    ALTER COLUMN attendance TYPE text USING %s,
    ALTER COLUMN booking_id TYPE text USING %s,
    ALTER COLUMN legacy_booking_id TYPE text USING %s
$sql$, VARIADIC v_repairs) ELSE '' END, v_repeats);
    IF NOT v_in_rewrite THEN
        EXECUTE format(format($sql$
UPDATE hubspot_sync.hubspot_bookings
SET is_active = %s, attendance = %s, booking_id = %s, legacy_booking_id = %s
WHERE is_active NOT IN ('Active', 'Cancelled', 'Completed', 'Failed')
   OR attendance NOT IN ('Yes', 'No') OR %%1$L::jsonb ? id::text
$sql$, VARIADIC v_repairs), v_repeats);
    END IF;
END
$$;
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
