-- the flagged legacy rows by student (db/schema/12_hubspot_bookings.sql), built without
-- blocking the bookings' writes
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_bookings_legacy_student ON hubspot_sync.hubspot_bookings (student_id) WHERE legacy_issue IS NOT NULL;
