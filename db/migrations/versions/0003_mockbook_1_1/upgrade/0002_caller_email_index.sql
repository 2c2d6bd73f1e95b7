-- Hand-written: the index a JWT's email finds its students by (mockbook_internal.caller_students,
-- same_email's comparison), built in the revision's transaction (db/schema/10_hubspot_contact_credits.sql).
CREATE INDEX IF NOT EXISTS idx_contact_credits_email_key ON hubspot_sync.hubspot_contact_credits (lower(btrim(email, E' \t\r\n')));
