-- Undo db/functions/pick_credit.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.pick_credit;
