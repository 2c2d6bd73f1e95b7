CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_bookings_student_email ON hubspot_sync.hubspot_bookings (student_email);
