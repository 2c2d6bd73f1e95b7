CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS hubspot_contact_credits_student_id_key ON hubspot_sync.hubspot_contact_credits (student_id);
