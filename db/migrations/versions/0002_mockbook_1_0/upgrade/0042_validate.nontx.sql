-- Hand-written: the widened CHECK constraints of 00_schema_changes.sql, validated outside the
-- revision's transaction (VALIDATE takes SHARE UPDATE EXCLUSIVE: reads and writes go on).
ALTER TABLE hubspot_sync.booking_rules VALIDATE CONSTRAINT booking_rules_rule_check;
ALTER TABLE hubspot_sync.credit_ledger VALIDATE CONSTRAINT credit_ledger_reason_check;
