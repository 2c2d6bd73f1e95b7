BEGIN;
SELECT plan(18);

SELECT has_schema('hubspot_sync');
SELECT tables_are('hubspot_sync', ARRAY[
    'hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings', 'sync_metadata',
    'supabase_audit_log', 'credit_ledger', 'sync_queue', 'sync_errors', 'contact_credit_sync',
    'webhook_events', 'booking_rules', 'waitlist_entries', 'adoption_report',
    'idempotency_results', 'exam_hubspot_sync', 'booking_rule_changes', 'booking_conflicts',
    'refresh_requests',
    -- production's tables mockbook does not own (db/schema/19_production_not_owned.sql)
    'audit_log', 'groups', 'groups_instructors', 'groups_students', 'instructors',
    'work_check_bookings', 'work_check_slots'],
    'hubspot_sync holds exactly the package tables and production''s other tables');
SELECT col_is_null('hubspot_sync', 'hubspot_contact_credits', 'hubspot_id',
                   'contacts may exist before HubSpot knows them (dual-id)');
SELECT col_is_null('hubspot_sync', 'hubspot_bookings', 'hubspot_id',
                   'bookings may exist before HubSpot knows them (dual-id)');
SELECT col_not_null('hubspot_sync', 'hubspot_mock_exams', 'hubspot_id',
                    'exams are created in HubSpot first');
SELECT col_type_is('hubspot_sync', 'hubspot_bookings', 'hubspot_last_sync_at',
                   'timestamp with time zone', 'hubspot_last_sync_at is timestamptz');
SELECT col_type_is('hubspot_sync', 'hubspot_mock_exams', 'prerequisite_exam_ids', 'text[]',
                   'prerequisites are a text array of HubSpot exam ids');
SELECT col_default_is('hubspot_sync', 'hubspot_contact_credits', 'shared_mock_credits', '0',
                      'credits default to 0');
SELECT indexes_are('hubspot_sync', 'hubspot_bookings', ARRAY[
    'hubspot_bookings_pkey', 'hubspot_bookings_hubspot_id_key',
    'hubspot_bookings_idempotency_key_key', 'idx_bookings_hubspot_id', 'idx_bookings_contact_id',
    'idx_bookings_exam_id', 'idx_bookings_student_id', 'idx_bookings_student_email',
    'idx_bookings_no_hubspot_id', 'hubspot_bookings_booking_id_key',
    'uq_bookings_one_per_student_type_day', 'idx_hubspot_bookings_mock_set',
    'idx_bookings_legacy_student', 'idx_bookings_legacy_booking_id']);
SELECT enum_has_labels('hubspot_sync', 'mock_set_letter',
                       ARRAY['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H']);
SELECT has_column('hubspot_sync', 'sync_queue', 'lease_expires_at', 'outbox rows carry a lease');
SELECT has_column('hubspot_sync', 'hubspot_bookings', 'idempotency_fingerprint',
                  'bookings remember the fingerprint of their idempotency key');

-- one open waitlist place per student and exam; every table under RLS
SELECT indexes_are('hubspot_sync', 'waitlist_entries', ARRAY[
    'waitlist_entries_pkey', 'idx_waitlist_open_place', 'idx_waitlist_queue',
    'idx_waitlist_offers_due', 'idx_waitlist_student', 'idx_waitlist_sync_id']);
SELECT ok((SELECT indisunique FROM pg_index WHERE indexrelid = 'hubspot_sync.idx_waitlist_open_place'::regclass),
          'idx_waitlist_open_place is unique (join_waitlist is idempotent through it)');
SELECT ok((SELECT bool_and(relrowsecurity) FROM pg_class
           WHERE oid IN ('hubspot_sync.booking_rules'::regclass, 'hubspot_sync.waitlist_entries'::regclass)),
          'booking_rules and waitlist_entries have row level security');

-- the keyed-result store of the write RPCs: one row per key, purged by created_at
SELECT col_is_pk('hubspot_sync', 'idempotency_results', 'idempotency_key',
                 'one stored result per idempotency key');
SELECT indexes_are('hubspot_sync', 'idempotency_results', ARRAY[
    'idempotency_results_pkey', 'idx_idempotency_results_created']);
SELECT ok((SELECT relrowsecurity FROM pg_class
           WHERE oid = 'hubspot_sync.idempotency_results'::regclass),
          'idempotency_results has row level security');

SELECT * FROM finish();
ROLLBACK;
