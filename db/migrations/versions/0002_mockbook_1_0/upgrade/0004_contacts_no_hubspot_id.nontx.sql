CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_contact_credits_no_hubspot_id ON hubspot_sync.hubspot_contact_credits (id) WHERE hubspot_id IS NULL;
