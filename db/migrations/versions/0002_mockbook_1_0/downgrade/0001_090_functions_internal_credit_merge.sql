-- Undo db/functions/internal/credit_merge.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.credit_merge;
