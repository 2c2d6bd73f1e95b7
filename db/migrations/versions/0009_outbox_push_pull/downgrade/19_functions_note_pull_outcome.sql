-- Undo db/functions/note_pull_outcome.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.note_pull_outcome;
