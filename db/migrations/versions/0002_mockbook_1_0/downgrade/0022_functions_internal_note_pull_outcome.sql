-- Undo db/functions/internal/note_pull_outcome.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.note_pull_outcome;
DROP FUNCTION IF EXISTS hubspot_sync.note_pull_outcome;
