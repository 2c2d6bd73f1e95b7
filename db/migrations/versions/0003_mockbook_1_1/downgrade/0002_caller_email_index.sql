-- Hand-written: the reverse of upgrade/0002_caller_email_index.sql
-- (db/schema/10_hubspot_contact_credits.sql).
DROP INDEX IF EXISTS hubspot_sync.idx_contact_credits_email_key;
