-- Undo db/functions/internal/rule_time_conflict.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.rule_time_conflict;
