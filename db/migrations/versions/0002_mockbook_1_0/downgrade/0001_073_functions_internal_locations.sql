-- Undo db/functions/internal/locations.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.locations;
