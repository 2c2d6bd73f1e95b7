-- Hand-written: the reverse of upgrade/0002_trace_indexes.sql (db/schema/12_hubspot_bookings.sql,
-- 17_sync_errors.sql, 19_webhook_events.sql, 20_adoption_report.sql,
-- 20_booking_rules.sql).
DROP INDEX IF EXISTS hubspot_sync.idx_booking_conflicts_exam;
DROP INDEX IF EXISTS hubspot_sync.idx_booking_conflicts_booking;
DROP INDEX IF EXISTS hubspot_sync.idx_adoption_report_record;
DROP INDEX IF EXISTS hubspot_sync.idx_webhook_events_object;
DROP INDEX IF EXISTS hubspot_sync.idx_sync_errors_entity;
DROP INDEX IF EXISTS hubspot_sync.idx_bookings_legacy_booking_id;
