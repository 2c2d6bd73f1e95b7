-- Undo db/functions/internal/note_exam_read.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.note_exam_read;
