-- Undo db/functions/internal/lock_day_places.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.lock_day_places;
