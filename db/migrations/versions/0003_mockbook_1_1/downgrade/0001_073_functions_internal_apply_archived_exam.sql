-- Undo db/functions/internal/apply_archived_exam.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.apply_archived_exam;
