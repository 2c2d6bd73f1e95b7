-- Undo db/functions/api/get_credit_summary.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.get_credit_summary;
