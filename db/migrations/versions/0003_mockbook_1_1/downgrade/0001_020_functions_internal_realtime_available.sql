-- Undo db/functions/internal/realtime_available.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.realtime_available;
