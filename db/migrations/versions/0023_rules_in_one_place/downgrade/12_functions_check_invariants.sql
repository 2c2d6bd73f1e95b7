-- Undo db/functions/check_invariants.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.check_invariants;
