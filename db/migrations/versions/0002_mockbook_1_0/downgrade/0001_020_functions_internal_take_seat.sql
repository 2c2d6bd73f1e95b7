-- Undo db/functions/internal/take_seat.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.take_seat;
