-- Undo db/functions/internal/close_day_places.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.close_day_places;
