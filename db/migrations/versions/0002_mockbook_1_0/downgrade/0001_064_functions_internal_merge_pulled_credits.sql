-- Undo db/functions/internal/merge_pulled_credits.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.merge_pulled_credits;
