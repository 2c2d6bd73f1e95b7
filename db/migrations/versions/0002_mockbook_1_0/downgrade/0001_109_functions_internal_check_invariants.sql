-- Undo db/functions/internal/check_invariants.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.check_invariants;
