-- Undo db/functions/get_credit_summary.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.get_credit_summary;
