-- Undo db/functions/internal/write_exam_prerequisites.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.write_exam_prerequisites;
