-- Undo db/functions/internal/lock_exam.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.lock_exam;
