-- Undo db/functions/internal/activate_due_exams.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.activate_due_exams;
