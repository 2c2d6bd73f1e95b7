-- Undo db/functions/internal/pulled_properties.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.pulled_properties;
