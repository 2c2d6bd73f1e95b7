-- Undo db/functions/internal/prelock_exam_changes.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.prelock_exam_changes;
