-- Undo db/functions/api/adjust_credits.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.adjust_credits;
