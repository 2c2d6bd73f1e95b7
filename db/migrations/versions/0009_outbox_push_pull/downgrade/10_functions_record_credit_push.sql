-- Undo db/functions/record_credit_push.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.record_credit_push;
