-- Hand-written: validate the NOT VALID checks of 00_schema_changes.sql
-- (SHARE UPDATE EXCLUSIVE: the outbox's inserts go on).
ALTER TABLE hubspot_sync.waitlist_entries VALIDATE CONSTRAINT waitlist_entries_status_check;
ALTER TABLE hubspot_sync.waitlist_entries VALIDATE CONSTRAINT waitlist_entries_offer_check;
ALTER TABLE hubspot_sync.sync_queue VALIDATE CONSTRAINT sync_queue_table_name_check;
