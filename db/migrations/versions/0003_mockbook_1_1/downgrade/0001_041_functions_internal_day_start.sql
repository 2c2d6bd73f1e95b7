-- Undo db/functions/internal/day_start.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.day_start;
