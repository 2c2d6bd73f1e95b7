-- Undo db/functions/internal/rule_min_notice_hours.sql (new).
DROP FUNCTION IF EXISTS mockbook_internal.rule_min_notice_hours;
