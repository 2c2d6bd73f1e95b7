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
-- as a domain with a rule would force), then the rule is added: one read of each table, under
-- the lock the lock step took. Nothing else uses the domains. Each statement finds what an
-- earlier run of it made and changes it to the same, so the step can run again.
DO $domains$
DECLARE
    v_domain text[];
BEGIN
    FOREACH v_domain SLICE 1 IN ARRAY ARRAY[
        ['outbox_table_name', 'text'], ['outbox_operation', 'text'],
        ['outbox_attempts', 'integer'], ['ledger_credit_field', 'text'],
        ['ledger_reason', 'text'], ['ledger_delta', 'integer'], ['ledger_balance', 'integer']]
    LOOP
        IF pg_catalog.to_regtype('hubspot_sync.' || v_domain[1]) IS NULL THEN
            EXECUTE pg_catalog.format('CREATE DOMAIN hubspot_sync.%I AS %s', v_domain[1],
                                      v_domain[2]);
        END IF;
    END LOOP;
END
$domains$;

-- squawk-ignore changing-column-type
ALTER TABLE hubspot_sync.sync_queue
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS sync_queue_table_name_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS sync_queue_operation_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS sync_queue_attempts_check,
    ALTER COLUMN table_name TYPE hubspot_sync.outbox_table_name,
    ALTER COLUMN operation TYPE hubspot_sync.outbox_operation,
    ALTER COLUMN attempts TYPE hubspot_sync.outbox_attempts;
-- squawk-ignore changing-column-type
ALTER TABLE hubspot_sync.credit_ledger
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS credit_ledger_credit_field_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS credit_ledger_reason_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS credit_ledger_delta_check,
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS credit_ledger_balance_after_check,
    ALTER COLUMN credit_field TYPE hubspot_sync.ledger_credit_field,
    ALTER COLUMN reason TYPE hubspot_sync.ledger_reason,
    ALTER COLUMN delta TYPE hubspot_sync.ledger_delta,
    ALTER COLUMN balance_after TYPE hubspot_sync.ledger_balance;

-- squawk-ignore ban-drop-constraint
ALTER DOMAIN hubspot_sync.outbox_table_name DROP CONSTRAINT IF EXISTS sync_queue_table_name_check;
-- squawk-ignore ban-alter-domain-with-add-constraint
ALTER DOMAIN hubspot_sync.outbox_table_name ADD CONSTRAINT sync_queue_table_name_check
    CHECK (VALUE IN (
        'hubspot_contact_credits', 'hubspot_mock_exams', 'hubspot_bookings',
        'waitlist_entries'));
-- squawk-ignore ban-drop-constraint
ALTER DOMAIN hubspot_sync.outbox_operation DROP CONSTRAINT IF EXISTS sync_queue_operation_check;
-- squawk-ignore ban-alter-domain-with-add-constraint
ALTER DOMAIN hubspot_sync.outbox_operation ADD CONSTRAINT sync_queue_operation_check
    CHECK (VALUE IN ('INSERT', 'UPDATE', 'DELETE'));
-- squawk-ignore ban-drop-constraint
ALTER DOMAIN hubspot_sync.outbox_attempts DROP CONSTRAINT IF EXISTS sync_queue_attempts_check;
-- squawk-ignore ban-alter-domain-with-add-constraint
ALTER DOMAIN hubspot_sync.outbox_attempts ADD CONSTRAINT sync_queue_attempts_check
    CHECK (VALUE >= 0);
ALTER DOMAIN hubspot_sync.ledger_credit_field
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS credit_ledger_credit_field_check;
-- squawk-ignore ban-alter-domain-with-add-constraint
ALTER DOMAIN hubspot_sync.ledger_credit_field ADD CONSTRAINT credit_ledger_credit_field_check
    CHECK (VALUE IN (
        'sj_credits', 'cs_credits', 'sjmini_credits', 'mock_discussion_token',
        'shared_mock_credits'));
-- squawk-ignore ban-drop-constraint
ALTER DOMAIN hubspot_sync.ledger_reason DROP CONSTRAINT IF EXISTS credit_ledger_reason_check;
-- squawk-ignore ban-alter-domain-with-add-constraint
ALTER DOMAIN hubspot_sync.ledger_reason ADD CONSTRAINT credit_ledger_reason_check
    CHECK (VALUE IN (
        'booking', 'cancellation', 'rebook', 'admin_adjustment', 'hubspot_adjustment', 'import',
        'exam_cancelled'));
-- squawk-ignore ban-drop-constraint
ALTER DOMAIN hubspot_sync.ledger_delta DROP CONSTRAINT IF EXISTS credit_ledger_delta_check;
-- squawk-ignore ban-alter-domain-with-add-constraint
ALTER DOMAIN hubspot_sync.ledger_delta ADD CONSTRAINT credit_ledger_delta_check
    CHECK (VALUE <> 0);
ALTER DOMAIN hubspot_sync.ledger_balance
    -- squawk-ignore ban-drop-constraint
    DROP CONSTRAINT IF EXISTS credit_ledger_balance_after_check;
-- squawk-ignore ban-alter-domain-with-add-constraint
ALTER DOMAIN hubspot_sync.ledger_balance ADD CONSTRAINT credit_ledger_balance_after_check
    CHECK (VALUE >= 0);

-- frozen: versions/0002_mockbook_1_0/upgrade/0045_150_triggers_credit_push_claimed.sql sha256:b2eb5c94b23fb3322561d89191ee74957b580f3f5571ef9400ebbcdb8ed9392a
