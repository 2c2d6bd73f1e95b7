-- Undo db/functions/internal/pick_credit.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.pick_credit;
