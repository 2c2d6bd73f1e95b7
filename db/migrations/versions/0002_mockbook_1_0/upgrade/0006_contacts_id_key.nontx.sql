CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS hubspot_contact_credits_id_key ON hubspot_sync.hubspot_contact_credits (id);
