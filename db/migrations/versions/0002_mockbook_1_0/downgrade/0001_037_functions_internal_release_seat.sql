-- Undo db/functions/internal/release_seat.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.release_seat;
