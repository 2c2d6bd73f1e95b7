-- Hand-written: the one-per-type-and-day index, without the legacy duplicates the adoption
-- flagged (legacy_issue), built under a name of its own and then given the index's name (a
-- database that has the index without that condition gets it swapped).
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS uq_bookings_one_per_student_type_day_v2 ON hubspot_sync.hubspot_bookings (student_id, mock_type, exam_date) WHERE is_active IN ('Active', 'Completed') AND legacy_issue IS NULL;
DROP INDEX CONCURRENTLY IF EXISTS hubspot_sync.uq_bookings_one_per_student_type_day;
ALTER INDEX hubspot_sync.uq_bookings_one_per_student_type_day_v2 RENAME TO uq_bookings_one_per_student_type_day;
-- the flagged legacy rows by student (db/schema/12_hubspot_bookings.sql)
CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_bookings_legacy_student ON hubspot_sync.hubspot_bookings (student_id) WHERE legacy_issue IS NOT NULL;
