-- Undo db/functions/api/process_waitlist.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.process_waitlist;
