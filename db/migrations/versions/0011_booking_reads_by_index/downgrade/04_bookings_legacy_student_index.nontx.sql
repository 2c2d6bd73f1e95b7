DROP INDEX CONCURRENTLY IF EXISTS hubspot_sync.idx_bookings_legacy_student;
