-- Undo db/functions/internal/send_exam_seats.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.send_exam_seats;
