-- Undo db/functions/internal/pulled_timestamp.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.pulled_timestamp;
