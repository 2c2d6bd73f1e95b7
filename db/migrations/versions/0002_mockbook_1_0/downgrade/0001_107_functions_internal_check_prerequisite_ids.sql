-- Undo db/functions/internal/check_prerequisite_ids.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.check_prerequisite_ids;
