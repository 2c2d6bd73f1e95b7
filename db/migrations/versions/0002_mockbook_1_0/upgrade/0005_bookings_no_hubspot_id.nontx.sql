CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_bookings_no_hubspot_id ON hubspot_sync.hubspot_bookings (id) WHERE hubspot_id IS NULL;
