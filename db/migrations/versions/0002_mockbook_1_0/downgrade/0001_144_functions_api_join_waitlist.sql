-- Undo db/functions/api/join_waitlist.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.join_waitlist;
