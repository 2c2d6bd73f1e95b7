-- Hand-written: the indexes `mockbook trace` reads one record's rows by, built in the
-- revision's transaction (SHARE: reads go on) (db/schema/12_hubspot_bookings.sql, 17_sync_errors.sql,
-- 19_webhook_events.sql, 20_adoption_report.sql, 20_booking_rules.sql).
CREATE INDEX IF NOT EXISTS idx_bookings_legacy_booking_id ON hubspot_sync.hubspot_bookings (legacy_booking_id) WHERE legacy_booking_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_sync_errors_entity ON hubspot_sync.sync_errors (entity_type, entity_id);
CREATE INDEX IF NOT EXISTS idx_webhook_events_object ON hubspot_sync.webhook_events (object_id);
CREATE INDEX IF NOT EXISTS idx_adoption_report_record ON hubspot_sync.adoption_report (record_id) WHERE record_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_booking_conflicts_booking ON hubspot_sync.booking_conflicts (booking_id);
CREATE INDEX IF NOT EXISTS idx_booking_conflicts_exam ON hubspot_sync.booking_conflicts (mock_exam_id);
