-- Hand-written: the outbox's and the ledger's column rules back to 1.0's table CHECKs
-- (upgrade/0000_schema_domains.sql undone); the view comes back as 1.0 froze it, by
-- this revision's downgrade of db/views/credit_usage.sql. Each statement finds what an
-- earlier run of it made, so the step can run again.
DROP TRIGGER IF EXISTS credit_push_claimed ON hubspot_sync.sync_queue;
-- squawk-ignore ban-drop-view
DROP MATERIALIZED VIEW IF EXISTS hubspot_sync.credit_usage;

ALTER TABLE hubspot_sync.sync_queue
    DROP CONSTRAINT IF EXISTS sync_queue_table_name_check,
    DROP CONSTRAINT IF EXISTS sync_queue_operation_check,
    DROP CONSTRAINT IF EXISTS sync_queue_attempts_check,
    ALTER COLUMN table_name TYPE text,
    ALTER COLUMN operation TYPE text,
    ALTER COLUMN attempts TYPE integer,
    ADD CONSTRAINT sync_queue_table_name_check CHECK (table_name IN (
        'hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings',
        'waitlist_entries')),
    ADD CONSTRAINT sync_queue_operation_check CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE')),
    ADD CONSTRAINT sync_queue_attempts_check CHECK (attempts >= 0);
ALTER TABLE hubspot_sync.credit_ledger
    DROP CONSTRAINT IF EXISTS credit_ledger_credit_field_check,
    DROP CONSTRAINT IF EXISTS credit_ledger_reason_check,
    DROP CONSTRAINT IF EXISTS credit_ledger_delta_check,
    DROP CONSTRAINT IF EXISTS credit_ledger_balance_after_check,
    ALTER COLUMN credit_field TYPE text,
    ALTER COLUMN reason TYPE text,
    ALTER COLUMN delta TYPE integer,
    ALTER COLUMN balance_after TYPE integer,
    ADD CONSTRAINT credit_ledger_credit_field_check CHECK (credit_field IN (
        'sj_credits', 'cs_credits', 'sjmini_credits', 'mock_discussion_token',
        'shared_mock_credits')),
    ADD CONSTRAINT credit_ledger_reason_check CHECK (reason IN (
        'booking', 'cancellation', 'rebook', 'admin_adjustment', 'hubspot_adjustment', 'import',
        'exam_cancelled')),
    ADD CONSTRAINT credit_ledger_delta_check CHECK (delta <> 0),
    ADD CONSTRAINT credit_ledger_balance_after_check CHECK (balance_after >= 0);

DROP DOMAIN IF EXISTS hubspot_sync.outbox_table_name;
DROP DOMAIN IF EXISTS hubspot_sync.outbox_operation;
DROP DOMAIN IF EXISTS hubspot_sync.outbox_attempts;
DROP DOMAIN IF EXISTS hubspot_sync.ledger_credit_field;
DROP DOMAIN IF EXISTS hubspot_sync.ledger_reason;
DROP DOMAIN IF EXISTS hubspot_sync.ledger_delta;
DROP DOMAIN IF EXISTS hubspot_sync.ledger_balance;

-- frozen: versions/0002_mockbook_1_0/upgrade/0045_150_triggers_credit_push_claimed.sql sha256:b2eb5c94b23fb3322561d89191ee74957b580f3f5571ef9400ebbcdb8ed9392a
