-- db/schema/02_mockbook_internal.sql, 12_hubspot_bookings.sql, 13_sync_metadata.sql,
-- 19_production_not_owned.sql, 20_adoption_report.sql, 20_booking_rules.sql and
-- 22_idempotency_results.sql changed in their -- comments only: no ALTER.

-- Hand-written: db/schema/20_booking_rules.sql no longer lists the rules: they are declared in
-- mockbook_internal.declared_booking_rules, whose file inserts each rule's row.
-- squawk-ignore ban-drop-constraint
ALTER TABLE hubspot_sync.booking_rules DROP CONSTRAINT booking_rules_rule_check;
