-- Undo db/functions/lock_exam.sql (new).
DROP FUNCTION IF EXISTS hubspot_sync.lock_exam;
