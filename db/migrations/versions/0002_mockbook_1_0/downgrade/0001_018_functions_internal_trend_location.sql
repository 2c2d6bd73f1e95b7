-- Undo db/functions/internal/trend_location.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.trend_location;
