-- Undo db/functions/apply_credit_delta.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.apply_credit_delta;
