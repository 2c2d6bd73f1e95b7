-- Undo db/functions/overwritten_credit_change.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.overwritten_credit_change;
