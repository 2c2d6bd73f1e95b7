-- Undo db/functions/internal/note_pull_outcome.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.note_pull_outcome;
