CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS hubspot_bookings_booking_id_key ON hubspot_sync.hubspot_bookings (booking_id);
