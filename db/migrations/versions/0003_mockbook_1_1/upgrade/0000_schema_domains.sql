-- Hand-written: the outbox's and the ledger's column rules become domains
-- (db/schema/15_credit_ledger.sql, 16_sync_queue.sql): the same rules under the same names,
-- checked without planning the table's CHECKs again on every statement that writes a row.
-- The trigger and the view that read the changed columns are taken off here: the trigger is
-- given back below as 1.0 froze it (its file is unchanged), the view by this revision's
-- db/views/credit_usage.sql (its credit_field stays text).
DROP TRIGGER IF EXISTS credit_push_claimed ON hubspot_sync.sync_queue;
-- squawk-ignore ban-drop-view
DROP MATERIALIZED VIEW IF EXISTS hubspot_sync.credit_usage;

-- Each domain is created without its rule, the columns take it (binary-compatible: no rewrite,
-- as a domain with a rule would force), then the rule is added NOT VALID and validated: one
-- read of each table, under the lock the upgrade holds anyway. Nothing else uses the domains.
CREATE DOMAIN hubspot_sync.outbox_table_name AS text;
CREATE DOMAIN hubspot_sync.outbox_operation AS text;
CREATE DOMAIN hubspot_sync.outbox_attempts AS integer;
CREATE DOMAIN hubspot_sync.ledger_credit_field AS text;
CREATE DOMAIN hubspot_sync.ledger_reason AS text;
CREATE DOMAIN hubspot_sync.ledger_delta AS integer;
CREATE DOMAIN hubspot_sync.ledger_balance AS integer;

-- squawk-ignore changing-column-type
ALTER TABLE hubspot_sync.sync_queue
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT sync_queue_table_name_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT sync_queue_operation_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT sync_queue_attempts_check,
    ALTER COLUMN table_name TYPE hubspot_sync.outbox_table_name,
    ALTER COLUMN operation TYPE hubspot_sync.outbox_operation,
    ALTER COLUMN attempts TYPE hubspot_sync.outbox_attempts;
-- squawk-ignore changing-column-type
ALTER TABLE hubspot_sync.credit_ledger
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT credit_ledger_credit_field_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT credit_ledger_reason_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT credit_ledger_delta_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT credit_ledger_balance_after_check,
    ALTER COLUMN credit_field TYPE hubspot_sync.ledger_credit_field,
    ALTER COLUMN reason TYPE hubspot_sync.ledger_reason,
    ALTER COLUMN delta TYPE hubspot_sync.ledger_delta,
    ALTER COLUMN balance_after TYPE hubspot_sync.ledger_balance;

-- squawk-ignore ban-alter-domain-with-add-constraint
ALTER DOMAIN hubspot_sync.outbox_table_name ADD CONSTRAINT sync_queue_table_name_check
    CHECK (VALUE IN (
        'hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings',
        'waitlist_entries')) NOT VALID;
-- squawk-ignore ban-alter-domain-with-add-constraint
ALTER DOMAIN hubspot_sync.outbox_operation ADD CONSTRAINT sync_queue_operation_check
    CHECK (VALUE IN ('INSERT', 'UPDATE', 'DELETE')) NOT VALID;
-- squawk-ignore ban-alter-domain-with-add-constraint
ALTER DOMAIN hubspot_sync.outbox_attempts ADD CONSTRAINT sync_queue_attempts_check
    CHECK (VALUE >= 0) NOT VALID;
-- squawk-ignore ban-alter-domain-with-add-constraint
ALTER DOMAIN hubspot_sync.ledger_credit_field ADD CONSTRAINT credit_ledger_credit_field_check
    CHECK (VALUE IN (
        'sj_credits', 'cs_credits', 'sjmini_credits', 'mock_discussion_token',
        'shared_mock_credits')) NOT VALID;
-- squawk-ignore ban-alter-domain-with-add-constraint
ALTER DOMAIN hubspot_sync.ledger_reason ADD CONSTRAINT credit_ledger_reason_check
    CHECK (VALUE IN (
        'booking', 'cancellation', 'rebook', 'admin_adjustment', 'hubspot_adjustment', 'import',
        'exam_cancelled')) NOT VALID;
-- squawk-ignore ban-alter-domain-with-add-constraint
ALTER DOMAIN hubspot_sync.ledger_delta ADD CONSTRAINT credit_ledger_delta_check
    CHECK (VALUE <> 0) NOT VALID;
-- squawk-ignore ban-alter-domain-with-add-constraint
ALTER DOMAIN hubspot_sync.ledger_balance ADD CONSTRAINT credit_ledger_balance_after_check
    CHECK (VALUE >= 0) NOT VALID;
ALTER DOMAIN hubspot_sync.outbox_table_name VALIDATE CONSTRAINT sync_queue_table_name_check;
ALTER DOMAIN hubspot_sync.outbox_operation VALIDATE CONSTRAINT sync_queue_operation_check;
ALTER DOMAIN hubspot_sync.outbox_attempts VALIDATE CONSTRAINT sync_queue_attempts_check;
ALTER DOMAIN hubspot_sync.ledger_credit_field VALIDATE CONSTRAINT credit_ledger_credit_field_check;
ALTER DOMAIN hubspot_sync.ledger_reason VALIDATE CONSTRAINT credit_ledger_reason_check;
ALTER DOMAIN hubspot_sync.ledger_delta VALIDATE CONSTRAINT credit_ledger_delta_check;
ALTER DOMAIN hubspot_sync.ledger_balance VALIDATE CONSTRAINT credit_ledger_balance_after_check;

-- frozen: versions/0002_mockbook_1_0/upgrade/0045_150_triggers_credit_push_claimed.sql sha256:b2eb5c94b23fb3322561d89191ee74957b580f3f5571ef9400ebbcdb8ed9392a
