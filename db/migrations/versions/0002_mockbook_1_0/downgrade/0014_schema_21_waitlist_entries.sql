-- Undo db/schema/21_waitlist_entries.sql (new).
DROP TABLE IF EXISTS hubspot_sync.waitlist_entries;
