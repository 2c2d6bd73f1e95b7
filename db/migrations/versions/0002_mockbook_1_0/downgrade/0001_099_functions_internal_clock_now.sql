-- Undo db/functions/internal/clock_now.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.clock_now;
