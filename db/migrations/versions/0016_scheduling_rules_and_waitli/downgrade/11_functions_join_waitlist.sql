-- Undo db/functions/join_waitlist.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.join_waitlist;
