-- Undo db/functions/internal/caller_students.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.caller_students;
