-- Undo db/functions/internal/exam_seats_message.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.exam_seats_message;
